"""The local Ground Truth keeps Ground Truth's contracts (docs/ground-truth.md#the-local-ground-truth)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from bulkqa import keys
from bulkqa_local.cloud import LocalCloud

pytestmark = pytest.mark.slow


def _request(cloud: LocalCloud, name: str, manifest_key: str) -> dict[str, Any]:
    fn = {f.logical_id: f.arn for f in cloud.functions.values()}
    return {
        "LabelingJobName": name,
        "LabelAttributeName": keys.LABEL_ATTRIBUTE_NAME,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": f"s3://{cloud.bucket}/{manifest_key}"}}},
        "OutputConfig": {"S3OutputPath": f"s3://{cloud.bucket}/runs/emulator/labeling-output/"},
        "RoleArn": cloud.stack.attrs[("LabelingRole", "Arn")],
        "HumanTaskConfig": {
            "WorkteamArn": cloud.stack.parameters["WorkteamArn"],
            "UiConfig": {"UiTemplateS3Uri": f"s3://{cloud.bucket}/runs/emulator/worker-task.liquid.html"},
            "PreHumanTaskLambdaArn": fn["PreLabelingFunction"],
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 60,
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": fn["PostLabelingFunction"]},
        },
    }


def _wait(sm: Any, name: str) -> dict[str, Any]:
    for _ in range(200):
        job = sm.describe_labeling_job(LabelingJobName=name)
        if job["LabelingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return dict(job)
        time.sleep(0.05)
    raise TimeoutError(name)


def test_requests_are_validated_against_botocores_model(cloud: LocalCloud) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    request = _request(cloud, "bulkqa-validation", "runs/emulator/none.manifest")
    del request["HumanTaskConfig"]["TaskTitle"]
    with pytest.raises(ParamValidationError, match="TaskTitle"):
        sm.create_labeling_job(**request)


def test_names_are_unique_case_insensitively(cloud: LocalCloud) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = cloud.client("s3")
    s3.put_object(Bucket=cloud.bucket, Key="runs/emulator/empty.manifest", Body=b"")
    s3.put_object(Bucket=cloud.bucket, Key="runs/emulator/worker-task.liquid.html", Body=b"<crowd-form></crowd-form>")
    sm.create_labeling_job(**_request(cloud, "bulkqa-unique", "runs/emulator/empty.manifest"))
    with pytest.raises(ClientError) as error:
        sm.create_labeling_job(**_request(cloud, "BulkQA-Unique", "runs/emulator/empty.manifest"))
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    job = _wait(sm, "bulkqa-unique")
    assert job["LabelingJobStatus"] == "Completed"
    assert job["LabelingJobOutput"]["OutputDatasetS3Uri"].endswith("/bulkqa-unique/manifests/output/output.manifest")
    listed = {j["LabelingJobName"] for j in sm.list_labeling_jobs()["LabelingJobSummaryList"]}
    assert "bulkqa-unique" in listed


def test_a_pre_labeling_error_fails_the_job_naming_the_function(cloud: LocalCloud) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = cloud.client("s3")
    bad_batch = keys.batch_key("emulator", 0, "0" * 16)
    s3.put_object(Bucket=cloud.bucket, Key=bad_batch, Body=b'{"version": 1, "label": "Dog", "items": []}')
    s3.put_object(
        Bucket=cloud.bucket,
        Key="runs/emulator/bad.manifest",
        Body=json.dumps({"source-ref": f"s3://{cloud.bucket}/{bad_batch}"}).encode(),
    )
    s3.put_object(Bucket=cloud.bucket, Key="runs/emulator/worker-task.liquid.html", Body=b"<crowd-form></crowd-form>")
    sm.create_labeling_job(**_request(cloud, "bulkqa-prelabel-error", "runs/emulator/bad.manifest"))
    job = _wait(sm, "bulkqa-prelabel-error")
    assert job["LabelingJobStatus"] == "Failed"
    assert "Exception invoking the Lambda function" in job["FailureReason"]
    assert "pre-labeling" in job["FailureReason"]
    assert "MalformedBatch" in job["FailureReason"]


def _manifest_job(cloud: LocalCloud, name: str, manifest: bytes) -> dict[str, Any]:
    """Run a job on ``manifest`` whose data objects name a malformed batch: pre-labeling fails on the first one read."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = cloud.client("s3")
    s3.put_object(Bucket=cloud.bucket, Key=f"runs/emulator/{name}.manifest", Body=manifest)
    s3.put_object(Bucket=cloud.bucket, Key="runs/emulator/worker-task.liquid.html", Body=b"<crowd-form></crowd-form>")
    sm.create_labeling_job(**_request(cloud, name, f"runs/emulator/{name}.manifest"))
    return _wait(sm, name)


@pytest.mark.parametrize("breaker", ["\u2028", "\u2029", "\u0085"])
def test_manifest_lines_are_split_on_newline_only(cloud: LocalCloud, breaker: str) -> None:
    # a data object whose label holds U+2028 / U+2029 / U+0085 as it is (valid JSON: a writer may leave it
    # unescaped): still one data object, so pre-labeling receives it whole (and rejects the batch it names)
    bad_batch = keys.batch_key("emulator", 1, "0" * 16)
    cloud.client("s3").put_object(
        Bucket=cloud.bucket, Key=bad_batch, Body=b'{"version": 1, "label": "Dog", "items": []}'
    )
    line = json.dumps(
        {"source-ref": f"s3://{cloud.bucket}/{bad_batch}", "label": f"Sea{breaker}Turtle"}, ensure_ascii=False
    )
    assert breaker in line
    job = _manifest_job(cloud, f"bulkqa-breaker-{ord(breaker):04x}", (line + "\n").encode("utf-8"))
    assert job["LabelingJobStatus"] == "Failed"
    assert "MalformedBatch" in job["FailureReason"], job["FailureReason"]


def test_an_unreadable_manifest_line_fails_the_job_with_a_reason(cloud: LocalCloud) -> None:
    job = _manifest_job(cloud, "bulkqa-bad-manifest", b'{"source-ref": "s3://b/k"}\n{"source-ref": \n')
    assert job["LabelingJobStatus"] == "Failed"
    assert "line 2 of the input manifest" in job["FailureReason"]
    assert "not valid JSON" in job["FailureReason"]
