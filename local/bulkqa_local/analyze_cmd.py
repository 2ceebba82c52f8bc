"""``bulkqa analyze``: the analysis and report files from a CSV export of the labels table, no AWS.

    bulkqa analyze --verdicts PATH --out DIR [--min-confidence X] [--buckets 80,85,90,95,100]
                   [--max-fp-ratio R] [--confidence-scale auto|percent|fraction]

The CSV needs the columns ``s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount``
(``image_local_path`` instead of ``s3_image_url`` also does; an optional ``WorkerVerdicts``). It is
read with the ingest's rules: the same header rules (``bulkqa.csvfile.read_header``: names in any case
and order, other columns ignored, a duplicated column an error; DynamoDB console headers such as
``confidence (N)`` and a UTF-8 BOM are accepted), the same confidence numbers (plain decimal notation)
and scale (a file whose first 1,000 confidences are all in 0-1 is read as fractions,
``bulkqa.csvfile.decide_scale``), the same label policy (``bulkqa.labelpolicy.normalise_label``). A
repeated (image, label), a ``WorkerVerdicts`` that is not a JSON object or that contradicts the counts,
and every other bad row stop the command with the line and what to fix: nothing is written. It is
streamed: the file is read once, row by row.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import pathlib
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import TextIO

from bulkqa import csvfile, labelpolicy, settings
from bulkqa.analysis import AnalysisOptions, Verdict, validate_edges
from bulkqa.errors import InvalidLabelFile
from bulkqa.report_types import Report, Summary
from bulkqa.reports import REPORT_FILES, write_reports
from bulkqa.reports.fmt import for_people

COUNTS = ("WorkerConfirmCount", "WorkerDisconfirmCount")
VERDICTS = "WorkerVerdicts"
REQUIRED = ("s3_image_url", "label", "confidence", *COUNTS)
_TYPE_SUFFIX = re.compile(r"\s*\((S|N|BOOL|M|L|SS|NS)\)\s*$", re.IGNORECASE)
_EDGE = re.compile(r"[0-9]+(\.[0-9]+)?")
EXIT_OK = 0
EXIT_USAGE = 2


class VerdictFileError(Exception):
    """The verdicts file cannot be read; the message names the line and what to do."""


def _edges(text: str) -> tuple[float, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    bad = [part for part in parts if not _EDGE.fullmatch(part)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {bad[0]!r} is not a number in plain decimal notation; give edges such as 80,85,90,95,100"
        )
    try:
        return validate_edges([float(part) for part in parts])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _setting_flag(parameter: str) -> Callable[[str], float]:
    """An argparse type checking a flag with the rule of the stack parameter it mirrors (bulkqa.settings)."""
    spec = settings.BY_PARAMETER[parameter]

    def check(text: str) -> float:
        reason = spec.problem(text)
        if reason:
            raise argparse.ArgumentTypeError(f"{text} {reason}")
        return float(text)

    return check


def _scale(text: str) -> str:
    reason = settings.BY_PARAMETER["ConfidenceScale"].problem(text)
    if reason:
        raise argparse.ArgumentTypeError(f"{text} {reason}")
    return text


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
        type=_setting_flag("MinConfidence"),
        default=0.0,
        metavar="X",
        help="rows below X (0-100) are counted but left out of the analysis (default 0)",
    )
    parser.add_argument(
        "--buckets",
        type=_edges,
        default=None,
        metavar="EDGES",
        help="comma-separated bucket edges, strictly increasing within 0-100, e.g. 80,85,90,95,100 "
        "(default: from --min-confidence, every 5)",
    )
    parser.add_argument(
        "--max-fp-ratio",
        type=_setting_flag("MaxFpRatio"),
        default=0.1,
        metavar="R",
        help="acceptable false positives per true positive for thresholds, 0-100 (default 0.1)",
    )
    parser.add_argument(
        "--confidence-scale",
        type=_scale,
        default="auto",
        metavar="SCALE",
        help="auto (default: 0-1 if the first 1,000 confidences are all at most 1, as the ingest decides), "
        "percent or fraction",
    )
    parser.add_argument("--title", default="bulk-label-qa report", help="title of the human reports")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="mark the report as partial (the labeling job was stopped early)",
    )


def _canonical(name: str) -> str:
    return _TYPE_SUFFIX.sub("", name.strip().lstrip("\ufeff")).strip()


def _columns(header: list[str]) -> tuple[csvfile.Header, dict[str, int]]:
    """The header read with the ingest's rules (csvfile.read_header), plus where the count columns are."""
    names = [_canonical(h) for h in header]
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(names)
    try:
        columns = csvfile.read_header(line.getvalue().encode("utf-8"))
    except InvalidLabelFile as exc:
        present = {n.lower() for n in names}
        if present & set(csvfile.IMAGE_COLUMNS):
            present.add("s3_image_url")  # image_local_path does as well
        missing = [c for c in REQUIRED if c.lower() not in present]
        if missing and "missing" in str(exc):
            raise VerdictFileError(
                f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the header must "
                f"include {', '.join(REQUIRED)} (found: {', '.join(names) or 'nothing'})"
            ) from None
        raise VerdictFileError(f"line 1: {exc}") from None
    lowered = [n.lower() for n in names]
    extra: dict[str, int] = {}
    for name in (*COUNTS, VERDICTS):
        where = [n for n, column in enumerate(lowered) if column == name.lower()]
        if len(where) > 1:
            raise VerdictFileError(
                f"line 1: column {name.lower()!r} appears twice in the header (columns {where[0] + 1} and "
                f"{where[1] + 1}); keep one"
            )
        if where:
            extra[name] = where[0]
    missing = [c for c in COUNTS if c not in extra]
    if missing:
        raise VerdictFileError(
            f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the header must "
            f"include {', '.join(REQUIRED)} (found: {', '.join(names) or 'nothing'})"
        )
    return columns, extra


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


def _confidence(text: str, line: int) -> Decimal:
    try:
        value = csvfile.read_decimal(text)
    except ValueError as exc:
        raise VerdictFileError(
            f"line {line}: confidence is {text!r}; it must be a number between 0 and 100 in plain decimal "
            f"notation ({exc})"
        ) from None
    if not 0 <= value <= 100:
        raise VerdictFileError(f"line {line}: confidence is {text!r}; it must be a number between 0 and 100")
    return value


def _percent(value: Decimal, text: str, scale: str, line: int) -> float:
    """The confidence on the 0-100 scale (a fraction x 100, exactly)."""
    if scale != "fraction":
        return float(value)
    if value > 1:
        raise VerdictFileError(
            f"line {line}: confidence is {text!r}, above 1, but this file uses the 0-1 scale (all of its first "
            f"{csvfile.SAMPLE_ROWS:,} confidences are at most 1); use one scale per file, or "
            "--confidence-scale percent"
        )
    return float(value.scaleb(2))


def read_verdicts(stream: TextIO, scale: str = "auto") -> Iterator[Verdict]:
    """Verdicts from a labels-table CSV export, one row at a time; VerdictFileError on a bad row.

    ``scale``: ``auto`` (the ingest's rule on the first 1,000 rows), ``percent`` or ``fraction``.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise VerdictFileError(f"the file is empty: expected a header line with {', '.join(REQUIRED)}") from None
    columns, extra = _columns(header)
    i_image, i_label, i_conf = columns.image_index, columns.label_index, columns.confidence_index
    i_c, i_r = extra[COUNTS[0]], extra[COUNTS[1]]
    i_v = extra.get(VERDICTS)
    width = max(i_image, i_label, i_conf, i_c, i_r) + 1
    seen: dict[tuple[str, str], int] = {}

    def rows() -> Iterator[tuple[int, str, str, Decimal, str, list[str]]]:
        last = reader.line_num
        for row in reader:
            line, last = last + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) < width:
                raise VerdictFileError(
                    f"line {line}: {len(row)} field{'s' if len(row) != 1 else ''}, but the header has "
                    f"{len(header)}; fix or remove the row"
                )
            image = row[i_image].strip()
            if not image:
                raise VerdictFileError(f"line {line}: {columns.image_column} is empty; every row needs its image")
            try:
                label = labelpolicy.normalise_label(row[i_label])
            except ValueError as exc:
                raise VerdictFileError(
                    f"line {line}: {exc}; every row needs its label, as the ingest accepts it"
                ) from None
            key = (image, label)
            if key in seen:
                raise VerdictFileError(
                    f"line {line}: {columns.image_column} {image!r} with label {label!r} repeats line {seen[key]}; "
                    "each (image, label) is one row of the labels table: remove the repeated row "
                    "(was the export pasted twice?)"
                )
            seen[key] = line
            text = row[i_conf].strip(" \t")
            yield line, image, label, _confidence(text, line), text, row

    pending = rows()
    first = []
    for item in pending:
        first.append(item)
        if len(first) >= csvfile.SAMPLE_ROWS:
            break
    decided = csvfile.decide_scale((item[3] for item in first), scale)

    def verdicts() -> Iterator[tuple[int, str, str, Decimal, str, list[str]]]:
        yield from first
        yield from pending

    for line, image, label, value, text, row in verdicts():
        confirms = _count(row[i_c], COUNTS[0], line)
        rejects = _count(row[i_r], COUNTS[1], line)
        yield Verdict(
            image=image,
            label=label,
            confidence=_percent(value, text, decided, line),
            confirms=confirms,
            rejects=rejects,
            reviewers=_reviewers(row[i_v], confirms, rejects, line) if i_v is not None and i_v < len(row) else None,
        )


def _reviewers(text: str, confirms: int, rejects: int, line: int) -> dict[str, str] | None:
    """The optional WorkerVerdicts column: a JSON object reviewer id -> confirm|reject, agreeing with the counts.

    Both a plain object and DynamoDB's JSON form ({"id": {"S": "confirm"}}, or all of it in {"M": ...}) are read.
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
    if not isinstance(data, dict):
        raise VerdictFileError(
            f"line {line}: WorkerVerdicts is JSON {type(data).__name__ if data is not None else 'null'}, not an "
            'object; it must map each reviewer to confirm or reject, e.g. {"worker-1": "confirm"}, or be empty'
        )
    out: dict[str, str] = {}
    for worker, verdict in data.items():
        value = verdict.get("S") if isinstance(verdict, dict) else verdict
        if value not in ("confirm", "reject"):
            raise VerdictFileError(
                f"line {line}: WorkerVerdicts gives {worker!r} the verdict {value!r}; expected confirm or reject"
            )
        out[str(worker)] = str(value)
    named = (sum(v == "confirm" for v in out.values()), sum(v == "reject" for v in out.values()))
    if out and named != (confirms, rejects):
        raise VerdictFileError(
            f"line {line}: WorkerVerdicts names {named[0]} confirm and {named[1]} reject, but the counts are "
            f"WorkerConfirmCount {confirms} and WorkerDisconfirmCount {rejects}; fix the row so that they agree"
        )
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
    for entry in for_people(report)["classes"]:
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
        name = r[0] if len(r[0]) <= 40 else r[0][:39] + "\u2026"  # cut: never a summary row's name
        cells = [name.ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
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
                read_verdicts(stream, str(getattr(args, "confidence_scale", "auto"))),
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
