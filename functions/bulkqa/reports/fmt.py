"""How numbers, labels and the report's own sentences are written in every human-readable report."""

from __future__ import annotations

from collections.abc import Sequence

from ..escaping import visible
from ..report_types import ClassEntry, Report, ReportAgreement, ReviewerStats

#: The names of the summary rows that share a table with the classes (report.csv/.md/.html, the CLI's tables).
SUMMARY_ROWS = ("TOTALS", "Class Average", "Class average")
_RESERVED = {name.casefold() for name in SUMMARY_ROWS}

BLOG_NOTE = (
    "The blog post's own table counted empty cells as 0 % (its Class Average row for shellfish.csv, "
    "52.50 % in 80-85, includes Shrimp's empty cell as 0 %); this report leaves empty cells out and "
    "shows them as n/a."
)


def class_label(label: str) -> str:
    """A class label as a table row shows it: never the same text as a summary row.

    A label that, once its surrounding double quotes are taken off, is a summary row's name (in any case:
    ``TOTALS``, ``"Totals"``, ``Class average``) is shown in double quotes: ``"TOTALS"``. A summary row is
    never quoted, and two different labels never look the same (a label already in quotes gets one more
    pair). Every other label is shown as it is, control bytes escaped (:func:`visible`).
    """
    label = visible(label)
    core = label
    while len(core) >= 2 and core[0] == core[-1] == '"':
        core = core[1:-1]
    return f'"{label}"' if core.casefold() in _RESERVED else label


def for_people(report: Report) -> Report:
    """``report`` with the text that comes from the data as the human reports show it.

    Class labels through :func:`class_label`, reviewer ids through :func:`visible`. Call it once, at the
    entry point of a human-readable output (it is not idempotent: a quoted label would be quoted again).
    """
    classes = report["classes"]
    reviewers = report["agreement"]["reviewers"]
    if all(class_label(e["label"]) == e["label"] for e in classes) and all(
        visible(r["reviewer"]) == r["reviewer"] for r in reviewers or []
    ):
        return report  # the common case: nothing to change, nothing copied
    shown = report.copy()
    entries: list[ClassEntry] = []
    for entry in classes:
        copy = entry.copy()
        copy["label"] = class_label(entry["label"])
        entries.append(copy)
    shown["classes"] = entries
    calibration = report["calibration"].copy()
    calibration["by_class"] = {class_label(k): v for k, v in calibration["by_class"].items()}
    shown["calibration"] = calibration
    if reviewers is not None:
        agreement: ReportAgreement = report["agreement"].copy()
        people: list[ReviewerStats] = []
        for reviewer in reviewers:
            stats = reviewer.copy()
            stats["reviewer"] = visible(reviewer["reviewer"])
            people.append(stats)
        agreement["reviewers"] = people
        shown["agreement"] = agreement
    return shown


def num(value: float) -> str:
    """A bucket edge or threshold as people write it: 85, 82.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def pct_sign(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} %"


def ci(interval: Sequence[float] | None, digits: int = 1) -> str:
    return "n/a" if interval is None else f"{interval[0]:.{digits}f}-{interval[1]:.{digits}f}"


def threshold(value: float | None) -> str:
    return "n/a" if value is None else num(value)


def bucket_name(low: float, high: float) -> str:
    return f"{num(low)}-{num(high)}"


def kappa(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def share(value: float | None) -> float | None:
    """A 0-1 share (observed/expected agreement) on the 0-100 scale."""
    return None if value is None else 100 * value


def definitions(report: Report) -> list[str]:
    """The definitions every human-readable report ends with."""
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
