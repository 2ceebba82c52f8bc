"""Resume the workflow when Ground Truth reports a labeling job Completed, Failed or Stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings, steps

if TYPE_CHECKING:
    from bulkqa.model import JobEventResult
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> JobEventResult:
    config = settings.labeling_settings()
    return steps.on_labeling_job_event(
        event, deps.runs(config.stack), deps.ground_truth(config, context), deps.callbacks()
    )
