"""The report files of a run: report.json/.csv/.md/.html, corrected-labels.jsonl, disconfirmed.csv.

:func:`write_reports` streams: the item-level files are written while the verdicts pass through the
analysis, which keeps only counts. Every file is written under a temporary name and renamed into
place once all of them are complete, so a failed run leaves no half-written report behind.

Every text that comes from the data (labels, image names) is neutralised for its medium:
:func:`csv_safe` for spreadsheets, :func:`md_escape` for Markdown, ``html.escape`` for HTML.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import pathlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import pairwise
from json.encoder import encode_basestring_ascii
from typing import IO, Any

from .analysis import AnalysisOptions, RowCounts, Verdict, analyze
from .escaping import csv_safe, md_escape
from .verdict import CONFIRMED, classify

REPORT_FILES = (
    "report.json",
    "report.csv",
    "report.md",
    "report.html",
    "corrected-labels.jsonl",
    "disconfirmed.csv",
)

_MD_PROSE = set("\\`*_[]<>|")

BLOG_NOTE = (
    "The blog post's own table counted empty cells as 0 % (its Class Average row for shellfish.csv, "
    "52.50 % in 80-85, includes Shrimp's empty cell as 0 %); this report leaves empty cells out and "
    "shows them as n/a."
)


def _md_prose(value: str) -> str:
    """The report's own sentences in Markdown: only the characters that would change them escaped."""
    return "".join("\\" + ch if ch in _MD_PROSE else ch for ch in value)


def _h(value: object) -> str:
    return html.escape(str(value), quote=True)


# ---------------------------------------------------------------- formatting


def _num(value: float | int) -> str:
    """A bucket edge or threshold as people write it: 85, 82.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct_sign(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} %"


def _ci(ci: Sequence[float] | None, digits: int = 1) -> str:
    return "n/a" if ci is None else f"{ci[0]:.{digits}f}-{ci[1]:.{digits}f}"


def _threshold(value: float | None) -> str:
    return "n/a" if value is None else _num(value)


def _bucket_name(bucket: Mapping[str, Any]) -> str:
    return f"{_num(bucket['low'])}-{_num(bucket['high'])}"


def _kappa(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


# ---------------------------------------------------------------- item-level streams


def _tap(
    verdicts: Iterable[Verdict],
    minimum: float,
    jsonl: IO[str],
    disconfirmed: Any,
) -> Iterator[Verdict]:
    """Pass the verdicts on, writing each reviewed item to the item-level files on the way."""
    enc = encode_basestring_ascii
    write_line = jsonl.write
    write_row = disconfirmed.writerow
    for v in verdicts:
        conf = v.confidence
        if conf >= minimum:
            verdict = classify(v.confirms, v.rejects)
            if verdict is not None:
                conf_text = repr(float(conf))
                tail = ""
                if v.reviewers:
                    tail = ', "reviewers": ' + json.dumps(dict(sorted(v.reviewers.items())))
                write_line(
                    f'{{"image": {enc(v.image)}, "label": {enc(v.label)}, "confidence": {conf_text}, '
                    f'"verdict": "{verdict}", "confirms": {int(v.confirms)}, "rejects": {int(v.rejects)}'
                    f"{tail}}}\n"
                )
                if verdict is not CONFIRMED:
                    write_row(
                        (
                            csv_safe(v.image),
                            csv_safe(v.label),
                            conf_text,
                            verdict,
                            int(v.confirms),
                            int(v.rejects),
                        )
                    )
        yield v


def write_reports(
    verdicts: Iterable[Verdict],
    rows: RowCounts | None,
    options: AnalysisOptions,
    out_dir: pathlib.Path,
    *,
    partial: bool = False,
    title: str = "bulk-label-qa report",
) -> dict[str, Any]:
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
            writer.writerow(("image", "label", "confidence", "verdict", "confirms", "rejects"))
            report = analyze(_tap(verdicts, options.min_confidence, jsonl, writer), rows, options, partial=partial)
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


# ---------------------------------------------------------------- report.json


def render_json(report: Mapping[str, Any]) -> str:
    """Deterministic JSON text of the report (no timestamps; key order as built)."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


# ---------------------------------------------------------------- report.csv


def csv_table(report: Mapping[str, Any]) -> list[list[str]]:
    """The blog post's table: header, a row per class, TOTALS, Class Average (cells as text)."""
    names = [_bucket_name({"low": low, "high": high}) for low, high in report["buckets"]]
    header = ["Label", "Total", "Confirmed", "Disconfirmed", "Split", "% Correct"]
    for name in names:
        header += [f"{name} Total", f"{name} Incorrect", f"{name} % Correct"]
    header += [
        "Unreviewed",
        "% Correct CI95 Low",
        "% Correct CI95 High",
        "Threshold (bucket walk)",
        "Threshold (precision bound)",
    ]

    def row(label: str, entry: Mapping[str, Any], threshold: Mapping[str, Any] | None) -> list[str]:
        cells = [label] + [str(entry[k]) for k in ("total", "confirmed", "disconfirmed", "split")]
        cells.append(_pct(entry["pct_correct"]))
        for bucket in entry["buckets"]:
            cells += [str(bucket["total"]), str(bucket["incorrect"]), _pct(bucket["pct_correct"])]
        ci = entry["pct_correct_ci95"]
        cells += [
            str(entry["unreviewed"]),
            _pct(ci[0]) if ci else "n/a",
            _pct(ci[1]) if ci else "n/a",
            _threshold(threshold["bucket_walk"]) if threshold else "",
            _threshold(threshold["precision_bound"]) if threshold else "",
        ]
        return cells

    table = [header]
    for entry in report["classes"]:
        table.append(row(entry["label"], entry, entry["threshold"]))
    table.append(row("TOTALS", report["totals"], None))
    average = report["class_average"]
    avg_row = ["Class Average", "", "", "", "", _pct(average["pct_correct"])]
    for bucket in average["buckets"]:
        avg_row += ["", "", _pct(bucket["pct_correct"])]
    avg_row += ["", "", "", "", ""]
    table.append(avg_row)
    return table


def render_csv(report: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for cells in csv_table(report):
        writer.writerow([csv_safe(cell) for cell in cells])
    return buffer.getvalue()


# ---------------------------------------------------------------- report.md


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]], align_left: int = 1) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(":---" if i < align_left else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(report: Mapping[str, Any], title: str = "bulk-label-qa report") -> str:
    rows = report["rows"]
    opts = report["options"]
    totals = report["totals"]
    classes = report["classes"]
    names = [_bucket_name({"low": low, "high": high}) for low, high in report["buckets"]]
    out: list[str] = [f"# {md_escape(title)}", ""]
    if report["partial"]:
        out += [
            "> **Partial results.** The labeling job was stopped before every task was done: items "
            "without a verdict are counted as unreviewed and left out of every percentage.",
            "",
        ]
    out += [
        f"Rows: **{rows['total']}** = {rows['accepted']} accepted + {rows['rejected']} rejected + "
        f"{rows['below_min_confidence']} below the minimum confidence ({_num(opts['min_confidence'])}).  ",
        f"Reviewed items: **{totals['total']}** ({totals['unreviewed']} unreviewed) in {len(classes)} "
        f"classes; max false-positive ratio {opts['max_fp_ratio']} (target precision "
        f"{100 * opts['target_precision']:.1f} %).",
        "",
        "## Per class",
        "",
    ]
    header = ["Label", "Total", "Confirmed", "Disconfirmed", "Split", "Unreviewed", "% Correct", "95 % CI"]
    header += ["Threshold (bucket walk)", "Threshold (precision bound)"]
    body = []
    for entry in classes:
        body.append(
            [md_escape(entry["label"])]
            + [str(entry[k]) for k in ("total", "confirmed", "disconfirmed", "split", "unreviewed")]
            + [_pct(entry["pct_correct"]), _ci(entry["pct_correct_ci95"])]
            + [
                _threshold(entry["threshold"]["bucket_walk"]),
                _threshold(entry["threshold"]["precision_bound"]),
            ]
        )
    body.append(
        ["**TOTALS**"]
        + [str(totals[k]) for k in ("total", "confirmed", "disconfirmed", "split", "unreviewed")]
        + [_pct(totals["pct_correct"]), _ci(totals["pct_correct_ci95"]), "", ""]
    )
    body.append(["**Class Average**", "", "", "", "", "", _pct(report["class_average"]["pct_correct"]), "", "", ""])
    out += _md_table(header, body)
    out += ["", "## By confidence bucket (the blog post's table)", ""]
    table = csv_table(report)
    blog_header = table[0][: 6 + 3 * len(names)]
    blog_rows = []
    for cells in table[1:]:
        cells = cells[: 6 + 3 * len(names)]
        blog_rows.append([md_escape(cells[0]), *cells[1:]])
    out += _md_table(blog_header, blog_rows)
    out += ["", "95 % Wilson intervals of % correct per bucket:", ""]
    ci_rows = []
    for entry in [*classes, {"label": "TOTALS", **totals}]:
        ci_rows.append(
            [md_escape(entry["label"])]
            + [
                f"{_pct(b['pct_correct'], 1)} ({_ci(b['pct_correct_ci95'])}, n={b['total']})" if b["total"] else "n/a"
                for b in entry["buckets"]
            ]
        )
    out += _md_table(["Label", *names], ci_rows)
    out += ["", "## Thresholds", ""]
    out += [
        f"At a max false-positive ratio of {opts['max_fp_ratio']} (at most {opts['max_fp_ratio']} "
        f"incorrect per confirmed item, precision >= {100 * opts['target_precision']:.1f} %):",
        "",
    ]
    for entry in classes:
        threshold = entry["threshold"]
        line = (
            f"- **{md_escape(entry['label'])}**: bucket walk {_threshold(threshold['bucket_walk'])}, "
            f"precision bound {_threshold(threshold['precision_bound'])}."
        )
        if threshold["evidence"]:
            line += " " + _md_prose(threshold["evidence"]["summary"])
        out.append(line)
    out += ["", "## Calibration", ""]
    cal = totals["calibration"]
    out.append(
        f"Expected calibration error (ECE, 0-100 scale): **{_pct(cal['ece'])}** points overall; mean "
        f"confidence {_pct(cal['mean_confidence'])} vs {_pct(cal['pct_correct'])} % correct (gap "
        f"{_pct(cal['gap'])}, positive = over-confident)."
    )
    out.append("")
    cal_rows = [
        [
            _bucket_name(b),
            str(b["total"]),
            _pct(b["mean_confidence"]),
            _pct(b["pct_correct"]),
            _pct(None if b["mean_confidence"] is None else b["mean_confidence"] - b["pct_correct"]),
        ]
        for b in totals["buckets"]
    ]
    out += _md_table(["Bucket", "Reviewed", "Mean confidence", "% Correct", "Gap"], cal_rows)
    out += [""]
    out += _md_table(
        ["Label", "ECE", "Mean confidence", "% Correct (in buckets)", "Gap"],
        [
            [
                md_escape(e["label"]),
                _pct(e["calibration"]["ece"]),
                _pct(e["calibration"]["mean_confidence"]),
                _pct(e["calibration"]["pct_correct"]),
                _pct(e["calibration"]["gap"]),
            ]
            for e in classes
        ],
    )
    out += ["", "## Reviewer agreement", ""]
    agreement = report["agreement"]
    if agreement["items_with_multiple_reviews"]:
        out.append(
            f"{agreement['items_with_multiple_reviews']} items had 2 or more reviews; "
            f"{agreement['split_items']} of them ({_pct(agreement['pct_split'])} %) were split. "
            f"Fleiss' kappa: {_kappa(agreement['fleiss_kappa'])} ({agreement['fleiss_items']} items with "
            f"{agreement['fleiss_raters']} reviews each)."
        )
        out.append("")
        out += _md_table(
            [
                "Reviews per item",
                "Items",
                "Split",
                "Observed agreement",
                "Expected agreement",
                "Fleiss' kappa",
            ],
            [
                [
                    str(g["raters"]),
                    str(g["items"]),
                    str(g["split_items"]),
                    _pct(None if g["observed_agreement"] is None else 100 * g["observed_agreement"]),
                    _pct(None if g["expected_agreement"] is None else 100 * g["expected_agreement"]),
                    _kappa(g["fleiss_kappa"]),
                ]
                for g in agreement["by_raters"]
            ],
        )
    else:
        out.append("No item had more than one review: agreement is not applicable.")
    if agreement.get("reviewers"):
        out.append("")
        out += _md_table(
            ["Reviewer", "Reviews", "Rejects", "% Rejected", "% Agreement with others"],
            [
                [
                    md_escape(r["reviewer"]),
                    str(r["reviews"]),
                    str(r["rejects"]),
                    _pct(r["pct_rejected"]),
                    _pct(r["pct_agreement_with_others"]),
                ]
                for r in agreement["reviewers"]
            ],
        )
    out += ["", "## Definitions and methods", ""]
    out += [f"- {_md_prose(line)}" for line in _definitions(report)]
    out += [f"- **{_md_prose(name)}**: {_md_prose(text)}" for name, text in report["methods"].items()]
    out.append(f"- {_md_prose(BLOG_NOTE)}")
    return "\n".join(out) + "\n"


def _definitions(report: Mapping[str, Any]) -> list[str]:
    verdicts = report["verdicts"]
    lines = [
        "confirmed = at least one reviewer confirmed and none rejected; disconfirmed = at least one "
        "rejected and none confirmed; split = both; unreviewed = no verdict. Total counts reviewed items.",
        "% correct = 100 x confirmed / total; a bucket's incorrect = disconfirmed + split. Buckets are "
        "[low, high) except the last, which includes high. n/a: nothing to divide by.",
        "Rows below the minimum confidence are counted in the row accounting and left out of every table.",
    ]
    if verdicts["outside_buckets"]:
        lines.append(
            f"{verdicts['outside_buckets']} reviewed items have a confidence outside the bucket edges: they "
            "count in the class totals but in no bucket."
        )
    return lines


# ---------------------------------------------------------------- report.html

_STOPS = (
    (0.0, (202, 0, 32)),
    (25.0, (244, 165, 130)),
    (50.0, (247, 247, 247)),
    (75.0, (146, 197, 222)),
    (100.0, (5, 113, 176)),
)


def _ramp(value: float) -> tuple[str, str]:
    """Fill and text colour for a % correct (red 0 -> white 50 -> blue 100)."""
    value = min(max(value, 0.0), 100.0)
    for (x0, c0), (x1, c1) in pairwise(_STOPS):
        if value <= x1:
            t = (value - x0) / (x1 - x0)
            rgb = tuple(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
            break
    else:  # pragma: no cover - value is clamped to 100
        rgb = _STOPS[-1][1]
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "#{:02x}{:02x}{:02x}".format(*rgb), ("#111111" if luminance > 140 else "#ffffff")


_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--panel:#f6f8fa;--walk:#1f2328;--bound:#8250df}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:28px 32px 64px}
h1{font-size:28px;margin:0 0 4px;line-height:1.25}
h2{font-size:20px;margin:40px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--border)}
h3{font-size:16px;margin:20px 0 6px}
p{margin:6px 0 10px;max-width:900px}
.sub,.note{color:var(--muted)}
.note{font-size:13px}
.banner{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:12px 16px;margin:16px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:18px 0}
.card{border:1px solid var(--border);border-radius:8px;padding:10px 14px;background:var(--panel)}
.card .v{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}
.card .k{color:var(--muted);font-size:13px}
.scroll{overflow-x:auto;margin:8px 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:14px}
th,td{padding:5px 9px;border-bottom:1px solid #e6eaef;text-align:right;vertical-align:middle}
th{background:var(--panel);font-weight:600;white-space:nowrap}
.l{text-align:left}
.lab{text-align:left;max-width:260px;overflow-wrap:anywhere;font-weight:500}
tr.sum td{border-top:2px solid var(--border);font-weight:600}
tr.avg td{font-style:italic}
td.w{padding:0 6px}
.heat td.c{text-align:center;min-width:92px;border:2px solid #fff;padding:6px 8px;line-height:1.2}
.heat td.c small{display:block;font-size:11px;opacity:.85}
.heat td.lab{min-width:140px}
.heat.compact td.lab{min-width:100px;font-size:13px}
.heat.compact td.c{min-width:0;padding:3px 2px;font-size:11px;border-width:1px}
.heat.compact td.c small{font-size:9px}
.heat.compact th{padding:5px 2px;font-size:11px;text-align:center}
.heat.compact th.l{text-align:left}
.na{background:repeating-linear-gradient(45deg,#f2f4f7,#f2f4f7 5px,#e3e7ec 5px,#e3e7ec 10px);color:#59636e}
.legend{display:flex;gap:18px;align-items:center;font-size:13px;color:var(--muted);flex-wrap:wrap}
.sw{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:5px}
svg text{font-family:inherit}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:10px}
.grid figure{margin:0;border:1px solid var(--border);border-radius:6px;padding:6px}
figcaption{font-size:13px;color:var(--muted)}
ul.ev{padding-left:20px}
ul.ev li{margin:4px 0}
footer{margin-top:40px;font-size:13px;color:var(--muted)}
footer li{margin:4px 0}
details{margin:10px 0}
summary{cursor:pointer;font-weight:600}
table.cls th{white-space:normal;vertical-align:bottom;font-size:13px}
table.cls td{white-space:nowrap}
table.cls td.lab{white-space:normal;min-width:120px}
.calrow{display:flex;gap:28px;align-items:flex-start;flex-wrap:wrap}
.calrow table{margin-top:12px}
"""


class _Ids:
    """Unique element ids within one HTML document."""

    def __init__(self) -> None:
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"


def _hatch(pattern_id: str) -> str:
    return (
        f'<defs><pattern id="{pattern_id}" patternUnits="userSpaceOnUse" width="8" height="8" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#f2f4f7"/>'
        '<rect width="4" height="8" fill="#e3e7ec"/></pattern></defs>'
    )


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _whisker(entry: Mapping[str, Any], target_pct: float, width: int = 180) -> str:
    """A 0-100 % axis with the estimate as a dot and the 95 % CI as a whisker."""
    height = 22
    pad = 12

    def x(value: float) -> float:
        return pad + (width - 2 * pad) * value / 100.0

    parts = [
        f'<svg class="whisker" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<rect x="{pad}" y="9" width="{width - 2 * pad}" height="4" rx="2" fill="#eef1f4"/>',
        f'<line x1="{x(target_pct):.1f}" x2="{x(target_pct):.1f}" y1="2" y2="20" stroke="#8250df" '
        'stroke-dasharray="2 2" stroke-width="1"/>',
    ]
    p = entry["pct_correct"]
    ci = entry["pct_correct_ci95"]
    if p is None or ci is None:
        parts.append(f'<text x="{width / 2:.0f}" y="15" font-size="11" text-anchor="middle" fill="#59636e">n/a</text>')
    else:
        fill, _ = _ramp(p)
        parts += [
            f"<title>{_h(f'{p:.1f} % correct, 95 % CI {ci[0]:.1f}-{ci[1]:.1f} %')}</title>",
            f'<line x1="{x(ci[0]):.1f}" x2="{x(ci[1]):.1f}" y1="11" y2="11" stroke="#1f2328" stroke-width="2"/>',
            f'<line x1="{x(ci[0]):.1f}" x2="{x(ci[0]):.1f}" y1="6" y2="16" stroke="#1f2328" stroke-width="1.5"/>',
            f'<line x1="{x(ci[1]):.1f}" x2="{x(ci[1]):.1f}" y1="6" y2="16" stroke="#1f2328" stroke-width="1.5"/>',
            f'<circle cx="{x(p):.1f}" cy="11" r="5" fill="{fill}" stroke="#1f2328" stroke-width="1.5"/>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _whisker_axis(target_pct: float, width: int = 180) -> str:
    pad = 12

    def x(value: float) -> float:
        return pad + (width - 2 * pad) * value / 100.0

    ticks = "".join(
        f'<text x="{x(v):.1f}" y="12" font-size="10" text-anchor="middle" fill="#59636e">{v}</text>'
        for v in (0, 25, 50, 75, 100)
    )
    return (
        f'<svg width="{width}" height="16" viewBox="0 0 {width} 16" aria-hidden="true">{ticks}'
        f'<line x1="{x(target_pct):.1f}" x2="{x(target_pct):.1f}" y1="13" y2="16" stroke="#8250df"/></svg>'
    )


def _rows_chart(report: Mapping[str, Any]) -> str:
    rows = report["rows"]
    totals = report["totals"]
    width, bar_h = 1000, 26
    parts = [f'<svg width="100%" viewBox="0 0 {width} 132" role="img" aria-label="row accounting">']

    def bar(y: int, segments: Sequence[tuple[str, int, str]], caption: str) -> None:
        whole = sum(n for _, n, _ in segments)
        parts.append(f'<text x="0" y="{y - 6}" font-size="13" fill="#1f2328">{_h(caption)}</text>')
        if not whole:
            parts.append(f'<rect x="0" y="{y}" width="{width}" height="{bar_h}" fill="#eef1f4"/>')
            return
        x = 0.0
        for name, n, colour in segments:
            if not n:
                continue
            w = width * n / whole
            parts.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar_h}" fill="{colour}">'
                f"<title>{_h(f'{name}: {n}')}</title></rect>"
            )
            if w > 90:
                parts.append(
                    f'<text x="{x + 6:.1f}" y="{y + 17}" font-size="12" fill="#ffffff">{_h(f"{name} {n}")}</text>'
                )
            x += w

    bar(
        20,
        [
            ("accepted", rows["accepted"], "#0969da"),
            ("rejected", rows["rejected"], "#cf222e"),
            ("below min confidence", rows["below_min_confidence"], "#8c959f"),
        ],
        f"Input rows: {rows['total']} = {rows['accepted']} accepted + {rows['rejected']} rejected + "
        f"{rows['below_min_confidence']} below min confidence",
    )
    bar(
        92,
        [
            ("confirmed", totals["confirmed"], "#0571b0"),
            ("disconfirmed", totals["disconfirmed"], "#ca0020"),
            ("split", totals["split"], "#e08214"),
            ("unreviewed", totals["unreviewed"], "#8c959f"),
        ],
        f"Analysed items: {totals['confirmed']} confirmed + {totals['disconfirmed']} disconfirmed + "
        f"{totals['split']} split + {totals['unreviewed']} unreviewed",
    )
    parts.append("</svg>")
    return "".join(parts)


def _class_table(report: Mapping[str, Any], target_pct: float) -> str:
    head = (
        "<tr><th class='l'>Label</th><th>Reviewed</th><th>Confirmed</th><th>Disconfirmed</th><th>Split</th>"
        "<th>Unreviewed</th><th>% correct</th><th>95 % CI</th>"
        f"<th class='l'>{_whisker_axis(target_pct)}</th>"
        "<th>Threshold<br>bucket walk</th><th>Threshold<br>precision bound</th></tr>"
    )
    body = []
    for entry in [*report["classes"], {"label": "TOTALS", **report["totals"]}]:
        threshold = entry.get("threshold")
        cls = "" if threshold else " class='sum'"
        body.append(
            f"<tr{cls}><td class='lab'>{_h(entry['label'])}</td>"
            + "".join(f"<td>{entry[k]}</td>" for k in ("total", "confirmed", "disconfirmed", "split", "unreviewed"))
            + f"<td>{_pct_sign(entry['pct_correct'])}</td><td>{_ci(entry['pct_correct_ci95'])}</td>"
            + f"<td class='w'>{_whisker(entry, target_pct)}</td>"
            + (
                f"<td>{_threshold(threshold['bucket_walk'])}</td><td>{_threshold(threshold['precision_bound'])}</td>"
                if threshold
                else "<td></td><td></td>"
            )
            + "</tr>"
        )
    average = report["class_average"]
    body.append(
        "<tr class='avg'><td class='lab'>Class average</td><td></td><td></td><td></td><td></td><td></td>"
        f"<td>{_pct_sign(average['pct_correct'])}</td><td colspan='4' class='l note'>mean over "
        f"{average['classes']} classes with reviewed items</td></tr>"
    )
    rows = "".join(body)
    return f"<div class='scroll'><table class='cls'><thead>{head}</thead><tbody>{rows}</tbody></table></div>"


def _heat_cell(p: float | None, small: str, title: str, digits: int = 1) -> str:
    if p is None:
        return f"<td class='c na' title='{_h(title)}'>n/a<small>{_h(small)}</small></td>"
    fill, ink = _ramp(p)
    return (
        f"<td class='c' style='background:{fill};color:{ink}' title='{_h(title)}'>{p:.{digits}f} %"
        f"<small>{_h(small)}</small></td>"
    )


def _heatmap(report: Mapping[str, Any]) -> str:
    names = [_bucket_name({"low": low, "high": high}) for low, high in report["buckets"]]
    compact = len(names) > 8
    digits = 0 if compact else 1

    def note(wrong: int, total: int) -> str:
        if not total:
            return "-" if compact else "no reviews"
        return f"{wrong}/{total}" if compact else f"{wrong}/{total} wrong"

    head = "<tr><th class='l'>Label</th>" + "".join(f"<th>{_h(n)}</th>" for n in names) + "<th>All</th></tr>"
    body = []
    for entry in [*report["classes"], {"label": "TOTALS", **report["totals"]}]:
        cells = []
        for name, b in zip(names, entry["buckets"], strict=True):
            small = note(b["incorrect"], b["total"])
            title = f"{entry['label']} {name}: {b['incorrect']}/{b['total']} wrong"
            cells.append(_heat_cell(b["pct_correct"], small, title, digits))
        wrong = entry["disconfirmed"] + entry["split"]
        small = note(wrong, entry["total"])
        cells.append(
            _heat_cell(entry["pct_correct"], small, f"{entry['label']}: {wrong}/{entry['total']} wrong", digits)
        )
        cls = " class='sum'" if "threshold" not in entry else ""
        body.append(f"<tr{cls}><td class='lab'>{_h(entry['label'])}</td>{''.join(cells)}</tr>")
    average = report["class_average"]
    unit = "" if compact else " classes"
    cells = [
        _heat_cell(b["pct_correct"], f"{b['classes']}{unit}", f"class average {n}: {b['classes']} classes", digits)
        for n, b in zip(names, average["buckets"], strict=True)
    ]
    cells.append(_heat_cell(average["pct_correct"], f"{average['classes']}{unit}", "class average", digits))
    body.append(f"<tr class='avg'><td class='lab'>Class average</td>{''.join(cells)}</tr>")
    legend_stops = "".join(f'<stop offset="{x:.0f}%" stop-color="#{c[0]:02x}{c[1]:02x}{c[2]:02x}"/>' for x, c in _STOPS)
    legend = (
        "<div class='legend'><span>% correct</span>"
        '<svg width="220" height="30" viewBox="0 0 220 30" aria-hidden="true"><defs>'
        f'<linearGradient id="ramp">{legend_stops}</linearGradient></defs>'
        '<rect x="10" y="2" width="200" height="12" fill="url(#ramp)" stroke="#d1d9e0"/>'
        + "".join(
            f'<text x="{10 + 2 * v}" y="27" font-size="10" text-anchor="middle" fill="#59636e">{v}</text>'
            for v in (0, 50, 100)
        )
        + "</svg><span><span class='sw na'></span>n/a: no reviewed item (not 0 %)</span></div>"
    )
    rows = "".join(body)
    kind = "heat compact" if compact else "heat"
    table = f"<table class='{kind}'><thead>{head}</thead><tbody>{rows}</tbody></table>"
    return f"<div class='scroll'>{table}</div>{legend}"


def _threshold_chart(report: Mapping[str, Any], ids: _Ids) -> str:
    classes = report["classes"]
    buckets = report["buckets"]
    lo, hi = float(buckets[0][0]), float(buckets[-1][1])
    label_w, chart_w, right_w, row_h = 230, 620, 250, 44
    width = label_w + chart_w + right_w
    height = 40 + row_h * len(classes)
    hatch = ids.next("hatch")

    def x(value: float) -> float:
        return label_w + chart_w * (value - lo) / (hi - lo)

    parts = [
        f'<svg width="100%" viewBox="0 0 {width} {height}" role="img" aria-label="thresholds per class">',
        _hatch(hatch),
    ]
    for low, _high in buckets:
        parts.append(
            f'<text x="{x(float(low)):.1f}" y="14" font-size="11" text-anchor="middle" '
            f'fill="#59636e">{_num(low)}</text>'
        )
    parts.append(f'<text x="{x(hi):.1f}" y="14" font-size="11" text-anchor="middle" fill="#59636e">{_num(hi)}</text>')
    for i, entry in enumerate(classes):
        y = 30 + i * row_h
        parts.append(
            f'<text x="{label_w - 12}" y="{y + 17}" font-size="13" text-anchor="end" fill="#1f2328">'
            f"<title>{_h(entry['label'])}</title>{_h(_short(entry['label']))}</text>"
        )
        for b in entry["buckets"]:
            x0, x1 = x(float(b["low"])), x(float(b["high"]))
            if b["pct_correct"] is None:
                fill = f"url(#{hatch})"
                tip = f"{_bucket_name(b)}: no reviewed item"
            else:
                fill = _ramp(b["pct_correct"])[0]
                tip = f"{_bucket_name(b)}: {b['pct_correct']:.1f} % correct ({b['incorrect']}/{b['total']} wrong)"
            parts.append(
                f'<rect x="{x0:.1f}" y="{y + 6}" width="{x1 - x0:.1f}" height="16" fill="{fill}" '
                f'stroke="#ffffff" stroke-width="1.5"><title>{_h(tip)}</title></rect>'
            )
        threshold = entry["threshold"]
        walk, bound = threshold["bucket_walk"], threshold["precision_bound"]
        if walk is not None:
            xw = x(float(walk))
            parts.append(
                f'<path d="M{xw - 6:.1f},{y} L{xw + 6:.1f},{y} L{xw:.1f},{y + 8} Z" fill="#1f2328">'
                f"<title>{_h(f'bucket walk threshold {_num(walk)}')}</title></path>"
                f'<line x1="{xw:.1f}" x2="{xw:.1f}" y1="{y + 4}" y2="{y + 24}" stroke="#1f2328" '
                'stroke-width="2"/>'
            )
        if bound is not None:
            xb = x(float(bound))
            parts.append(
                f'<path d="M{xb - 6:.1f},{y + 34} L{xb + 6:.1f},{y + 34} L{xb:.1f},{y + 26} Z" '
                'fill="#8250df">'
                f"<title>{_h(f'precision bound threshold {_num(bound)}')}</title></path>"
                f'<line x1="{xb:.1f}" x2="{xb:.1f}" y1="{y + 6}" y2="{y + 26}" stroke="#8250df" '
                'stroke-width="2" stroke-dasharray="3 2"/>'
            )
        summary = f"walk {_threshold(walk)} · bound {_threshold(bound)}"
        if threshold["evidence"]:
            summary += " · needs evidence"
        parts.append(
            f'<text x="{label_w + chart_w + 16}" y="{y + 18}" font-size="12" fill="#1f2328">{_h(summary)}</text>'
        )
    parts.append("</svg>")
    legend = (
        "<div class='legend'><span><svg width='14' height='12' aria-hidden='true'><path d='M1,1 L13,1 L7,10 "
        "Z' "
        "fill='#1f2328'/></svg> bucket walk (blog rule)</span><span><svg width='14' height='12' "
        "aria-hidden='true'><path d='M1,11 L13,11 L7,2 Z' fill='#8250df'/></svg> precision bound (95 % "
        "lower bound)</span><span>bars: % correct per bucket, same colours as the heatmap</span></div>"
    )
    return "".join(parts) + legend


def _reliability(
    entry: Mapping[str, Any], buckets: Sequence[Sequence[float]], ids: _Ids, *, big: bool, title: str = ""
) -> str:
    lo, hi = float(buckets[0][0]), float(buckets[-1][1])
    if big:
        width, height, left, bottom, top, right = 560, 420, 56, 48, 16, 16
    else:
        width, height, left, bottom, top, right = 240, 190, 34, 26, 10, 10
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(value: float) -> float:
        return left + plot_w * (value - lo) / (hi - lo)

    def y(value: float) -> float:
        return top + plot_h * (1.0 - value / 100.0)

    fs = 12 if big else 9
    parts = [
        f'<svg class="reliability" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" '
        f'aria-label="{_h(title or "reliability diagram")}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fbfcfd" stroke="#d1d9e0"/>',
    ]
    for v in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eef1f4"/>'
            f'<text x="{left - 4}" y="{y(v) + 3:.1f}" font-size="{fs}" text-anchor="end" '
            f'fill="#59636e">{v}</text>'
        )
    edges = [float(b[0]) for b in buckets] + [hi]
    step = max(1, len(edges) // (10 if big else 5))
    for i, e in enumerate(edges):
        if i % step and i != len(edges) - 1:
            continue
        parts.append(
            f'<text x="{x(e):.1f}" y="{top + plot_h + fs + 4}" font-size="{fs}" text-anchor="middle" '
            f'fill="#59636e">{_num(e)}</text>'
        )
    # bars: % correct per bucket
    for b in entry["buckets"]:
        if b["pct_correct"] is None:
            continue
        x0, x1 = x(float(b["low"])), x(float(b["high"]))
        parts.append(
            f'<rect x="{x0 + 1:.1f}" y="{y(b["pct_correct"]):.1f}" width="{max(x1 - x0 - 2, 1):.1f}" '
            f'height="{y(0) - y(b["pct_correct"]):.1f}" fill="#cfe3f3"/>'
        )
    # perfect calibration: accuracy = confidence
    parts.append(
        f'<line x1="{x(lo):.1f}" y1="{y(lo):.1f}" x2="{x(hi):.1f}" y2="{y(hi):.1f}" stroke="#59636e" '
        'stroke-dasharray="5 4" stroke-width="1.2"/>'
    )
    points = [b for b in entry["buckets"] if b["pct_correct"] is not None and b["mean_confidence"] is not None]
    if len(points) > 1:
        path = " ".join(f"{x(b['mean_confidence']):.1f},{y(b['pct_correct']):.1f}" for b in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#0969da" stroke-width="1.5"/>')
    for b in points:
        cx, cy = x(b["mean_confidence"]), y(b["pct_correct"])
        ci = b["pct_correct_ci95"]
        if ci and big:
            parts.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(ci[0]):.1f}" y2="{y(ci[1]):.1f}" stroke="#0969da" '
                'stroke-width="1.5"/>'
            )
        tip = (
            f"{_bucket_name(b)}: mean confidence {b['mean_confidence']:.1f}, {b['pct_correct']:.1f} % "
            "correct, "
            f"n = {b['total']}"
        )
        radius = 5 if big else 3
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="#0969da" stroke="#ffffff" '
            'stroke-width="1">'
            f"<title>{_h(tip)}</title></circle>"
        )
        if big and len(buckets) <= 8:
            near_right = cx > left + plot_w - 50
            anchor = "end" if near_right else "start"
            tx = cx - 8 if near_right else cx + 8
            parts.append(
                f'<text x="{tx:.1f}" y="{cy - 8:.1f}" font-size="11" text-anchor="{anchor}" '
                f'fill="#1f2328">n={b["total"]}</text>'
            )
    if big:
        parts.append(
            f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" font-size="12" text-anchor="middle" '
            'fill="#1f2328">mean model confidence in the bucket</text>'
            f'<text x="14" y="{top + plot_h / 2:.0f}" font-size="12" text-anchor="middle" fill="#1f2328" '
            f'transform="rotate(-90 14 {top + plot_h / 2:.0f})">% confirmed by reviewers</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _calibration_table(entry: Mapping[str, Any]) -> str:
    rows = []
    for b in entry["buckets"]:
        mean, p = b["mean_confidence"], b["pct_correct"]
        gap = None if mean is None or p is None else mean - p
        rows.append(
            f"<tr><td class='l'>{_h(_bucket_name(b))}</td><td>{b['total']}</td><td>{_pct(mean, 1)}</td>"
            f"<td>{_pct_sign(p)}</td><td>{'n/a' if gap is None else f'{gap:+.1f}'}</td></tr>"
        )
    return (
        "<table><thead><tr><th class='l'>Bucket</th><th>Reviewed</th><th>Mean<br>confidence</th>"
        "<th>% correct</th><th>Gap<br>(conf. - correct)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _agreement_html(report: Mapping[str, Any]) -> str:
    agreement = report["agreement"]
    if not agreement["items_with_multiple_reviews"]:
        return "<p>No item had more than one review, so agreement between reviewers is not applicable.</p>"
    cards = [
        ("items with 2+ reviews", str(agreement["items_with_multiple_reviews"])),
        ("of them split", f"{_pct_sign(agreement['pct_split'])} ({agreement['split_items']})"),
        (
            f"Fleiss' κ ({agreement['fleiss_raters']} reviews/item)",
            _kappa(agreement["fleiss_kappa"]),
        ),
    ]
    parts = ["<div class='cards'>"]
    parts += [f"<div class='card'><div class='v'>{_h(v)}</div><div class='k'>{_h(k)}</div></div>" for k, v in cards]
    parts.append("</div>")
    parts.append(
        "<p class='note'>Fleiss' κ corrects the observed agreement for the agreement expected by chance: 1 "
        "is "
        "perfect, 0 is chance level. When almost every verdict is the same (a class that is nearly always "
        "confirmed), chance agreement is already high and κ can be near 0 or negative even though reviewers "
        "rarely disagree; read it together with the share of split items.</p>"
    )
    rows = "".join(
        f"<tr><td>{g['raters']}</td><td>{g['items']}</td><td>{g['split_items']}</td>"
        f"<td>{_pct_sign(None if g['observed_agreement'] is None else 100 * g['observed_agreement'])}</td>"
        f"<td>{_pct_sign(None if g['expected_agreement'] is None else 100 * g['expected_agreement'])}</td>"
        f"<td>{_kappa(g['fleiss_kappa'])}</td></tr>"
        for g in agreement["by_raters"]
    )
    parts.append(
        "<div class='scroll'><table><thead><tr><th>Reviews per item</th><th>Items</th><th>Split</th>"
        "<th>Observed agreement</th><th>Chance agreement</th><th>Fleiss' κ</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )
    per_class = "".join(
        f"<tr><td class='lab'>{_h(e['label'])}</td><td>{e['agreement']['items_with_multiple_reviews']}</td>"
        f"<td>{_pct_sign(e['agreement']['pct_split'])}</td><td>{_kappa(e['agreement']['fleiss_kappa'])}</td></tr>"
        for e in report["classes"]
    )
    parts.append(
        "<h3>By class</h3><div class='scroll'><table><thead><tr><th class='l'>Label</th><th>Items with 2+ "
        f"reviews</th><th>% split</th><th>Fleiss' κ</th></tr></thead><tbody>{per_class}</tbody></table></div>"
    )
    reviewers = agreement.get("reviewers") or []
    if reviewers:
        shown = reviewers[:100]
        rows = "".join(
            f"<tr><td class='lab'>{_h(r['reviewer'])}</td><td>{r['reviews']}</td><td>{r['rejects']}</td>"
            f"<td>{_pct_sign(r['pct_rejected'])}</td><td>{_pct_sign(r['pct_agreement_with_others'])}</td></tr>"
            for r in shown
        )
        more = (
            f"<p class='note'>{len(reviewers) - len(shown)} more reviewers in report.json.</p>"
            if len(reviewers) > len(shown)
            else ""
        )
        parts.append(
            "<h3>By reviewer</h3><div class='scroll'><table><thead><tr><th "
            "class='l'>Reviewer</th><th>Reviews</th>"
            "<th>Rejects</th><th>% rejected</th><th>% agreeing with co-reviewers</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>{more}"
        )
    return "".join(parts)


def _blog_table_html(report: Mapping[str, Any]) -> str:
    table = csv_table(report)
    n = 6 + 3 * len(report["buckets"])
    head = "".join(f"<th{' class=l' if i == 0 else ''}>{_h(c)}</th>" for i, c in enumerate(table[0][:n]))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=lab' if i == 0 else ''}>{_h(c)}</td>" for i, c in enumerate(row[:n])) + "</tr>"
        for row in table[1:]
    )
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def render_html(report: Mapping[str, Any], title: str = "bulk-label-qa report") -> str:
    """One self-contained HTML page: inline CSS and SVG, no script, no external resource."""
    ids = _Ids()
    rows = report["rows"]
    opts = report["options"]
    totals = report["totals"]
    classes = report["classes"]
    target_pct = 100.0 * opts["target_precision"]
    agreement = report["agreement"]
    parts: list[str] = [
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        f"<title>{_h(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_h(title)}</h1>",
        f"<div class='sub'>{totals['total']} reviewed items in {len(classes)} classes · confidence buckets "
        f"{_h(_num(report['buckets'][0][0]))}-{_h(_num(report['buckets'][-1][1]))} · max false-positive "
        "ratio "
        f"{_h(opts['max_fp_ratio'])} (precision ≥ {target_pct:.1f} %)</div>",
    ]
    if report["partial"]:
        parts.append(
            "<div class='banner' role='alert'><strong>Partial results.</strong> The labeling job was stopped "
            "before every task was done. Items without a verdict are counted as unreviewed "
            f"({totals['unreviewed']}) and left out of every percentage.</div>"
        )
    cards = [
        ("input rows", str(rows["total"])),
        ("reviewed items", str(totals["total"])),
        ("% correct · 95 % CI " + _ci(totals["pct_correct_ci95"]), _pct_sign(totals["pct_correct"])),
        ("class average", _pct_sign(report["class_average"]["pct_correct"])),
        ("calibration error (ECE)", f"{_pct(totals['calibration']['ece'], 1)} pts"),
        ("reviewer agreement (Fleiss' κ)", _kappa(agreement["fleiss_kappa"])),
    ]
    parts.append("<div class='cards'>")
    for key, value in cards:
        parts.append(f"<div class='card'><div class='v'>{_h(value)}</div><div class='k'>{_h(key)}</div></div>")
    parts.append("</div>")

    parts.append("<h2>Where the rows went</h2>")
    parts.append(_rows_chart(report))

    parts.append("<h2>Per class</h2>")
    parts.append(
        "<p>Dot: % of reviewed items confirmed; whisker: 95 % Wilson interval; dashed purple line: the "
        "target "
        f"precision {target_pct:.1f} % = 1 / (1 + {_h(opts['max_fp_ratio'])}).</p>"
    )
    parts.append(_class_table(report, target_pct))

    parts.append("<h2>% correct by class and confidence bucket</h2>")
    parts.append(_heatmap(report))

    parts.append("<h2>Thresholds per class</h2>")
    parts.append(
        "<p>Each row is the class's confidence axis. Items at or above a threshold would be accepted without "
        "review at the chosen false-positive ratio.</p>"
    )
    parts.append(_threshold_chart(report, ids))
    evidence = [(e["label"], e["threshold"]["evidence"]["summary"]) for e in classes if e["threshold"]["evidence"]]
    if evidence:
        parts.append("<h3>Where the evidence is thin</h3><ul class='ev'>")
        parts += [f"<li><strong>{_h(label)}</strong>: {_h(text)}</li>" for label, text in evidence]
        parts.append("</ul>")

    parts.append("<h2>Calibration</h2>")
    cal = totals["calibration"]
    parts.append(
        "<p>Reliability diagram: for each bucket, the mean model confidence (x) against the % confirmed "
        "(y); "
        f"the dashed diagonal is perfect calibration. Points below it mean the model is over-confident. "
        f"ECE = <strong>{_pct(cal['ece'], 1)}</strong> points on the 0-100 scale (mean confidence "
        f"{_pct(cal['mean_confidence'], 1)} vs {_pct_sign(cal['pct_correct'])} correct).</p>"
    )
    parts.append("<div class='calrow'>")
    parts.append(_reliability(totals, report["buckets"], ids, big=True, title="reliability diagram, all classes"))
    parts.append(_calibration_table(totals))
    parts.append("</div>")
    if classes:
        parts.append("<h3>By class</h3><div class='grid'>")
        for entry in classes[:60]:
            parts.append(
                "<figure>"
                + _reliability(entry, report["buckets"], ids, big=False, title=f"reliability, {entry['label']}")
                + f"<figcaption><strong>{_h(_short(entry['label'], 30))}</strong> · ECE "
                f"{_pct(entry['calibration']['ece'], 1)} · n={entry['calibration']['reviewed_in_buckets']}"
                "</figcaption></figure>"
            )
        parts.append("</div>")
        if len(classes) > 60:
            parts.append(f"<p class='note'>{len(classes) - 60} more classes in report.json.</p>")

    parts.append("<h2>Reviewer agreement</h2>")
    parts.append(_agreement_html(report))

    parts.append("<h2>The blog post's table</h2>")
    parts.append("<details><summary>Same layout as report.csv</summary>" + _blog_table_html(report) + "</details>")

    parts.append("<footer><h2>Definitions and methods</h2><ul>")
    parts += [f"<li>{_h(line)}</li>" for line in _definitions(report)]
    parts += [f"<li><strong>{_h(name)}</strong>: {_h(text)}</li>" for name, text in report["methods"].items()]
    parts.append(f"<li>{_h(BLOG_NOTE)}</li>")
    parts.append("</ul></footer></main></body></html>")
    return "\n".join(parts) + "\n"


def iter_report_paths(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """The paths :func:`write_reports` writes, in :data:`REPORT_FILES` order."""
    return [pathlib.Path(out_dir) / name for name in REPORT_FILES]


__all__ = [
    "BLOG_NOTE",
    "REPORT_FILES",
    "csv_safe",
    "md_escape",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "write_reports",
]
