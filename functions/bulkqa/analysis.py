"""The analysis of reviewed labels: the blog post's tables, with the statistics they lacked.

One pass over the verdicts, whatever their number: only counts per class x confidence bucket (and a
few per rater-count sums for reviewer agreement) are kept, never the verdicts themselves. Everything in
the report is derived from integer counts, so the report does not depend on the order in which the
verdicts arrive (a DynamoDB scan and a CSV export give byte-identical reports).

Definitions (docs/interfaces and the blog post "Bulk QA with Amazon SageMaker Ground Truth"):

- an item is one (image, label) with its model confidence (0-100) and its reviewers' counts;
- confirmed = some reviewer confirmed and none rejected; disconfirmed = the reverse; split = both;
  unreviewed = neither (an expired task, a stopped job);
- ``total`` counts reviewed items; ``pct_correct`` = 100 x confirmed / total; a bucket's
  ``incorrect`` = disconfirmed + split;
- buckets are ``[low, high)`` except the last, which includes ``high``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from .verdict import CONFIRM, REJECT

#: Two-sided 95 % normal quantile (Wilson score interval of every ``pct_correct``).
Z_TWO_SIDED_95 = 1.959963984540054
#: One-sided 95 % normal quantile (lower bound behind ``threshold.precision_bound``).
Z_ONE_SIDED_95 = 1.6448536269514722
#: Default bucket width of :func:`bucket_edges`.
BUCKET_WIDTH = 5.0
#: Confidence values are summed as integers in units of 1e-8 so that sums are exact and order-free.
_CONF_SCALE = 100_000_000

#: How many ways to settle a missing precision bound the evidence lists (the cheapest first).
_MAX_OPTIONS = 3
#: Per-cell counters (a flat list per class, ``_NF`` slots per cell).
_C, _D, _S, _U, _SUM = 0, 1, 2, 3, 4
_NF = 5

METHODS: dict[str, str] = {
    "pct_correct_ci95": (
        "Wilson score interval, two-sided 95 % (z = 1.959964), on the share of reviewed items that were "
        "confirmed; split items count as not correct. Reported on the 0-100 scale."
    ),
    "threshold_bucket_walk": (
        "The blog post's rule: start at the top bucket and walk down, skipping empty buckets; stop at the "
        "first bucket whose incorrect/confirmed ratio exceeds max_fp_ratio (incorrect items and no "
        "confirmed ones exceed any ratio); the threshold is that bucket's high edge, or the lowest "
        "bucket's low edge if no bucket exceeds the ratio."
    ),
    "threshold_precision_bound": (
        "The lowest bucket low edge t such that the one-sided 95 % Wilson score lower bound "
        "(z = 1.644854) on the precision (confirmed / reviewed) of all reviewed items of the class with "
        "confidence >= t is at least 1 / (1 + max_fp_ratio). null when no edge qualifies."
    ),
    "threshold_evidence": (
        "When the precision bound is null, the number of additional reviewed items with confidence >= t "
        "that would make the lower bound reach the target if the observed precision above t held (the "
        "smallest n with Wilson lower bound >= target); the three cheapest edges are listed. When the "
        "bucket walk was decided by fewer than min_evidence reviewed items, the number of further reviews "
        "that would reach min_evidence."
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


@dataclass(frozen=True, slots=True)
class Verdict:
    """The reviewers' verdict on one (image, label)."""

    image: str
    label: str
    confidence: float
    confirms: int
    rejects: int
    reviewers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RowCounts:
    """What happened to the input rows: total = accepted + rejected + below_min_confidence."""

    total: int
    accepted: int
    rejected: int
    below_min_confidence: int


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """How to analyse. ``buckets`` are edges (None: :func:`bucket_edges` of ``min_confidence``)."""

    min_confidence: float = 0.0
    buckets: tuple[float, ...] | None = None
    max_fp_ratio: float = 0.1
    #: A bucket-walk decision resting on fewer reviewed items than this gets an evidence note.
    min_evidence: int = 10


def bucket_edges(min_confidence: float) -> tuple[float, ...]:
    """Default edges: ``min_confidence`` rounded down to a multiple of 5, then every 5 up to 100.

    The start is clamped to [0, 95] so that there is always at least one bucket.
    """
    if not math.isfinite(min_confidence):
        raise ValueError(f"min_confidence must be a finite number, not {min_confidence!r}")
    start = math.floor(min_confidence / BUCKET_WIDTH) * BUCKET_WIDTH
    start = min(max(start, 0.0), 100.0 - BUCKET_WIDTH)
    count = round((100.0 - start) / BUCKET_WIDTH)
    return tuple(start + BUCKET_WIDTH * i for i in range(count + 1))


def validate_edges(edges: Sequence[float]) -> tuple[float, ...]:
    """The edges as a tuple of floats; ValueError unless finite, strictly increasing and at least 2."""
    out = tuple(float(e) for e in edges)
    if len(out) < 2:
        raise ValueError("buckets need at least two edges, for example 80,85,90,95,100")
    if not all(math.isfinite(e) for e in out):
        raise ValueError("bucket edges must be finite numbers")
    if any(b <= a for a, b in pairwise(out)):
        raise ValueError("bucket edges must be strictly increasing, for example 80,85,90,95,100")
    return out


def pct(part: int, whole: int) -> float | None:
    """100 x part / whole, or None when there is nothing to divide by."""
    return 100.0 * part / whole if whole else None


def wilson_interval(successes: int, n: int, z: float = Z_TWO_SIDED_95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion, on the 0-1 scale; None when n == 0.

    The interval always contains the estimate ``successes / n`` (clamped against rounding).
    """
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    low = max(0.0, min(centre - half, p))
    high = min(1.0, max(centre + half, p))
    return low, high


def wilson_lower_bound(successes: int, n: int, z: float = Z_ONE_SIDED_95) -> float | None:
    """One-sided Wilson score lower bound (0-1 scale) at ``z``; None when n == 0."""
    interval = wilson_interval(successes, n, z)
    return None if interval is None else interval[0]


def _wilson_lower_at(p: float, n: int, z: float) -> float:
    z2 = z * z
    return (p + z2 / (2 * n) - z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))) / (1.0 + z2 / n)


def reviews_needed(p: float, target: float, z: float = Z_ONE_SIDED_95, cap: int = 10**9) -> int | None:
    """Smallest n whose Wilson lower bound at observed proportion ``p`` reaches ``target``.

    None when no n can (``p <= target``) or when it would take more than ``cap`` items.
    """
    if not (0.0 <= target <= 1.0) or p <= target:
        return None
    high = 1
    while _wilson_lower_at(p, high, z) < target:
        high *= 2
        if high > cap:
            return None
    low = high // 2 + 1 if high > 1 else 1
    while low < high:
        mid = (low + high) // 2
        if _wilson_lower_at(p, mid, z) >= target:
            high = mid
        else:
            low = mid + 1
    return high


def ci_pct(successes: int, n: int) -> list[float] | None:
    """The 95 % Wilson interval on the 0-100 scale, containing ``pct(successes, n)``."""
    interval = wilson_interval(successes, n)
    if interval is None:
        return None
    estimate = 100.0 * successes / n
    return [min(100.0 * interval[0], estimate), max(100.0 * interval[1], estimate)]


def bucket_walk(cells: Sequence[tuple[int, int]], edges: Sequence[float], max_fp_ratio: float) -> float | None:
    """The blog post's threshold rule over buckets given as (confirmed, incorrect) pairs, low to high."""
    if not any(c + i for c, i in cells):
        return None
    for index in range(len(cells) - 1, -1, -1):
        confirmed, incorrect = cells[index]
        if confirmed + incorrect == 0:
            continue
        if incorrect and (confirmed == 0 or incorrect > max_fp_ratio * confirmed):
            return float(edges[index + 1])
    return float(edges[0])


def precision_bound(
    cells: Sequence[tuple[int, int]],
    edges: Sequence[float],
    max_fp_ratio: float,
    above: tuple[int, int] = (0, 0),
) -> float | None:
    """Lowest bucket low edge t whose pooled items >= t have a one-sided 95 % lower bound >= target.

    ``cells`` are (confirmed, reviewed) per bucket, low to high; ``above`` the items past the top edge.
    """
    target = 1.0 / (1.0 + max_fp_ratio)
    confirmed, reviewed = above
    best: float | None = None
    for index in range(len(cells) - 1, -1, -1):
        confirmed += cells[index][0]
        reviewed += cells[index][1]
        bound = wilson_lower_bound(confirmed, reviewed)
        if bound is not None and bound >= target:
            best = float(edges[index])
    return best


def fleiss_kappa_binary(items: int, raters: int, confirm_votes: int, agreeing_pairs: int) -> dict[str, Any]:
    """Fleiss' kappa for ``items`` items, each rated by ``raters`` raters, two categories.

    ``agreeing_pairs`` is the sum over items of c(c-1) + r(r-1) (ordered pairs of raters that agree).
    """
    out: dict[str, Any] = {
        "raters": raters,
        "items": items,
        "observed_agreement": None,
        "expected_agreement": None,
        "fleiss_kappa": None,
    }
    if items <= 0 or raters < 2:
        return out
    observed = agreeing_pairs / (items * raters * (raters - 1))
    p_confirm = confirm_votes / (items * raters)
    expected = p_confirm * p_confirm + (1.0 - p_confirm) * (1.0 - p_confirm)
    out["observed_agreement"] = observed
    out["expected_agreement"] = expected
    if expected < 1.0:
        out["fleiss_kappa"] = (observed - expected) / (1.0 - expected)
    return out


def _edge(value: float) -> float | int:
    """An edge as written in the report: an int when it is a whole number (80, not 80.0)."""
    return int(value) if float(value).is_integer() else value


class _ClassAcc:
    """Counters of one class: cells [below range, bucket 0..n-1, above range] and agreement sums."""

    __slots__ = ("cells", "multi")

    def __init__(self, n_cells: int) -> None:
        self.cells: list[int] = [0] * (n_cells * _NF)
        #: number of reviews per item -> [items, split items, confirm votes, agreeing ordered pairs]
        self.multi: dict[int, list[int]] = {}


class Accumulator:
    """The streaming state of one analysis: feed it verdicts, then ask for the report."""

    def __init__(self, options: AnalysisOptions) -> None:
        if not math.isfinite(options.min_confidence):
            raise ValueError("min_confidence must be a finite number")
        if not (math.isfinite(options.max_fp_ratio) and options.max_fp_ratio >= 0):
            raise ValueError("max_fp_ratio must be a finite number >= 0, for example 0.1")
        if options.min_evidence < 1:
            raise ValueError("min_evidence must be at least 1")
        self.options = options
        self.edges = validate_edges(
            options.buckets if options.buckets is not None else bucket_edges(options.min_confidence)
        )
        self.classes: dict[str, _ClassAcc] = {}
        self.seen = 0
        self.below_min = 0
        #: reviewer id -> [reviews, rejects, agreeing co-reviews, co-reviews]
        self.reviewers: dict[str, list[int]] = {}

    def consume(self, verdicts: Iterable[Verdict]) -> None:
        """Add every verdict (one pass; the iterable is not kept)."""
        edges = self.edges
        first = edges[0]
        last = edges[-1]
        n_buckets = len(edges) - 1
        minimum = self.options.min_confidence
        classes = self.classes
        n_cells = n_buckets + 2
        seen = 0
        below_min = 0
        scale = _CONF_SCALE
        bisect = bisect_right
        try:
            for v in verdicts:
                seen += 1
                conf = v.confidence
                if conf < minimum:
                    below_min += 1
                    continue
                if not -math.inf < conf < math.inf:
                    raise ValueError(f"confidence of {v.image!r} ({v.label!r}) is not a finite number")
                acc = classes.get(v.label)
                if acc is None:
                    acc = classes[v.label] = _ClassAcc(n_cells)
                if conf < first:
                    base = 0
                elif conf >= last:
                    base = (n_buckets if conf == last else n_buckets + 1) * _NF
                else:
                    base = bisect(edges, conf) * _NF
                c = v.confirms
                r = v.rejects
                cells = acc.cells
                if c > 0:
                    if r > 0:
                        cells[base + _S] += 1
                    else:
                        cells[base] += 1
                        if r < 0:
                            raise ValueError(f"negative rejects for {v.image!r} ({v.label!r})")
                elif r > 0:
                    cells[base + _D] += 1
                    if c < 0:
                        raise ValueError(f"negative confirms for {v.image!r} ({v.label!r})")
                else:
                    if c < 0 or r < 0:
                        raise ValueError(f"negative review counts for {v.image!r} ({v.label!r})")
                    cells[base + _U] += 1
                    continue
                cells[base + _SUM] += round(conf * scale)
                n = c + r
                if n > 1:
                    m = acc.multi.get(n)
                    if m is None:
                        m = acc.multi[n] = [0, 0, 0, 0]
                    m[0] += 1
                    if c and r:
                        m[1] += 1
                    m[2] += c
                    m[3] += c * (c - 1) + r * (r - 1)
                if v.reviewers:
                    self._add_reviewers(v.reviewers)
        finally:
            self.seen += seen
            self.below_min += below_min

    def _add_reviewers(self, reviewers: Mapping[str, str]) -> None:
        votes = list(reviewers.values())
        for vote in votes:
            if vote not in (CONFIRM, REJECT):
                raise ValueError(f"a reviewer's verdict must be {CONFIRM!r} or {REJECT!r}, not {vote!r}")
        n_confirm = votes.count(CONFIRM)
        n = len(votes)
        for reviewer, vote in reviewers.items():
            stats = self.reviewers.get(reviewer)
            if stats is None:
                stats = self.reviewers[reviewer] = [0, 0, 0, 0]
            stats[0] += 1
            if vote == REJECT:
                stats[1] += 1
            same = (n_confirm if vote == CONFIRM else n - n_confirm) - 1
            stats[2] += same
            stats[3] += n - 1

    # ---------------------------------------------------------------- report

    def report(self, rows: RowCounts | None, *, partial: bool = False) -> dict[str, Any]:
        """The report.json object."""
        options = self.options
        edges = self.edges
        n_buckets = len(edges) - 1
        target = 1.0 / (1.0 + options.max_fp_ratio)
        if rows is None:
            rows = RowCounts(
                total=self.seen,
                accepted=self.seen - self.below_min,
                rejected=0,
                below_min_confidence=self.below_min,
            )
        labels = sorted(self.classes)
        total_cells = [0] * ((n_buckets + 2) * _NF)
        total_multi: dict[int, list[int]] = {}
        classes: list[dict[str, Any]] = []
        for label in labels:
            acc = self.classes[label]
            for i, value in enumerate(acc.cells):
                total_cells[i] += value
            for n, m in acc.multi.items():
                t = total_multi.setdefault(n, [0, 0, 0, 0])
                for i in range(4):
                    t[i] += m[i]
            entry: dict[str, Any] = {"label": label}
            entry.update(_summary(acc.cells, acc.multi, edges))
            entry["threshold"] = _threshold(acc.cells, edges, options, target)
            classes.append(entry)
        totals = _summary(total_cells, total_multi, edges)
        reviewed_in = sum(c["total"] for c in classes)
        unreviewed = sum(c["unreviewed"] for c in classes)
        outside = sum(c["outside_buckets"] for c in classes)
        return {
            "rows": {
                "total": rows.total,
                "accepted": rows.accepted,
                "rejected": rows.rejected,
                "below_min_confidence": rows.below_min_confidence,
            },
            "buckets": [[_edge(edges[i]), _edge(edges[i + 1])] for i in range(n_buckets)],
            "classes": classes,
            "totals": totals,
            "class_average": _class_average(classes, edges),
            "partial": partial,
            "options": {
                "min_confidence": float(options.min_confidence),
                "bucket_edges": [_edge(e) for e in edges],
                "max_fp_ratio": float(options.max_fp_ratio),
                "target_precision": target,
                "min_evidence": options.min_evidence,
            },
            "verdicts": {
                "seen": self.seen,
                "below_min_confidence": self.below_min,
                "analysed": self.seen - self.below_min,
                "reviewed": reviewed_in,
                "unreviewed": unreviewed,
                "outside_buckets": outside,
            },
            "calibration": {
                "scale": "0-100",
                "ece": totals["calibration"]["ece"],
                "by_class": {c["label"]: c["calibration"]["ece"] for c in classes},
            },
            "agreement": dict(totals["agreement"], reviewers=self._reviewer_stats()),
            "methods": dict(METHODS),
        }

    def _reviewer_stats(self) -> list[dict[str, Any]] | None:
        if not self.reviewers:
            return None
        out = []
        for reviewer in sorted(self.reviewers):
            reviews, rejects, same, co = self.reviewers[reviewer]
            out.append(
                {
                    "reviewer": reviewer,
                    "reviews": reviews,
                    "rejects": rejects,
                    "pct_rejected": pct(rejects, reviews),
                    "pct_agreement_with_others": pct(same, co),
                }
            )
        return out


def _cell(cells: Sequence[int], index: int) -> tuple[int, int, int, int, int]:
    b = index * _NF
    return cells[b], cells[b + _D], cells[b + _S], cells[b + _U], cells[b + _SUM]


def _summary(cells: Sequence[int], multi: Mapping[int, Sequence[int]], edges: Sequence[float]) -> dict[str, Any]:
    """The fields shared by a class and the totals."""
    n_buckets = len(edges) - 1
    n_cells = n_buckets + 2
    confirmed = sum(cells[i * _NF + _C] for i in range(n_cells))
    disconfirmed = sum(cells[i * _NF + _D] for i in range(n_cells))
    split = sum(cells[i * _NF + _S] for i in range(n_cells))
    unreviewed = sum(cells[i * _NF + _U] for i in range(n_cells))
    total = confirmed + disconfirmed + split
    outside = 0
    for i in (0, n_cells - 1):
        c, d, s, _u, _ = _cell(cells, i)
        outside += c + d + s
    buckets: list[dict[str, Any]] = []
    weighted_gap = 0.0
    in_buckets = 0
    conf_sum_buckets = 0
    confirmed_buckets = 0
    for k in range(n_buckets):
        c, d, s, u, conf_sum = _cell(cells, k + 1)
        n = c + d + s
        mean_conf = conf_sum / _CONF_SCALE / n if n else None
        p = pct(c, n)
        if n and mean_conf is not None and p is not None:
            weighted_gap += n * abs(p - mean_conf)
            in_buckets += n
            conf_sum_buckets += conf_sum
            confirmed_buckets += c
        buckets.append(
            {
                "low": _edge(edges[k]),
                "high": _edge(edges[k + 1]),
                "total": n,
                "incorrect": d + s,
                "pct_correct": p,
                "pct_correct_ci95": ci_pct(c, n),
                "confirmed": c,
                "disconfirmed": d,
                "split": s,
                "unreviewed": u,
                "mean_confidence": mean_conf,
            }
        )
    mean_conf_all = conf_sum_buckets / _CONF_SCALE / in_buckets if in_buckets else None
    pct_buckets = pct(confirmed_buckets, in_buckets)
    calibration = {
        "ece": weighted_gap / in_buckets if in_buckets else None,
        "reviewed_in_buckets": in_buckets,
        "mean_confidence": mean_conf_all,
        "pct_correct": pct_buckets,
        "gap": (mean_conf_all - pct_buckets) if mean_conf_all is not None and pct_buckets is not None else None,
    }
    return {
        "total": total,
        "confirmed": confirmed,
        "disconfirmed": disconfirmed,
        "split": split,
        "unreviewed": unreviewed,
        "pct_correct": pct(confirmed, total),
        "pct_correct_ci95": ci_pct(confirmed, total),
        "outside_buckets": outside,
        "buckets": buckets,
        "calibration": calibration,
        "agreement": _agreement(multi),
    }


def _agreement(multi: Mapping[int, Sequence[int]]) -> dict[str, Any]:
    items = sum(m[0] for m in multi.values())
    split = sum(m[1] for m in multi.values())
    by_raters = [fleiss_kappa_binary(multi[n][0], n, multi[n][2], multi[n][3]) for n in sorted(multi)]
    for entry, n in zip(by_raters, sorted(multi), strict=True):
        entry["split_items"] = multi[n][1]
    headline: dict[str, Any] | None = None
    for entry in by_raters:
        if headline is None or (entry["items"], entry["raters"]) > (headline["items"], headline["raters"]):
            headline = entry
    return {
        "items_with_multiple_reviews": items,
        "split_items": split,
        "pct_split": pct(split, items),
        "fleiss_kappa": headline["fleiss_kappa"] if headline else None,
        "fleiss_raters": headline["raters"] if headline else None,
        "fleiss_items": headline["items"] if headline else 0,
        "by_raters": by_raters,
    }


def _threshold(cells: Sequence[int], edges: Sequence[float], options: AnalysisOptions, target: float) -> dict[str, Any]:
    n_buckets = len(edges) - 1
    per_bucket = [_cell(cells, k + 1) for k in range(n_buckets)]
    walk_cells = [(c, d + s) for c, d, s, _u, _ in per_bucket]
    bound_cells = [(c, c + d + s) for c, d, s, _u, _ in per_bucket]
    ac, ad, a_s, _au, _ = _cell(cells, n_buckets + 1)
    above = (ac, ac + ad + a_s)
    walk = bucket_walk(walk_cells, edges, options.max_fp_ratio)
    bound = precision_bound(bound_cells, edges, options.max_fp_ratio, above)
    return {
        "bucket_walk": walk,
        "precision_bound": bound,
        "target_precision": target,
        "evidence": _evidence(walk_cells, bound_cells, above, edges, options, target, walk, bound),
    }


def _fmt(value: float) -> str:
    return str(_edge(value))


def _evidence(
    walk_cells: Sequence[tuple[int, int]],
    bound_cells: Sequence[tuple[int, int]],
    above: tuple[int, int],
    edges: Sequence[float],
    options: AnalysisOptions,
    target: float,
    walk: float | None,
    bound: float | None,
) -> dict[str, Any] | None:
    """Why a threshold is not settled, and how many more reviews would settle it (None if settled)."""
    sentences: list[str] = []
    walk_note: dict[str, Any] | None = None
    bound_note: dict[str, Any] | None = None
    n_buckets = len(edges) - 1
    if walk is not None:
        stop = next((k for k in range(n_buckets) if float(edges[k + 1]) == walk and sum(walk_cells[k]) > 0), None)
        if stop is not None and walk != float(edges[0]):
            decided_by = sum(walk_cells[stop])
            where = [[_edge(edges[stop]), _edge(edges[stop + 1])]]
            text = f"the bucket walk stopped at {_fmt(edges[stop])}-{_fmt(edges[stop + 1])}"
        else:
            decided_by = sum(c + i for c, i in walk_cells)
            where = [[_edge(edges[k]), _edge(edges[k + 1])] for k in range(n_buckets)]
            text = "the bucket walk passed every bucket"
        if decided_by < options.min_evidence:
            more = options.min_evidence - decided_by
            walk_note = {
                "reviewed": decided_by,
                "min_evidence": options.min_evidence,
                "additional_reviews": more,
                "buckets": where,
            }
            sentences.append(
                f"{text.capitalize()} on only {decided_by} reviewed item{'s' if decided_by != 1 else ''}; "
                f"about {more} more review{'s' if more != 1 else ''} there would bring it to "
                f"{options.min_evidence}."
            )
    if bound is None:
        candidates: list[dict[str, Any]] = []
        confirmed, reviewed = above
        any_reviewed = False
        for k in range(n_buckets - 1, -1, -1):
            confirmed += bound_cells[k][0]
            reviewed += bound_cells[k][1]
            if not reviewed:
                continue
            any_reviewed = True
            observed = confirmed / reviewed
            needed = reviews_needed(observed, target)
            if needed is None:
                continue
            candidates.append(
                {
                    "threshold": float(edges[k]),
                    "reviewed": reviewed,
                    "observed_precision_pct": 100.0 * observed,
                    "additional_reviews": max(needed - reviewed, 1),
                    "buckets": [[_edge(edges[j]), _edge(edges[j + 1])] for j in range(k, n_buckets)],
                }
            )
        candidates.sort(key=lambda c: (c["additional_reviews"], c["threshold"]))
        bound_note = {"reachable": bool(candidates), "options": candidates[:_MAX_OPTIONS]}
        target_text = f"{100.0 * target:.1f} %"
        if not any_reviewed:
            sentences.append("No reviewed item in the buckets, so no threshold can be estimated.")
        elif not candidates:
            sentences.append(
                f"At every edge the observed precision is at or below the target {target_text}: no "
                "threshold meets it in this data, and more reviews would change that only if the true "
                "precision is better than observed."
            )
        else:
            best = candidates[0]
            sentences.append(
                f"No edge has enough reviewed items to show a precision of at least {target_text} "
                f"(one-sided 95 % lower bound). If the observed precision holds "
                f"({best['observed_precision_pct']:.1f} % above {_fmt(best['threshold'])}), about "
                f"{best['additional_reviews']} more reviewed items with confidence >= "
                f"{_fmt(best['threshold'])} would settle a threshold at {_fmt(best['threshold'])}."
            )
    if not sentences:
        return None
    return {"summary": " ".join(sentences), "bucket_walk": walk_note, "precision_bound": bound_note}


def _class_average(classes: Sequence[Mapping[str, Any]], edges: Sequence[float]) -> dict[str, Any]:
    def mean(values: list[float]) -> float | None:
        return math.fsum(values) / len(values) if values else None

    overall = [c["pct_correct"] for c in classes if c["pct_correct"] is not None]
    buckets = []
    for k in range(len(edges) - 1):
        column = [c["buckets"][k]["pct_correct"] for c in classes if c["buckets"][k]["pct_correct"] is not None]
        buckets.append(
            {
                "low": _edge(edges[k]),
                "high": _edge(edges[k + 1]),
                "pct_correct": mean(column),
                "classes": len(column),
            }
        )
    return {"pct_correct": mean(overall), "classes": len(overall), "buckets": buckets}


def analyze(
    verdicts: Iterable[Verdict], rows: RowCounts | None, options: AnalysisOptions, *, partial: bool = False
) -> dict[str, Any]:
    """The report.json object of ``verdicts`` (consumed once, never held in memory).

    ``rows`` None derives the row accounting from the verdicts: total = verdicts seen,
    below_min_confidence = those below ``options.min_confidence`` (excluded from the analysis),
    accepted = the rest, rejected = 0.
    """
    acc = Accumulator(options)
    acc.consume(verdicts)
    return acc.report(rows, partial=partial)
