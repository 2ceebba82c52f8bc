"""Ground Truth pre-labeling: one batch file -> the worker page's task.input."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import aws, log, metrics, steps
from bulkqa.adapters.s3 import read_s3_text

if TYPE_CHECKING:
    from bulkqa.model import PreLabelingResult
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> PreLabelingResult:
    return steps.pre_labeling(event, lambda uri: read_s3_text(aws.client("s3"), uri))
