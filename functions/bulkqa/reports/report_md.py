"""report.md: the report for people who read Markdown (labels through :func:`md_escape`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..escaping import md_escape, visible
from ..report_types import Report, Summary
from .fmt import BLOG_NOTE, bucket_name, ci, definitions, for_people, kappa, num, pct, share, threshold
from .report_csv import csv_table

_MD_PROSE = set("\\`*_[]<>|")


def _md_prose(value: str) -> str:
    """The report's own sentences in Markdown: only the characters that would change them escaped."""
    return "".join("\\" + ch if ch in _MD_PROSE else ch for ch in value)


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]], align_left: int = 1) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(":---" if i < align_left else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _counts(entry: Summary) -> list[str]:
    return [str(n) for n in (entry["total"], entry["confirmed"], entry["disconfirmed"], entry["split"])] + [
        str(entry["unreviewed"])
    ]


def render_markdown(report: Report, title: str = "bulk-label-qa report") -> str:
    """report.md (labels as :func:`for_people` shows them, then through :func:`md_escape`)."""
    report = for_people(report)
    title = visible(title)
    rows = report["rows"]
    opts = report["options"]
    totals = report["totals"]
    classes = report["classes"]
    names = [bucket_name(low, high) for low, high in report["buckets"]]
    out: list[str] = [f"# {md_escape(title)}", ""]
    if report["partial"]:
        out += [
            "> **Partial results.** The labeling job was stopped before every task was done: items "
            "without a verdict are counted as unreviewed and left out of every percentage.",
            "",
        ]
    out += [
        f"Rows: **{rows['total']}** = {rows['accepted']} accepted + {rows['rejected']} rejected + "
        f"{rows['below_min_confidence']} below the minimum confidence ({num(opts['min_confidence'])}).  ",
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
            [
                md_escape(entry["label"]),
                *_counts(entry),
                pct(entry["pct_correct"]),
                ci(entry["pct_correct_ci95"]),
                threshold(entry["threshold"]["bucket_walk"]),
                threshold(entry["threshold"]["precision_bound"]),
            ]
        )
    body.append(["**TOTALS**", *_counts(totals), pct(totals["pct_correct"]), ci(totals["pct_correct_ci95"]), "", ""])
    body.append(["**Class Average**", "", "", "", "", "", pct(report["class_average"]["pct_correct"]), "", "", ""])
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
    labelled: list[tuple[str, Summary]] = [(entry["label"], entry) for entry in classes]
    for label, summary in [*labelled, ("TOTALS", totals)]:
        ci_rows.append(
            [md_escape(label)]
            + [
                f"{pct(b['pct_correct'], 1)} ({ci(b['pct_correct_ci95'])}, n={b['total']})" if b["total"] else "n/a"
                for b in summary["buckets"]
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
        thresholds = entry["threshold"]
        line = (
            f"- **{md_escape(entry['label'])}**: bucket walk {threshold(thresholds['bucket_walk'])}, "
            f"precision bound {threshold(thresholds['precision_bound'])}."
        )
        evidence = thresholds["evidence"]
        if evidence:
            line += " " + _md_prose(evidence["summary"])
        out.append(line)
    out += ["", "## Calibration", ""]
    cal = totals["calibration"]
    out.append(
        f"Expected calibration error (ECE, 0-100 scale): **{pct(cal['ece'])}** points overall; mean "
        f"confidence {pct(cal['mean_confidence'])} vs {pct(cal['pct_correct'])} % correct (gap "
        f"{pct(cal['gap'])}, positive = over-confident)."
    )
    out.append("")
    cal_rows = []
    for b in totals["buckets"]:
        mean, p = b["mean_confidence"], b["pct_correct"]
        gap = None if mean is None or p is None else mean - p
        cal_rows.append([bucket_name(b["low"], b["high"]), str(b["total"]), pct(mean), pct(p), pct(gap)])
    out += _md_table(["Bucket", "Reviewed", "Mean confidence", "% Correct", "Gap"], cal_rows)
    out += [""]
    out += _md_table(
        ["Label", "ECE", "Mean confidence", "% Correct (in buckets)", "Gap"],
        [
            [
                md_escape(e["label"]),
                pct(e["calibration"]["ece"]),
                pct(e["calibration"]["mean_confidence"]),
                pct(e["calibration"]["pct_correct"]),
                pct(e["calibration"]["gap"]),
            ]
            for e in classes
        ],
    )
    out += ["", "## Reviewer agreement", ""]
    agreement = report["agreement"]
    if agreement["items_with_multiple_reviews"]:
        out.append(
            f"{agreement['items_with_multiple_reviews']} items had 2 or more reviews; "
            f"{agreement['split_items']} of them ({pct(agreement['pct_split'])} %) were split. "
            f"Fleiss' kappa: {kappa(agreement['fleiss_kappa'])} ({agreement['fleiss_items']} items with "
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
                    pct(share(g["observed_agreement"])),
                    pct(share(g["expected_agreement"])),
                    kappa(g["fleiss_kappa"]),
                ]
                for g in agreement["by_raters"]
            ],
        )
    else:
        out.append("No item had more than one review: agreement is not applicable.")
    reviewers = agreement["reviewers"]
    if reviewers:
        out.append("")
        out += _md_table(
            ["Reviewer", "Reviews", "Rejects", "% Rejected", "% Agreement with others"],
            [
                [
                    md_escape(r["reviewer"]),
                    str(r["reviews"]),
                    str(r["rejects"]),
                    pct(r["pct_rejected"]),
                    pct(r["pct_agreement_with_others"]),
                ]
                for r in reviewers
            ],
        )
    out += ["", "## Definitions and methods", ""]
    out += [f"- {_md_prose(line)}" for line in definitions(report)]
    out += [f"- **{_md_prose(name)}**: {_md_prose(text)}" for name, text in report["methods"].items()]
    out.append(f"- {_md_prose(BLOG_NOTE)}")
    return "\n".join(out) + "\n"
