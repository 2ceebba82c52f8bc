"""Check the uploaded file (a label CSV with the needed columns) and plan the ingest chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings, steps

if TYPE_CHECKING:
    from bulkqa.model import IngestPlan
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> IngestPlan:
    config = settings.ingest_settings()
    return steps.plan_ingest(event, config, deps.store(config.stack))
