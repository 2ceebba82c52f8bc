"""Analyse the run's verdicts and write the reports under reports/<run id>/."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import analyze_step, deps, log, metrics, settings

if TYPE_CHECKING:
    from bulkqa.model import AnalyzeResult
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> AnalyzeResult:
    config = settings.analysis_settings()
    result = analyze_step.analyze(
        event, config, deps.store(config.stack), deps.labels(config.stack), deps.runs(config.stack)
    )
    _emit(result)
    return result


def _emit(result: AnalyzeResult) -> None:
    """The run's reviewed images (EMF): reviewed, confirmed and disconfirmed."""
    if not result["reviewed"]:
        return
    metrics.count(metrics.IMAGES_REVIEWED, result["reviewed"])
    metrics.count(metrics.IMAGES_CONFIRMED, result["confirmed"])
    metrics.count(metrics.IMAGES_DISCONFIRMED, result["disconfirmed"])
