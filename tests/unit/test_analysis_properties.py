"""Invariants of the analysis over generated verdicts (hypothesis)."""

from __future__ import annotations

import json
import math
import random
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkqa.analysis import AnalysisOptions, Verdict, analyze, bucket_edges, wilson_lower_bound

LABELS = ["Crab", "Sea Turtle", "=SUM(A1)", "a|b", "<b>", "Ü"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

confidence = st.one_of(
    st.floats(min_value=0, max_value=100, allow_nan=False),
    st.sampled_from([0.0, 75.0, 80.0, 85.0, 90.0, 95.0, 99.999, 100.0]),
)
verdict = st.builds(
    Verdict,
    image=st.text(max_size=5),
    label=st.sampled_from(LABELS),
    confidence=confidence,
    confirms=st.integers(min_value=0, max_value=3),
    rejects=st.integers(min_value=0, max_value=3),
)
edges = st.one_of(
    st.none(),
    st.lists(st.sampled_from([0, 50, 80, 82.5, 85, 90, 95, 100]), min_size=2, max_size=6, unique=True).map(
        lambda xs: tuple(float(x) for x in sorted(xs))
    ),
)
options = st.builds(
    AnalysisOptions,
    min_confidence=st.sampled_from([0.0, 50.0, 80.0, 92.5]),
    buckets=edges,
    max_fp_ratio=st.sampled_from([0.0, 0.05, 0.1, 0.5, 2.0]),
)


def entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [*report["classes"], report["totals"]]


def percentages(report: dict[str, Any]) -> list[tuple[float | None, list[float] | None, int]]:
    out = []
    for entry in entries(report):
        out.append((entry["pct_correct"], entry["pct_correct_ci95"], entry["total"]))
        out += [(b["pct_correct"], b["pct_correct_ci95"], b["total"]) for b in entry["buckets"]]
    return out


@SETTINGS
@given(st.lists(verdict, max_size=60), options)
def test_counts_add_up(verdicts: list[Verdict], opts: AnalysisOptions) -> None:
    report = analyze(iter(verdicts), None, opts)
    rows = report["rows"]
    assert rows["total"] == len(verdicts) == rows["accepted"] + rows["rejected"] + rows["below_min_confidence"]
    kept = [v for v in verdicts if v.confidence >= opts.min_confidence]
    assert rows["accepted"] == len(kept)
    for entry in entries(report):
        assert entry["total"] == entry["confirmed"] + entry["disconfirmed"] + entry["split"]
        assert entry["total"] == sum(b["total"] for b in entry["buckets"]) + entry["outside_buckets"]
        for b in entry["buckets"]:
            assert b["total"] == b["confirmed"] + b["disconfirmed"] + b["split"]
            assert b["incorrect"] == b["disconfirmed"] + b["split"]
    totals = report["totals"]
    for key in ("total", "confirmed", "disconfirmed", "split", "unreviewed"):
        assert totals[key] == sum(c[key] for c in report["classes"])
    assert totals["total"] + totals["unreviewed"] == len(kept)
    assert totals["total"] == sum(1 for v in kept if v.confirms or v.rejects)
    assert [c["label"] for c in report["classes"]] == sorted({v.label for v in kept})


@SETTINGS
@given(st.lists(verdict, max_size=60), options)
def test_percentages_and_intervals(verdicts: list[Verdict], opts: AnalysisOptions) -> None:
    report = analyze(verdicts, None, opts)
    for estimate, ci, total in percentages(report):
        if total == 0:
            assert estimate is None and ci is None
            continue
        assert estimate is not None and ci is not None
        assert 0.0 <= ci[0] <= estimate <= ci[1] <= 100.0
    for entry in entries(report):
        cal = entry["calibration"]
        assert cal["ece"] is None or 0.0 <= cal["ece"] <= 100.0
        kappa = entry["agreement"]["fleiss_kappa"]
        assert kappa is None or -1.0 - 1e-9 <= kappa <= 1.0 + 1e-9
        for b in entry["buckets"]:
            if b["mean_confidence"] is not None:
                assert b["low"] - 1e-6 <= b["mean_confidence"] <= b["high"] + 1e-6
    json.dumps(report, allow_nan=False)


@SETTINGS
@given(st.lists(verdict, max_size=60), options)
def test_thresholds_are_edges_and_match_a_brute_force(verdicts: list[Verdict], opts: AnalysisOptions) -> None:
    report = analyze(verdicts, None, opts)
    all_edges = [float(e) for e in report["options"]["bucket_edges"]]
    lows = all_edges[:-1]
    target = 1 / (1 + opts.max_fp_ratio)
    for entry in report["classes"]:
        threshold = entry["threshold"]
        assert threshold["bucket_walk"] is None or threshold["bucket_walk"] in all_edges
        assert threshold["precision_bound"] is None or threshold["precision_bound"] in lows
        in_buckets = sum(b["total"] for b in entry["buckets"])
        assert (threshold["bucket_walk"] is None) == (in_buckets == 0)
        # brute force over the raw verdicts: pooled precision of reviewed items with confidence >= t
        mine = [
            v
            for v in verdicts
            if v.label == entry["label"] and v.confidence >= opts.min_confidence and (v.confirms or v.rejects)
        ]
        expected = None
        floor = _floor(entry, all_edges)  # empty buckets are not evidence: no candidate edge below it
        for t in (t for t in lows if floor is not None and t >= floor):
            pool = [v for v in mine if v.confidence >= t]
            bound = wilson_lower_bound(sum(1 for v in pool if not v.rejects), len(pool))
            if bound is not None and bound >= target:
                expected = t
                break
        assert threshold["precision_bound"] == expected
        if threshold["precision_bound"] is None or threshold["evidence"] is not None:
            assert threshold["evidence"] is None or threshold["evidence"]["summary"]


@SETTINGS
@given(st.lists(verdict, max_size=60), options)
def test_class_average_ignores_empty_cells(verdicts: list[Verdict], opts: AnalysisOptions) -> None:
    report = analyze(verdicts, None, opts)

    def mean(values: list[float]) -> float | None:
        return math.fsum(values) / len(values) if values else None

    classes = report["classes"]
    average = report["class_average"]
    assert average["pct_correct"] == mean([c["pct_correct"] for c in classes if c["pct_correct"] is not None])
    for k, b in enumerate(average["buckets"]):
        column = [c["buckets"][k]["pct_correct"] for c in classes if c["buckets"][k]["total"]]
        assert b["pct_correct"] == mean(column)
        assert b["classes"] == len(column)


@SETTINGS
@given(st.lists(verdict, max_size=40), options, st.randoms(use_true_random=False))
def test_order_does_not_matter(verdicts: list[Verdict], opts: AnalysisOptions, rnd: random.Random) -> None:
    first = json.dumps(analyze(verdicts, None, opts))
    shuffled = list(verdicts)
    rnd.shuffle(shuffled)
    assert json.dumps(analyze(shuffled, None, opts)) == first


@SETTINGS
@given(st.floats(min_value=-10, max_value=110, allow_nan=False))
def test_default_edges(minimum: float) -> None:
    edges = bucket_edges(minimum)
    assert len(edges) >= 2 and edges[-1] == 100.0
    assert all(b - a == 5.0 for a, b in pairwise(edges))
    assert edges[0] <= max(minimum, 0.0) or edges[0] == 95.0
    assert edges[0] % 5 == 0


def _floor(entry: dict[str, Any], all_edges: list[float]) -> float | None:
    """The low edge of the lowest bucket that holds a reviewed item of the class (None: no such bucket)."""
    return next((all_edges[k] for k, b in enumerate(entry["buckets"]) if b["total"]), None)


@SETTINGS
@given(st.lists(verdict, max_size=60), options)
def test_no_threshold_below_the_evidence(verdicts: list[Verdict], opts: AnalysisOptions) -> None:
    """Empty buckets are not evidence: every threshold, and every edge the evidence proposes, is at or above
    the low edge of the lowest bucket holding a reviewed item of the class, or null."""
    report = analyze(verdicts, None, opts)
    all_edges = [float(e) for e in report["options"]["bucket_edges"]]
    for entry in report["classes"]:
        floor = _floor(entry, all_edges)
        threshold = entry["threshold"]
        for value in (threshold["bucket_walk"], threshold["precision_bound"]):
            assert value is None or (floor is not None and value >= floor)
        evidence = threshold["evidence"]
        if evidence and evidence["precision_bound"]:
            for option in evidence["precision_bound"]["options"]:
                assert floor is not None and option["threshold"] >= floor
                assert all(bucket[0] >= floor for bucket in option["buckets"])
        if evidence and evidence["bucket_walk"]:
            assert floor is not None and all(bucket[0] >= floor for bucket in evidence["bucket_walk"]["buckets"])


def _random_class(rnd: random.Random, label: str) -> list[Verdict]:
    """A class whose reviewed items start somewhere in 0-100, with some unreviewed items anywhere."""
    start = rnd.uniform(0, 100)
    precision = rnd.random()
    out = []
    for n in range(rnd.randint(1, 80)):
        reviewed = rnd.random() < 0.9
        conf = rnd.uniform(start, 100) if reviewed else rnd.uniform(0, 100)
        right = rnd.random() < precision
        confirms, rejects = ((1, 0) if right else (0, 1)) if reviewed else (0, 0)
        out.append(Verdict(f"{label}/{n}.jpg", label, conf, confirms, rejects))
    return out


def test_no_threshold_below_the_evidence_simulated() -> None:
    """The same rule over many simulated classes (default options: edges from 0, as without a minimum)."""
    rnd = random.Random(12)
    for _ in range(200):
        verdicts = [v for k in range(rnd.randint(1, 4)) for v in _random_class(rnd, f"c{k}")]
        opts = AnalysisOptions(max_fp_ratio=rnd.choice([0.0, 0.05, 0.1, 0.5]))
        report = analyze(verdicts, None, opts)
        all_edges = [float(e) for e in report["options"]["bucket_edges"]]
        for entry in report["classes"]:
            lowest = min(v.confidence for v in verdicts if v.label == entry["label"] and (v.confirms or v.rejects))
            floor = _floor(entry, all_edges)
            assert floor is not None and floor <= lowest < floor + 5
            for value in (entry["threshold"]["bucket_walk"], entry["threshold"]["precision_bound"]):
                assert value is None or value >= floor
