"""write_reports: every report file of a run, written at once (the item-level files while streaming)."""

from __future__ import annotations

import csv
import os
import pathlib
from collections.abc import Iterable

from ..analysis import AnalysisOptions, RowCounts, Verdict, analyze
from ..report_types import Report
from .item_files import DISCONFIRMED_HEADER, tap
from .report_csv import render_csv
from .report_html import render_html
from .report_json import render_json
from .report_md import render_markdown

REPORT_FILES = (
    "report.json",
    "report.csv",
    "report.md",
    "report.html",
    "corrected-labels.jsonl",
    "disconfirmed.csv",
)


def write_reports(
    verdicts: Iterable[Verdict],
    rows: RowCounts | None,
    options: AnalysisOptions,
    out_dir: pathlib.Path,
    *,
    partial: bool = False,
    title: str = "bulk-label-qa report",
) -> Report:
    """Write every file of :data:`REPORT_FILES` into ``out_dir`` and return the report.json object."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temp = {name: out_dir / f".{name}.tmp" for name in REPORT_FILES}
    try:
        with (
            temp["corrected-labels.jsonl"].open("w", encoding="utf-8", newline="\n") as jsonl,
            temp["disconfirmed.csv"].open("w", encoding="utf-8", newline="") as dis,
        ):
            writer = csv.writer(dis, lineterminator="\n")
            writer.writerow(DISCONFIRMED_HEADER)
            tapped = tap(verdicts, options.min_confidence, jsonl, writer.writerow)
            report = analyze(tapped, rows, options, partial=partial)
        temp["report.json"].write_text(render_json(report), encoding="utf-8", newline="\n")
        temp["report.csv"].write_text(render_csv(report), encoding="utf-8", newline="")
        temp["report.md"].write_text(render_markdown(report, title), encoding="utf-8", newline="\n")
        temp["report.html"].write_text(render_html(report, title), encoding="utf-8", newline="\n")
        for name, path in temp.items():
            os.replace(path, out_dir / name)
    except BaseException:
        for path in temp.values():
            path.unlink(missing_ok=True)
        raise
    return report
