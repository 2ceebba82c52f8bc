"""The analysis of reviewed labels: the blog post's tables, with the statistics they lacked.

One pass over the verdicts, whatever their number: only counts per class x confidence bucket (and a
few per rater-count sums for reviewer agreement) are kept, never the verdicts themselves. Everything in
the report is derived from integer counts, so the report does not depend on the order in which the
verdicts arrive (a DynamoDB scan and a CSV export give byte-identical reports).

Definitions (docs/interfaces.md and the blog post "Bulk QA with Amazon SageMaker Ground Truth"):

- an item is one (image, label) with its model confidence (0-100) and its reviewers' counts;
- confirmed = some reviewer confirmed and none rejected; disconfirmed = the reverse; split = both;
  unreviewed = neither (an expired task, a stopped job);
- ``total`` counts reviewed items; ``pct_correct`` = 100 x confirmed / total; a bucket's
  ``incorrect`` = disconfirmed + split;
- buckets are ``[low, high)`` except the last, which includes ``high``.

The package: :mod:`.model` (the verdict, the options, the bucket edges), :mod:`.accumulator` (the one
pass and the report), :mod:`.summary` (counts, buckets, calibration, agreement, class average),
:mod:`.thresholds` (bucket walk, precision bound, evidence), :mod:`.stats` (Wilson, Fleiss' kappa),
:mod:`.methods` (how each number is computed, as written into the report). report.json's shape is
:class:`bulkqa.report_types.Report`.
"""

from __future__ import annotations

from .accumulator import Accumulator, analyze
from .methods import METHODS
from .model import BUCKET_WIDTH, AnalysisOptions, RowCounts, Verdict, bucket_edges, validate_edges
from .stats import (
    Z_ONE_SIDED_95,
    Z_TWO_SIDED_95,
    ci_pct,
    fleiss_kappa_binary,
    pct,
    reviews_needed,
    wilson_interval,
    wilson_lower_bound,
)
from .stats import _wilson_lower_at as _wilson_lower_at
from .thresholds import bucket_walk, precision_bound

__all__ = [
    "BUCKET_WIDTH",
    "METHODS",
    "Z_ONE_SIDED_95",
    "Z_TWO_SIDED_95",
    "Accumulator",
    "AnalysisOptions",
    "RowCounts",
    "Verdict",
    "analyze",
    "bucket_edges",
    "bucket_walk",
    "ci_pct",
    "fleiss_kappa_binary",
    "pct",
    "precision_bound",
    "reviews_needed",
    "validate_edges",
    "wilson_interval",
    "wilson_lower_bound",
]
