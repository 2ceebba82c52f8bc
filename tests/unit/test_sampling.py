"""The sampling core (issue 14): the confidence sequence, the class bounds and guarantee, the round policy."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest

from bulkqa.analysis.thresholds import precision_bound
from bulkqa.sampling import (
    ClassStrata,
    Population,
    SamplingOptions,
    StratumCounts,
    cell_estimate,
    class_counts,
    class_estimate,
    count_interval,
    draw_order,
    edge_bounds,
    guaranteed_threshold,
    plan_round,
    report_estimate,
    settled,
    stratum_alphas,
    target_precision,
)

EDGES = (80.0, 85.0, 90.0, 95.0, 100.0)


# --- the confidence sequence -------------------------------------------------------------------------


def _ppr_set_by_bayes(n: int, t: int, c: int, alpha: float) -> tuple[int, int]:
    """C_t = {x : pi_0(x) / pi_t(x) < 1/alpha} computed literally, in exact arithmetic, for a uniform prior.

    Beta-binomial(N, 1, 1) is uniform on 0..N; the posterior after a sample of t with c correct is
    proportional to the prior times the hypergeometric likelihood of the count.
    """
    prior = [Fraction(1, n + 1)] * (n + 1)
    like = [Fraction(math.comb(x, c) * math.comb(n - x, t - c), math.comb(n, t)) for x in range(n + 1)]
    evidence = sum(p * q for p, q in zip(prior, like, strict=True))
    inside = [x for x in range(n + 1) if like[x] and prior[x] / (prior[x] * like[x] / evidence) < 1 / Fraction(alpha)]
    return inside[0], inside[-1]


@pytest.mark.parametrize(
    ("n", "t", "c"),
    [(10, 1, 1), (10, 3, 2), (12, 6, 6), (12, 6, 0), (20, 10, 7), (20, 19, 18), (30, 5, 5), (30, 15, 9)],
)
def test_interval_is_the_prior_posterior_ratio_set(n: int, t: int, c: int) -> None:
    for alpha in (0.05, 0.0125):
        assert tuple(count_interval(n, t, c, alpha)) == _ppr_set_by_bayes(n, t, c, alpha)


def test_nothing_reviewed_is_the_whole_range_and_everything_reviewed_is_exact() -> None:
    assert tuple(count_interval(500, 0, 0, 0.05)) == (0, 500)
    for c in (0, 1, 250, 500):
        assert tuple(count_interval(500, 500, c, 0.05)) == (c, c)
    assert tuple(count_interval(0, 0, 0, 0.05)) == (0, 0)


def test_interval_holds_the_sample_and_what_the_unreviewed_items_allow() -> None:
    for n, t, c in [(1000, 50, 48), (1000, 999, 3), (5000, 400, 380), (7, 3, 1)]:
        low, high = count_interval(n, t, c, 0.05)
        assert c <= low <= round(n * c / t) <= high <= n - (t - c)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        count_interval(10, 11, 0, 0.05)
    with pytest.raises(ValueError):
        count_interval(10, 5, 6, 0.05)
    with pytest.raises(ValueError):
        count_interval(10, 5, 1, 0.0)


def test_time_uniform_coverage_when_looking_after_every_draw() -> None:
    rng = random.Random(3)
    misses = 0
    runs = 400
    for _ in range(runs):
        n = 60
        k = rng.randint(30, 60)
        order = [1] * k + [0] * (n - k)
        rng.shuffle(order)
        c = 0
        for t, x in enumerate(order, start=1):
            c += x
            low, high = count_interval(n, t, c, 0.05)
            if not low <= k <= high:
                misses += 1
                break
    assert misses / runs <= 0.05


# --- the class: estimates, bounds, the guarantee -------------------------------------------------------


def _full(*cells: tuple[int, int]) -> ClassStrata:
    """A fully reviewed class from (population, correct) per bucket."""
    return ClassStrata(EDGES, tuple(StratumCounts(n, n, c) for n, c in cells))


def test_fully_reviewed_class_has_exact_estimates_and_zero_width() -> None:
    cls = _full((100, 70), (100, 90), (200, 190), (300, 297))
    estimate = class_estimate(cls)
    assert estimate.share == pytest.approx(647 / 700)
    assert estimate.interval == (647 / 700, 647 / 700)
    for stratum in cls.strata:
        cell = cell_estimate(stratum)
        assert cell.interval is not None and cell.interval.low == cell.interval.high == cell.share
    for bounds in edge_bounds(cls):
        assert bounds.low == bounds.high == bounds.estimate


def test_fully_reviewed_guarantee_is_the_lowest_edge_at_target() -> None:
    target = target_precision(0.1)  # 0.909...
    cls = _full((100, 70), (100, 90), (200, 190), (300, 297))
    # pooled precision >= 80: 647/700 = 0.924 -> already at target
    assert target <= 647 / 700
    assert guaranteed_threshold(cls, 0.1) == 80.0
    cls = _full((100, 20), (100, 90), (200, 190), (300, 290))
    # >= 80: 590/700 = 0.843; >= 85: 570/600 = 0.95
    assert guaranteed_threshold(cls, 0.1) == 85.0
    assert guaranteed_threshold(_full((10, 0), (10, 0), (10, 0), (10, 0)), 0.1) is None


def test_empty_low_buckets_are_not_claimed() -> None:
    cls = _full((0, 0), (0, 0), (50, 50), (50, 50))
    assert guaranteed_threshold(cls, 0.1) == 90.0
    assert [b.edge for b in edge_bounds(cls)] == [90.0, 95.0]


def test_items_past_the_top_edge_count_in_every_edge() -> None:
    with_above = ClassStrata(EDGES, (*_full((10, 9), (10, 9), (10, 9), (10, 0)).strata, StratumCounts(200, 200, 200)))
    assert guaranteed_threshold(with_above, 0.1) == 80.0  # 227 / 240
    assert guaranteed_threshold(ClassStrata(EDGES, with_above.strata[:4]), 0.1) is None  # 27 / 40
    assert [b.edge for b in edge_bounds(with_above)] == [80.0, 85.0, 90.0, 95.0]


def test_full_review_guarantee_never_above_todays_precision_bound() -> None:
    """Both read the same reviewed items; today's bound adds a Wilson margin, the population one does not."""
    rng = random.Random(11)
    for _ in range(300):
        cells = []
        for _k in range(4):
            n = rng.randint(0, 80)
            cells.append((n, rng.randint(int(0.6 * n), n)))
        if not any(n for n, _ in cells):
            continue
        today = precision_bound([(c, n) for n, c in cells], EDGES, 0.1)
        ours = guaranteed_threshold(_full(*cells), 0.1)
        if today is not None:
            assert ours is not None and ours <= today


def test_partial_review_interval_holds_the_estimate() -> None:
    cls = ClassStrata(
        EDGES,
        (StratumCounts(1000, 25, 20), StratumCounts(800, 25, 24), StratumCounts(0, 0, 0), StratumCounts(2000, 50, 50)),
    )
    estimate = class_estimate(cls)
    assert estimate.share is not None and estimate.interval is not None
    assert estimate.interval.low < estimate.share < estimate.interval.high
    assert class_estimate(ClassStrata(EDGES, (StratumCounts(10, 0, 0),) * 4)).share is None


# --- the policy ---------------------------------------------------------------------------------------


def _population(sizes: list[list[int]], prefix: str = "") -> Population:
    classes = {
        f"class-{i}": [[f"{prefix}{i}/{k}/{j}" for j in range(n)] for k, n in enumerate(row)]
        for i, row in enumerate(sizes)
    }
    return Population(EDGES, classes)


def _run(population: Population, truth: set[str], seed: str, budget: int = 0) -> tuple[dict[str, bool], list[str]]:
    reviewed: dict[str, bool] = {}
    stops = []
    for round_no in range(1, 10):
        plan = plan_round(population, reviewed, budget=budget, round_no=round_no, seed=seed)
        if plan.stop:
            stops.append(plan.stop)
            break
        assert len(set(plan.items)) == len(plan.items)
        assert not set(plan.items) & set(reviewed)
        for item in plan.items:
            reviewed[item] = item in truth
    return reviewed, stops


def test_round_one_gives_every_cell_a_first_estimate() -> None:
    population = _population([[100, 10, 0, 300], [5, 50, 60, 70]])
    plan = plan_round(population, {}, budget=0, round_no=1, seed="run-1")
    taken = set(plan.items)
    for strata in population.classes.values():
        for ids in strata:
            assert len(taken & set(ids)) == min(25, len(ids))


def test_draws_are_deterministic_per_seed_and_independent_of_input_order() -> None:
    population = _population([[200, 200, 200, 200]])
    first = plan_round(population, {}, budget=0, round_no=1, seed="run-1").items
    assert first == plan_round(population, {}, budget=0, round_no=1, seed="run-1").items
    assert first != plan_round(population, {}, budget=0, round_no=1, seed="run-2").items
    shuffled = Population(EDGES, {k: [list(reversed(ids)) for ids in v] for k, v in population.classes.items()})
    assert sorted(first) == sorted(plan_round(shuffled, {}, budget=0, round_no=1, seed="run-1").items)
    ids = population.classes["class-0"][0]
    assert draw_order("s", "class-0", 0, ids) == draw_order("s", "class-0", 0, sorted(ids, reverse=True))


def test_a_whole_run_never_draws_an_item_twice_and_stops() -> None:
    population = _population([[300, 300, 400, 800], [50, 80, 30, 40], [600, 500, 400, 900]])
    rng = random.Random(5)
    truth = {i for strata in population.classes.values() for ids in strata for i in ids if rng.random() < 0.93}
    reviewed, stops = _run(population, truth, "run-x")
    assert stops and stops[0] in {"settled", "rounds", "exhausted"}
    again, _ = _run(population, truth, "run-x")
    assert again == reviewed  # an idempotent retry of every round draws the same items


def test_budget_limits_the_run() -> None:
    population = _population([[1000, 1000, 1000, 1000]] * 3)
    rng = random.Random(6)
    truth = {i for strata in population.classes.values() for ids in strata for i in ids if rng.random() < 0.9}
    reviewed, stops = _run(population, truth, "run-b", budget=150)
    assert len(reviewed) == 150
    assert stops == ["budget"]


def test_round_limit_and_small_strata_are_exhausted() -> None:
    population = _population([[3, 4, 5, 6]])
    truth = {i for ids in population.classes["class-0"] for i in ids}
    reviewed, stops = _run(population, truth, "run-s")
    assert len(reviewed) == 18  # every item in round 1
    assert stops == ["exhausted"] and settled(population, reviewed)
    counts = class_counts(population, reviewed)["class-0"]
    assert guaranteed_threshold(counts, 0.1) == 80.0
    options = SamplingOptions(max_rounds=2)
    assert plan_round(population, {}, budget=0, round_no=3, seed="x", options=options).stop == "rounds"


# --- a small coverage simulation (bench/bench_sampling.py is the full one) -------------------------------


def test_simulation_false_guarantees_and_coverage() -> None:
    rng = random.Random(2026)
    target = target_precision(0.1)
    classes = false_guarantees = covered = intervals = guarantees = 0
    for p in range(12):
        sizes: list[list[int]] = []
        curves = []
        for _ in range(12):
            sizes.append([rng.randint(100, 900) for _ in range(4)])
            level = rng.choice([0.88, 0.9, 0.91, 0.93, 0.97])
            slope = rng.choice([0.0, 0.01, 0.03])
            curves.append([min(0.999, level + slope * (k - 1.5)) for k in range(4)])
        population = _population(sizes, prefix=f"{p}:")
        truth: set[str] = set()
        for (_label, strata), curve in zip(population.classes.items(), curves, strict=True):
            for ids, share in zip(strata, curve, strict=True):
                truth.update(i for i in ids if rng.random() < share)
        reviewed, _ = _run(population, truth, f"sim-{p}")
        counts = class_counts(population, reviewed)
        for label, strata in population.classes.items():
            classes += 1
            cls = counts[label]
            per = [(len(ids), sum(1 for i in ids if i in truth)) for ids in strata]
            g = guaranteed_threshold(cls, 0.1)
            if g is not None:
                guarantees += 1
                k = EDGES.index(g)
                if sum(c for _, c in per[k:]) / sum(n for n, _ in per[k:]) < target:
                    false_guarantees += 1
            estimate = class_estimate(cls)
            assert estimate.interval is not None
            share = sum(c for _, c in per) / sum(n for n, _ in per)
            intervals += 1
            covered += estimate.interval.low <= share <= estimate.interval.high
            for stratum, (n, c) in zip(cls.strata, per, strict=True):
                cell = cell_estimate(stratum)
                assert cell.interval is not None
                intervals += 1
                covered += cell.interval.low <= c / n <= cell.interval.high
    assert guarantees > classes // 4  # the simulation does exercise guarantees
    assert false_guarantees / classes <= 0.05
    assert covered / intervals >= 0.93


def test_alpha_is_split_over_the_non_empty_strata() -> None:
    cls = ClassStrata(
        EDGES, (StratumCounts(0, 0, 0), StratumCounts(100, 0, 0), StratumCounts(300, 0, 0), StratumCounts(600, 0, 0))
    )
    alphas = stratum_alphas(cls)
    assert sum(a for a, s in zip(alphas, cls.strata, strict=True) if s.population) == pytest.approx(0.05)
    assert alphas[1] < alphas[2] < alphas[3]


def test_round_one_planned_again_after_its_reviews_moves_on() -> None:
    population = _population([[400, 400, 400, 400]])
    first = plan_round(population, {}, budget=0, round_no=1, seed="r").items
    reviewed = dict.fromkeys(first, True)
    again = plan_round(population, reviewed, budget=0, round_no=1, seed="r")
    assert not set(again.items) & set(first)


def test_exact_time_uniform_error_is_at_most_alpha() -> None:
    """Every order of a 12-item stratum is equally likely: count those in which the sequence ever misses."""
    n = 12
    for k in range(n + 1):
        misses = 0
        orders = 0
        for ones in itertools.combinations(range(n), k):
            orders += 1
            marks = set(ones)
            c = 0
            for t in range(1, n + 1):
                c += (t - 1) in marks
                low, high = count_interval(n, t, c, 0.1)
                if not low <= k <= high:
                    misses += 1
                    break
        assert misses / orders <= 0.1, (k, misses, orders)


def test_report_estimate_shape() -> None:
    full = report_estimate(class_estimate(_full((100, 70), (100, 90), (200, 190), (300, 297))))
    assert full == {"pct_correct": pytest.approx(100 * 647 / 700), "ci95": [pytest.approx(100 * 647 / 700)] * 2}
    empty = report_estimate(class_estimate(ClassStrata(EDGES, (StratumCounts(0, 0, 0),) * 4)))
    assert empty == {"pct_correct": None, "ci95": None}
    partial = report_estimate(class_estimate(ClassStrata(EDGES, (StratumCounts(100, 10, 9),) * 4)))
    assert partial["ci95"] is not None and partial["pct_correct"] is not None
    assert partial["ci95"][0] <= partial["pct_correct"] <= partial["ci95"][1]
