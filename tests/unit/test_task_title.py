"""Defect 7 of #12: the reviewers' task title named "25 images" whatever BatchSize was.

The title is built where the CreateLabelingJob request is (bulkqa.labeling) from the labeling functions'
settings, so those functions must be told the batch size (template.yaml's labeling environment).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkqa.labeling import JobSpec, create_labeling_job_request
from bulkqa.settings import labeling_settings
from bulkqa_local import cfn

ROOT = Path(__file__).resolve().parents[2]

#: What template.yaml gives the labeling functions, minus the batch size (the tests add it).
ENV = {
    "BUCKET_NAME": "bkt",
    "LABELS_TABLE_NAME": "labels",
    "RUNS_TABLE_NAME": "runs",
    "WORKTEAM_ARN": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/reviewers",
    "LABELING_ROLE_ARN": "arn:aws:iam::123456789012:role/labeling",
    "PRE_LABELING_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:pre",
    "POST_LABELING_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:post",
    "WORKERS_PER_OBJECT": "1",
    "TASK_TIME_LIMIT_SECONDS": "600",
    "TASK_AVAILABILITY_SECONDS": "864000",
    "MAX_CONCURRENT_TASKS": "1000",
}
SPEC = JobSpec("labels-0123456789", 0, "s3://bkt/m.manifest", 4, "s3://bkt/t.html", "s3://bkt/out/")


@pytest.mark.parametrize(
    ("batch_size", "title"),
    [
        (10, "Confirm the labels of up to 10 images"),
        (25, "Confirm the labels of up to 25 images"),
        (100, "Confirm the labels of up to 100 images"),
        (1, "Confirm the label of 1 image"),
    ],
)
def test_task_title_names_the_batch_size(batch_size: int, title: str) -> None:
    settings = labeling_settings({**ENV, "BATCH_SIZE": str(batch_size)})
    request = create_labeling_job_request(SPEC, settings)
    assert request["HumanTaskConfig"]["TaskTitle"] == title


@pytest.mark.parametrize("function", ["StartLabelingJobFunction", "OnLabelingJobEventFunction"])
def test_labeling_functions_are_told_the_batch_size(function: str) -> None:
    resources = cfn.load(ROOT / "template.yaml")["Resources"]
    variables = resources[function]["Properties"]["Environment"]["Variables"]
    assert variables.get("BATCH_SIZE") == {"Ref": "BatchSize"}
