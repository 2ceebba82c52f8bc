"""Check the uploaded file (a label CSV with the needed columns) and plan the ingest chunks."""

from typing import Any

from bulkqa import deps, settings, steps


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings.ingest_settings()
    return steps.plan_ingest(event, config, deps.store(config.stack))
