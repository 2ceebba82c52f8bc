"""Group the accepted rows by label into batches and write the Ground Truth manifests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings, steps

if TYPE_CHECKING:
    from bulkqa.model import BatchesResult
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> BatchesResult:
    config = settings.batch_settings()
    return steps.make_batches(
        event, config, deps.store(config.stack), deps.labels(config.stack), deps.runs(config.stack)
    )
