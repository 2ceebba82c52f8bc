"""Resume the workflow when Ground Truth reports a labeling job Completed, Failed or Stopped."""

from typing import Any

from bulkqa import deps, settings, steps


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings.labeling_settings()
    return steps.on_labeling_job_event(
        event, deps.runs(config.stack), deps.ground_truth(config, context), deps.callbacks()
    )
