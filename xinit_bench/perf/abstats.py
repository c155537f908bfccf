"""Confidence bounds on a per-benchmark time ratio from paired A/B samples.

The A/B gate (:mod:`.ab`) times the library of a reference commit (A) and of
the working tree (B) alternately, so each sample is a *pair* ``(t_A, t_B)``
measured back to back.  The quantity judged is the median of the paired
ratios ``t_B / t_A``: above 1 the tree is slower.

The bounds are distribution-free: for ``n`` independent paired ratios, the
``k``-th smallest lies below the true median with probability
``P(Binomial(n, 1/2) >= k)`` (the sign test's confidence interval, e.g.
Hollander & Wolfe, *Nonparametric Statistical Methods*, 3.6).  No normality is
assumed, so a few samples hit by another process's burst (a long right tail)
move the bound by at most a rank.

Family-wise: a gate over ``m`` benchmarks fails when *any* lower bound passes
the threshold, so each bound is taken at level ``1 - (1 - confidence) / m``
(Bonferroni); the chance that an unchanged tree fails anywhere is then at
most ``1 - confidence``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RatioBounds", "min_pairs", "order_statistic_rank", "ratio_bounds"]


def _binomial_half_cdf(k: int, n: int) -> float:
    """``P(Binomial(n, 1/2) <= k)``, exact."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2.0**n


def order_statistic_rank(n: int, alpha: float) -> int:
    """The largest rank ``k`` (1-based) with ``P(x_(k) > median) <= alpha``, or 0 if none exists.

    ``x_(k) > median`` happens when at most ``k - 1`` of the ``n`` samples lie
    below the median: probability ``P(Binomial(n, 1/2) <= k - 1)``.  By symmetry
    ``x_(n + 1 - k)`` is the matching upper bound.
    """
    k = 0
    while k < n and _binomial_half_cdf(k, n) <= alpha:
        k += 1
    return k


def min_pairs(alpha: float) -> int:
    """The fewest pairs for which a one-sided bound at level ``1 - alpha`` exists (``0.5**n <= alpha``)."""
    return max(1, math.ceil(math.log(alpha) / math.log(0.5) - 1e-12))


@dataclass(frozen=True)
class RatioBounds:
    """The median paired ratio ``t_B / t_A`` and its one-sided confidence bounds (each at ``level``)."""

    n: int
    median: float
    lower: float
    upper: float
    level: float


def ratio_bounds(ratios: Sequence[float], alpha: float) -> RatioBounds:
    """Median of ``ratios`` and the one-sided bounds at level ``1 - alpha`` each (see the module docstring).

    Raises
    ------
    ValueError
        If a ratio is not positive and finite, or if there are too few ratios
        for a bound at that level (:func:`min_pairs`).
    """
    values = sorted(float(r) for r in ratios)
    if any(not (math.isfinite(v) and v > 0.0) for v in values):
        raise ValueError("every paired ratio must be positive and finite")
    n = len(values)
    k = order_statistic_rank(n, alpha)
    if k == 0:
        raise ValueError(f"{n} pairs are too few for a bound at level {1 - alpha:.6g}: at least {min_pairs(alpha)}")
    return RatioBounds(n, statistics.median(values), values[k - 1], values[n - k], 1.0 - alpha)
