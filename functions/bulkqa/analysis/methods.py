"""How each number of the report is computed: the text written into report.json's ``methods``."""

from __future__ import annotations

METHODS: dict[str, str] = {
    "pct_correct_ci95": (
        "Wilson score interval, two-sided 95 % (z = 1.959964), on the share of reviewed items that were "
        "confirmed; split items count as not correct. Reported on the 0-100 scale."
    ),
    "threshold_bucket_walk": (
        "The blog post's rule: start at the top bucket and walk down, skipping empty buckets; stop at the "
        "first bucket whose incorrect/confirmed ratio exceeds max_fp_ratio (incorrect items and no confirmed "
        "ones exceed any ratio); the threshold is that bucket's high edge, or, if no bucket exceeds the "
        "ratio, the low edge of the lowest bucket that holds a reviewed item of the class (empty buckets are "
        "not evidence: the walk never goes below that edge). null when no bucket holds a reviewed item."
    ),
    "threshold_precision_bound": (
        "The lowest bucket low edge t such that the one-sided 95 % Wilson score lower bound (z = 1.644854) "
        "on the precision (confirmed / reviewed) of all reviewed items of the class with confidence >= t is "
        "at least 1 / (1 + max_fp_ratio); only edges at or above the low edge of the lowest bucket that "
        "holds a reviewed item of the class are candidates (empty buckets are not evidence). null when no "
        "edge qualifies."
    ),
    "threshold_evidence": (
        "When the precision bound is null, the number of additional reviewed items with confidence >= t "
        "that would make the lower bound reach the target if the observed precision above t held (the "
        "smallest n with Wilson lower bound >= target); the three cheapest edges are listed, never one below "
        "the low edge of the lowest bucket that holds a reviewed item of the class. When the bucket walk "
        "was decided by fewer than min_evidence reviewed items, the number of further reviews that would "
        "reach min_evidence, in the buckets from that lowest bucket up."
    ),
    "calibration": (
        "Reliability per bucket: mean model confidence of the reviewed items (0-100) against their % "
        "correct. ECE (expected calibration error) = sum over buckets of (n_b / N) x |pct_correct_b - "
        "mean_confidence_b|, on the 0-100 scale, over the reviewed items inside the buckets. gap = mean "
        "confidence - % correct (positive: the model is over-confident)."
    ),
    "agreement": (
        "Among items with at least 2 reviews: the share that were split. Fleiss' kappa with two "
        "categories (confirm, reject) computed from the counts, separately for each number of reviews "
        "per item; the headline value is that of the most common number of reviews. null when not "
        "applicable (no item with 2+ reviews, or every review in one category)."
    ),
    "class_average": (
        "Plain mean of the classes' pct_correct over the classes with at least one reviewed item in the "
        "column; empty cells are left out, not counted as 0 % (the blog post's own table counted them "
        "as 0 %)."
    ),
}
