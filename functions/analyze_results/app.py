"""Analyse the run's verdicts and write the reports under reports/<run id>/."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from bulkqa import analyze_step, deps, log, metrics, settings

if TYPE_CHECKING:
    from collections.abc import Mapping

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
    """The run's reviewed images (EMF): reviewed, confirmed and, when the result says, disconfirmed."""
    reviewed, pct_correct = result["reviewed"], result["pct_correct"]
    if not reviewed:
        return
    metrics.count(metrics.IMAGES_REVIEWED, reviewed)
    if pct_correct is not None:
        metrics.count(metrics.IMAGES_CONFIRMED, round(reviewed * pct_correct / 100))
    disconfirmed = cast("Mapping[str, object]", result).get("disconfirmed")
    if isinstance(disconfirmed, int):
        metrics.count(metrics.IMAGES_DISCONFIRMED, disconfirmed)
