"""The activations of the propagation study, as Numba functions: ``x -> (phi(x), phi'(x))`` in float64.

Every activation is evaluated in float64 from branch-free polynomial ``exp``
and ``log1p`` (Numba 0.68 has no SVML, so ``math.exp`` in a loop is a scalar
libm call that blocks vectorisation); ``gelu`` calls libm ``erfc`` and is the
slowest.  ``activations.py`` inlines them into its fused row kernels.  The
kind numbers are those of :data:`xinit_bench.activations.ACTIVATIONS`.
"""

from __future__ import annotations

import math

from ._jit import inline_ir

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
@inline_ir
def _linear(x, p):
    return x, 1.0


@inline_ir
def _relu(x, p):
    pos = x > 0.0
    return (x if pos else 0.0), (1.0 if pos else 0.0)


@inline_ir
def _leaky_relu(x, p):
    pos = x > 0.0
    return (x if pos else p * x), (1.0 if pos else p)


@inline_ir
def _tanh(x, p):
    # tanh|x| = (1 - e) / (1 + e), e = exp(-2|x|) <= 1: no cancellation, no overflow.
    e = exp_clamped(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    t = t if x >= 0.0 else -t
    return t, 1.0 - t * t


@inline_ir
def _sigmoid_act(x, p):
    s = _sigmoid(x)
    return s, s * (1.0 - s)


@inline_ir
def _elu(x, p):
    pos = x > 0.0
    e = exp_clamped(min(x, 0.0))
    return (x if pos else p * (e - 1.0)), (1.0 if pos else p * e)


@inline_ir
def _selu(x, p):
    pos = x > 0.0
    e = exp_clamped(min(x, 0.0))
    y = x if pos else SELU_ALPHA * (e - 1.0)
    dy = 1.0 if pos else SELU_ALPHA * e
    return SELU_SCALE * y, SELU_SCALE * dy


@inline_ir
def _gelu(x, p):
    # Exact GELU, x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (Hendrycks & Gimpel 2016).
    c = 0.5 * math.erfc(-x * _INV_SQRT2)
    return x * c, c + x * _INV_SQRT_2PI * exp_clamped(-0.5 * x * x)


@inline_ir
def _silu(x, p):
    s = _sigmoid(x)
    return x * s, s * (1.0 + x * (1.0 - s))


@inline_ir
def _softplus(x, p):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|); derivative sigmoid(x).
    return max(x, 0.0) + log1p_unit(exp_clamped(-abs(x))), _sigmoid(x)


@inline_ir
def _mish(x, p):
    # tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2), exact algebra;
    # mish'(x) = t + x (1 - t^2) sigmoid(x) (Misra 2019, eq. (2)).
    e = exp_clamped(min(x, 40.0))
    n = e * (e + 2.0)
    t = n / (n + 2.0)
    return x * t, t + x * (1.0 - t * t) * _sigmoid(x)
