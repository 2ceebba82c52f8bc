"""Per-class thresholds: the blog post's bucket walk, the precision bound, and the evidence notes."""

from __future__ import annotations

from collections.abc import Sequence

from ..report_types import BoundEvidence, BoundOption, Evidence, Threshold, WalkEvidence
from .cells import cell
from .model import AnalysisOptions, bucket_range, edge
from .stats import reviews_needed, wilson_lower_bound

#: How many ways to settle a missing precision bound the evidence lists (the cheapest first).
_MAX_OPTIONS = 3


def lowest_reviewed(cells: Sequence[tuple[int, int]]) -> int | None:
    """Index of the lowest bucket holding a reviewed item, from (confirmed, x) pairs with x > 0 when reviewed.

    Empty buckets are not evidence: no threshold, and no edge the evidence notes propose, goes below this
    bucket's low edge.
    """
    return next((k for k, (a, b) in enumerate(cells) if a or b), None)


def bucket_walk(cells: Sequence[tuple[int, int]], edges: Sequence[float], max_fp_ratio: float) -> float | None:
    """The blog post's threshold rule over buckets given as (confirmed, incorrect) pairs, low to high.

    When no bucket exceeds the ratio the threshold is the low edge of the lowest bucket holding a reviewed
    item (not the lowest edge: the empty buckets below it say nothing).
    """
    floor = lowest_reviewed(cells)
    if floor is None:
        return None
    for index in range(len(cells) - 1, floor - 1, -1):
        confirmed, incorrect = cells[index]
        if confirmed + incorrect == 0:
            continue
        if incorrect and (confirmed == 0 or incorrect > max_fp_ratio * confirmed):
            return float(edges[index + 1])
    return float(edges[floor])


def precision_bound(
    cells: Sequence[tuple[int, int]],
    edges: Sequence[float],
    max_fp_ratio: float,
    above: tuple[int, int] = (0, 0),
) -> float | None:
    """Lowest bucket low edge t whose pooled items >= t have a one-sided 95 % lower bound >= target.

    ``cells`` are (confirmed, reviewed) per bucket, low to high; ``above`` the items past the top edge.
    Only edges at or above the lowest bucket holding a reviewed item qualify (None if no bucket holds one).
    """
    target = 1.0 / (1.0 + max_fp_ratio)
    confirmed, reviewed = above
    best: float | None = None
    floor = lowest_reviewed(cells)
    if floor is None:
        return None
    for index in range(len(cells) - 1, floor - 1, -1):
        confirmed += cells[index][0]
        reviewed += cells[index][1]
        bound = wilson_lower_bound(confirmed, reviewed)
        if bound is not None and bound >= target:
            best = float(edges[index])
    return best


def threshold(cells: Sequence[int], edges: Sequence[float], options: AnalysisOptions, target: float) -> Threshold:
    """A class's thresholds from its flat counters (see :mod:`bulkqa.analysis.cells`)."""
    n_buckets = len(edges) - 1
    per_bucket = [cell(cells, k + 1) for k in range(n_buckets)]
    walk_cells = [(b.confirmed, b.incorrect) for b in per_bucket]
    bound_cells = [(b.confirmed, b.reviewed) for b in per_bucket]
    past = cell(cells, n_buckets + 1)
    above = (past.confirmed, past.reviewed)
    walk = bucket_walk(walk_cells, edges, options.max_fp_ratio)
    bound = precision_bound(bound_cells, edges, options.max_fp_ratio, above)
    return {
        "bucket_walk": walk,
        "precision_bound": bound,
        "target_precision": target,
        "evidence": _evidence(walk_cells, bound_cells, above, edges, options, target, walk, bound),
    }


def _fmt(value: float) -> str:
    return str(edge(value))


def _evidence(
    walk_cells: Sequence[tuple[int, int]],
    bound_cells: Sequence[tuple[int, int]],
    above: tuple[int, int],
    edges: Sequence[float],
    options: AnalysisOptions,
    target: float,
    walk: float | None,
    bound: float | None,
) -> Evidence | None:
    """Why a threshold is not settled, and how many more reviews would settle it (None if settled)."""
    sentences: list[str] = []
    walk_note: WalkEvidence | None = None
    bound_note: BoundEvidence | None = None
    n_buckets = len(edges) - 1
    floor = lowest_reviewed(bound_cells)
    low = n_buckets if floor is None else floor
    if walk is not None:
        stop = next((k for k in range(n_buckets) if float(edges[k + 1]) == walk and sum(walk_cells[k]) > 0), None)
        if stop is not None and walk != float(edges[0]):
            decided_by = sum(walk_cells[stop])
            where = [bucket_range(edges, stop)]
            text = f"the bucket walk stopped at {_fmt(edges[stop])}-{_fmt(edges[stop + 1])}"
        else:
            decided_by = sum(c + i for c, i in walk_cells)
            where = [bucket_range(edges, k) for k in range(low, n_buckets)]
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
        candidates: list[BoundOption] = []
        confirmed, reviewed = above
        any_reviewed = False
        for k in range(n_buckets - 1, low - 1, -1):
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
                    "buckets": [bucket_range(edges, j) for j in range(k, n_buckets)],
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
