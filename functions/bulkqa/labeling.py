"""The labeling step: what a reviewer backend must do, and the Ground Truth request for it.

Ground Truth closed to new AWS customers on 2026-07-30. Everything the workflow needs from a
reviewer backend is the ``ReviewBackend`` protocol (``bulkqa.ports``): start a job for a manifest of
batches (idempotently) and report its status. Ground Truth is the one implementation today
(``adapters/sagemaker.py``); another backend plugs in by implementing the same two methods and
calling ``post_labeling``'s consolidation with the same answer format. This module holds the job's
spec and status, and the Ground Truth request for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import keys
from .settings import LabelingSettings

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import CreateLabelingJobRequestTypeDef

    from .model import JobResult

TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass(frozen=True, slots=True)
class JobStatus:
    name: str
    arn: str
    status: str  # Initializing | InProgress | Completed | Failed | Stopping | Stopped
    failure_reason: str = ""
    output_manifest: str = ""
    counters: dict[str, int] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def result(self) -> JobResult:
        """What the workflow receives when the job is done (small: counts and pointers only)."""
        return {
            "job_name": self.name,
            "status": self.status,
            "output_manifest": self.output_manifest,
            "counters": self.counters or {},
        }


@dataclass(frozen=True, slots=True)
class JobSpec:
    run_id: str
    part: int
    manifest_uri: str
    tasks: int
    template_uri: str
    output_uri: str

    @property
    def name(self) -> str:
        return keys.job_name(self.run_id, self.part)


def task_title(batch_size: int) -> str:
    """The job's title in the reviewers' portal: a task shows up to ``batch_size`` images (a label's last fewer)."""
    return "Confirm the label of 1 image" if batch_size == 1 else f"Confirm the labels of up to {batch_size} images"


def create_labeling_job_request(spec: JobSpec, settings: LabelingSettings) -> CreateLabelingJobRequestTypeDef:
    """The ``CreateLabelingJob`` request of a custom bulk-QA job (contracts file section 4)."""
    per_task = f"{spec.tasks} screens" if spec.tasks != 1 else "1 screen"
    return {
        "LabelingJobName": spec.name,
        "LabelAttributeName": keys.LABEL_ATTRIBUTE_NAME,
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": spec.manifest_uri}},
            "DataAttributes": {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]},
        },
        "OutputConfig": {"S3OutputPath": spec.output_uri},
        "RoleArn": settings.labeling_role_arn,
        "HumanTaskConfig": {
            "WorkteamArn": settings.workteam_arn,
            "UiConfig": {"UiTemplateS3Uri": spec.template_uri},
            "PreHumanTaskLambdaArn": settings.pre_labeling_arn,
            "TaskKeywords": ["Image", "Classification", "Verification"],
            "TaskTitle": (settings.task_title or task_title(settings.batch_size))[:128],
            "TaskDescription": (f"Uncheck the images that do not show the named label ({per_task}, run {spec.run_id})")[
                :255
            ],
            "NumberOfHumanWorkersPerDataObject": settings.workers_per_object,
            "TaskTimeLimitInSeconds": settings.task_time_limit,
            "TaskAvailabilityLifetimeInSeconds": settings.task_availability,
            "MaxConcurrentTaskCount": settings.max_concurrent_tasks,
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": settings.post_labeling_arn},
        },
        "Tags": [{"Key": "bulk-label-qa:run", "Value": spec.run_id[:256]}],
    }
