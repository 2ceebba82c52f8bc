"""Register the run of an uploaded CSV; a duplicate S3 event for the same object version is flagged."""

from typing import Any

from bulkqa import deps, settings, steps


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stack = settings.stack_settings()
    return steps.register_run(event, stack, deps.runs(stack))
