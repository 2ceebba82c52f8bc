"""Ground Truth annotation consolidation: every reviewer's answer -> per-image counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import aws, deps, log, metrics, settings, steps
from bulkqa.adapters.s3 import read_s3_text

if TYPE_CHECKING:
    from bulkqa.model import ConsolidationEntry
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> list[ConsolidationEntry]:
    stack = settings.stack_settings()
    return steps.post_labeling(event, deps.labels(stack), lambda uri: read_s3_text(aws.client("s3"), uri))
