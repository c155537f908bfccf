"""``xinit_bench/half.py``: float16 and bfloat16 outputs: the contract, the statistics, the refusals.

The contract (docs/design.md, "Half precision"): a half fill equals
``clip(f32_fill.astype(h), lo_h, hi_h)``, with ``lo_h``/``hi_h`` the half
values nearest to the support's ends from inside it.  Here ``astype`` is
NumPy's own float32 -> float16 conversion and ml_dtypes' float32 -> bfloat16
conversion (both round to nearest-even), and the ends are found with
``np.nextafter`` in the half type: both independent of the kernels.

The rounding kernel itself is checked in ``tests/kernels/test_half.py``; the
thread-count invariance in ``tests/contract/test_threads.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from scipy import special

import xinit_bench as xb

BF16 = np.dtype(ml_dtypes.bfloat16)


F16 = np.dtype(np.float16)


HALVES = (F16, BF16)


def _nearest_inside(dt: np.dtype[Any], low: float, high: float, *, high_excluded: bool) -> tuple[float, float]:
    """The half values nearest to [low, high] (or [low, high)) from inside, by ``np.nextafter`` in ``dt``."""
    lo = np.array(low, np.float32).astype(dt)
    if float(lo) < low:
        lo = np.nextafter(lo, np.array(np.inf, dt))
    hi = np.array(high, np.float32).astype(dt)
    if float(hi) > high or (high_excluded and float(hi) >= high):
        hi = np.nextafter(hi, np.array(-np.inf, dt))
    return float(lo), float(hi)


#: name -> (sampler, support (low, high, high excluded)) of the contract cases.
CASES: dict[str, tuple[Callable[..., np.ndarray], tuple[float, float, bool]]] = {
    "uniform01": (lambda **kw: xb.uniform((1000, 1000), **kw), (0.0, 1.0, True)),
    "uniform": (lambda **kw: xb.uniform(300_001, -3.0, 5.5, **kw), (-3.0, 5.5, True)),
    "xavier_uniform": (lambda **kw: xb.xavier_uniform((768, 768), **kw), (-0.0625, 0.0625, True)),
    "normal": (lambda **kw: xb.normal(300_001, 0.1, 0.02, **kw), (-np.inf, np.inf, False)),
    "truncated_central": (lambda **kw: xb.truncated_normal(300_001, **kw), (-2.0, 2.0, False)),
    "truncated_odd_bounds": (
        lambda **kw: xb.truncated_normal(300_001, 0.0, 1.0, -1.3, 0.7, **kw),
        (-1.3, 0.7, False),
    ),
    "truncated_wide": (
        lambda **kw: xb.truncated_normal(300_001, 0.0, 0.02, -2.0, 2.0, absolute=True, **kw),
        (-2.0, 2.0, False),
    ),
    "truncated_tail": (lambda **kw: xb.truncated_normal(300_001, 0.0, 1.0, 3.0, 9.0, **kw), (3.0, 9.0, False)),
}


@pytest.mark.reference
@pytest.mark.parametrize("dt", HALVES, ids=lambda d: d.name)
@pytest.mark.parametrize("case", list(CASES))
def test_half_fill_is_the_clamped_rounding_of_the_float32_fill(case: str, dt: np.dtype[Any]) -> None:
    sampler, (low, high, excluded) = CASES[case]
    f32 = sampler(seed=11)
    if case == "xavier_uniform":  # the bound is sqrt(6 / 1536), in float32
        high = float(np.float32(math.sqrt(6.0 / 1536)))
        low = -high
    half = sampler(seed=11, dtype=dt)
    assert half.dtype == dt and half.shape == f32.shape
    lo, hi = _nearest_inside(dt, low, high, high_excluded=excluded)
    if excluded and case != "uniform01" and case != "uniform":  # the symmetric uniform excludes both ends
        lo = -hi
    with np.errstate(over="ignore"):
        expected = np.clip(f32.astype(dt).astype(np.float32), lo, hi).astype(dt)
    assert np.array_equal(half.view(np.uint16), expected.view(np.uint16))
    # Never outside the support, excluded ends included.
    values = half.astype(np.float64)
    assert values.min() >= low and (values.max() < high if excluded else values.max() <= high)


@pytest.mark.statistical
def test_uniform_bfloat16_never_reaches_one_and_counts_its_values() -> None:
    """1M bf16 ``uniform[0, 1)`` values: never 1.0, and as many distinct values as the exact law predicts.

    The law: the float32 grid ``k 2**-24`` (``k < 2**24``, all equally likely)
    rounded to bfloat16 and clamped below 1.  Enumerating all 2**24 grid
    points gives each bf16 value's probability ``p_h`` exactly.  The number
    of distinct values among ``n`` draws has mean ``sum_h 1 - (1 - p_h)**n``
    and, its indicators being negatively associated, a variance below that
    mean; so the observed count is within ``6 sqrt(mean)`` of it except with
    probability below 3e-8 (Chebyshev would give 1/36; the count is a sum of
    weakly dependent indicators, close to normal).
    """
    n = 1 << 20
    x = xb.uniform(n, seed=2026, dtype=BF16)
    assert float(x.max()) < 1.0
    grid = np.arange(1 << 24, dtype=np.float32) * np.float32(2.0**-24)
    law = np.minimum(grid.astype(BF16).astype(np.float32), np.float32(1 - 2.0**-8))
    support, counts = np.unique(law, return_counts=True)
    p = counts / float(1 << 24)
    mean = float(np.sum(-np.expm1(n * np.log1p(-p))))
    distinct = np.unique(x).size
    assert abs(distinct - mean) < 6 * math.sqrt(mean), (distinct, mean)
    # The KS distance to that exact discrete law (DKW: P(D > t) <= 2 exp(-2 n t^2) = 1e-6).
    cdf = np.cumsum(p)
    empirical = np.searchsorted(np.sort(x.astype(np.float32)), support, side="right") / n
    assert np.max(np.abs(empirical - cdf)) < math.sqrt(math.log(2 / 1e-6) / (2 * n))


@pytest.mark.statistical
@pytest.mark.parametrize("dt", HALVES, ids=lambda d: d.name)
def test_normal_half_matches_the_law_of_the_rounded_normal(dt: np.dtype[Any]) -> None:
    """``N(0, 0.02)`` in a half type against the exact law of the rounded variable.

    ``P(H = h) = Phi(m_+ / s) - Phi(m_- / s)``, with ``m_-+`` the midpoints
    between ``h`` and its neighbours (ties have probability 0).  KS distance
    by DKW at 1e-6 as above.  Variance: the law's variance ``v`` exactly, and
    the sample variance's standard error ``v sqrt((kappa - 1) / n)`` with
    ``kappa = 3`` (the rounded normal's kurtosis is 3 to within 1e-3 at these
    grids); six standard errors.
    """
    n, std = 1 << 20, 0.02
    x = xb.normal(n, 0.0, std, seed=99, dtype=dt).astype(np.float64)
    with np.errstate(invalid="ignore"):  # the NaN codes
        codes = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(dt).astype(np.float64)
    values = np.unique(codes[np.isfinite(codes)])
    mids = np.concatenate([[-np.inf], (values[1:] + values[:-1]) / 2, [np.inf]])
    p = np.diff(special.ndtr(mids / std))
    keep = p > 0
    values, p = values[keep], p[keep]
    cdf = np.cumsum(p)
    empirical = np.searchsorted(np.sort(x), values, side="right") / n
    assert np.max(np.abs(empirical - cdf)) < math.sqrt(math.log(2 / 1e-6) / (2 * n))
    v = float(np.sum(p * values**2))
    assert abs(float(np.mean(x**2)) - v) < 6 * v * math.sqrt(2 / n)


@pytest.mark.refusal
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: xb.normal(8, 0.0, 2e4, seed=0, dtype="float16"), "must fit float16"),
        (lambda: xb.normal(8, 0.0, 1e-6, seed=0, dtype="float16"), "smallest normal"),
        (lambda: xb.uniform(8, 0.0, 1e5, seed=0, dtype="float16"), "must fit float16"),
        (lambda: xb.uniform(8, 1.0001, 1.0002, seed=0, dtype="bfloat16"), "must contain a bfloat16 value"),
        (lambda: xb.truncated_normal(8, 0.0, 1.0, 1.001, 1.002, seed=0, dtype="bfloat16"), "bfloat16 value"),
    ],
)
def test_parameters_a_half_type_cannot_hold_are_refused(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(xb.ParameterRangeError, match=match):
        call()


@pytest.mark.refusal
def test_refused_half_call_writes_nothing_and_consumes_no_stream() -> None:
    g = xb.Generator(3)
    out = np.zeros(16, np.float16)
    with pytest.raises(ValueError):
        xb.normal(16, 0.0, 2e4, generator=g, out=out)
    assert not out.any()
    assert np.array_equal(xb.normal(16, generator=g, dtype="float16"), xb.normal(16, seed=3, dtype="float16"))


@pytest.mark.invariance
def test_out_of_a_half_type_is_filled_in_place() -> None:
    out = np.zeros((64, 32), BF16)
    got = xb.kaiming_uniform((64, 32), seed=1, out=out)
    assert got is out
    assert np.array_equal(out, xb.kaiming_uniform((64, 32), seed=1, dtype="bfloat16"))
    with pytest.raises(TypeError, match="must be a float32, float64, float16 or bfloat16 array"):
        xb.normal(4, seed=0, out=np.zeros(4, np.int16))
    with pytest.raises(TypeError, match="must be a float16 array"):
        xb.normal(4, seed=0, dtype="float16", out=np.zeros(4, BF16))


@pytest.mark.invariance
@pytest.mark.parametrize("spelling", ["bfloat16", ml_dtypes.bfloat16, BF16, "float16", np.float16, "e"])
def test_every_spelling_of_the_half_dtypes(spelling: Any) -> None:
    assert xb.normal(3, seed=0, dtype=spelling).dtype in HALVES
