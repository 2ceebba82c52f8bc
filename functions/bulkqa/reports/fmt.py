"""How numbers and the report's own sentences are written in every human-readable report."""

from __future__ import annotations

from collections.abc import Sequence

from ..report_types import Report

BLOG_NOTE = (
    "The blog post's own table counted empty cells as 0 % (its Class Average row for shellfish.csv, "
    "52.50 % in 80-85, includes Shrimp's empty cell as 0 %); this report leaves empty cells out and "
    "shows them as n/a."
)


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
