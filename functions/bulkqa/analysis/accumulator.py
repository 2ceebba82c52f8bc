"""One streaming pass over the verdicts: counters per class x bucket, then the report.json object."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping

from ..report_types import ClassEntry, Report, ReviewerStats
from ..verdict import CONFIRM, REJECT
from .cells import CONF_SCALE, NF, SUM, RaterCounts, ReviewerCounts
from .cells import D as _D
from .cells import S as _S
from .cells import U as _U
from .methods import METHODS
from .model import AnalysisOptions, RowCounts, Verdict, bucket_edges, bucket_range, edge, validate_edges
from .stats import pct
from .summary import class_average, summary
from .thresholds import threshold


class _ClassAcc:
    """Counters of one class: cells [below range, bucket 0..n-1, above range] and agreement sums."""

    __slots__ = ("cells", "multi")

    def __init__(self, n_cells: int) -> None:
        self.cells: list[int] = [0] * (n_cells * NF)
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
        #: reviewer id -> [reviews, rejects, agreeing co-reviews, co-reviews] (see ReviewerCounts)
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
        scale = CONF_SCALE
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
                    base = (n_buckets if conf == last else n_buckets + 1) * NF
                else:
                    base = bisect(edges, conf) * NF
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
                cells[base + SUM] += round(conf * scale)
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

    def report(self, rows: RowCounts | None, *, partial: bool = False) -> Report:
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
        total_cells = [0] * ((n_buckets + 2) * NF)
        total_multi: dict[int, list[int]] = {}
        classes: list[ClassEntry] = []
        for label in sorted(self.classes):
            acc = self.classes[label]
            for i, value in enumerate(acc.cells):
                total_cells[i] += value
            for n, m in acc.multi.items():
                t = total_multi.setdefault(n, [0, 0, 0, 0])
                for i in range(4):
                    t[i] += m[i]
            classes.append(
                {
                    "label": label,
                    **summary(acc.cells, _rater_counts(acc.multi), edges),
                    "threshold": threshold(acc.cells, edges, options, target),
                }
            )
        totals = summary(total_cells, _rater_counts(total_multi), edges)
        return {
            "rows": {
                "total": rows.total,
                "accepted": rows.accepted,
                "rejected": rows.rejected,
                "below_min_confidence": rows.below_min_confidence,
            },
            "buckets": [bucket_range(edges, i) for i in range(n_buckets)],
            "classes": classes,
            "totals": totals,
            "class_average": class_average(classes, edges),
            "partial": partial,
            "options": {
                "min_confidence": float(options.min_confidence),
                "bucket_edges": [edge(e) for e in edges],
                "max_fp_ratio": float(options.max_fp_ratio),
                "target_precision": target,
                "min_evidence": options.min_evidence,
            },
            "verdicts": {
                "seen": self.seen,
                "below_min_confidence": self.below_min,
                "analysed": self.seen - self.below_min,
                "reviewed": sum(c["total"] for c in classes),
                "unreviewed": sum(c["unreviewed"] for c in classes),
                "outside_buckets": sum(c["outside_buckets"] for c in classes),
            },
            "calibration": {
                "scale": "0-100",
                "ece": totals["calibration"]["ece"],
                "by_class": {c["label"]: c["calibration"]["ece"] for c in classes},
            },
            "agreement": {**totals["agreement"], "reviewers": self._reviewer_stats()},
            "methods": dict(METHODS),
        }

    def _reviewer_stats(self) -> list[ReviewerStats] | None:
        if not self.reviewers:
            return None
        out: list[ReviewerStats] = []
        for reviewer in sorted(self.reviewers):
            counts = ReviewerCounts(*self.reviewers[reviewer])
            out.append(
                {
                    "reviewer": reviewer,
                    "reviews": counts.reviews,
                    "rejects": counts.rejects,
                    "pct_rejected": pct(counts.rejects, counts.reviews),
                    "pct_agreement_with_others": pct(counts.agreeing, counts.co_reviews),
                }
            )
        return out


def _rater_counts(multi: Mapping[int, list[int]]) -> dict[int, RaterCounts]:
    return {n: RaterCounts(*m) for n, m in multi.items()}


def analyze(
    verdicts: Iterable[Verdict], rows: RowCounts | None, options: AnalysisOptions, *, partial: bool = False
) -> Report:
    """The report.json object of ``verdicts`` (consumed once, never held in memory).

    ``rows`` None derives the row accounting from the verdicts: total = verdicts seen,
    below_min_confidence = those below ``options.min_confidence`` (excluded from the analysis),
    accepted = the rest, rejected = 0.
    """
    acc = Accumulator(options)
    acc.consume(verdicts)
    return acc.report(rows, partial=partial)
