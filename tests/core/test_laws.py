"""``xinit_bench/laws.py``: the memoised dtype-level laws: the kernel each one picks, the memo, and the routing
of wide truncations.

A truncation beyond the normal kernel's reach goes to the normal kernel (the
truncation is then the identity); the bound it relies on is checked on the
bit-exact reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import xinit_bench as xb
from xinit_bench import reference
from xinit_bench.kernels import fill as K

DTYPES = (np.float32, np.float64)


@pytest.mark.reference
def test_truncated_std_constant_matches_scipy() -> None:
    assert pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-15) == xb.TRUNCATED_STD_2


@pytest.mark.known_answer
@pytest.mark.parametrize(
    "dtype,a,b,expected",
    [
        (np.float32, -2.0, 2.0, "fill_truncated_normal_central"),
        (np.float32, -3.0, 3.0, "fill_truncated_normal_tail"),
        (np.float32, -5.7, 5.7, "fill_truncated_normal_tail"),  # inside the normal kernel's reach, 5.77
        (np.float32, -100.0, 100.0, "fill_normal"),  # torch's std=0.02, absolute +-2: beyond every normal sample
        (np.float32, -6.0, math.inf, "fill_normal"),
        (np.float32, -math.inf, 5.7, "fill_truncated_normal_tail"),
        (np.float32, -12.0, -3.0, "fill_truncated_normal"),  # p down to ~1e-10: w = 22
        (np.float64, -3.0, 3.0, "fill_truncated_normal_central"),  # float64 central reaches |x| = 3.3
        (np.float64, -4.0, 4.0, "fill_truncated_normal_tail"),
        (np.float64, -8.5, 8.5, "fill_truncated_normal_tail"),  # inside the float64 normal's reach, 8.57
        (np.float64, -100.0, 100.0, "fill_normal"),
        (np.float64, -8.0, 8.0, "fill_truncated_normal_tail"),
        (np.float64, -40.0, -1.0, "fill_truncated_normal"),
    ],
)
def test_truncated_plan_picks_the_fastest_exact_kernel(dtype: type, a: float, b: float, expected: str) -> None:
    from xinit_bench.plans import truncated_plan

    kind, _ = truncated_plan(0.0, 1.0, a, b)(np.dtype(dtype))
    assert K.FILLS[kind] is getattr(K, expected)


@pytest.mark.invariance
def test_memoised_plans_keep_the_sign_of_zero_and_the_refusals() -> None:
    # -0.0 == 0.0 and hash(-0.0) == hash(0.0): a cache keyed on the values alone
    # would hand the second caller the first one's params.
    from xinit_bench.plans import normal_plan, uniform_plan

    f32 = np.dtype(np.float32)
    neg = uniform_plan(-0.0, 1.0)(f32)[1][0]
    pos = uniform_plan(0.0, 1.0)(f32)[1][0]
    assert np.signbit(neg) and not np.signbit(pos)
    assert normal_plan(0.0, 0.02) is normal_plan(0.0, 0.02)
    # A refused dtype-specific combination raises every time; nothing is cached for it.
    tiny = uniform_plan(1.0, 1.0 + 1e-12)
    for _ in range(2):
        with pytest.raises(ValueError, match="round to one value"):
            tiny(f32)


@pytest.mark.reference
def test_the_normal_kernel_never_reaches_the_routing_bound() -> None:
    # The planner sends truncations beyond samplers._Z_MAX to the normal kernel
    # (the truncation is then the identity).  Box-Muller's radius is largest at
    # the smallest u of the grid, 2**-b, and |cos|, |sin| <= 1 over every turn
    # of the grid: both checked here on the bit-exact reference.
    from xinit_bench.laws import Z_MAX as _Z_MAX

    r32 = np.sqrt(-np.float32(2) * reference.log_f32(np.array([2.0**-24], np.float32)))
    r64 = np.sqrt(-2.0 * reference.log_f64(np.array([2.0**-53])))
    c, s = reference.sincos_turn_f32(np.arange(1 << 24, dtype=np.int64))
    assert max(np.abs(c).max(), np.abs(s).max()) <= 1
    k = np.random.default_rng(0).integers(0, 1 << 53, 1 << 20, dtype=np.int64)
    c64, s64 = reference.sincos_turn_f64(np.concatenate([k, np.arange(1 << 12), (1 << 51) * np.arange(4) + 0]))
    assert max(np.abs(c64).max(), np.abs(s64).max()) <= 1
    assert 5.76 < r32[0] < _Z_MAX[np.dtype(np.float32)] and 8.57 < r64[0] < _Z_MAX[np.dtype(np.float64)]


@pytest.mark.invariance
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mean,std,lo,hi", [(0.0, 0.02, -2.0, 2.0), (3.0, 0.5, -math.inf, 30.0), (1e3, 1.0, 900, 1100)])
def test_a_truncation_beyond_the_normals_reach_is_the_normal(
    dtype: type, mean: float, std: float, lo: float, hi: float
) -> None:
    n = 100_003
    x = xb.truncated_normal(n, mean, std, lo, hi, absolute=True, seed=11, dtype=dtype)
    assert np.array_equal(x, xb.normal(n, mean, std, seed=11, dtype=dtype))
    assert x.min() >= dtype(lo) and x.max() <= dtype(hi)


@pytest.mark.known_answer
def test_a_truncation_too_close_for_rounding_room_is_not_routed() -> None:
    # mean 1e6 with std 1e-2 in float32: an ulp of the mean (0.0625) is about 6 std,
    # so mean + std z may round past a bound at 100 std; the planner keeps the clipping kernel.
    from xinit_bench.plans import truncated_plan

    kind, _ = truncated_plan(1e6, 1e-2, -100.0, 100.0)(np.dtype(np.float32))
    assert kind != "normal"
    assert truncated_plan(1e6, 1e-2, -100.0, 100.0)(np.dtype(np.float64))[0] == "normal"
