"""``kernels/transforms.py``: the accuracy of the transforms (tolerances in units of the dtype's eps).

The transforms are checked through their bit-exact NumPy twins in
``xinit_bench.reference`` against libm and SciPy,
and the branch-free float64 inverse CDF against the branchy one, bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import special

from xinit_bench import reference
from xinit_bench.kernels._jit import compile_quietly

pytestmark = pytest.mark.reference


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


def test_ndtri_f64_accuracy_all_branches() -> None:
    p = np.concatenate([np.geomspace(1e-300, 0.5, 200_000), 1 - np.geomspace(1e-16, 0.5, 50_000)])
    exact = special.ndtri(p)
    got = reference.ndtri_f64(p)
    rel = np.abs(got - exact) / np.abs(exact).clip(1e-3)
    assert rel.max() < 64 * np.finfo(np.float64).eps
