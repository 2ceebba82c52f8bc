"""Validate one chunk of the CSV and store one labels-table item per accepted (image, label)."""

from typing import Any

from bulkqa import deps, settings, steps


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings.ingest_settings()
    return steps.ingest_chunk(event, config, deps.store(config.stack), deps.labels(config.stack))
