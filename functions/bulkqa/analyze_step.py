"""The last step: the run's verdicts -> the reports under reports/<run id>/ (see :mod:`bulkqa.reports`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import keys, log
from .adapters.dynamodb import LabelsTable, RunsTable
from .adapters.s3 import ObjectStore
from .settings import AnalysisSettings
from .steps import _require_str

VERDICT_ATTRIBUTES = (
    "s3_image_url",
    "label",
    "confidence",
    "WorkerConfirmCount",
    "WorkerDisconfirmCount",
    "WorkerVerdicts",
)


def verdicts(items: Iterator[dict[str, Any]]) -> Iterator[Any]:
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


def analyze(
    event: Mapping[str, Any], settings: AnalysisSettings, store: ObjectStore, labels: LabelsTable, runs: RunsTable
) -> dict[str, Any]:
    from .analysis import AnalysisOptions, RowCounts
    from .reports import write_reports

    run_id = _require_str(event, "run_id")
    partial = bool(event.get("partial", False))
    summary = store.read_json(keys.ingest_summary_key(run_id))
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
    totals = report.get("totals", {})
    runs.update(f"run#{run_id}", {"status": "partial report" if partial else "analyzed", "report": prefix})
    result = {
        "run_id": run_id,
        "report_prefix": f"s3://{store.bucket}/{prefix}",
        "partial": partial,
        "rows": counts,
        "reviewed": totals.get("total"),
        "pct_correct": totals.get("pct_correct"),
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
