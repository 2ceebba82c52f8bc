"""Every 5 minutes (self-hosted review backend): expire the remaining turns of jobs past their availability,
redo the tallies a crash left undone, complete the jobs that are complete and resume the workflow of every
ended job whose deliverer died (``ReviewService.sweep``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings

if TYPE_CHECKING:
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> dict[str, int]:
    config = settings.review_settings()
    result = deps.review_service(config).sweep()
    if result.expired or result.completed or result.delivered or result.retallied:
        log.info("review jobs swept", **asdict(result))
    return asdict(result)
