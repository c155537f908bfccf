"""Statistical correctness of each sampler, tracked like a speed.

With a fixed seed these values only move when the stream or a transform
changes, so a statistical regression shows on the asv graphs as a step, just
as a slowdown does.  For ``n`` samples ``x`` of a distribution with variance
``sigma^2`` and kurtosis ``kappa`` (not excess):

``track_ks_sqrt_n``
    ``sqrt(n) * D``, with ``D`` the Kolmogorov-Smirnov distance to the exact
    CDF (``scipy.stats``).  For a correct sampler it follows the Kolmogorov
    distribution: median 0.83, above 1.63 with probability 1 %
    (Kolmogorov 1933; quantiles of ``scipy.stats.kstwobign``).
``track_abs_variance_error_se``
    ``|s^2 - sigma^2| / SE`` with ``SE = sigma^2 sqrt((kappa - 1) / n)``: to
    first order in ``1/n``, ``Var[s^2] = (mu_4 - sigma^4) / n`` and
    ``mu_4 = kappa sigma^4`` (the same tolerance the statistical tests use).  Beyond
    about 4 it is a bias, not chance.
``track_abs_mean_error_se``
    ``|mean - mu| / (sigma / sqrt(n))``.

All three are magnitudes, so lower is better as ``asv compare`` assumes (a
signed error moving from +0.2 to -3 would read as an improvement there).  The
sign is kept by :func:`variance_error_se` and :func:`mean_error_se`, which
return it, and by the statistical tests, which check its direction.

The samplers and their exact distributions are in :data:`STAT_SAMPLERS`; the
expected parameters are computed here from the formulas, independently of
xinit-bench.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .common import DTYPES, STAT_SEED, STAT_SIZE

#: Rows of the matrices of the Xavier samplers: torch layout (out, in) with
#: fan_out = n // 1024 and fan_in = 1024.
_COLUMNS = 1024


def _xb() -> Any:
    try:
        import xinit_bench
    except ImportError as exc:
        raise NotImplementedError(f"xinit_bench is not importable: {exc}") from None
    return xinit_bench


@dataclass(frozen=True)
class StatSampler:
    """How to draw ``n`` samples, and the exact distribution they must follow."""

    draw: Callable[[int, str, int], np.ndarray]
    distribution: Callable[[int], Any]


def _xavier_var(n: int) -> float:
    # Glorot & Bengio (2010), eq. 12: Var[W] = 2 / (fan_in + fan_out).
    return 2.0 / (_COLUMNS + n // _COLUMNS)


def _draw_xavier_uniform(n: int, dtype: str, seed: int) -> np.ndarray:
    return np.asarray(_xb().xavier_uniform((n // _COLUMNS, _COLUMNS), seed=seed, dtype=np.dtype(dtype).type))


def _dist_xavier_uniform(n: int) -> Any:
    from scipy import stats

    bound = math.sqrt(3.0 * _xavier_var(n))
    return stats.uniform(loc=-bound, scale=2.0 * bound)


def _draw_xavier_truncated(n: int, dtype: str, seed: int) -> np.ndarray:
    return np.asarray(_xb().xavier_truncated_normal((n // _COLUMNS, _COLUMNS), seed=seed, dtype=np.dtype(dtype).type))


def _dist_xavier_truncated(n: int) -> Any:
    from scipy import stats

    # The parent std is chosen so that the truncated variance is exactly the
    # Xavier variance; the unit truncated std comes from scipy, not from the
    # 0.8796... constant that the library uses.
    unit_std = float(stats.truncnorm(-2.0, 2.0).std())
    return stats.truncnorm(-2.0, 2.0, scale=math.sqrt(_xavier_var(n)) / unit_std)


def _draw_uniform(n: int, dtype: str, seed: int) -> np.ndarray:
    return np.asarray(_xb().uniform((n,), -0.05, 0.1, seed=seed, dtype=np.dtype(dtype).type))


def _dist_uniform(n: int) -> Any:
    from scipy import stats

    return stats.uniform(loc=-0.05, scale=0.15)


def _draw_normal(n: int, dtype: str, seed: int) -> np.ndarray:
    return np.asarray(_xb().normal((n,), 0.0, 0.02, seed=seed, dtype=np.dtype(dtype).type))


def _dist_normal(n: int) -> Any:
    from scipy import stats

    return stats.norm(loc=0.0, scale=0.02)


def _draw_truncated(n: int, dtype: str, seed: int) -> np.ndarray:
    return np.asarray(_xb().truncated_normal((n,), 0.0, 0.02, -2.0, 2.0, seed=seed, dtype=np.dtype(dtype).type))


def _dist_truncated(n: int) -> Any:
    from scipy import stats

    return stats.truncnorm(-2.0, 2.0, scale=0.02)


#: Sampler name -> how to draw it and what it must follow.  Tests replace an
#: entry with a deliberately biased sampler to prove that the tracking bites.
STAT_SAMPLERS: dict[str, StatSampler] = {
    "symmetric_uniform": StatSampler(_draw_xavier_uniform, _dist_xavier_uniform),
    "uniform": StatSampler(_draw_uniform, _dist_uniform),
    "normal": StatSampler(_draw_normal, _dist_normal),
    "truncated_normal": StatSampler(_draw_truncated, _dist_truncated),
    "xavier_truncated_normal": StatSampler(_draw_xavier_truncated, _dist_xavier_truncated),
}


def ks_sqrt_n(x: np.ndarray, distribution: Any) -> float:
    """``sqrt(n)`` times the Kolmogorov-Smirnov distance of ``x`` to ``distribution``."""
    from scipy import stats

    d = stats.kstest(np.asarray(x, dtype=np.float64), distribution.cdf).statistic
    return float(d) * math.sqrt(x.size)


def variance_error_se(x: np.ndarray, distribution: Any) -> float:
    """Sample-variance error in standard errors, ``SE = sigma^2 sqrt((kappa - 1) / n)``."""
    var, excess = (float(v) for v in distribution.stats(moments="vk"))
    kurtosis = excess + 3.0
    s2 = float(np.var(np.asarray(x, dtype=np.float64), ddof=1))
    return (s2 - var) / (var * math.sqrt((kurtosis - 1.0) / x.size))


def mean_error_se(x: np.ndarray, distribution: Any) -> float:
    """Sample-mean error in standard errors, ``SE = sigma / sqrt(n)``."""
    mean, var = (float(v) for v in distribution.stats(moments="mv"))
    m = float(np.mean(np.asarray(x, dtype=np.float64)))
    return (m - mean) / math.sqrt(var / x.size)


class Statistics:
    """KS distance and moment errors of each sampler, fixed seed, ``STAT_SIZE`` samples."""

    params = (list(STAT_SAMPLERS), list(DTYPES))
    param_names = ["sampler", "dtype"]
    timeout = 300

    def setup(self, sampler: str, dtype: str) -> None:
        spec = STAT_SAMPLERS[sampler]
        self.x = np.ravel(spec.draw(STAT_SIZE, dtype, STAT_SEED))
        self.distribution = spec.distribution(STAT_SIZE)

    def track_ks_sqrt_n(self, sampler: str, dtype: str) -> float:
        return ks_sqrt_n(self.x, self.distribution)

    track_ks_sqrt_n.unit = "sqrt(n) * KS distance"  # type: ignore[attr-defined]

    def track_abs_variance_error_se(self, sampler: str, dtype: str) -> float:
        return abs(variance_error_se(self.x, self.distribution))

    track_abs_variance_error_se.unit = "standard errors"  # type: ignore[attr-defined]

    def track_abs_mean_error_se(self, sampler: str, dtype: str) -> float:
        return abs(mean_error_se(self.x, self.distribution))

    track_abs_mean_error_se.unit = "standard errors"  # type: ignore[attr-defined]
