"""The fields a class and the totals share (counts, buckets, calibration, agreement), and the class average."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..report_types import Agreement, AverageBucket, Bucket, Calibration, ClassAverage, ClassEntry, RaterGroup, Summary
from .cells import CONF_SCALE, NF, C, D, RaterCounts, S, U, cell
from .model import edge
from .stats import ci_pct, fleiss_kappa_binary, pct


def summary(cells: Sequence[int], multi: Mapping[int, RaterCounts], edges: Sequence[float]) -> Summary:
    """The fields shared by a class and the totals, from flat counters (see :mod:`.cells`)."""
    n_buckets = len(edges) - 1
    n_cells = n_buckets + 2
    confirmed = sum(cells[i * NF + C] for i in range(n_cells))
    disconfirmed = sum(cells[i * NF + D] for i in range(n_cells))
    split = sum(cells[i * NF + S] for i in range(n_cells))
    unreviewed = sum(cells[i * NF + U] for i in range(n_cells))
    total = confirmed + disconfirmed + split
    outside = cell(cells, 0).reviewed + cell(cells, n_cells - 1).reviewed
    buckets: list[Bucket] = []
    weighted_gap = 0.0
    in_buckets = 0
    conf_sum_buckets = 0
    confirmed_buckets = 0
    for k in range(n_buckets):
        b = cell(cells, k + 1)
        n = b.reviewed
        mean_conf = b.conf_sum / CONF_SCALE / n if n else None
        p = pct(b.confirmed, n)
        if n and mean_conf is not None and p is not None:
            weighted_gap += n * abs(p - mean_conf)
            in_buckets += n
            conf_sum_buckets += b.conf_sum
            confirmed_buckets += b.confirmed
        buckets.append(
            {
                "low": edge(edges[k]),
                "high": edge(edges[k + 1]),
                "total": n,
                "incorrect": b.incorrect,
                "pct_correct": p,
                "pct_correct_ci95": ci_pct(b.confirmed, n),
                "confirmed": b.confirmed,
                "disconfirmed": b.disconfirmed,
                "split": b.split,
                "unreviewed": b.unreviewed,
                "mean_confidence": mean_conf,
            }
        )
    mean_conf_all = conf_sum_buckets / CONF_SCALE / in_buckets if in_buckets else None
    pct_buckets = pct(confirmed_buckets, in_buckets)
    calibration: Calibration = {
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
        "agreement": agreement(multi),
    }


def agreement(multi: Mapping[int, RaterCounts]) -> Agreement:
    """Split share and Fleiss' kappa per number of reviews per item; the headline is the most common."""
    items = sum(m.items for m in multi.values())
    split = sum(m.split_items for m in multi.values())
    by_raters: list[RaterGroup] = []
    for n in sorted(multi):
        m = multi[n]
        by_raters.append(
            {**fleiss_kappa_binary(m.items, n, m.confirm_votes, m.agreeing_pairs), "split_items": m.split_items}
        )
    headline: RaterGroup | None = None
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


def class_average(classes: Sequence[ClassEntry], edges: Sequence[float]) -> ClassAverage:
    """Plain mean of the classes' pct_correct, per column, over the classes with a reviewed item in it."""

    def mean(values: list[float]) -> float | None:
        return math.fsum(values) / len(values) if values else None

    overall = [p for c in classes if (p := c["pct_correct"]) is not None]
    buckets: list[AverageBucket] = []
    for k in range(len(edges) - 1):
        column = [p for c in classes if (p := c["buckets"][k]["pct_correct"]) is not None]
        buckets.append(
            {
                "low": edge(edges[k]),
                "high": edge(edges[k + 1]),
                "pct_correct": mean(column),
                "classes": len(column),
            }
        )
    return {"pct_correct": mean(overall), "classes": len(overall), "buckets": buckets}
