"""Analyse the run's verdicts and write the reports under reports/<run id>/."""

from typing import Any

from bulkqa import analyze_step, deps, settings


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings.analysis_settings()
    return analyze_step.analyze(
        event, config, deps.store(config.stack), deps.labels(config.stack), deps.runs(config.stack)
    )
