"""Validate one chunk of the CSV and store one labels-table item per accepted (image, label)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings, steps

if TYPE_CHECKING:
    from bulkqa.model import ChunkSummary
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> ChunkSummary:
    config = settings.ingest_settings()
    return steps.ingest_chunk(event, config, deps.store(config.stack), deps.labels(config.stack))
