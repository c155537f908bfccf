"""The statistical checks against scipy.stats, with fixed seeds (so no run can flake).

Tolerances are derived from the sample size, not tuned:

* **KS.**  Under the null hypothesis the KS p-value is uniform; we require
  ``p > ALPHA = 1e-4``.  With fixed seeds the outcome is deterministic: a
  correct sampler fails only if one of these fixed draws is a 1-in-10^4 event,
  while a biased sampler fails by a margin that grows like ``sqrt(n)``.  The
  grids are exact (24/53-bit), so discretisation moves the empirical CDF by at
  most ``2**-24``, far below the KS critical value ``~1.95 / sqrt(n) = 1.9e-3``.
* **Mean.**  ``|xbar - mu| <= Z sigma / sqrt(n)`` with ``Z = 5``.
* **Variance.**  ``Var(s^2) ~= sigma^4 (kappa - 1) / n`` for kurtosis
  ``kappa`` (non-excess), so ``|s^2 - sigma^2| <= Z sigma^2 sqrt((kappa - 1) / n)``.
  ``kappa`` is taken from scipy.stats for each law.
* ``Z = 5``: two-sided normal tail 5.7e-7 per check.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

N = 2**20


ALPHA = 1e-4


Z = 5.0


def check_moments(x: np.ndarray, dist: stats.rv_continuous) -> None:
    x = x.astype(np.float64).ravel()
    n = x.size
    mu, var = float(dist.mean()), float(dist.var())
    kappa = float(dist.stats(moments="k")) + 3.0
    assert abs(x.mean() - mu) <= Z * math.sqrt(var / n), (x.mean(), mu)
    assert abs(x.var() - var) <= Z * var * math.sqrt((kappa - 1) / n), (x.var(), var)


def check_ks(x: np.ndarray, dist: stats.rv_continuous) -> None:
    res = stats.kstest(x.astype(np.float64).ravel(), dist.cdf)
    assert res.pvalue > ALPHA, res
