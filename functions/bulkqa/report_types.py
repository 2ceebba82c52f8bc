"""The one typed definition of report.json (its fields are documented in docs/interfaces.md).

Built by :mod:`bulkqa.analysis`, written and rendered by :mod:`bulkqa.reports`, read by the local
commands (``bulkqa analyze``, ``bulkqa demo``). Standard library only (``typing.TypedDict``): the
report stays a plain ``dict`` at run time, so ``json.dumps`` writes it as it always did and
``json.loads`` of report.json gives back the same shape. The key order of the JSON text is the order in
which the analysis builds each dict, not the order of the fields below.

Percentages are on the 0-100 scale and not rounded; a percentage with nothing to divide by is ``None``
(``null``). Bucket edges and thresholds that are whole numbers are written as ints (80, not 80.0).
"""

from __future__ import annotations

from typing import Literal, TypeAlias, TypedDict

#: A bucket edge as written in the report: an int when it is a whole number (80), else a float (82.5).
Edge: TypeAlias = int | float
#: ``[low, high]`` of one bucket, or of the buckets an evidence note points to.
BucketRange: TypeAlias = list[Edge]
#: The 95 % Wilson interval of a ``pct_correct``, ``[low, high]`` on the 0-100 scale, or None.
Interval: TypeAlias = list[float] | None


class RowsEntry(TypedDict):
    """What happened to the input rows: total = accepted + rejected + below_min_confidence."""

    total: int
    accepted: int
    rejected: int
    below_min_confidence: int


class Bucket(TypedDict):
    """One confidence bucket of a class (or of the totals)."""

    low: Edge
    high: Edge
    total: int
    incorrect: int
    pct_correct: float | None
    pct_correct_ci95: Interval
    confirmed: int
    disconfirmed: int
    split: int
    unreviewed: int
    mean_confidence: float | None


class Calibration(TypedDict):
    """Reliability of a class (or of the totals) over the reviewed items inside the buckets."""

    ece: float | None
    reviewed_in_buckets: int
    mean_confidence: float | None
    pct_correct: float | None
    gap: float | None


class FleissKappa(TypedDict):
    """Fleiss' kappa of ``items`` items rated by ``raters`` raters each, two categories."""

    raters: int
    items: int
    observed_agreement: float | None
    expected_agreement: float | None
    fleiss_kappa: float | None


class RaterGroup(FleissKappa):
    """The items with one given number of reviews: their kappa and how many of them were split."""

    split_items: int


class Agreement(TypedDict):
    """Reviewer agreement over the items with 2 or more reviews."""

    items_with_multiple_reviews: int
    split_items: int
    pct_split: float | None
    fleiss_kappa: float | None
    fleiss_raters: int | None
    fleiss_items: int
    by_raters: list[RaterGroup]


class Summary(TypedDict):
    """The fields shared by a class and the totals."""

    total: int
    confirmed: int
    disconfirmed: int
    split: int
    unreviewed: int
    pct_correct: float | None
    pct_correct_ci95: Interval
    outside_buckets: int
    buckets: list[Bucket]
    calibration: Calibration
    agreement: Agreement


class WalkEvidence(TypedDict):
    """The bucket walk was decided by fewer than ``min_evidence`` reviewed items."""

    reviewed: int
    min_evidence: int
    additional_reviews: int
    buckets: list[BucketRange]


class BoundOption(TypedDict):
    """One way to settle a missing precision bound: this many more reviews at or above ``threshold``."""

    threshold: float
    reviewed: int
    observed_precision_pct: float
    additional_reviews: int
    buckets: list[BucketRange]


class BoundEvidence(TypedDict):
    """Why the precision bound is null, and the cheapest ways to settle it."""

    reachable: bool
    options: list[BoundOption]


class Evidence(TypedDict):
    """Why a class's threshold is not settled (a sentence for people, and the numbers)."""

    summary: str
    bucket_walk: WalkEvidence | None
    precision_bound: BoundEvidence | None


class Threshold(TypedDict):
    """A class's thresholds at the report's ``max_fp_ratio``."""

    bucket_walk: float | None
    precision_bound: float | None
    target_precision: float
    evidence: Evidence | None


class ClassEntry(Summary):
    """One class (label): its summary, then its thresholds. In the JSON, ``label`` comes first."""

    label: str
    threshold: Threshold


class AverageBucket(TypedDict):
    """The class average of one bucket column."""

    low: Edge
    high: Edge
    pct_correct: float | None
    classes: int


class ClassAverage(TypedDict):
    """Plain mean of the classes' pct_correct over the classes with a reviewed item in the column."""

    pct_correct: float | None
    classes: int
    buckets: list[AverageBucket]


class Options(TypedDict):
    """The options the report was computed with."""

    min_confidence: float
    bucket_edges: list[Edge]
    max_fp_ratio: float
    target_precision: float
    min_evidence: int


class VerdictCounts(TypedDict):
    """How many verdicts the analysis saw and what became of them."""

    seen: int
    below_min_confidence: int
    analysed: int
    reviewed: int
    unreviewed: int
    outside_buckets: int


class CalibrationSummary(TypedDict):
    """The headline calibration error, overall and per class."""

    scale: Literal["0-100"]
    ece: float | None
    by_class: dict[str, float | None]


class ReviewerStats(TypedDict):
    """One reviewer's reviews and how often they agreed with the others on the same items."""

    reviewer: str
    reviews: int
    rejects: int
    pct_rejected: float | None
    pct_agreement_with_others: float | None


class ReportAgreement(Agreement):
    """The totals' agreement, plus one entry per reviewer (None when no verdict named its reviewers)."""

    reviewers: list[ReviewerStats] | None


class Report(TypedDict):
    """report.json."""

    rows: RowsEntry
    buckets: list[BucketRange]
    classes: list[ClassEntry]
    totals: Summary
    class_average: ClassAverage
    partial: bool
    options: Options
    verdicts: VerdictCounts
    calibration: CalibrationSummary
    agreement: ReportAgreement
    #: method name -> how it is computed (the report documents its own statistics)
    methods: dict[str, str]


__all__ = [
    "Agreement",
    "AverageBucket",
    "BoundEvidence",
    "BoundOption",
    "Bucket",
    "BucketRange",
    "Calibration",
    "CalibrationSummary",
    "ClassAverage",
    "ClassEntry",
    "Edge",
    "Evidence",
    "FleissKappa",
    "Interval",
    "Options",
    "RaterGroup",
    "Report",
    "ReportAgreement",
    "ReviewerStats",
    "RowsEntry",
    "Summary",
    "Threshold",
    "VerdictCounts",
    "WalkEvidence",
]
