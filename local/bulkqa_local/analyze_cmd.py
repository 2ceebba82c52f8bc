"""``bulkqa analyze``: the analysis and report files from a CSV export of the labels table, no AWS.

    bulkqa analyze --verdicts PATH --out DIR [--min-confidence X] [--buckets 80,85,90,95,100]
                   [--max-fp-ratio R]

The CSV needs the columns ``s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount``
(any order, other columns ignored, a UTF-8 BOM tolerated, an empty count means 0; DynamoDB console
headers such as ``confidence (N)`` are accepted). It is streamed: the file is read once, row by row.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pathlib
import re
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from bulkqa.analysis import AnalysisOptions, Verdict, validate_edges
from bulkqa.report_types import Report, Summary
from bulkqa.reports import REPORT_FILES, write_reports

REQUIRED = ("s3_image_url", "label", "confidence", "WorkerConfirmCount", "WorkerDisconfirmCount")
_TYPE_SUFFIX = re.compile(r"\s*\((S|N|BOOL|M|L|SS|NS)\)\s*$")
EXIT_OK = 0
EXIT_USAGE = 2


class VerdictFileError(Exception):
    """The verdicts file cannot be read; the message names the line and what to do."""


def _edges(text: str) -> tuple[float, ...]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
        return validate_edges(values)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --buckets {text!r}: {exc}") from None


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100 (the confidence scale), not {text}")
    return value


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, for example 0.1, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``bulkqa analyze``."""
    parser.description = "Analyse reviewers' verdicts from a CSV export of the labels table, without AWS."
    parser.add_argument(
        "--verdicts",
        required=True,
        type=pathlib.Path,
        metavar="PATH",
        help="CSV with s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount",
    )
    parser.add_argument("--out", required=True, type=pathlib.Path, metavar="DIR", help="where to write the reports")
    parser.add_argument(
        "--min-confidence",
        type=_confidence,
        default=0.0,
        metavar="X",
        help="rows below X (0-100) are counted but left out of the analysis (default 0)",
    )
    parser.add_argument(
        "--buckets",
        type=_edges,
        default=None,
        metavar="EDGES",
        help="comma-separated bucket edges, e.g. 80,85,90,95,100 (default: from --min-confidence, every 5)",
    )
    parser.add_argument(
        "--max-fp-ratio",
        type=_ratio,
        default=0.1,
        metavar="R",
        help="acceptable false positives per true positive for thresholds (default 0.1)",
    )
    parser.add_argument("--title", default="bulk-label-qa report", help="title of the human reports")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="mark the report as partial (the labeling job was stopped early)",
    )


def _canonical(name: str) -> str:
    return _TYPE_SUFFIX.sub("", name.strip().lstrip("\ufeff")).strip()


def _count(text: str | None, column: str, line: int) -> int:
    text = (text or "").strip()
    if not text:
        return 0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0 and value.is_integer()):
        raise VerdictFileError(f"line {line}: {column} is {text!r}; it must be a whole number >= 0 or empty")
    return int(value)


def read_verdicts(stream: TextIO) -> Iterator[Verdict]:
    """Verdicts from a labels-table CSV export, one row at a time; VerdictFileError on a bad row."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise VerdictFileError(f"the file is empty: expected a header line with {', '.join(REQUIRED)}") from None
    columns = [_canonical(h) for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise VerdictFileError(
            f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the header must "
            f"include {', '.join(REQUIRED)} (found: {', '.join(columns) or 'nothing'})"
        )
    i_image, i_label, i_conf, i_c, i_r = (columns.index(c) for c in REQUIRED)
    i_v = columns.index("WorkerVerdicts") if "WorkerVerdicts" in columns else None
    width = max(i_image, i_label, i_conf, i_c, i_r) + 1
    for line, row in enumerate(reader, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) < width:
            raise VerdictFileError(
                f"line {line}: {len(row)} field{'s' if len(row) != 1 else ''}, but the header has "
                f"{len(header)}; fix or remove the row"
            )
        image = row[i_image].strip()
        label = row[i_label].strip()
        if not image:
            raise VerdictFileError(f"line {line}: s3_image_url is empty; every row needs its image")
        if not label:
            raise VerdictFileError(f"line {line}: label is empty; every row needs its label")
        text = row[i_conf].strip()
        try:
            confidence = float(text)
        except ValueError:
            confidence = math.nan
        if not 0.0 <= confidence <= 100.0:
            raise VerdictFileError(f"line {line}: confidence is {text!r}; it must be a number between 0 and 100")
        yield Verdict(
            image=image,
            label=label,
            confidence=confidence,
            confirms=_count(row[i_c], "WorkerConfirmCount", line),
            rejects=_count(row[i_r], "WorkerDisconfirmCount", line),
            reviewers=_reviewers(row[i_v], line) if i_v is not None and i_v < len(row) else None,
        )


def _reviewers(text: str, line: int) -> dict[str, str] | None:
    """The optional WorkerVerdicts column: a JSON map reviewer id -> confirm|reject.

    Both a plain map and DynamoDB's JSON form ({"id": {"S": "confirm"}}) are read.
    """
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise VerdictFileError(
            f"line {line}: WorkerVerdicts is not JSON; leave it empty or export it as JSON"
        ) from None
    if isinstance(data, dict) and set(data) == {"M"}:
        data = data["M"]
    out: dict[str, str] = {}
    for worker, verdict in data.items() if isinstance(data, dict) else []:
        value = verdict.get("S") if isinstance(verdict, dict) else verdict
        if value not in ("confirm", "reject"):
            raise VerdictFileError(
                f"line {line}: WorkerVerdicts gives {worker!r} the verdict {value!r}; expected confirm or reject"
            )
        out[str(worker)] = str(value)
    return out or None


def _table(report: Report) -> list[str]:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}"

    def num(value: float | None) -> str:
        return "n/a" if value is None else (str(int(value)) if float(value).is_integer() else str(value))

    def interval(entry: Summary) -> str:
        ci = entry["pct_correct_ci95"]
        return f"{ci[0]:.1f}-{ci[1]:.1f}" if ci else "n/a"

    rows = [("label", "reviewed", "% correct", "95 % CI", "walk", "bound")]
    for entry in report["classes"]:
        rows.append(
            (
                entry["label"],
                str(entry["total"]),
                pct(entry["pct_correct"]),
                interval(entry),
                num(entry["threshold"]["bucket_walk"]),
                num(entry["threshold"]["precision_bound"]),
            )
        )
    totals = report["totals"]
    rows.append(("TOTALS", str(totals["total"]), pct(totals["pct_correct"]), interval(totals), "", ""))
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [r[0][:40].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ``bulkqa analyze``: 0 on success, 2 on a bad verdicts file or bad options."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    path = pathlib.Path(args.verdicts)
    buckets: Sequence[float] | None = args.buckets
    try:
        options = AnalysisOptions(
            min_confidence=float(args.min_confidence),
            buckets=tuple(buckets) if buckets is not None else None,
            max_fp_ratio=float(args.max_fp_ratio),
        )
    except (TypeError, ValueError) as exc:
        print(f"bulkqa analyze: error: {exc}", file=err)
        return EXIT_USAGE
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            report = write_reports(
                read_verdicts(stream),
                None,
                options,
                pathlib.Path(args.out),
                partial=bool(getattr(args, "partial", False)),
                title=str(getattr(args, "title", None) or "bulk-label-qa report"),
            )
    except FileNotFoundError:
        print(f"bulkqa analyze: error: {path}: no such file; give the CSV export of the labels table", file=err)
        return EXIT_USAGE
    except UnicodeDecodeError as exc:
        print(
            f"bulkqa analyze: error: {path} is not UTF-8 text ({exc.reason}); export it as UTF-8 CSV",
            file=err,
        )
        return EXIT_USAGE
    except csv.Error as exc:
        print(f"bulkqa analyze: error: {path}: not a readable CSV ({exc})", file=err)
        return EXIT_USAGE
    except (VerdictFileError, ValueError) as exc:
        print(f"bulkqa analyze: error: {path}: {exc}", file=err)
        return EXIT_USAGE
    except OSError as exc:
        print(f"bulkqa analyze: error: {exc}", file=err)
        return EXIT_USAGE
    rows = report["rows"]
    print(
        f"{rows['total']} rows: {rows['accepted']} analysed, {rows['below_min_confidence']} below the "
        "minimum "
        f"confidence; {report['totals']['total']} reviewed, {report['totals']['unreviewed']} unreviewed.",
        file=out,
    )
    for line in _table(report):
        print(line, file=out)
    print("Wrote:", file=out)
    for name in REPORT_FILES:
        print(f"  {pathlib.Path(args.out) / name}", file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (the ``bulkqa`` dispatcher calls :func:`add_arguments` and :func:`run`)."""
    parser = argparse.ArgumentParser(prog="bulkqa analyze")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
