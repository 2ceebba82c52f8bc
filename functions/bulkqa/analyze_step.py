"""The last step: the run's verdicts -> the reports under reports/<run id>/ (see :mod:`bulkqa.reports`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from . import keys, log
from .settings import AnalysisSettings
from .steps.common import require_str

if TYPE_CHECKING:
    from .analysis import Verdict
    from .model import AnalyzeInput, AnalyzeResult, IngestSummary, StoredLabel
    from .ports import LabelsTable, ObjectStore, RawEvent, RunsTable

VERDICT_ATTRIBUTES = (
    "s3_image_url",
    "label",
    "confidence",
    "WorkerConfirmCount",
    "WorkerDisconfirmCount",
    "WorkerVerdicts",
)


def verdicts(items: Iterable[StoredLabel]) -> Iterator[Verdict]:
    """Labels-table items (with the :data:`VERDICT_ATTRIBUTES`) -> the analysis' verdicts."""
    from .analysis import Verdict

    for item in items:
        reviewers = item.get("WorkerVerdicts")
        yield Verdict(
            image=str(item["s3_image_url"]),
            label=str(item["label"]),
            confidence=float(item["confidence"]),
            confirms=int(item.get("WorkerConfirmCount") or 0),
            rejects=int(item.get("WorkerDisconfirmCount") or 0),
            reviewers=reviewers if isinstance(reviewers, dict) else None,
        )


def parse_analyze(event: RawEvent) -> AnalyzeInput:
    return {"run_id": require_str(event, "run_id"), "partial": bool(event.get("partial", False))}


def analyze(
    event: RawEvent, settings: AnalysisSettings, store: ObjectStore, labels: LabelsTable, runs: RunsTable
) -> AnalyzeResult:
    from .analysis import AnalysisOptions, RowCounts
    from .reports import write_reports

    request = parse_analyze(event)
    run_id, partial = request["run_id"], request["partial"]
    summary: IngestSummary = store.read_json(keys.ingest_summary_key(run_id))
    counts = summary["rows"]
    rows = RowCounts(
        int(counts["total"]), int(counts["accepted"]), int(counts["rejected"]), int(counts["below_min_confidence"])
    )
    options = AnalysisOptions(min_confidence=settings.min_confidence, max_fp_ratio=settings.max_fp_ratio)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        report = write_reports(
            verdicts(labels.run_items(run_id, VERDICT_ATTRIBUTES)),
            rows,
            options,
            out,
            partial=partial,
            title=f"bulk-label-qa report: run {run_id}",
        )
        prefix = keys.report_prefix(run_id)
        # uploaded from disk (multipart when large): the item-level files grow with the run
        with ThreadPoolExecutor(max_workers=4) as pool:
            uploads = [pool.submit(store.put_file, prefix + f.name, f, _content_type(f.name)) for f in out.iterdir()]
            for upload in uploads:
                upload.result()
    store.copy(keys.rejected_key(run_id), prefix + "rejected.csv")
    runs.update(f"run#{run_id}", {"status": "partial report" if partial else "analyzed", "report": prefix})
    result: AnalyzeResult = {
        "run_id": run_id,
        "report_prefix": f"s3://{store.bucket}/{prefix}",
        "partial": partial,
        "rows": counts,
        "reviewed": report["totals"]["total"],
        "confirmed": report["totals"]["confirmed"],
        "disconfirmed": report["totals"]["disconfirmed"],
        "pct_correct": report["totals"]["pct_correct"],
    }
    log.info("analysis written", **result)
    return result


def _content_type(name: str) -> str:
    return {
        ".json": "application/json",
        ".csv": "text/csv; charset=utf-8",
        ".md": "text/markdown; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".jsonl": "application/jsonlines",
    }.get(Path(name).suffix, "application/octet-stream")
