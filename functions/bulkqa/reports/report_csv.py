"""report.csv: the blog post's table (also the last table of report.md and report.html)."""

from __future__ import annotations

import csv
import io

from ..escaping import csv_safe
from ..report_types import Report, Summary, Threshold
from .fmt import bucket_name, for_people, pct, threshold


def csv_table(report: Report) -> list[list[str]]:
    """The blog post's table: header, a row per class, TOTALS, Class Average (cells as text).

    The labels are taken as they are: pass a report through :func:`for_people` first."""
    names = [bucket_name(low, high) for low, high in report["buckets"]]
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

    def row(label: str, entry: Summary, thresholds: Threshold | None) -> list[str]:
        cells = [label] + [str(n) for n in (entry["total"], entry["confirmed"], entry["disconfirmed"], entry["split"])]
        cells.append(pct(entry["pct_correct"]))
        for bucket in entry["buckets"]:
            cells += [str(bucket["total"]), str(bucket["incorrect"]), pct(bucket["pct_correct"])]
        ci = entry["pct_correct_ci95"]
        cells += [
            str(entry["unreviewed"]),
            pct(ci[0]) if ci else "n/a",
            pct(ci[1]) if ci else "n/a",
            threshold(thresholds["bucket_walk"]) if thresholds else "",
            threshold(thresholds["precision_bound"]) if thresholds else "",
        ]
        return cells

    table = [header]
    for entry in report["classes"]:
        table.append(row(entry["label"], entry, entry["threshold"]))
    table.append(row("TOTALS", report["totals"], None))
    average = report["class_average"]
    avg_row = ["Class Average", "", "", "", "", pct(average["pct_correct"])]
    for bucket in average["buckets"]:
        avg_row += ["", "", pct(bucket["pct_correct"])]
    avg_row += ["", "", "", "", ""]
    table.append(avg_row)
    return table


def render_csv(report: Report) -> str:
    """report.csv: :func:`csv_table` of :func:`for_people`, every cell through :func:`csv_safe`, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for cells in csv_table(for_people(report)):
        writer.writerow([csv_safe(cell) for cell in cells])
    return buffer.getvalue()
