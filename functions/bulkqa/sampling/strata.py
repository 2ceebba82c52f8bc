"""A class's population from its strata (confidence buckets): estimates, precision bounds, the guarantee.

The accepted items of a class with confidence >= a bucket edge span several strata. Their precision is
``sum_k N_k^+ / sum_k N_k`` over those strata. Each stratum has its own confidence sequence
(:mod:`bulkqa.sampling.confseq`); the class's bounds combine them by a **union bound, alpha split across
the class's non-empty strata** (:func:`stratum_alphas`: half equally, half by stratum size), fixed before
any review (the strata and their sizes are known when the run starts):

    P(some stratum k ever leaves C_{k,t}) <= sum_k alpha_k = alpha.

On the complementary event every stratum's count is inside its interval at every time, so

    L(e) = sum_{k >= e} low_k / sum_{k >= e} N_k   <=   precision(>= e)   <=   sum_{k >= e} high_k / ...

holds for *every* edge ``e`` at once, at any stopping time. The multiplicity of edges therefore costs
nothing beyond the split across strata, and any rule that picks an edge from the bounds (the lowest edge
whose lower bound reaches the target) is covered. The union bound is valid under any adaptive
allocation across strata (each stratum's guarantee is time-uniform in its own draws, which are
independent of the other strata's), is exact integer arithmetic, and gives zero width when every stratum
of an edge is fully reviewed.

Why not one joint confidence sequence (the product of the strata's prior-posterior ratios, as products of
per-stratum test martingales are used in stratified audits, Spertus & Stark's SUITE): it is valid too
and needs no split, but projecting it on a sum of counts lets every other stratum sit at its most likely
count, where its ratio is well below 1 (the Bayesian Occam factor, about ``1/sqrt(n_k)``); a projection
thus pays every stratum's factor, which the simulation (bench/bench_sampling.py) measured as clearly
wider bounds than the union bound with 4 buckets (guarantees for 71 % instead of 95 % of the classes
that should get one, at the same review share).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, TypedDict

from .confseq import count_interval

#: 95 % everywhere: the class's guarantee, the class estimate's interval and each cell's interval.
ALPHA = 0.05


class StratumCounts(NamedTuple):
    """One stratum (class x confidence bucket): its accepted items, how many were reviewed, how many correct.

    ``correct`` counts items confirmed by every reviewer who answered (the report's ``confirmed``); a
    reviewed item that is not correct (disconfirmed or split) is incorrect, as in the report.
    """

    population: int
    reviewed: int
    correct: int

    @property
    def exhausted(self) -> bool:
        return self.reviewed >= self.population


class ClassStrata(NamedTuple):
    """A class's strata, low to high.

    ``strata[k]`` holds the items with confidence in ``[edges[k], edges[k+1])`` (the last bucket includes
    its high edge); one more stratum may follow for items past the top edge (it counts in every pooled
    set, as in :func:`bulkqa.analysis.thresholds.precision_bound`, but its low edge is not a candidate
    threshold).
    """

    edges: tuple[float, ...]
    strata: tuple[StratumCounts, ...]


class Interval(NamedTuple):
    low: float
    high: float


class Estimate(NamedTuple):
    """A population share (0-1): the stratified point estimate and a 95 % interval; None when undefined."""

    share: float | None
    interval: Interval | None


class PopulationEstimate(TypedDict):
    """``report.json``'s per-class ``estimate`` (interfaces.md): percentages on the 0-100 scale."""

    pct_correct: float | None
    ci95: list[float] | None


def report_estimate(estimate: Estimate) -> PopulationEstimate:
    """An :class:`Estimate` in the report's shape; the interval is widened to hold the point if rounding
    of counts left it a hair outside (as :func:`bulkqa.analysis.stats.ci_pct` does)."""
    pct = None if estimate.share is None else 100.0 * estimate.share
    if estimate.interval is None:
        return {"pct_correct": pct, "ci95": None}
    low, high = 100.0 * estimate.interval.low, 100.0 * estimate.interval.high
    if pct is not None:
        low, high = min(low, pct), max(high, pct)
    return {"pct_correct": pct, "ci95": [low, high]}


class EdgeBounds(NamedTuple):
    """Simultaneous bounds on the precision of all the class's items with confidence >= ``edge``."""

    edge: float
    population: int
    estimate: float | None
    low: float
    high: float


def _candidates(cls: ClassStrata) -> int:
    return len(cls.edges) - 1


def _check(cls: ClassStrata) -> None:
    n = _candidates(cls)
    if len(cls.strata) not in (n, n + 1):
        raise ValueError(f"{len(cls.edges)} edges need {n} strata (or {n + 1} with the one past the top edge)")


def stratum_alphas(cls: ClassStrata, alpha: float = ALPHA) -> list[float]:
    """The share of alpha each stratum gets: half split equally over the non-empty strata, half by size.

    Fixed before any review (the sizes are known when the run starts). The size-weighted half gives the
    large strata, which dominate every pooled precision, the tighter bounds; the equal half keeps a small
    stratum's interval from blowing up.
    """
    nonempty = sum(1 for s in cls.strata if s.population > 0)
    total = sum(s.population for s in cls.strata)
    if not total:
        return [alpha for _ in cls.strata]
    return [alpha * (0.5 / nonempty + 0.5 * s.population / total) if s.population else alpha for s in cls.strata]


def cell_estimate(stratum: StratumCounts, alpha: float = ALPHA) -> Estimate:
    """One (class, bucket) cell: share correct of its population with a 1 - alpha interval (WoR CS).

    The point estimate is the sample share; the interval is the stratum's PPR confidence sequence, so it
    stays valid at whatever round the run stopped; zero width when the stratum is fully reviewed.
    """
    if stratum.population == 0:
        return Estimate(None, None)
    low, high = count_interval(stratum.population, stratum.reviewed, stratum.correct, alpha)
    share = stratum.correct / stratum.reviewed if stratum.reviewed else None
    return Estimate(share, Interval(low / stratum.population, high / stratum.population))


def class_estimate(cls: ClassStrata, alpha: float = ALPHA) -> Estimate:
    """The class's share correct over its whole population: stratified estimate and 1 - alpha interval.

    Estimate ``sum_k N_k c_k / n_k / N`` (None when a non-empty stratum has no review yet); interval
    from the per-stratum sequences at alpha / K (union bound), so valid at any stopping time.
    """
    _check(cls)
    total = sum(s.population for s in cls.strata)
    if total == 0:
        return Estimate(None, None)
    alphas = stratum_alphas(cls, alpha)
    low = high = 0
    point = 0.0
    unreviewed = False
    for s, a in zip(cls.strata, alphas, strict=True):
        if s.population == 0:
            continue
        lo, hi = count_interval(s.population, s.reviewed, s.correct, a)
        low += lo
        high += hi
        if s.reviewed:
            point += s.population * s.correct / s.reviewed
        else:
            unreviewed = True
    share = None if unreviewed else point / total
    return Estimate(share, Interval(low / total, high / total))


def edge_bounds(cls: ClassStrata, alpha: float = ALPHA) -> list[EdgeBounds]:
    """Bounds for each candidate edge that holds items, low to high, all valid simultaneously at 1 - alpha.

    Candidates are the bucket low edges from the lowest non-empty bucket up (below it the pooled set is
    the same items: no lower edge is claimed, as :func:`bulkqa.analysis.thresholds.precision_bound` never
    goes below the lowest bucket holding an item).
    """
    _check(cls)
    parts = [
        (s.population, *count_interval(s.population, s.reviewed, s.correct, a)) if s.population else (0, 0, 0)
        for s, a in zip(cls.strata, stratum_alphas(cls, alpha), strict=True)
    ]
    out: list[EdgeBounds] = []
    n = _candidates(cls)
    floor = next((k for k in range(n) if cls.strata[k].population), None)
    if floor is None:
        return out
    for k in range(floor, n):
        pooled = cls.strata[k:]
        population = sum(s.population for s in pooled)
        if population == 0:
            continue
        low = sum(p[1] for p in parts[k:])
        high = sum(p[2] for p in parts[k:])
        point = 0.0
        estimable = True
        for s in pooled:
            if s.population and not s.reviewed:
                estimable = False
            elif s.population:
                point += s.population * s.correct / s.reviewed
        out.append(
            EdgeBounds(
                cls.edges[k], population, point / population if estimable else None, low / population, high / population
            )
        )
    return out


def target_precision(max_fp_ratio: float) -> float:
    """The precision a threshold must guarantee: 1 / (1 + max_fp_ratio)."""
    return 1.0 / (1.0 + max_fp_ratio)


def guaranteed_threshold(cls: ClassStrata, max_fp_ratio: float, alpha: float = ALPHA) -> float | None:
    """The lowest bucket edge whose population precision at/above it has a lower bound >= the target.

    At 1 - alpha for the class, multiplicity of edges included (the bounds of :func:`edge_bounds` hold
    for all edges at once), valid at any stopping time. None when no edge qualifies. With every stratum
    fully reviewed the bounds are the exact population precisions.
    """
    target = target_precision(max_fp_ratio)
    return next((b.edge for b in edge_bounds(cls, alpha) if b.low >= target), None)


class EdgeState(NamedTuple):
    bounds: EdgeBounds
    #: "guaranteed" (lower bound >= target), "excluded" (upper bound < target) or "open"
    state: str


def edge_states(cls: ClassStrata, max_fp_ratio: float, alpha: float = ALPHA) -> list[EdgeState]:
    """Each candidate edge's decision so far: guaranteed, excluded or open."""
    target = target_precision(max_fp_ratio)
    out: list[EdgeState] = []
    for b in edge_bounds(cls, alpha):
        state = "guaranteed" if b.low >= target else "excluded" if b.high < target else "open"
        out.append(EdgeState(b, state))
    return out


def pooled(strata: Sequence[StratumCounts]) -> StratumCounts:
    """The strata's counts added up."""
    return StratumCounts(
        sum(s.population for s in strata), sum(s.reviewed for s in strata), sum(s.correct for s in strata)
    )
