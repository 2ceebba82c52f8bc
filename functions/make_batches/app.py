"""Group the accepted rows by label into batches and write the Ground Truth manifests."""

from typing import Any

from bulkqa import deps, settings, steps


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings.batch_settings()
    return steps.make_batches(
        event, config, deps.store(config.stack), deps.labels(config.stack), deps.runs(config.stack)
    )
