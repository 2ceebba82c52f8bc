"""SageMaker Ground Truth: the reviewer backend of today (the ``ports.ReviewBackend`` of the labeling steps)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..errors import LabelingJobNotFound
from ..labeling import JobSpec, JobStatus, create_labeling_job_request
from ..settings import LabelingSettings

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


class GroundTruthJobs:
    def __init__(
        self, client: SageMakerClient, settings: LabelingSettings, region: str, account: str, partition: str = "aws"
    ) -> None:
        self._sm = client
        self._settings = settings
        self._arn_prefix = f"arn:{partition}:sagemaker:{region}:{account}:labeling-job/"

    def arn_for(self, name: str) -> str:
        return self._arn_prefix + name

    def start(self, spec: JobSpec) -> str:
        try:
            response = self._sm.create_labeling_job(**create_labeling_job_request(spec, self._settings))
        except ClientError as exc:
            if _code(exc) != "ResourceInUse":
                raise
            return self.arn_for(spec.name)  # created by an earlier attempt: starting twice makes one job
        return str(response["LabelingJobArn"])

    def status(self, name: str) -> JobStatus:
        try:
            job = self._sm.describe_labeling_job(LabelingJobName=name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFound":
                raise
            raise LabelingJobNotFound(f"labeling job {name} does not exist") from exc
        counters = {str(k): int(str(v)) for k, v in dict(job.get("LabelCounters", {})).items()}
        return JobStatus(
            name=str(job["LabelingJobName"]),
            arn=str(job["LabelingJobArn"]),
            status=str(job["LabelingJobStatus"]),
            failure_reason=str(job.get("FailureReason", "")),
            output_manifest=str(job.get("LabelingJobOutput", {}).get("OutputDatasetS3Uri", "")),
            counters=counters,
        )

    def delivered(self, name: str) -> None:
        """Nothing to do: Ground Truth keeps its jobs whatever the workflow did with them."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
