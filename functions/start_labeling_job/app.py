"""Start (or resume waiting for) one labeling job; invoked with a task token by the workflow."""

from typing import Any

from bulkqa import deps, settings, steps


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings.labeling_settings()
    return steps.start_labeling_job(
        event,
        config,
        deps.store(config.stack),
        deps.runs(config.stack),
        deps.ground_truth(config, context),
        deps.callbacks(),
    )
