"""Stratified, adaptive review sampling with anytime-valid guarantees (issue 14's statistical core).

- :mod:`.confseq` — Waudby-Smith & Ramdas's prior-posterior-ratio confidence sequence for the number of
  correct items in one finite stratum sampled without replacement;
- :mod:`.strata` — a class's population estimates, simultaneous precision bounds at every bucket edge and
  ``guaranteed_threshold``;
- :mod:`.policy` — which items each round reviews (seeded, without repeats) and when the run stops.
"""

from .confseq import CountInterval, count_interval, proportion_interval
from .policy import Population, RoundPlan, SamplingOptions, class_counts, draw_order, plan_round, settled
from .strata import (
    ALPHA,
    ClassStrata,
    EdgeBounds,
    EdgeState,
    Estimate,
    Interval,
    PopulationEstimate,
    StratumCounts,
    cell_estimate,
    class_estimate,
    edge_bounds,
    edge_states,
    guaranteed_threshold,
    report_estimate,
    stratum_alphas,
    target_precision,
)

__all__ = [
    "ALPHA",
    "ClassStrata",
    "CountInterval",
    "EdgeBounds",
    "EdgeState",
    "Estimate",
    "Interval",
    "Population",
    "PopulationEstimate",
    "RoundPlan",
    "SamplingOptions",
    "StratumCounts",
    "cell_estimate",
    "class_counts",
    "class_estimate",
    "count_interval",
    "draw_order",
    "edge_bounds",
    "edge_states",
    "guaranteed_threshold",
    "plan_round",
    "proportion_interval",
    "report_estimate",
    "settled",
    "stratum_alphas",
    "target_precision",
]
