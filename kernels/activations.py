"""Fused activation kernels of the propagation study (``xinit_bench.propagation``).

One pass per layer computes, row by row (a row is one example of the batch):

* forward: ``x = h + bias``, ``a = phi(x)``, ``d = phi'(x)`` and the per-row
  partial sums of ``x**2``, ``a`` and ``a**2``;
* backward: ``delta = d * da`` and the partial sums of ``da**2`` and
  ``delta**2``;
* ``row_sumsq``: partial sums of ``g**2`` of a weight gradient.

**Reproducibility.**  Each row's sums go to ``part[row, stat]``.  Within a row,
element ``j`` always adds into accumulator ``j % LANES`` in increasing ``j``
and the accumulators are combined pairwise, so the order of every addition is
fixed by the shape alone; the rows are reduced afterwards by NumPy over a fixed
shape.  The sums are thus the same bits on any thread count.  Independent
accumulators also let LLVM vectorise the reductions without ``fastmath``
reassociation (see ``_jit.py``).

**Arithmetic.**  Inputs are float32 or float64; every activation is evaluated
in float64 and rounded once on store, so the float32 results are correctly
rounded to within the float64 error of the formulas (about 1e-13 relative).
Numba 0.68 has no SVML, so ``math.exp`` in a loop is a scalar libm call that
blocks vectorisation; ``exp`` and ``log1p`` are therefore written (in ``phi.py``) as
branch-free polynomials that LLVM vectorises.  ``gelu`` calls libm ``erfc``
(scalar) and is the slowest activation.

Kernels allocate nothing, raise nothing and keep no state; shapes are checked
by the caller (``xinit_bench.propagation.montecarlo``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange
from numpy.typing import NDArray

from ._jit import inline_ir, parallel
from .phi import (
    ELU,
    GELU,
    LEAKY_RELU,
    LINEAR,
    MISH,
    RELU,
    SELU,
    SELU_ALPHA,
    SELU_SCALE,
    SIGMOID,
    SILU,
    SOFTPLUS,
    TANH,
    _elu,
    _gelu,
    _leaky_relu,
    _linear,
    _mish,
    _relu,
    _selu,
    _sigmoid_act,
    _silu,
    _softplus,
    _tanh,
    exp_clamped,
)

# Types of the entry points the API calls (Numba ignores annotations; mypy checks the callers).
FloatArray = NDArray[np.floating[Any]]
F64Array = NDArray[np.float64]

__all__ = [
    "ELU",
    "ERF",
    "FORWARD",
    "GELU",
    "HARD_TANH",
    "LANES",
    "LEAKY_RELU",
    "LINEAR",
    "MISH",
    "RELU",
    "SELU",
    "SELU_ALPHA",
    "SELU_SCALE",
    "SIGMOID",
    "SILU",
    "SOFTPLUS",
    "TANH",
    "backward",
    "row_sumsq",
    "rows_sumsq",
]

#: Independent accumulators per row (one AVX-512 register of float64).
LANES = 8

#: Kinds of the two activations defined in this module, after those of ``phi.py``.
ERF = 11
HARD_TANH = 12

_TWO_OVER_SQRT_PI = 1.1283791670955126


@inline_ir
def _erf(x, p):
    # erf(x) from libm (scalar, like gelu's erfc); erf'(x) = 2 exp(-x^2) / sqrt(pi).
    return math.erf(x), _TWO_OVER_SQRT_PI * exp_clamped(-x * x)


@inline_ir
def _hard_tanh(x, p):
    # clip(x, -1, 1); derivative 1 inside, 0 outside (the kinks have measure zero).
    inside = -1.0 < x < 1.0
    y = x if inside else (1.0 if x >= 1.0 else -1.0)
    return y, (1.0 if inside else 0.0)


# --- skeletons ------------------------------------------------------------------------
# The eight accumulators of each reduction are scalar locals, not an array: LLVM
# keeps them in one vector register only when it can see that no store to the
# data arrays can change them.
@inline_ir
def _combine(s0, s1, s2, s3, s4, s5, s6, s7):
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@inline_ir
def row_sumsq(v):
    """``sum(v ** 2)`` over a 1-d array in float64, in a fixed order.

    Element ``j`` adds into accumulator ``j % 8`` (``LANES``); the tail adds
    into accumulator 0; the accumulators are combined pairwise.
    """
    n = v.shape[0]
    full = n - n % LANES
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for j in range(0, full, LANES):
        x0 = np.float64(v[j])
        x1 = np.float64(v[j + 1])
        x2 = np.float64(v[j + 2])
        x3 = np.float64(v[j + 3])
        x4 = np.float64(v[j + 4])
        x5 = np.float64(v[j + 5])
        x6 = np.float64(v[j + 6])
        x7 = np.float64(v[j + 7])
        s0 += x0 * x0
        s1 += x1 * x1
        s2 += x2 * x2
        s3 += x3 * x3
        s4 += x4 * x4
        s5 += x5 * x5
        s6 += x6 * x6
        s7 += x7 * x7
    for j in range(full, n):
        x = np.float64(v[j])
        s0 += x * x
    return _combine(s0, s1, s2, s3, s4, s5, s6, s7)


@inline_ir
def _row_stats(h, bias, a):
    """``(sum x**2, sum a, sum a**2)`` over a row, ``x = h + bias``, in one pass."""
    n = h.shape[0]
    full = n - n % LANES
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = 0.0
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = 0.0
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for j in range(0, full, LANES):
        x0 = np.float64(h[j]) + np.float64(bias[j])
        x1 = np.float64(h[j + 1]) + np.float64(bias[j + 1])
        x2 = np.float64(h[j + 2]) + np.float64(bias[j + 2])
        x3 = np.float64(h[j + 3]) + np.float64(bias[j + 3])
        x4 = np.float64(h[j + 4]) + np.float64(bias[j + 4])
        x5 = np.float64(h[j + 5]) + np.float64(bias[j + 5])
        x6 = np.float64(h[j + 6]) + np.float64(bias[j + 6])
        x7 = np.float64(h[j + 7]) + np.float64(bias[j + 7])
        y0 = np.float64(a[j])
        y1 = np.float64(a[j + 1])
        y2 = np.float64(a[j + 2])
        y3 = np.float64(a[j + 3])
        y4 = np.float64(a[j + 4])
        y5 = np.float64(a[j + 5])
        y6 = np.float64(a[j + 6])
        y7 = np.float64(a[j + 7])
        q0 += x0 * x0
        q1 += x1 * x1
        q2 += x2 * x2
        q3 += x3 * x3
        q4 += x4 * x4
        q5 += x5 * x5
        q6 += x6 * x6
        q7 += x7 * x7
        m0 += y0
        m1 += y1
        m2 += y2
        m3 += y3
        m4 += y4
        m5 += y5
        m6 += y6
        m7 += y7
        s0 += y0 * y0
        s1 += y1 * y1
        s2 += y2 * y2
        s3 += y3 * y3
        s4 += y4 * y4
        s5 += y5 * y5
        s6 += y6 * y6
        s7 += y7 * y7
    for j in range(full, n):
        x = np.float64(h[j]) + np.float64(bias[j])
        y = np.float64(a[j])
        q0 += x * x
        m0 += y
        s0 += y * y
    return (
        _combine(q0, q1, q2, q3, q4, q5, q6, q7),
        _combine(m0, m1, m2, m3, m4, m5, m6, m7),
        _combine(s0, s1, s2, s3, s4, s5, s6, s7),
    )


@inline_ir
def _forward_row(phi, h, bias, a, d, p, out):
    for j in range(h.shape[0]):
        y, dy = phi(np.float64(h[j]) + np.float64(bias[j]), p)
        a[j] = y
        d[j] = dy
    out[0], out[1], out[2] = _row_stats(h, bias, a)


@inline_ir
def _forward(phi, h, bias, a, d, p, part):
    # phi, the activation, is an argument of these IR-inlined skeletons rather
    # than chosen by an inlined overload keyed on the kind: Numba typed an
    # inlined overload's body many times over, and the activation kernels
    # compiled in about half the CPU time once it was passed in.
    for b in prange(h.shape[0]):
        _forward_row(phi, h[b], bias, a[b], d[b], p, part[b])


@parallel
def forward_linear(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass of one layer; see the module docstring.

    ``h``, ``a``, ``d``: (batch, width) C-contiguous arrays of one float dtype,
    three distinct buffers; ``bias``: (width,) of that dtype; ``p``: float64
    parameter; ``part``: (batch, 3) float64, overwritten with the per-row sums
    of ``x**2``, ``a`` and ``a**2`` (``x = h + bias``), in that order.
    """
    _forward(_linear, h, bias, a, d, p, part)


@parallel
def forward_relu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for ReLU (see :func:`forward_linear`)."""
    _forward(_relu, h, bias, a, d, p, part)


@parallel
def forward_leaky_relu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for leaky ReLU with slope ``p`` (see :func:`forward_linear`)."""
    _forward(_leaky_relu, h, bias, a, d, p, part)


@parallel
def forward_tanh(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for tanh (see :func:`forward_linear`)."""
    _forward(_tanh, h, bias, a, d, p, part)


@parallel
def forward_sigmoid(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for the logistic sigmoid (see :func:`forward_linear`)."""
    _forward(_sigmoid_act, h, bias, a, d, p, part)


@parallel
def forward_elu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for ELU with alpha ``p`` (see :func:`forward_linear`)."""
    _forward(_elu, h, bias, a, d, p, part)


@parallel
def forward_selu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for SELU (see :func:`forward_linear`)."""
    _forward(_selu, h, bias, a, d, p, part)


@parallel
def forward_gelu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for exact (erf) GELU (see :func:`forward_linear`)."""
    _forward(_gelu, h, bias, a, d, p, part)


@parallel
def forward_silu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for SiLU (see :func:`forward_linear`)."""
    _forward(_silu, h, bias, a, d, p, part)


@parallel
def forward_softplus(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for softplus (see :func:`forward_linear`)."""
    _forward(_softplus, h, bias, a, d, p, part)


@parallel
def forward_mish(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for Mish (see :func:`forward_linear`)."""
    _forward(_mish, h, bias, a, d, p, part)


@parallel
def forward_erf(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for erf (see :func:`forward_linear`)."""
    _forward(_erf, h, bias, a, d, p, part)


@parallel
def forward_hard_tanh(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for hard tanh, ``clip(x, -1, 1)`` (see :func:`forward_linear`)."""
    _forward(_hard_tanh, h, bias, a, d, p, part)


#: Forward kernel of each activation kind, indexed by kind.
FORWARD = (
    forward_linear,
    forward_relu,
    forward_leaky_relu,
    forward_tanh,
    forward_sigmoid,
    forward_elu,
    forward_selu,
    forward_gelu,
    forward_silu,
    forward_softplus,
    forward_mish,
    forward_erf,
    forward_hard_tanh,
)


@inline_ir
def _backward_row(d, da, out):
    for j in range(d.shape[0]):
        d[j] = d[j] * da[j]
    out[0] = row_sumsq(da)
    out[1] = row_sumsq(d)


@parallel
def backward(d: FloatArray, da: FloatArray, part: F64Array) -> None:
    """``d <- d * da`` (the gradient w.r.t. the pre-activations), in place.

    ``d`` holds ``phi'(h)`` on entry; ``da`` is the gradient w.r.t. the
    activations, same shape and dtype.  ``part`` (batch, 2) float64 receives
    the per-row sums of ``da**2`` and ``delta**2``, in that order.
    """
    for b in prange(d.shape[0]):
        _backward_row(d[b], da[b], part[b])


@parallel
def rows_sumsq(g: FloatArray, part: F64Array) -> None:
    """Per-row sums of ``g ** 2`` (a 2-d C-contiguous array) into ``part`` (rows,) float64."""
    for r in prange(g.shape[0]):
        part[r] = row_sumsq(g[r])
