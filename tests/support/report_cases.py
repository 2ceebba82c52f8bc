"""Fixed inputs for the report files' golden comparison (tests/unit/test_report_golden.py).

Each case is a deterministic stream of verdicts plus the options and row counts it is analysed with.
The golden files under ``tests/fixtures/reports/<case>/`` were written by the report code as it was
before the reports package (``python tests/fixtures/reports/make_golden.py`` regenerates them; only do
that for an intended change of the report files, and say so in the commit).
"""

from __future__ import annotations

import csv
import pathlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bulkqa.analysis import AnalysisOptions, RowCounts, Verdict

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANALYSIS_FIXTURES = ROOT / "tests" / "fixtures" / "analysis"
GOLDEN = ROOT / "tests" / "fixtures" / "reports"
SAMPLE_CSV = ROOT / "local" / "bulkqa_local" / "data" / "sample.csv"

#: The files compared byte for byte; report.html is compared by its text and its charts.
BYTE_IDENTICAL = ("report.json", "report.csv", "report.md", "corrected-labels.jsonl", "disconfirmed.csv")


def export_verdicts(name: str) -> Iterator[Verdict]:
    """A CSV export of the labels table (tests/fixtures/analysis/make_verdicts.py)."""
    with (ANALYSIS_FIXTURES / name).open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            pairs = row.get("reviewers") or ""
            reviewers = dict(pair.split(":", 1) for pair in pairs.split(";") if pair) or None
            yield Verdict(
                image=row["s3_image_url"],
                label=row["label"],
                confidence=float(row["confidence"]),
                confirms=int(row["WorkerConfirmCount"] or 0),
                rejects=int(row["WorkerDisconfirmCount"] or 0),
                reviewers=reviewers,
            )


def _sample() -> Iterator[Verdict]:
    """The demo's sample.csv with three seeded reviewers (some wrong, some tasks expired)."""
    rng = random.Random(20191105)
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as stream:
        for n, row in enumerate(csv.DictReader(stream)):
            confidence = float(row["confidence"])
            if confidence < 80:
                continue
            image = f"s3://bulkqa-demo/{row['image_local_path']}"
            if n % 53 == 0:
                yield Verdict(image, row["label"], confidence, 0, 0)
                continue
            right = rng.random() < 0.6 + confidence / 400
            votes = {w: "confirm" if (rng.random() < 0.93) == right else "reject" for w in ("ann", "ben", "cy")}
            confirms = sum(1 for v in votes.values() if v == "confirm")
            yield Verdict(image, row["label"], confidence, confirms, 3 - confirms, votes)


HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ x }}",
    "{% raw %}",
    "a|b",
    '=HYPERLINK("http://evil")',
    "*bold* _it_ [link](x) `code` # h",
)


def _hostile() -> Iterator[Verdict]:
    for n, label in enumerate(HOSTILE):
        for k in range(5):
            yield Verdict(
                f'{label}/img{k}"<b>.jpg',
                label,
                81.0 + 4 * k + n / 10,
                1 if k % 3 else 0,
                1 if k % 2 else 0,
                {label: "confirm" if k % 3 else "reject"},
            )


@dataclass(frozen=True)
class Case:
    name: str
    verdicts: Callable[[], Iterator[Verdict]]
    options: AnalysisOptions
    rows: RowCounts | None = None
    partial: bool = False
    title: str = "bulk-label-qa report"


CASES = (
    Case("shellfish", lambda: export_verdicts("shellfish-verdicts.csv"), AnalysisOptions(min_confidence=80)),
    Case("shellfish-blog", lambda: export_verdicts("shellfish-blog-verdicts.csv"), AnalysisOptions(min_confidence=80)),
    Case(
        "sample",
        _sample,
        AnalysisOptions(min_confidence=80, max_fp_ratio=0.05),
        RowCounts(total=514, accepted=498, rejected=3, below_min_confidence=13),
        title="bulk-label-qa report: run sample-3f0c9a8e51",
    ),
    Case(
        "hostile-partial",
        _hostile,
        AnalysisOptions(min_confidence=0, buckets=(80.0, 90.0, 100.0)),
        RowCounts(total=40, accepted=35, rejected=5, below_min_confidence=0),
        partial=True,
        title='<Run> & "7"',
    ),
)
