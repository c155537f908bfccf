"""Tier 2: every kernel against the independent NumPy reference, bit for bit.

The reference (``xinit_bench.reference.philox_*``) re-implements the word
layout, the conversions and the polynomial transforms in NumPy, in the same
floating-point operation order; without ``fastmath`` LLVM may not reorder or
fuse, so equality is exact -- also for normal and truncated normal.  The
accuracy of the transforms themselves is checked against libm and SciPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import special

import xinit_bench as xb
from xinit_bench import reference
from xinit_bench.kernels import fill as K
from xinit_bench.kernels._jit import compile_quietly

KEY = (np.uint32(0x1234), np.uint32(0xBEEF), np.uint32(7))
DTYPES = (np.float32, np.float64)


def _params(kind: str, dt: type) -> tuple:
    f = dt
    return {
        "uniform": (f(-1.5), f(3.0), np.nextafter(f(1.5), f(-1.5))),
        "symmetric_uniform": (f(0.25), np.nextafter(f(0.25), f(0))),
        "normal": (f(0.5), f(2.0)),
        "truncated_normal_central": tuple(
            f(v) for v in (special.ndtr(-2), special.ndtr(2) - special.ndtr(-2), 0.0, 1.0, -2.0, 2.0)
        ),
        # deep tails: p down to ~1e-16, w up to ~36, all five tail branches of the float64 inverse CDF
        "truncated_normal": (0.0, float(special.ndtr(-1.0)), 0.0, 1.0, -40.0, -1.0),
        # torch's trunc_normal_(std=0.02): +-100 sigma, so the grid reaches w = 15.2 (float32) / 35.3 (float64)
        "truncated_normal_tail": (0.0, 1.0, 0.0, 0.02, -2.0, 2.0),
    }[kind]


#: Every float kind of the one vocabulary (kernels/kinds.py), by the name the reference takes too.
KERNELS = {kind: fill for kind, fill in K.FILLS.items() if kind != "bits"}


def test_every_kind_has_an_entry_point_and_the_names_match() -> None:
    assert list(K.FILLS) == list(K.SERIAL_FILLS) == list(K.KINDS)
    for kind, fill in K.FILLS.items():
        assert fill.__name__ == f"fill_{kind}"
        assert K.SERIAL_FILLS[kind].__name__ == f"serial_{kind}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(KERNELS))
@pytest.mark.parametrize("offset", [0, 1, 3, 2**33 + 2])
def test_kernel_equals_reference_bitwise(kind: str, dtype: type, offset: int) -> None:
    n = 40_003  # odd, larger than every serial threshold: exercises head, body, tail and prange
    params = _params(kind, dtype)
    out = np.full(n, np.nan, dtype)
    compile_quietly(KERNELS[kind], out, KEY, offset, params)
    KERNELS[kind](out, KEY, offset, params)
    key = (int(KEY[0]), int(KEY[1]))
    expected = reference.philox_fill(kind, n, key, int(KEY[2]), offset, params, dtype)
    assert out.dtype == expected.dtype
    assert np.array_equal(out.view(np.uint8), expected.view(np.uint8))


def test_reference_refuses_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        reference.philox_fill("truncated", 4, (1, 2), 0, 0, (), np.float32)  # the old name
    with pytest.raises(ValueError, match="kind must be one of"):
        reference.philox_fill("bits", 4, (1, 2), 0, 0, (), np.float32)


def test_raw_bits_equal_reference() -> None:
    got = xb.random_bits(10_001, seed=99, stream=5, offset=7)
    assert np.array_equal(got, reference.random_bits(10_001, reference.key_from_seed(99), 5, 7))


@pytest.mark.parametrize("dtype", DTYPES)
def test_public_samplers_use_the_documented_seed_mapping(dtype: type) -> None:
    key = reference.key_from_seed(2024)
    f = np.dtype(dtype).type
    got = xb.normal(5000, 1.0, 3.0, seed=2024, dtype=dtype)
    assert np.array_equal(got, reference.philox_fill("normal", 5000, key, 0, 0, (f(1.0), f(3.0)), dtype))
    got = xb.uniform(5000, 2.0, 4.0, seed=2024, dtype=dtype)
    p = (f(2.0), f(2.0), np.nextafter(f(4.0), f(2.0)))
    assert np.array_equal(got, reference.philox_fill("uniform", 5000, key, 0, 0, p, dtype))


# --- accuracy of the transforms themselves (tolerances in units of the dtype's eps) ---
def test_log_f32_accuracy() -> None:
    # All 2**24 inputs the normal sampler can feed to log: k * 2**-24, k = 1..2**24.
    u = np.arange(1, 2**24 + 1, dtype=np.float64) * 2.0**-24
    got = reference.log_f32(u.astype(np.float32)).astype(np.float64)
    err = np.abs(got - np.log(u)) / np.maximum(np.abs(np.log(u)), 2.0**-24)
    assert err.max() < 4 * np.finfo(np.float32).eps


def test_log_f64_accuracy() -> None:
    x = np.geomspace(2.0**-53, 1.0, 200_001)
    err = np.abs(reference.log_f64(x) - np.log(x)) / np.maximum(np.abs(np.log(x)), 1e-300)
    assert err.max() < 4 * np.finfo(np.float64).eps


@pytest.mark.parametrize(
    "bits,fn,eps",
    [
        (24, reference.sincos_turn_f32, np.finfo(np.float32).eps),
        (53, reference.sincos_turn_f64, np.finfo(np.float64).eps),
    ],
)
def test_sincos_accuracy(bits: int, fn, eps: float) -> None:
    k = np.unique(np.linspace(0, 2**bits - 1, 400_003).astype(np.int64))
    c, s = fn(k)
    ang = 2 * np.pi * (k.astype(np.float64) / 2.0**bits)
    # absolute error against libm in float64; libm's own error is ~1e-16
    tol = 4 * eps if bits == 24 else 8 * eps
    assert np.abs(c - np.cos(ang)).max() < tol
    assert np.abs(s - np.sin(ang)).max() < tol


def test_ndtri_central_f32_accuracy() -> None:
    # the whole central domain, w < 5
    p = np.linspace(0.00171, 1 - 0.00171, 300_001).astype(np.float32)
    exact = special.ndtri(p.astype(np.float64))
    got = reference.ndtri_central_f32(p).astype(np.float64)
    # error relative to |x| plus the conditioning of p itself (dx = dp / phi(x))
    slack = (
        8
        * np.finfo(np.float32).eps
        * (
            np.abs(exact)
            + np.abs(p.astype(np.float64))
            / (special.ndtr(-np.abs(exact)) + np.exp(-(exact**2) / 2) / math.sqrt(2 * math.pi))
        )
    )
    assert np.all(np.abs(got - exact) <= slack)


def _ndtri_f64_variants() -> Any:
    """A test-only kernel that maps p through ndtri_f64 and its two branch-free forms."""
    import numba

    from xinit_bench.kernels import transforms as tf

    @numba.njit
    def run(p, out):
        for i in range(p.size):
            out[0, i] = tf.ndtri_f64(p[i])
            out[1, i] = tf.ndtri_f64_tail1(p[i])
            out[2, i] = tf.ndtri_f64_tail2(p[i])

    return run


@pytest.mark.parametrize("variant,w_bound", [(1, 16.0), (2, 36.0)])
def test_branch_free_ndtri_f64_equals_branchy_bitwise(variant: int, w_bound: float) -> None:
    # Both tails, densest near the series boundaries w = 6.25, 16 and 36, up to
    # each form's documented bound (the planner keeps a 0.05 margin below it).
    from xinit_bench.kernels import transforms as tf

    assert w_bound == (tf.W_TAIL1_F64 if variant == 1 else tf.W_TAIL2_F64)
    p_min = math.exp(-(w_bound - 0.05)) / 4
    lower = np.geomspace(p_min, 0.5, 300_001)
    p = np.concatenate([lower, 1 - lower[lower > 1e-15]])
    w = -np.log(4 * p * (1 - p))
    assert w.max() > w_bound - 0.06 and (w > 6.25).sum() > 1000  # the grid does reach every series used
    out = np.empty((3, p.size))
    run = _ndtri_f64_variants()
    compile_quietly(run, p, out)
    run(p, out)
    assert np.array_equal(out[variant].view(np.uint64), out[0].view(np.uint64))
    assert np.array_equal(out[0], reference.ndtri_f64(p))


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


def test_ndtri_f64_accuracy_all_branches() -> None:
    p = np.concatenate([np.geomspace(1e-300, 0.5, 200_000), 1 - np.geomspace(1e-16, 0.5, 50_000)])
    exact = special.ndtri(p)
    got = reference.ndtri_f64(p)
    rel = np.abs(got - exact) / np.abs(exact).clip(1e-3)
    assert rel.max() < 64 * np.finfo(np.float64).eps


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


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mean,std,lo,hi", [(0.0, 0.02, -2.0, 2.0), (3.0, 0.5, -math.inf, 30.0), (1e3, 1.0, 900, 1100)])
def test_a_truncation_beyond_the_normals_reach_is_the_normal(
    dtype: type, mean: float, std: float, lo: float, hi: float
) -> None:
    n = 100_003
    x = xb.truncated_normal(n, mean, std, lo, hi, absolute=True, seed=11, dtype=dtype)
    assert np.array_equal(x, xb.normal(n, mean, std, seed=11, dtype=dtype))
    assert x.min() >= dtype(lo) and x.max() <= dtype(hi)


def test_a_truncation_too_close_for_rounding_room_is_not_routed() -> None:
    # mean 1e6 with std 1e-2 in float32: an ulp of the mean (0.0625) is about 6 std,
    # so mean + std z may round past a bound at 100 std; the planner keeps the clipping kernel.
    from xinit_bench.plans import truncated_plan

    kind, _ = truncated_plan(1e6, 1e-2, -100.0, 100.0)(np.dtype(np.float32))
    assert kind != "normal"
    assert truncated_plan(1e6, 1e-2, -100.0, 100.0)(np.dtype(np.float64))[0] == "normal"
