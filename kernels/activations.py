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
blocks vectorisation; ``exp`` and ``log1p`` are therefore written here as
branch-free polynomials that LLVM vectorises.  ``gelu`` calls libm ``erfc``
(scalar) and is the slowest activation.

Kernels allocate nothing, raise nothing and keep no state; shapes are checked
by the caller (``xinit_bench.propagation.montecarlo``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from numba import prange, types
from numba.extending import overload

from ._jit import inline_ir, parallel

# Types of the entry points the API calls (Numba ignores annotations; mypy checks the callers).
FloatArray = NDArray[np.floating[Any]]
F64Array = NDArray[np.float64]

LINEAR = 0
RELU = 1
LEAKY_RELU = 2
TANH = 3
SIGMOID = 4
ELU = 5
SELU = 6
GELU = 7
SILU = 8
SOFTPLUS = 9
MISH = 10

#: SELU constants, Klambauer et al. (2017), "Self-Normalizing Neural Networks",
#: https://arxiv.org/abs/1706.02515, eq. (14); digits as in ``torch.nn.SELU``.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

#: Independent accumulators per row (one AVX-512 register of float64).
LANES = 8

_INV_SQRT2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


# --- vectorisable elementary functions --------------------------------------------
@inline_ir
def exp_clamped(x):
    """``exp(x)`` for ``x`` clamped to ``[-80, 80]``, branch-free, relative error < 1e-13.

    Scaling and squaring (Moler & Van Loan 2003, "Nineteen Dubious Ways to
    Compute the Exponential of a Matrix", SIAM Rev. 45(1), method 3,
    https://doi.org/10.1137/S00361445024180): ``exp(x) = exp(x / 256) ** 256``,
    with ``exp(x / 256)``, ``|x / 256| <= 0.3125``, from its Taylor polynomial
    of degree 12 (truncation ``0.3125**13 / 13! < 1e-16``).  The eight
    squarings multiply the relative rounding error by at most 256, so the
    result is within about 3e-14 of ``exp(x)``.
    """
    r = x if x > -80.0 else -80.0
    r = (r if r < 80.0 else 80.0) * 0.00390625
    p = 1.0 + r * (
        1.0
        + r
        * (
            1.0 / 2
            + r
            * (
                1.0 / 6
                + r
                * (
                    1.0 / 24
                    + r
                    * (
                        1.0 / 120
                        + r
                        * (
                            1.0 / 720
                            + r
                            * (
                                1.0 / 5040
                                + r
                                * (
                                    1.0 / 40320
                                    + r
                                    * (
                                        1.0 / 362880
                                        + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600)))
                                    )
                                )
                            )
                        )
                    )
                )
            )
        )
    )
    # Eight squarings, written out: a loop here stops LLVM vectorising the caller.
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p


@inline_ir
def log1p_unit(u):
    """``log(1 + u)`` for ``0 <= u <= 1``, branch-free.

    ``log(1 + u) = 2 artanh(s)`` with ``s = u / (2 + u)`` in ``[0, 1/3]``
    (Abramowitz & Stegun 4.1.27, https://personal.math.ubc.ca/~cbm/aands/page_68.htm),
    summed to the ``s**35`` term: the remainder is below ``2 (1/3)**37 / 37 < 1e-18``.
    """
    s = u / (2.0 + u)
    s2 = s * s
    acc = 1.0 / 35.0
    for k in range(16, -1, -1):
        acc = 1.0 / (2 * k + 1) + s2 * acc
    return 2.0 * s * acc


@inline_ir
def _sigmoid(x):
    e = exp_clamped(-abs(x))
    inv = 1.0 / (1.0 + e)
    return inv if x >= 0.0 else e * inv


# --- the activations: x -> (phi(x), phi'(x)), float64 ---------------------------------
def _linear(x, p):
    return x, 1.0


def _relu(x, p):
    pos = x > 0.0
    return (x if pos else 0.0), (1.0 if pos else 0.0)


def _leaky_relu(x, p):
    pos = x > 0.0
    return (x if pos else p * x), (1.0 if pos else p)


def _tanh(x, p):
    # tanh|x| = (1 - e) / (1 + e), e = exp(-2|x|) <= 1: no cancellation, no overflow.
    e = exp_clamped(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    t = t if x >= 0.0 else -t
    return t, 1.0 - t * t


def _sigmoid_act(x, p):
    s = _sigmoid(x)
    return s, s * (1.0 - s)


def _elu(x, p):
    pos = x > 0.0
    e = exp_clamped(min(x, 0.0))
    return (x if pos else p * (e - 1.0)), (1.0 if pos else p * e)


def _selu(x, p):
    pos = x > 0.0
    e = exp_clamped(min(x, 0.0))
    y = x if pos else SELU_ALPHA * (e - 1.0)
    dy = 1.0 if pos else SELU_ALPHA * e
    return SELU_SCALE * y, SELU_SCALE * dy


def _gelu(x, p):
    # Exact GELU, x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (Hendrycks & Gimpel 2016).
    c = 0.5 * math.erfc(-x * _INV_SQRT2)
    return x * c, c + x * _INV_SQRT_2PI * exp_clamped(-0.5 * x * x)


def _silu(x, p):
    s = _sigmoid(x)
    return x * s, s * (1.0 + x * (1.0 - s))


def _softplus(x, p):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|); derivative sigmoid(x).
    return max(x, 0.0) + log1p_unit(exp_clamped(-abs(x))), _sigmoid(x)


def _mish(x, p):
    # tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2), exact algebra;
    # mish'(x) = t + x (1 - t^2) sigmoid(x) (Misra 2019, eq. (2)).
    e = exp_clamped(min(x, 40.0))
    n = e * (e + 2.0)
    t = n / (n + 2.0)
    return x * t, t + x * (1.0 - t * t) * _sigmoid(x)


_ACTIVATIONS = {
    LINEAR: _linear,
    RELU: _relu,
    LEAKY_RELU: _leaky_relu,
    TANH: _tanh,
    SIGMOID: _sigmoid_act,
    ELU: _elu,
    SELU: _selu,
    GELU: _gelu,
    SILU: _silu,
    SOFTPLUS: _softplus,
    MISH: _mish,
}


def activate(kind, x, p):
    """``(phi(x), phi'(x))`` in float64 for activation ``kind`` (Numba only)."""
    raise NotImplementedError("activate is only callable from Numba code")


@overload(activate, inline="always", prefer_literal=True)
def _activate_impl(kind, x, p):
    if not isinstance(kind, types.IntegerLiteral):
        return None
    fn = inline_ir(_ACTIVATIONS[kind.literal_value])

    def impl(kind, x, p):
        return fn(x, p)

    return impl


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
def _forward_row(kind, h, bias, a, d, p, out):
    for j in range(h.shape[0]):
        y, dy = activate(kind, np.float64(h[j]) + np.float64(bias[j]), p)
        a[j] = y
        d[j] = dy
    out[0], out[1], out[2] = _row_stats(h, bias, a)


@inline_ir
def _forward(kind, h, bias, a, d, p, part):
    for b in prange(h.shape[0]):
        _forward_row(kind, h[b], bias, a[b], d[b], p, part[b])


@parallel
def forward_linear(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass of one layer; see the module docstring.

    ``h``, ``a``, ``d``: (batch, width) C-contiguous arrays of one float dtype,
    three distinct buffers; ``bias``: (width,) of that dtype; ``p``: float64
    parameter; ``part``: (batch, 3) float64, overwritten with the per-row sums
    of ``x**2``, ``a`` and ``a**2`` (``x = h + bias``), in that order.
    """
    _forward(LINEAR, h, bias, a, d, p, part)


@parallel
def forward_relu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for ReLU (see :func:`forward_linear`)."""
    _forward(RELU, h, bias, a, d, p, part)


@parallel
def forward_leaky_relu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for leaky ReLU with slope ``p`` (see :func:`forward_linear`)."""
    _forward(LEAKY_RELU, h, bias, a, d, p, part)


@parallel
def forward_tanh(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for tanh (see :func:`forward_linear`)."""
    _forward(TANH, h, bias, a, d, p, part)


@parallel
def forward_sigmoid(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for the logistic sigmoid (see :func:`forward_linear`)."""
    _forward(SIGMOID, h, bias, a, d, p, part)


@parallel
def forward_elu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for ELU with alpha ``p`` (see :func:`forward_linear`)."""
    _forward(ELU, h, bias, a, d, p, part)


@parallel
def forward_selu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for SELU (see :func:`forward_linear`)."""
    _forward(SELU, h, bias, a, d, p, part)


@parallel
def forward_gelu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for exact (erf) GELU (see :func:`forward_linear`)."""
    _forward(GELU, h, bias, a, d, p, part)


@parallel
def forward_silu(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for SiLU (see :func:`forward_linear`)."""
    _forward(SILU, h, bias, a, d, p, part)


@parallel
def forward_softplus(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for softplus (see :func:`forward_linear`)."""
    _forward(SOFTPLUS, h, bias, a, d, p, part)


@parallel
def forward_mish(h: FloatArray, bias: FloatArray, a: FloatArray, d: FloatArray, p: float, part: F64Array) -> None:
    """Fused forward pass for Mish (see :func:`forward_linear`)."""
    _forward(MISH, h, bias, a, d, p, part)


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
