"""Analyse the run's verdicts and write the reports under reports/<run id>/."""

from typing import Any

from bulkqa import deps, settings, steps


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings.analysis_settings()
    return steps.analyze(event, config, deps.store(config.stack), deps.labels(config.stack),
                         deps.runs(config.stack))
