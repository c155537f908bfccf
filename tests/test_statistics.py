"""Tier 3: statistics against scipy.stats, with fixed seeds (so no run can flake).

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
import pytest
from scipy import stats

import xinit_bench as xb
from xinit_bench import reference

N = 2**20
ALPHA = 1e-4
Z = 5.0
DTYPES = (np.float32, np.float64)


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


@pytest.mark.parametrize("dtype", DTYPES)
def test_uniform(dtype: type) -> None:
    x = xb.uniform(N, -0.5, 1.5, seed=101, dtype=dtype)
    dist = stats.uniform(-0.5, 2.0)
    check_ks(x, dist)
    check_moments(x, dist)
    assert x.min() >= -0.5 and x.max() < 1.5


@pytest.mark.parametrize("dtype", DTYPES)
def test_symmetric_uniform_bounds_and_symmetry(dtype: type) -> None:
    x = xb.xavier_uniform((1024, 1024), seed=102, dtype=dtype)
    bound = dtype(math.sqrt(6.0 / 2048))
    assert np.abs(x).max() < bound  # never +-b
    dist = stats.uniform(-float(bound), 2 * float(bound))
    check_ks(x, dist)
    check_moments(x, dist)
    # The grid is symmetric: negating the words' grid maps the support onto itself,
    # so the exact (population) mean over all 2**24 grid points is 0.
    k = np.arange(2**24, dtype=np.int64)
    grid = (2 * k + 1 - 2**24).astype(np.float64) * 2.0**-24
    assert grid.sum() == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_normal(dtype: type) -> None:
    x = xb.normal(N, 0.25, 2.0, seed=103, dtype=dtype)
    dist = stats.norm(0.25, 2.0)
    check_ks(x, dist)
    check_moments(x, dist)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a,b", [(-2.0, 2.0), (-1.0, 3.0), (0.5, 6.0), (-12.0, -3.0)])
def test_truncated_normal(dtype: type, a: float, b: float) -> None:
    mean, std = 0.3, 1.7
    x = xb.truncated_normal(N, mean, std, a, b, seed=104, dtype=dtype)
    dist = stats.truncnorm(a, b, loc=mean, scale=std)
    lo, hi = dtype(mean + std * a), dtype(mean + std * b)
    assert x.min() >= lo and x.max() <= hi
    check_ks(x, dist)
    check_moments(x, dist)


@pytest.mark.parametrize("dtype", DTYPES)
def test_truncated_normal_absolute_bounds_like_torch(dtype: type) -> None:
    # torch.nn.init.trunc_normal_(std=0.02, a=-2, b=2): bounds at +-100 std, effectively a normal
    x = xb.truncated_normal(N, 0.0, 0.02, -2.0, 2.0, absolute=True, seed=105, dtype=dtype)
    dist = stats.truncnorm(-100, 100, loc=0.0, scale=0.02)
    check_ks(x, dist)
    check_moments(x, dist)


def test_truncated_std_constant_matches_scipy() -> None:
    assert xb.TRUNCATED_STD_2 == pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-15)


# --- the schemes: expected std computed here from the shape, independently ---
SHAPE = (1024, 256, 2, 2)  # torch layout: fan_in = 256*4 = 1024, fan_out = 1024*4 = 4096


def _fans() -> tuple[int, int]:
    receptive = SHAPE[2] * SHAPE[3]
    return SHAPE[1] * receptive, SHAPE[0] * receptive


def _expected_var(name: str) -> float:
    fan_in, fan_out = _fans()
    return {
        "xavier": 2.0 / (fan_in + fan_out),  # Glorot & Bengio 2010, eq. (12)
        "he": 2.0 / fan_in,  # He et al. 2015, eq. (10), relu gain sqrt(2)
        "lecun": 1.0 / fan_in,  # LeCun et al. 1998
    }[name.split("_")[0]]


@pytest.mark.parametrize(
    "name", [f"{s}_{d}" for s in ("xavier", "he", "lecun") for d in ("uniform", "normal", "truncated_normal")]
)
def test_scheme_distribution(name: str) -> None:
    var = _expected_var(name)
    sd = math.sqrt(var)
    if name.endswith("_uniform"):
        dist = stats.uniform(-math.sqrt(3) * sd, 2 * math.sqrt(3) * sd)
    elif name.endswith("_truncated_normal"):
        parent = sd / stats.truncnorm(-2, 2).std()
        dist = stats.truncnorm(-2, 2, scale=parent)
    else:
        dist = stats.norm(0, sd)
    assert dist.var() == pytest.approx(var, rel=1e-12)
    w = getattr(xb, name)(SHAPE, seed=106)
    assert w.shape == SHAPE and w.dtype == np.float32
    check_ks(w, dist)
    check_moments(w, dist)


@pytest.mark.parametrize("name", ["xavier_uniform", "he_normal", "lecun_truncated_normal", "xavier_normal"])
def test_two_sample_against_numpy_reference(name: str) -> None:
    ours = getattr(xb, name)(SHAPE, seed=107).ravel()
    theirs = reference.scheme(name, SHAPE, rng=np.random.default_rng(107)).ravel()
    res = stats.ks_2samp(ours, theirs)
    assert res.pvalue > ALPHA, res


def test_streams_of_a_generator_are_independent() -> None:
    # Successive calls must not share words: correlation of two calls ~ N(0, 1/n).
    g = xb.Generator(108)
    a, b = xb.normal(N, generator=g), xb.normal(N, generator=g)
    r = float(np.corrcoef(a, b)[0, 1])
    assert abs(r) <= Z / math.sqrt(N)


def test_variance_one_percent_off_is_detected() -> None:
    # The variance check must be able to fail: 1 % is 7 SE at this n (sqrt(2/N) = 0.14 %).
    x = xb.normal(N, 0.0, math.sqrt(1.01), seed=109)
    with pytest.raises(AssertionError):
        check_moments(x, stats.norm(0, 1))
