"""Start (or resume waiting for) one labeling job, on Ground Truth or the self-hosted backend (REVIEW_BACKEND);
invoked with a task token by the workflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings, steps

if TYPE_CHECKING:
    from bulkqa.model import StartJobResult
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> StartJobResult:
    config = settings.labeling_settings()
    return steps.start_labeling_job(
        event,
        config,
        deps.store(config.stack),
        deps.runs(config.stack),
        deps.review_backend(config, context),
        deps.callbacks(),
    )
