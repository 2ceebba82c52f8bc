"""The analysis domain: hand-computed cases, the blog post's tables, streaming and determinism."""

from __future__ import annotations

import json
import math
import pathlib
import random
from collections.abc import Iterator

import pytest

from bulkqa.analysis import (
    Z_ONE_SIDED_95,
    AnalysisOptions,
    RowCounts,
    Verdict,
    _wilson_lower_at,
    analyze,
    bucket_edges,
    bucket_walk,
    fleiss_kappa_binary,
    precision_bound,
    reviews_needed,
    wilson_interval,
    wilson_lower_bound,
)
from bulkqa.verdict import classify
from tests.support.report_cases import export_verdicts

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "analysis"
OPTS80 = AnalysisOptions(min_confidence=80)

# The blog post's shellfish table (seed, "Acting on the results"):
# label: (total, confirmed, disconfirmed, split, %correct, [(bucket total, incorrect, %correct) x 4])
BLOG_SHELLFISH = {
    "Crab": (45, 45, 0, 0, 100.00, [(4, 0, 100.00), (7, 0, 100.00), (11, 0, 100.00), (23, 0, 100.00)]),
    "Crawdad": (68, 16, 32, 20, 23.53, [(1, 0, 100.00), (10, 8, 20.00), (10, 8, 20.00), (47, 36, 23.40)]),
    "Lobster": (53, 40, 11, 2, 75.47, [(4, 4, 0.00), (10, 4, 60.00), (11, 3, 72.73), (28, 2, 92.86)]),
    "Scorpion": (77, 72, 3, 2, 93.51, [(8, 3, 62.50), (6, 2, 66.67), (27, 0, 100.00), (36, 0, 100.00)]),
    "Shrimp": (2, 0, 1, 1, 0.00, [(0, 0, 0.00), (1, 1, 0.00), (0, 0, 0.00), (1, 1, 0.00)]),
}
BLOG_TOTALS = (245, 173, 47, 25, 70.61, [(17, 7, 58.82), (34, 15, 55.88), (59, 11, 81.36), (135, 39, 71.11)])
#: The blog's Class Average row, which counted empty cells (Shrimp 80-85, 90-95) as 0 %.
BLOG_CLASS_AVERAGE = (58.50, [52.50, 49.33, 58.55, 63.25])


def read_fixture(name: str) -> Iterator[Verdict]:
    return export_verdicts(name)


def cat_verdicts() -> list[Verdict]:
    """The blog's Cat: 95-100: 4 reviewed, 0 incorrect; 90-95: 5, 0; 85-90: none; 80-85: 1, 1."""
    out = [Verdict(f"cat/top{i}.jpg", "Cat", 96.0 + i / 2, 1, 0) for i in range(4)]
    out += [Verdict(f"cat/mid{i}.jpg", "Cat", 90.0 + i, 1, 0) for i in range(5)]
    out.append(Verdict("cat/low.jpg", "Cat", 82.0, 0, 1))
    return out


def by_label(report: dict[str, object], label: str) -> dict[str, object]:
    classes = report["classes"]
    assert isinstance(classes, list)
    return next(c for c in classes if c["label"] == label)


# ---------------------------------------------------------------- small pure functions


@pytest.mark.parametrize(
    ("minimum", "edges"),
    [
        (80, (80, 85, 90, 95, 100)),
        (82.5, (80, 85, 90, 95, 100)),
        (84.999, (80, 85, 90, 95, 100)),
        (85, (85, 90, 95, 100)),
        (99.9, (95, 100)),
        (100, (95, 100)),
        (-3, tuple(range(0, 101, 5))),
        (0, tuple(range(0, 101, 5))),
    ],
)
def test_bucket_edges_default_rule(minimum: float, edges: tuple[int, ...]) -> None:
    assert bucket_edges(minimum) == tuple(float(e) for e in edges)


def test_bucket_edges_rejects_nan() -> None:
    with pytest.raises(ValueError):
        bucket_edges(math.nan)


@pytest.mark.parametrize(
    ("confirms", "rejects", "verdict"),
    [(1, 0, "confirmed"), (3, 0, "confirmed"), (0, 1, "disconfirmed"), (2, 1, "split"), (0, 0, None)],
)
def test_classify(confirms: int, rejects: int, verdict: str | None) -> None:
    assert classify(confirms, rejects) == verdict


def test_wilson_interval_known_values() -> None:
    # Textbook values (Newcombe 1998): 0/10 -> [0, 0.2775], 10/10 -> [0.7225, 1], 5/10 -> [0.2366, 0.7634]
    low, high = wilson_interval(0, 10) or (None, None)
    assert low == 0.0 and high == pytest.approx(0.27753, abs=1e-5)
    low, high = wilson_interval(10, 10) or (None, None)
    assert low == pytest.approx(0.72247, abs=1e-5) and high == 1.0
    low, high = wilson_interval(5, 10) or (None, None)
    assert low == pytest.approx(0.23659, abs=1e-5) and high == pytest.approx(0.76341, abs=1e-5)
    assert wilson_interval(0, 0) is None


def test_one_sided_bound_closed_form_at_full_precision() -> None:
    # With every item correct the Wilson lower bound is n / (n + z^2).
    for n in (1, 9, 45, 1000):
        assert wilson_lower_bound(n, n) == pytest.approx(n / (n + Z_ONE_SIDED_95**2))


def test_reviews_needed_at_full_precision() -> None:
    target = 1 / 1.1
    # n / (n + z^2) >= target  <=>  n >= z^2 * target / (1 - target) = 10 z^2 = 27.06
    assert reviews_needed(1.0, target) == 28
    bound = wilson_lower_bound(27, 27)
    assert bound is not None and bound < target
    bound = wilson_lower_bound(28, 28)
    assert bound is not None and bound >= target
    assert reviews_needed(target, target) is None
    assert reviews_needed(0.5, target) is None


def test_reviews_needed_is_minimal() -> None:
    for p in (0.95, 0.97, 0.99):
        n = reviews_needed(p, 0.9)
        assert n is not None
        assert _wilson_lower_at(p, n, Z_ONE_SIDED_95) >= 0.9
        assert _wilson_lower_at(p, n - 1, Z_ONE_SIDED_95) < 0.9


def test_fleiss_kappa_hand_computed() -> None:
    # 4 items x 3 raters: (3,0) (0,3) (2,1) (1,2). P_i = 1, 1, 1/3, 1/3 -> P = 2/3; p = 0.5 -> Pe = 0.5
    agreeing = sum(c * (c - 1) + r * (r - 1) for c, r in ((3, 0), (0, 3), (2, 1), (1, 2)))
    result = fleiss_kappa_binary(items=4, raters=3, confirm_votes=6, agreeing_pairs=agreeing)
    assert result["observed_agreement"] == pytest.approx(2 / 3)
    assert result["expected_agreement"] == pytest.approx(0.5)
    assert result["fleiss_kappa"] == pytest.approx(1 / 3)
    # all raters always confirm: chance agreement is 1, kappa undefined
    assert fleiss_kappa_binary(items=5, raters=2, confirm_votes=10, agreeing_pairs=10)["fleiss_kappa"] is None


# ---------------------------------------------------------------- the blog's Cat and thresholds


def test_cat_bucket_walk_is_85() -> None:
    edges = (80.0, 85.0, 90.0, 95.0, 100.0)
    # (confirmed, incorrect) per bucket, low to high
    assert bucket_walk([(0, 1), (0, 0), (5, 0), (4, 0)], edges, 0.1) == 85.0
    report = analyze(cat_verdicts(), None, OPTS80)
    cat = by_label(report, "Cat")
    assert [(b["total"], b["incorrect"]) for b in cat["buckets"]] == [(1, 1), (0, 0), (5, 0), (4, 0)]
    assert cat["threshold"]["bucket_walk"] == 85.0
    assert cat["pct_correct"] == 90.0


def test_bucket_walk_rules() -> None:
    edges = (80.0, 85.0, 90.0, 95.0, 100.0)
    assert bucket_walk([(0, 0)] * 4, edges, 0.1) is None
    assert bucket_walk([(3, 0), (3, 0), (3, 0), (3, 0)], edges, 0.1) == 80.0  # nothing exceeds: lowest low
    assert bucket_walk([(3, 0), (3, 0), (3, 0), (9, 1)], edges, 0.1) == 95.0 + 5  # 1/9 > 0.1: top bucket
    assert bucket_walk([(3, 0), (3, 0), (3, 0), (10, 1)], edges, 0.1) == 80.0  # 1/10 does not exceed 0.1
    assert bucket_walk([(9, 0), (1, 1), (0, 0), (5, 0)], edges, 0.1) == 90.0  # empty bucket skipped
    assert bucket_walk([(9, 0), (0, 0), (0, 0), (0, 0)], edges, 0.1) == 80.0
    assert bucket_walk([(0, 2), (0, 0), (0, 0), (0, 0)], edges, 0.1) == 85.0  # incorrect, none confirmed
    assert bucket_walk([(0, 1), (0, 0), (0, 0), (7, 0)], edges, 0.0) == 85.0


def test_precision_bound_picks_lowest_qualifying_edge() -> None:
    edges = (80.0, 85.0, 90.0, 95.0, 100.0)
    # (confirmed, reviewed) per bucket: 45 confirmed of 45 -> 45/47.7 = 0.943 >= 0.909 at 80
    assert precision_bound([(4, 4), (7, 7), (11, 11), (23, 23)], edges, 0.1) == 80.0
    # only the top 30 are clean: 30/(30+2.7) = 0.917 qualifies at 95; pooling the bad 90-95 spoils 90 and 80
    assert precision_bound([(0, 5), (0, 0), (0, 5), (30, 30)], edges, 0.1) == 95.0
    assert precision_bound([(1, 1), (1, 1), (1, 1), (1, 1)], edges, 0.1) is None
    assert precision_bound([(0, 0)] * 4, edges, 0.1) is None


def test_evidence_for_the_cat() -> None:
    cat = by_label(analyze(cat_verdicts(), None, OPTS80), "Cat")
    evidence = cat["threshold"]["evidence"]
    assert cat["threshold"]["precision_bound"] is None
    assert evidence is not None
    # walk decided by the single item of 80-85: 9 more to reach min_evidence = 10
    assert evidence["bucket_walk"] == {
        "reviewed": 1,
        "min_evidence": 10,
        "additional_reviews": 9,
        "buckets": [[80, 85]],
    }
    # 9 of 9 correct above 85: 28 are needed at 100 % (see test_reviews_needed_at_full_precision)
    best = evidence["precision_bound"]["options"][0]
    assert best["threshold"] == 85.0
    assert best["additional_reviews"] == 28 - 9
    assert best["buckets"] == [[85, 90], [90, 95], [95, 100]]
    assert evidence["precision_bound"]["reachable"] is True
    assert "19 more reviewed items" in evidence["summary"]


def test_evidence_when_unreachable_and_when_settled() -> None:
    bad = [Verdict(f"x{i}", "Bad", 81 + i, 1, 1 if i % 2 else 0) for i in range(19)]
    good = [Verdict(f"g{i}", "Good", 80 + i / 5, 1, 0) for i in range(100)]
    report = analyze(bad + good, None, OPTS80)
    evidence = by_label(report, "Bad")["threshold"]["evidence"]
    assert evidence["precision_bound"]["reachable"] is False
    assert "at or below the target" in evidence["summary"]
    good_class = by_label(report, "Good")
    assert good_class["threshold"] == {
        "bucket_walk": 80.0,
        "precision_bound": 80.0,
        "target_precision": 1 / 1.1,
        "evidence": None,
    }


# ---------------------------------------------------------------- the blog's shellfish table


def test_reproduces_blog_shellfish_totals_from_the_sample() -> None:
    """shellfish.csv filtered to confidence >= 80: the blog's Total columns (seed lines 233-240)."""
    report = analyze(read_fixture("shellfish-verdicts.csv"), None, OPTS80)
    assert report["rows"] == {"total": 367, "accepted": 245, "rejected": 0, "below_min_confidence": 122}
    assert report["buckets"] == [[80, 85], [85, 90], [90, 95], [95, 100]]
    for entry in report["classes"]:
        total, _, _, _, _, buckets = BLOG_SHELLFISH[entry["label"]]
        assert entry["total"] + entry["unreviewed"] == total
        assert [b["total"] + b["unreviewed"] for b in entry["buckets"]] == [b[0] for b in buckets]
    totals = report["totals"]
    assert totals["total"] + totals["unreviewed"] == 245
    assert [b["total"] + b["unreviewed"] for b in totals["buckets"]] == [17, 34, 59, 135]


def test_reproduces_blog_shellfish_table() -> None:
    """With verdicts that give the blog's counts, every number of its table is reproduced."""
    report = analyze(read_fixture("shellfish-blog-verdicts.csv"), None, OPTS80)
    assert [c["label"] for c in report["classes"]] == sorted(BLOG_SHELLFISH)

    def check(entry: dict[str, object], expected: tuple[object, ...]) -> None:
        total, confirmed, disconfirmed, split, pct_correct, buckets = expected
        assert (entry["total"], entry["confirmed"], entry["disconfirmed"], entry["split"]) == (
            total,
            confirmed,
            disconfirmed,
            split,
        )
        assert round(entry["pct_correct"], 2) == pct_correct
        for got, (b_total, b_incorrect, b_pct) in zip(entry["buckets"], buckets, strict=True):
            assert (got["total"], got["incorrect"]) == (b_total, b_incorrect)
            if b_total:
                assert round(got["pct_correct"], 2) == b_pct
            else:  # the blog printed 0.00 % for an empty cell; the contract says null
                assert got["pct_correct"] is None and got["pct_correct_ci95"] is None

    for entry in report["classes"]:
        check(entry, BLOG_SHELLFISH[entry["label"]])
    check(report["totals"], BLOG_TOTALS)

    average = report["class_average"]
    assert round(average["pct_correct"], 2) == BLOG_CLASS_AVERAGE[0]
    ours = [b["pct_correct"] for b in average["buckets"]]
    # empty cells left out: 80-85 averages Crab, Crawdad, Lobster, Scorpion only
    assert ours[0] == pytest.approx((100 + 100 + 0 + 62.5) / 4)
    assert round(ours[1], 2) == BLOG_CLASS_AVERAGE[1][1]
    assert ours[2] == pytest.approx((100 + 20 + 300 * 8 / 11 / 3 + 100) / 4)
    assert round(ours[3], 2) == BLOG_CLASS_AVERAGE[1][3]
    # ... and counting the empty cells as 0 % gives the blog's printed row
    blog_style = [
        sum(c["buckets"][k]["pct_correct"] or 0.0 for c in report["classes"]) / len(report["classes"]) for k in range(4)
    ]
    assert [round(v, 2) for v in blog_style] == BLOG_CLASS_AVERAGE[1]

    thresholds = {c["label"]: c["threshold"] for c in report["classes"]}
    assert {k: t["bucket_walk"] for k, t in thresholds.items()} == {
        "Crab": 80.0,
        "Crawdad": 100.0,  # 36 incorrect / 11 confirmed in 95-100
        "Lobster": 95.0,  # 2/26 passes at 95-100, 3/8 stops at 90-95
        "Scorpion": 90.0,  # 0 incorrect at 90+, 2/4 stops at 85-90
        "Shrimp": 100.0,
    }
    assert thresholds["Crab"]["precision_bound"] == 80.0  # 45/45: 45/(45+z^2) = 0.943
    assert thresholds["Crawdad"]["precision_bound"] is None
    assert thresholds["Scorpion"]["precision_bound"] == 85.0  # 67/69 above 85
    assert thresholds["Shrimp"]["precision_bound"] is None


# ---------------------------------------------------------------- accounting


def test_rows_derived_from_verdicts_when_not_given() -> None:
    verdicts = [
        Verdict("a", "A", 50, 1, 0),
        Verdict("b", "A", 79.99, 0, 1),
        Verdict("c", "A", 80, 1, 0),
        Verdict("d", "B", 99, 0, 0),
    ]
    report = analyze(iter(verdicts), None, OPTS80)
    assert report["rows"] == {"total": 4, "accepted": 2, "rejected": 0, "below_min_confidence": 2}
    assert report["verdicts"]["below_min_confidence"] == 2
    assert [c["label"] for c in report["classes"]] == ["A", "B"]
    b = by_label(report, "B")
    assert (b["total"], b["unreviewed"], b["pct_correct"], b["pct_correct_ci95"]) == (0, 1, None, None)
    assert b["threshold"]["bucket_walk"] is None
    assert b["buckets"][3]["unreviewed"] == 1


def test_rows_given_are_reported_as_given() -> None:
    rows = RowCounts(total=10, accepted=6, rejected=3, below_min_confidence=1)
    report = analyze([Verdict("a", "A", 90, 1, 0)], rows, OPTS80)
    assert report["rows"] == {"total": 10, "accepted": 6, "rejected": 3, "below_min_confidence": 1}


def test_unreviewed_items_are_left_out_of_totals_and_percentages() -> None:
    verdicts = [Verdict("a", "A", 90, 1, 0), Verdict("b", "A", 91, 0, 0), Verdict("c", "A", 92, 0, 0)]
    a = by_label(analyze(verdicts, None, OPTS80), "A")
    assert (a["total"], a["unreviewed"], a["pct_correct"]) == (1, 2, 100.0)
    assert a["buckets"][2] | {"pct_correct_ci95": None, "mean_confidence": None} == {
        "low": 90,
        "high": 95,
        "total": 1,
        "incorrect": 0,
        "pct_correct": 100.0,
        "pct_correct_ci95": None,
        "confirmed": 1,
        "disconfirmed": 0,
        "split": 0,
        "unreviewed": 2,
        "mean_confidence": None,
    }


def test_bucket_boundaries() -> None:
    verdicts = [Verdict(str(c), "A", c, 1, 0) for c in (80, 84.999, 85, 99.99, 100)]
    a = by_label(analyze(verdicts, None, OPTS80), "A")
    assert [b["total"] for b in a["buckets"]] == [2, 1, 0, 2]  # [low, high) and the last includes 100


def test_custom_buckets_and_items_outside_them() -> None:
    options = AnalysisOptions(min_confidence=0, buckets=(90, 95, 100))
    report = analyze([Verdict("a", "A", 50, 1, 0), Verdict("b", "A", 96, 1, 0)], None, options)
    a = by_label(report, "A")
    assert report["buckets"] == [[90, 95], [95, 100]]
    assert (a["total"], a["outside_buckets"], [b["total"] for b in a["buckets"]]) == (2, 1, [0, 1])
    assert report["verdicts"]["outside_buckets"] == 1


def test_empty_input() -> None:
    report = analyze([], None, OPTS80)
    assert report["classes"] == []
    assert report["totals"]["total"] == 0 and report["totals"]["pct_correct"] is None
    assert report["class_average"]["pct_correct"] is None
    assert report["agreement"]["fleiss_kappa"] is None
    assert report["calibration"]["ece"] is None
    json.dumps(report, allow_nan=False)


# ---------------------------------------------------------------- calibration and agreement


def test_calibration_hand_computed() -> None:
    # 80-85: 2 items at 82 and 84, one correct (50 %), mean 83 -> |50 - 83| = 33
    # 95-100: 2 items at 96 and 98, both correct (100 %), mean 97 -> |100 - 97| = 3
    verdicts = [
        Verdict("a", "A", 82, 1, 0),
        Verdict("b", "A", 84, 0, 1),
        Verdict("c", "A", 96, 1, 0),
        Verdict("d", "A", 98, 1, 0),
    ]
    report = analyze(verdicts, None, OPTS80)
    a = by_label(report, "A")
    assert a["buckets"][0]["mean_confidence"] == pytest.approx(83)
    assert a["buckets"][3]["mean_confidence"] == pytest.approx(97)
    assert a["calibration"]["ece"] == pytest.approx((2 * 33 + 2 * 3) / 4)
    assert a["calibration"]["mean_confidence"] == pytest.approx(90)
    assert a["calibration"]["gap"] == pytest.approx(90 - 75)
    assert report["calibration"]["ece"] == pytest.approx(18)
    assert report["calibration"]["by_class"] == {"A": pytest.approx(18)}


def test_agreement_from_counts_and_reviewers() -> None:
    verdicts = [
        Verdict("1", "A", 90, 3, 0, {"r1": "confirm", "r2": "confirm", "r3": "confirm"}),
        Verdict("2", "A", 90, 0, 3, {"r1": "reject", "r2": "reject", "r3": "reject"}),
        Verdict("3", "A", 90, 2, 1, {"r1": "confirm", "r2": "confirm", "r3": "reject"}),
        Verdict("4", "A", 90, 1, 2, {"r1": "confirm", "r2": "reject", "r3": "reject"}),
        Verdict("5", "A", 90, 1, 0, {"r1": "confirm"}),
    ]
    agreement = analyze(verdicts, None, OPTS80)["agreement"]
    assert agreement["items_with_multiple_reviews"] == 4
    assert agreement["split_items"] == 2
    assert agreement["pct_split"] == 50.0
    assert agreement["fleiss_raters"] == 3
    assert agreement["fleiss_kappa"] == pytest.approx(1 / 3)
    reviewers = {r["reviewer"]: r for r in agreement["reviewers"]}
    assert reviewers["r1"]["reviews"] == 5 and reviewers["r1"]["rejects"] == 1
    # r3 on items 1-4: agrees with 2, 2, 0, 1 of its 2 co-reviewers -> 5 of 8
    assert reviewers["r3"]["pct_agreement_with_others"] == pytest.approx(100 * 5 / 8)


def test_agreement_not_applicable_with_single_reviews() -> None:
    agreement = analyze([Verdict("a", "A", 90, 1, 0)], None, OPTS80)["agreement"]
    assert agreement["items_with_multiple_reviews"] == 0
    assert agreement["pct_split"] is None and agreement["fleiss_kappa"] is None
    assert agreement["reviewers"] is None


# ---------------------------------------------------------------- streaming, determinism, validation


class OnceOnly:
    """An iterable that fails if iterated twice."""

    def __init__(self, items: list[Verdict]) -> None:
        self.items = items
        self.used = False

    def __iter__(self) -> Iterator[Verdict]:
        assert not self.used, "the verdicts were iterated twice"
        self.used = True
        return iter(self.items)


def test_consumes_the_verdicts_once() -> None:
    analyze(OnceOnly(cat_verdicts()), None, OPTS80)


def test_report_does_not_depend_on_order() -> None:
    verdicts = list(read_fixture("shellfish-verdicts.csv"))
    first = json.dumps(analyze(verdicts, None, OPTS80))
    random.Random(7).shuffle(verdicts)
    assert json.dumps(analyze(verdicts, None, OPTS80)) == first


def test_report_fields_of_the_contract() -> None:
    report = analyze(cat_verdicts(), None, OPTS80)
    assert list(report)[:5] == ["rows", "buckets", "classes", "totals", "class_average"]
    cat = report["classes"][0]
    for key in ("label", "total", "confirmed", "disconfirmed", "split", "unreviewed", "pct_correct"):
        assert key in cat
    assert set(cat["buckets"][0]) >= {"low", "high", "total", "incorrect", "pct_correct", "pct_correct_ci95"}
    assert set(cat["threshold"]) >= {"bucket_walk", "precision_bound", "evidence"}
    assert set(report["totals"]) >= {"total", "confirmed", "pct_correct", "pct_correct_ci95", "buckets"}
    assert "label" not in report["totals"] and "threshold" not in report["totals"]
    assert set(report["class_average"]["buckets"][0]) >= {"low", "high", "pct_correct"}
    assert report["partial"] is False
    assert analyze([], None, OPTS80, partial=True)["partial"] is True
    assert "Wilson" in report["methods"]["pct_correct_ci95"]
    assert "Wilson" in report["methods"]["threshold_precision_bound"]


@pytest.mark.parametrize(
    "verdict",
    [
        Verdict("a", "A", math.nan, 1, 0),
        Verdict("a", "A", math.inf, 1, 0),
        Verdict("a", "A", 90, -1, 0),
        Verdict("a", "A", 90, 1, -1),
        Verdict("a", "A", 90, -1, 1),
        Verdict("a", "A", 90, 0, -1),
        Verdict("a", "A", 90, 1, 0, {"r": "maybe"}),
    ],
)
def test_invalid_verdicts_are_refused(verdict: Verdict) -> None:
    with pytest.raises(ValueError):
        analyze([verdict], None, OPTS80)


@pytest.mark.parametrize(
    "options",
    [
        AnalysisOptions(buckets=(80,)),
        AnalysisOptions(buckets=(90, 80, 100)),
        AnalysisOptions(buckets=(80, 80, 100)),
        AnalysisOptions(buckets=(80, math.nan)),
        AnalysisOptions(max_fp_ratio=-0.1),
        AnalysisOptions(max_fp_ratio=math.inf),
        AnalysisOptions(min_confidence=math.nan),
        AnalysisOptions(min_evidence=0),
    ],
)
def test_invalid_options_are_refused(options: AnalysisOptions) -> None:
    with pytest.raises(ValueError):
        analyze([], None, options)


# ---------------------------------------------------------------- thresholds never below the evidence (#12)


def test_no_threshold_below_the_lowest_reviewed_bucket_without_a_minimum() -> None:
    """The issue's case: every reviewed item has confidence >= 80, analysed with the default minimum 0 (edges
    0, 5, ..., 100). Empty buckets are not evidence: neither rule may say "accept from 0"."""
    good = [Verdict(f"g{i}.jpg", "Good", 80 + (i % 20), 1, 0) for i in range(60)]
    report = analyze(good, None, AnalysisOptions())
    assert report["options"]["bucket_edges"][0] == 0
    thresholds = by_label(report, "Good")["threshold"]
    assert thresholds["bucket_walk"] == 80.0
    assert thresholds["precision_bound"] == 80.0


def test_bucket_walk_passing_every_bucket_stops_at_the_lowest_reviewed_one() -> None:
    edges = (70.0, 75.0, 80.0, 85.0, 90.0)
    assert bucket_walk([(0, 0), (0, 0), (3, 0), (4, 0)], edges, 0.1) == 80.0
    assert bucket_walk([(0, 0), (5, 0), (0, 0), (4, 0)], edges, 0.1) == 75.0  # an empty bucket between: 75
    assert bucket_walk([(0, 0), (0, 0), (0, 2), (4, 0)], edges, 0.1) == 85.0  # unchanged when a bucket fails


def test_precision_bound_never_below_the_lowest_reviewed_bucket() -> None:
    edges = (70.0, 75.0, 80.0, 85.0, 90.0)
    assert precision_bound([(0, 0), (0, 0), (20, 20), (25, 25)], edges, 0.1) == 80.0
    # only items past the top edge: no bucket holds evidence, no threshold
    assert precision_bound([(0, 0)] * 4, edges, 0.1, above=(50, 50)) is None


def test_thin_evidence_advice_never_proposes_an_edge_below_the_evidence() -> None:
    few = [Verdict(f"f{i}.jpg", "Few", 86 + i, 1, 0) for i in range(5)]
    thresholds = by_label(analyze(few, None, AnalysisOptions()), "Few")["threshold"]
    assert thresholds["bucket_walk"] == 85.0
    assert thresholds["precision_bound"] is None
    evidence = thresholds["evidence"]
    assert evidence is not None
    options = evidence["precision_bound"]["options"]
    assert options and all(o["threshold"] >= 85.0 for o in options)
    assert all(bucket[0] >= 85 for o in options for bucket in o["buckets"])
    assert "at 85" in evidence["summary"]
    assert evidence["bucket_walk"]["buckets"] == [[85, 90], [90, 95], [95, 100]]


def test_methods_state_the_evidence_floor() -> None:
    methods = analyze([], None, AnalysisOptions())["methods"]
    for key in ("threshold_bucket_walk", "threshold_precision_bound", "threshold_evidence"):
        assert "lowest bucket that holds a reviewed item" in methods[key]
