"""Dependencies of the handlers, built on first use from the environment (never at import time)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import aws
from .adapters.dynamodb import LabelsTable, RunsTable
from .adapters.s3 import ObjectStore
from .adapters.sagemaker import GroundTruthJobs
from .adapters.stepfunctions import TaskCallbacks
from .settings import LabelingSettings, StackSettings

if TYPE_CHECKING:
    from .ports import LambdaContext


def store(stack: StackSettings) -> ObjectStore:
    return ObjectStore(aws.client("s3"), stack.bucket)


def labels(stack: StackSettings) -> LabelsTable:
    return LabelsTable(aws.client("dynamodb"), stack.labels_table)


def runs(stack: StackSettings) -> RunsTable:
    return RunsTable(aws.client("dynamodb"), stack.runs_table)


def callbacks() -> TaskCallbacks:
    return TaskCallbacks(aws.client("stepfunctions"))


def ground_truth(settings: LabelingSettings, context: LambdaContext) -> GroundTruthJobs:
    """Ground Truth jobs in this function's own account, region and partition."""
    arn = context.invoked_function_arn or ""
    parts = arn.split(":")
    partition, region, account = (
        (parts[1], parts[3], parts[4])
        if len(parts) > 4
        else ("aws", os.environ.get("AWS_REGION", "us-east-1"), "000000000000")
    )
    return GroundTruthJobs(aws.client("sagemaker"), settings, region, account, partition)
