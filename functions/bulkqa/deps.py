"""Dependencies of the handlers, built on first use from the environment (never at import time)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import aws
from .adapters.dynamodb import LabelsTable, RunsTable
from .adapters.s3 import ObjectStore
from .adapters.sagemaker import GroundTruthJobs
from .adapters.stepfunctions import TaskCallbacks
from .settings import SELF_HOSTED, LabelingSettings, ReviewSettings, StackSettings

if TYPE_CHECKING:
    from .adapters.review_table import ReviewTable
    from .ports import LambdaContext, ReviewBackend
    from .review.service import ReviewService


def store(stack: StackSettings) -> ObjectStore:
    return ObjectStore(aws.client("s3"), stack.bucket)


def labels(stack: StackSettings) -> LabelsTable:
    return LabelsTable(aws.client("dynamodb"), stack.labels_table)


def runs(stack: StackSettings) -> RunsTable:
    return RunsTable(aws.client("dynamodb"), stack.runs_table)


def callbacks() -> TaskCallbacks:
    return TaskCallbacks(aws.client("stepfunctions"))


def _where(context: LambdaContext) -> tuple[str, str, str]:
    """(partition, region, account) of this function, from its ARN (local runs: the region's, a zero account)."""
    arn = context.invoked_function_arn or ""
    parts = arn.split(":")
    if len(parts) > 4:
        return parts[1], parts[3], parts[4]
    return "aws", os.environ.get("AWS_REGION", "us-east-1"), "000000000000"


def ground_truth(settings: LabelingSettings, context: LambdaContext) -> GroundTruthJobs:
    """Ground Truth jobs in this function's own account, region and partition."""
    partition, region, account = _where(context)
    return GroundTruthJobs(aws.client("sagemaker"), settings, region, account, partition)


def review_table(table: str) -> ReviewTable:
    from .adapters.review_table import ReviewTable

    return ReviewTable(aws.client("dynamodb"), table)


def review_backend(settings: LabelingSettings, context: LambdaContext) -> ReviewBackend:
    """The reviewer backend the stack was deployed with (parameter ReviewBackend, env REVIEW_BACKEND)."""
    if settings.review_backend != SELF_HOSTED:
        return ground_truth(settings, context)
    from .adapters.selfhosted import SelfHostedJobs

    partition, region, account = _where(context)
    return SelfHostedJobs(
        review_table(settings.review_table), store(settings.stack), settings, region, account, partition
    )


def review_service(settings: ReviewSettings) -> ReviewService:
    """The self-hosted review queue's operations (the review API and the sweeper)."""
    from .review.service import ReviewService

    stack = settings.stack
    return ReviewService(
        review_table(settings.review_table), labels(stack), runs(stack), callbacks(), store(stack), settings
    )
