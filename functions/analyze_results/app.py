"""Analyse the run's verdicts and write the reports under reports/<run id>/."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import analyze_step, deps, settings

if TYPE_CHECKING:
    from bulkqa.model import AnalyzeResult
    from bulkqa.ports import LambdaContext, RawEvent


def lambda_handler(event: RawEvent, context: LambdaContext) -> AnalyzeResult:
    config = settings.analysis_settings()
    return analyze_step.analyze(
        event, config, deps.store(config.stack), deps.labels(config.stack), deps.runs(config.stack)
    )
