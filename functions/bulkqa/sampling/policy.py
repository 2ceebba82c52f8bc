"""The sampling policy: which items each review round draws, and when the run stops.

Pure functions over typed data; no clock, no I/O, no global random state.

- **Draws.** Each stratum's items are put in a random order that depends only on the seed (the run id),
  the class, the stratum and the item id: the order of their BLAKE2b keys. A round takes the next items in
  that order that were not reviewed yet, so every prefix is a simple random sample without replacement
  of the stratum, a retried round (same inputs) draws the same items, and no item is drawn twice.
- **Round 1** reviews ``first_round_per_stratum`` items (one screen) of every stratum, or all of a
  smaller one: every (class, bucket) cell gets a first estimate.
- **Later rounds.** Per class, the edges below the current guarantee whose decision is open
  (:func:`bulkqa.sampling.strata.edge_states`) and whose stratified estimate is within one standard
  error of the target or above are the ones a review can still move. For each such edge the policy
  projects how many more draws, spread over its strata by Neyman allocation (``n_k`` proportional to
  ``N_k sqrt(p_k (1 - p_k))``), would bring its lower bound to the target if the observed shares held.
  It picks the lowest edge that one round (``round_cap_per_class`` draws) can settle -- its draws also
  tighten every edge above it -- or else the cheapest, and asks for that many draws times ``overshoot``
  (at least ``min_round_per_class``, at most ``round_cap_per_class``).
- **Stop** when no class has an edge worth sampling (``settled``), the round limit or the budget is
  reached, or every stratum that would be drawn from is exhausted (then it is fully reviewed).

Which items are drawn does not affect validity: every bound is a confidence sequence, valid at any
stopping time and under any allocation decided from past reviews.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .confseq import count_interval
from .strata import ALPHA, ClassStrata, StratumCounts, edge_states, stratum_alphas, target_precision


@dataclass(frozen=True)
class SamplingOptions:
    """How to sample. ``max_rounds`` counts round 1.

    A later round asks, per class, for the projected draws times ``overshoot``, at least
    ``min_round_per_class`` (one screen) and at most ``round_cap_per_class``.
    """

    max_fp_ratio: float = 0.1
    alpha: float = ALPHA
    first_round_per_stratum: int = 25
    max_rounds: int = 4
    round_cap_per_class: int = 400
    overshoot: float = 1.2
    min_round_per_class: int = 25


class Population(NamedTuple):
    """The accepted items to sample from: per class, per stratum (see :class:`ClassStrata`), item ids.

    Item ids are unique across the whole population (for example ``image + "\\t" + label``).
    """

    edges: tuple[float, ...]
    classes: Mapping[str, Sequence[Sequence[str]]]


class RoundPlan(NamedTuple):
    """The items to review in the next round, or why the run stops (``items`` empty then).

    ``stop``: None (review ``items``), ``"settled"``, ``"rounds"``, ``"budget"`` or ``"exhausted"``.
    """

    items: list[str]
    stop: str | None


def class_counts(population: Population, reviewed: Mapping[str, bool]) -> dict[str, ClassStrata]:
    """Each class's strata counts from the verdicts so far (item id -> correct; others unreviewed)."""
    out: dict[str, ClassStrata] = {}
    for label, strata in population.classes.items():
        counts: list[StratumCounts] = []
        for ids in strata:
            n = correct = 0
            for item in ids:
                verdict = reviewed.get(item)
                if verdict is not None:
                    n += 1
                    correct += verdict
            counts.append(StratumCounts(len(ids), n, correct))
        out[label] = ClassStrata(population.edges, tuple(counts))
    return out


def draw_order(seed: str, label: str, stratum: int, ids: Sequence[str]) -> list[str]:
    """The stratum's items in their seeded random order (independent of the order of ``ids``)."""
    prefix = f"{seed}\x1f{label}\x1f{stratum}\x1f".encode()

    def key(item: str) -> bytes:
        return hashlib.blake2b(prefix + item.encode(), digest_size=12).digest()

    return sorted(ids, key=key)


def _neyman(strata: Sequence[StratumCounts], extra: int) -> list[int]:
    """``extra`` more draws over ``strata`` so that the totals approach Neyman allocation (water-filling)."""
    room = [s.population - s.reviewed for s in strata]
    extra = min(extra, sum(room))
    if extra <= 0:
        return [0] * len(strata)
    weights = []
    for s in strata:
        p = (s.correct + 1) / (s.reviewed + 2)
        weights.append(s.population * math.sqrt(p * (1.0 - p)))
    total = sum(s.reviewed for s in strata) + extra

    def filled(scale: float) -> list[float]:
        return [
            min(float(s.population), max(float(s.reviewed), scale * w)) for s, w in zip(strata, weights, strict=True)
        ]

    lo, hi = 0.0, 1.0
    while sum(filled(hi)) < total and hi < 1e18:
        hi *= 2.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if sum(filled(mid)) < total:
            lo = mid
        else:
            hi = mid
    wanted = [max(0.0, f - s.reviewed) for f, s in zip(filled(hi), strata, strict=True)]
    give = [min(int(w), r) for w, r in zip(wanted, room, strict=True)]
    left = extra - sum(give)
    order = sorted(range(len(strata)), key=lambda k: wanted[k] - int(wanted[k]), reverse=True)
    while left > 0:
        moved = False
        for k in order:
            if left and give[k] < room[k]:
                give[k] += 1
                left -= 1
                moved = True
        if not moved:
            break
    return give


def _projected_low(strata: Sequence[StratumCounts], give: Sequence[int], alphas: Sequence[float]) -> float:
    """The pooled lower bound if ``give`` more draws per stratum showed the shares observed so far."""
    low = 0
    total = 0
    for s, g, alpha in zip(strata, give, alphas, strict=True):
        if s.population == 0:
            continue
        n = s.reviewed + g
        share = s.correct / s.reviewed if s.reviewed else 0.0
        c = min(n, max(0, round(share * n)))
        low += count_interval(s.population, n, c, alpha).low
        total += s.population
    return low / total if total else 0.0


def _needed(strata: Sequence[StratumCounts], target: float, alphas: Sequence[float]) -> tuple[int, list[int]]:
    """Fewest more draws (Neyman-allocated) whose projected lower bound reaches ``target``, and their split."""
    room = sum(s.population - s.reviewed for s in strata)
    if room == 0:
        return 0, [0] * len(strata)
    lo, hi = 1, room
    if _projected_low(strata, _neyman(strata, hi), alphas) < target:
        return room, _neyman(strata, room)
    while lo < hi:
        mid = (lo + hi) // 2
        if _projected_low(strata, _neyman(strata, mid), alphas) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo, _neyman(strata, lo)


def _promising(strata: Sequence[StratumCounts], target: float) -> bool:
    """Whether the pooled share observed over ``strata`` is within one standard error of ``target`` or above.

    (Stratified estimate and its standard error, shares smoothed as (c + 1) / (n + 2).) Edges that fail this
    are not sampled further: reviews there would most likely confirm that no guarantee is possible.
    """
    total = sum(s.population for s in strata)
    if total == 0:
        return False
    estimate = variance = 0.0
    for s in strata:
        if s.population == 0 or s.reviewed == 0:
            continue
        share = s.correct / s.reviewed
        smooth = (s.correct + 1) / (s.reviewed + 2)
        weight = s.population / total
        fpc = (s.population - s.reviewed) / s.population
        estimate += weight * share
        variance += weight * weight * smooth * (1.0 - smooth) / s.reviewed * fpc
    return estimate + math.sqrt(variance) >= target


def class_request(cls: ClassStrata, options: SamplingOptions) -> list[int]:
    """More draws per stratum of one class for the next round (all zero: nothing worth sampling)."""
    strata = cls.strata
    # a stratum without any review yet first gets its first-round sample
    first = [min(options.first_round_per_stratum, s.population) if s.reviewed == 0 else 0 for s in strata]
    if any(first):
        return first
    target = target_precision(options.max_fp_ratio)
    states = edge_states(cls, options.max_fp_ratio, options.alpha)
    # states[i] is the edge of stratum floor + i (edge_bounds starts at the lowest non-empty bucket)
    floor = next(k for k in range(len(cls.edges) - 1) if strata[k].population) if states else 0
    guaranteed = next((i for i, e in enumerate(states) if e.state == "guaranteed"), len(states))
    alphas = stratum_alphas(cls, options.alpha)
    choices: list[tuple[int, int, list[int]]] = []
    for i in range(guaranteed):
        edge = states[i]
        k = floor + i
        if edge.state != "open" or not _promising(strata[k:], target):
            continue
        more, give = _needed(strata[k:], target, alphas[k:])
        if more:
            choices.append((more, k, give))
    affordable = [c for c in choices if c[0] * options.overshoot <= options.round_cap_per_class]
    # the lowest edge one round can settle (its draws also tighten every edge above it), else the cheapest
    best = min(affordable, key=lambda c: c[1]) if affordable else min(choices, default=None)
    request = [0] * len(strata)
    if best is None:
        return request
    more, k, give = best
    wanted = min(options.round_cap_per_class, max(options.min_round_per_class, math.ceil(more * options.overshoot)))
    for j, g in enumerate(_neyman(strata[k:], wanted) if wanted != more else give):
        request[k + j] = g
    return request


def _scale(requests: list[list[int]], limit: int) -> list[list[int]]:
    """Requests cut down proportionally so that they add up to at most ``limit`` (leftovers in order)."""
    total = sum(sum(r) for r in requests)
    if total <= limit:
        return requests
    out = [[(g * limit) // total for g in r] for r in requests]
    left = limit - sum(sum(r) for r in out)
    for i, r in enumerate(requests):
        for j, g in enumerate(r):
            if left and out[i][j] < g:
                out[i][j] += 1
                left -= 1
    return out


def plan_round(
    population: Population,
    reviewed: Mapping[str, bool],
    *,
    budget: int,
    round_no: int,
    seed: str,
    options: SamplingOptions | None = None,
) -> RoundPlan:
    """The items round ``round_no`` (1-based) reviews, given the verdicts so far, or why the run stops.

    ``budget``: most items reviewed in the whole run (0 = no limit). ``seed``: the run id. Pure and
    deterministic: the same inputs always give the same items, none of them reviewed already.
    """
    opts = options or SamplingOptions()
    if round_no > opts.max_rounds:
        return RoundPlan([], "rounds")
    labels = sorted(population.classes)
    counts = class_counts(population, reviewed)
    requests: list[list[int]] = []
    if round_no <= 1:  # every cell's first estimate (what a retried round 1 has not reviewed yet)
        requests = [
            [
                max(0, min(opts.first_round_per_stratum, s.population) - min(s.reviewed, opts.first_round_per_stratum))
                for s in counts[label].strata
            ]
            for label in labels
        ]
    if not any(any(r) for r in requests):
        requests = [class_request(counts[label], opts) for label in labels]
    if not any(any(r) for r in requests):
        exhausted = all(s.exhausted for c in counts.values() for s in c.strata)
        return RoundPlan([], "exhausted" if exhausted else "settled")
    if budget > 0:
        done = sum(s.reviewed for c in counts.values() for s in c.strata)
        if done >= budget:
            return RoundPlan([], "budget")
        requests = _scale(requests, budget - done)
    items: list[str] = []
    for label, request in zip(labels, requests, strict=True):
        for k, want in enumerate(request):
            if want <= 0:
                continue
            ids = population.classes[label][k]
            fresh = (item for item in draw_order(seed, label, k, ids) if item not in reviewed)
            for _, item in zip(range(want), fresh, strict=False):
                items.append(item)
    return RoundPlan(items, None)


def settled(population: Population, reviewed: Mapping[str, bool], options: SamplingOptions | None = None) -> bool:
    """True when no class has an edge left that another round would sample (see :func:`class_request`)."""
    opts = options or SamplingOptions()
    counts = class_counts(population, reviewed)
    return not any(any(class_request(c, opts)) for c in counts.values())
