"""Register the run of an uploaded CSV; a duplicate S3 event for the same object version is flagged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings, steps

if TYPE_CHECKING:
    from bulkqa.model import RegisterRunResult
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> RegisterRunResult:
    stack = settings.stack_settings()
    return steps.register_run(event, stack, deps.runs(stack))
