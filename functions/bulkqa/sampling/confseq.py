"""Anytime-valid confidence sequences for the number of correct items in one finite stratum.

A stratum holds ``population`` items, ``N^+`` of them correct (unknown). Items are drawn one at a time,
uniformly at random without replacement (WoR); after ``t`` draws ``c`` were correct. The confidence
sequence is Waudby-Smith & Ramdas's *prior-posterior-ratio* (PPR) confidence sequence for a hypergeometric
parameter:

    I. Waudby-Smith and A. Ramdas, "Confidence sequences for sampling without replacement",
    NeurIPS 33 (2020), Sec. 2 ("the ratio of a prior to the posterior at the ground truth is a
    martingale"), arXiv:2006.04347.

With a prior ``pi_0`` on ``N^+`` and the posterior ``pi_t`` after ``t`` draws, the prior-posterior ratio

    R_t(x) = pi_0(x) / pi_t(x)

is, at the true ``x = N^+``, a nonnegative martingale with ``R_0 = 1`` under WoR sampling. Ville's
inequality then gives ``P(exists t: R_t(N^+) >= 1/alpha) <= alpha``, so

    C_t = {x : R_t(x) < 1/alpha}

is a (1 - alpha) confidence sequence: it covers ``N^+`` at every ``t`` simultaneously, hence at any
stopping time, however the decision to stop (or to draw more, in rounds) was made.

With the beta-binomial prior ``pi_0 = BetaBin(N, a, b)`` (the paper's choice) everything is closed form.
By Bayes, ``R_t(x) = m_t / L_t(x)`` where

    L_t(x) = [x]_c [N - x]_{t-c} / [N]_t           (probability of the observed draw sequence given x;
                                                    [n]_k the falling factorial)
    m_t    = B(a + c, b + t - c) / B(a, b)          (its prior mixture: a beta-binomial population
                                                    sampled WoR is a beta-Bernoulli sequence)

so ``C_t = {x : L_t(x) > alpha * m_t}``. ``log L_t`` is concave in ``x`` (a sum of logs of linear terms),
so ``C_t`` is an interval of integers around the maximum-likelihood ``x``, which is always inside it
(``max_x L_t(x) >= m_t``); its ends are found by bisection. ``C_t`` depends on the draws only through
``(t, c)``. A fully reviewed stratum (``t = N``) has ``L_N(x) = 0`` unless ``x = c``: zero width.
"""

from __future__ import annotations

import math
from typing import NamedTuple

#: The prior's Beta parameters (uniform prior on the stratum's share of correct items).
PRIOR_A = 1.0
PRIOR_B = 1.0


class CountInterval(NamedTuple):
    """Bounds (inclusive) on the number of correct items of a stratum."""

    low: int
    high: int


def _log_falling(n: int, k: int) -> float:
    """log of n (n-1) ... (n-k+1); -inf when k > n."""
    if k > n:
        return -math.inf
    return math.lgamma(n + 1) - math.lgamma(n - k + 1)


def _log_betafn(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _check(population: int, reviewed: int, correct: int, alpha: float) -> None:
    if not 0 <= reviewed <= population:
        raise ValueError(f"reviewed ({reviewed}) must be within 0..population ({population})")
    if not 0 <= correct <= reviewed:
        raise ValueError(f"correct ({correct}) must be within 0..reviewed ({reviewed})")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")


def count_interval(
    population: int, reviewed: int, correct: int, alpha: float, a: float = PRIOR_A, b: float = PRIOR_B
) -> CountInterval:
    """The PPR confidence sequence ``C_t`` (level 1 - alpha) for the stratum's number of correct items.

    ``reviewed`` items drawn uniformly WoR from ``population``, ``correct`` of them correct. Valid at any
    stopping time. Fully reviewed: ``(correct, correct)``; nothing reviewed: ``(0, population)``.
    """
    _check(population, reviewed, correct, alpha)
    t, c, n = reviewed, correct, population
    if t == n:
        return CountInterval(c, c)
    if t == 0:
        return CountInterval(0, n)
    wrong = t - c
    threshold = math.log(alpha) + _log_betafn(a + c, b + wrong) - _log_betafn(a, b) + _log_falling(n, t)

    def inside(x: int) -> bool:
        return _log_falling(x, c) + _log_falling(n - x, wrong) > threshold

    lowest, highest = c, n - wrong  # the values x the sample allows
    mode = min(max((c * (n + 1)) // t, lowest), highest)
    # the integer maximiser of a concave function: walk from the closed-form guess (at most a step or two)
    value = _log_falling(mode, c) + _log_falling(n - mode, wrong)
    for step in (1, -1):
        while lowest <= mode + step <= highest:
            nxt = _log_falling(mode + step, c) + _log_falling(n - mode - step, wrong)
            if nxt <= value:
                break
            mode, value = mode + step, nxt
    if not inside(mode):  # cannot happen (max L >= m_t > alpha m_t); guard against rounding
        return CountInterval(mode, mode)
    lo, hi = lowest, mode  # smallest x in [lowest, mode] inside the set
    while lo < hi:
        mid = (lo + hi) // 2
        if inside(mid):
            hi = mid
        else:
            lo = mid + 1
    low = lo
    lo, hi = mode, highest  # largest x in [mode, highest] inside the set
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if inside(mid):
            lo = mid
        else:
            hi = mid - 1
    return CountInterval(low, lo)


def proportion_interval(population: int, reviewed: int, correct: int, alpha: float) -> tuple[float, float] | None:
    """:func:`count_interval` as shares of the stratum (0-1 scale); None for an empty stratum."""
    if population == 0:
        return None
    low, high = count_interval(population, reviewed, correct, alpha)
    return low / population, high / population
