"""The statistics of the report: Wilson score intervals, the reviews a bound needs, Fleiss' kappa."""

from __future__ import annotations

import math

from ..report_types import FleissKappa

#: Two-sided 95 % normal quantile (Wilson score interval of every ``pct_correct``).
Z_TWO_SIDED_95 = 1.959963984540054
#: One-sided 95 % normal quantile (lower bound behind ``threshold.precision_bound``).
Z_ONE_SIDED_95 = 1.6448536269514722


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


def fleiss_kappa_binary(items: int, raters: int, confirm_votes: int, agreeing_pairs: int) -> FleissKappa:
    """Fleiss' kappa for ``items`` items, each rated by ``raters`` raters, two categories.

    ``agreeing_pairs`` is the sum over items of c(c-1) + r(r-1) (ordered pairs of raters that agree).
    """
    out: FleissKappa = {
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
