"""Branch-free maths for the samplers: log, sincos of a turn, inverse normal CDF.

Numba 0.68's LLVM has no SVML, so ``math.log``/``math.sin`` in a loop are
scalar libm calls (about 0.2 G normals/s).  These polynomial versions
vectorise.  All coefficients are exact Taylor or series coefficients, or the
Chebyshev fits of ``erfinv_coefficients.py``; none is tuned by hand.

log
    Cody & Waite style: ``x = m * 2**e`` with ``m`` in ``[sqrt(1/2), sqrt(2))``
    by integer operations on the bits, then

    .. math:: \\log m = 2\\,\\mathrm{artanh}\\,s
              = 2\\left(s + \\tfrac{s^3}{3} + \\tfrac{s^5}{5} + \\dots\\right),
              \\qquad s = \\frac{m - 1}{m + 1},\\ |s| \\le 0.1716 .

    float32 keeps terms to :math:`s^9` (truncation :math:`< 2\\cdot10^{-9}`
    relative); float64 to :math:`s^{21}` (:math:`< 10^{-17}`).
    ``e * ln 2`` uses fdlibm's split ``ln2_hi + ln2_lo`` in float64.

sincos_turn
    :math:`(\\cos 2\\pi t, \\sin 2\\pi t)` for ``t = k / 2**bits``.  The
    reduction to ``theta`` in ``[-pi/4, pi/4)`` and the quadrant is done on the
    integer ``k``, so it is exact; then Taylor series (float32 to
    :math:`\\theta^{10}`, error :math:`< 2\\cdot10^{-9}`; float64 to
    :math:`\\theta^{18}`, :math:`< 10^{-19}`).

ndtri
    :math:`\\Phi^{-1}(p) = \\sqrt 2\\,\\mathrm{erfinv}(2p - 1)` with Giles's
    (2011) variable :math:`w = -\\log(1 - x^2) = -\\log(4p(1-p))`, which is
    accurate for small ``p``; ``erfinv(x) = x f(w)`` with ``f`` a Chebyshev
    series (the central ones as the same series in powers of ``w``, by
    Horner's rule: 20 operations instead of Clenshaw's 33 in float32, 44
    instead of 69 in float64).
    ``ndtri_central_*`` covers ``w < 5`` (float32) or ``w < 6.25``
    (float64), i.e. ``|Phi^{-1}(p)| < 2.7`` or ``3.1``, branch-free;
    ``ndtri_f64`` covers ``w <= 27.5**2`` with branches.

References
----------
W. J. Cody, W. Waite, *Software Manual for the Elementary Functions*, 1980.
fdlibm ``e_log.c`` (Sun Microsystems, 1993) for the ``ln2_hi``/``ln2_lo`` split.
G. E. P. Box, M. E. Muller, "A note on the generation of random normal
deviates", Ann. Math. Statist. 29 (1958).  https://doi.org/10.1214/aoms/1177706645
M. Giles, "Approximating the erfinv function", GPU Computing Gems Jade, 2011.
"""

from __future__ import annotations

import math

import numpy as np

from . import erfinv_coefficients as _erf
from ._jit import f32_as_i32, f64_as_i64, i32_as_f32, i64_as_f64, inline_ir, jit

# --- float32 constants -------------------------------------------------------
ONE_F32 = np.float32(1.0)
TWO_F32 = np.float32(2.0)
FOUR_F32 = np.float32(4.0)
LN2_F32 = np.float32(math.log(2.0))
SQRT2_F32 = np.float32(math.sqrt(2.0))
SQRT_HALF_BITS_F32 = np.int64(0x3F3504F3)  # bits of float32(sqrt(0.5))
ATANH_F32 = tuple(np.float32(1.0 / n) for n in (3, 5, 7, 9))
SIN_F32 = tuple(np.float32((-1) ** k / math.factorial(2 * k + 1)) for k in range(1, 5))
COS_F32 = tuple(np.float32((-1) ** k / math.factorial(2 * k)) for k in range(1, 6))
TURN_F32 = np.float32(2.0 * math.pi * 2.0**-24)

# --- float64 constants -------------------------------------------------------
ONE_F64 = np.float64(1.0)
TWO_F64 = np.float64(2.0)
FOUR_F64 = np.float64(4.0)
LN2_HI = np.float64(6.93147180369123816490e-01)  # fdlibm e_log.c
LN2_LO = np.float64(1.90821492927058770002e-10)
SQRT2_F64 = np.float64(math.sqrt(2.0))
SQRT_HALF_BITS_F64 = np.int64(0x3FE6A09E667F3BCD)  # bits of sqrt(0.5)
ATANH_F64 = np.array([1.0 / n for n in range(3, 23, 2)], dtype=np.float64)
SIN_F64 = np.array([(-1) ** k / math.factorial(2 * k + 1) for k in range(1, 9)], dtype=np.float64)
COS_F64 = np.array([(-1) ** k / math.factorial(2 * k) for k in range(1, 10)], dtype=np.float64)
TURN_F64 = np.float64(2.0 * math.pi * 2.0**-53)

_MANT_F32 = np.int64(23)
_MANT_I32 = np.int32(23)
SQRT_HALF_BITS_I32 = np.int32(SQRT_HALF_BITS_F32)
_MANT_F64 = np.int64(52)


@inline_ir
def horner(coeffs, z):
    """``coeffs[0] + z * (coeffs[1] + z * (...))``, evaluated from the top."""
    acc = coeffs[len(coeffs) - 1]
    for i in range(len(coeffs) - 2, -1, -1):
        acc = coeffs[i] + z * acc
    return acc


@inline_ir
def clenshaw(coeffs, tau):
    """Chebyshev series ``sum_k coeffs[k] T_k(tau)`` by Clenshaw's recurrence."""
    two_tau = tau + tau
    b1 = coeffs[0] - coeffs[0]  # a zero of the coefficients' dtype
    b2 = b1
    for i in range(len(coeffs) - 1, 0, -1):
        b0 = coeffs[i] + two_tau * b1 - b2
        b2 = b1
        b1 = b0
    return coeffs[0] + tau * b1 - b2


# --- log ---------------------------------------------------------------------
@inline_ir
def log_f32(x):
    """Natural log of a positive, normal float32."""
    # Every integer is cast back to int32 (Numba widens int32 arithmetic to
    # int64): the values fit, and 32-bit lanes keep the loop 16 lanes wide,
    # where int64 ones cost a vcvtqq2ps per 8 lanes and shuffles (same bits).
    ix = f32_as_i32(x)
    e = np.int32(np.int32(ix - SQRT_HALF_BITS_I32) >> _MANT_I32)
    m = i32_as_f32(np.int32(ix - np.int32(e << _MANT_I32)))
    s = (m - ONE_F32) / (m + ONE_F32)
    z = s * s
    two_s = TWO_F32 * s
    series = z * (ATANH_F32[0] + z * (ATANH_F32[1] + z * (ATANH_F32[2] + z * ATANH_F32[3])))
    return np.float32(e) * LN2_F32 + (two_s + two_s * series)


@inline_ir
def log_f64(x):
    """Natural log of a positive, normal float64."""
    ix = f64_as_i64(x)
    e = (ix - SQRT_HALF_BITS_F64) >> _MANT_F64
    m = i64_as_f64(ix - (e << _MANT_F64))
    s = (m - ONE_F64) / (m + ONE_F64)
    z = s * s
    two_s = TWO_F64 * s
    fe = np.float64(e)
    return fe * LN2_HI + (two_s + (two_s * (z * horner(ATANH_F64, z)) + fe * LN2_LO))


# --- sincos of a fraction of a turn ------------------------------------------
@inline_ir
def _rotate_f32(c, s, q):
    """(cos, sin) of ``q * pi / 2 + theta`` from ``c = cos theta, s = sin theta``.

    Branch-free and exact: one of the two products is exactly zero, and a
    multiplication by +-1 is exact.  Every factor is float32 (Numba promotes
    ``float32 * int64`` to float64, which would change the rounding).
    """
    q = np.int32(q)  # in [0, 4): 32-bit lanes, as in ``log_f32``
    swap = np.float32(np.int32(q & 1))
    keep = ONE_F32 - swap
    sign_c = ONE_F32 - TWO_F32 * np.float32(np.int32(np.int32(q + 1) >> 1) & 1)
    sign_s = ONE_F32 - TWO_F32 * np.float32(np.int32(q >> 1) & 1)
    return (c * keep + s * swap) * sign_c, (s * keep + c * swap) * sign_s


@inline_ir
def _rotate_f64(c, s, q):
    """float64 twin of ``_rotate_f32``."""
    swap = np.float64(q & 1)
    keep = ONE_F64 - swap
    sign_c = ONE_F64 - TWO_F64 * np.float64(((q + 1) >> 1) & 1)
    sign_s = ONE_F64 - TWO_F64 * np.float64((q >> 1) & 1)
    return (c * keep + s * swap) * sign_c, (s * keep + c * swap) * sign_s


@inline_ir
def sincos_turn_f32(k):
    """``(cos, sin)(2 pi k / 2**24)`` for an int64 ``k`` in ``[0, 2**24)``."""
    qr = (k + (1 << 21)) >> 22
    theta = np.float32(np.int32(k - (qr << 22))) * TURN_F32
    z = theta * theta
    s = theta + theta * z * (SIN_F32[0] + z * (SIN_F32[1] + z * (SIN_F32[2] + z * SIN_F32[3])))
    c = ONE_F32 + z * (COS_F32[0] + z * (COS_F32[1] + z * (COS_F32[2] + z * (COS_F32[3] + z * COS_F32[4]))))
    return _rotate_f32(c, s, qr & 3)


@inline_ir
def sincos_turn_f64(k):
    """``(cos, sin)(2 pi k / 2**53)`` for an int64 ``k`` in ``[0, 2**53)``."""
    qr = (k + (1 << 50)) >> 51
    theta = np.float64(k - (qr << 51)) * TURN_F64
    z = theta * theta
    s = theta + theta * z * horner(SIN_F64, z)
    c = ONE_F64 + z * horner(COS_F64, z)
    return _rotate_f64(c, s, qr & 3)


# --- inverse normal CDF --------------------------------------------------------
#: The float32 central series as a power series in w (``_fit_erfinv.monomial_in_w``).
CENTRAL_F32_W = np.array(_erf.CENTRAL_F32_W, dtype=np.float32)
#: The float64 central series as a power series in w, for every float64 inverse CDF.
CENTRAL_F64_W = np.array(_erf.CENTRAL_F64_W, dtype=np.float64)
TAILS_F64 = tuple(np.array(getattr(_erf, f"TAIL{i}_F64"), dtype=np.float64) for i in range(1, 6))
#: Largest w = -log(4 p (1 - p)) served by the branch-free central paths.
W_CENTRAL_F32 = float(_erf.CENTRAL_F32_HI)
W_CENTRAL_F64 = float(_erf.CENTRAL_F64_HI)
#: Largest w served by the branch-free ``ndtri_f64_tail1`` / ``ndtri_f64_tail2``.
W_TAIL1_F64 = float(_erf.TAIL2_F64_LO) ** 2
W_TAIL2_F64 = float(_erf.TAIL3_F64_LO) ** 2


@inline_ir
def _chebyshev_on(coeffs, t, lo, hi):
    return clenshaw(coeffs, (t + t - (hi + lo)) / (hi - lo))


@inline_ir
def ndtri_central_f32(p):
    """Phi^{-1}(p) in float32 for ``-log(4 p (1 - p)) < 5`` (``|result| < 2.7``)."""
    w = -log_f32(FOUR_F32 * p * (ONE_F32 - p))
    f = horner(CENTRAL_F32_W, w)
    return SQRT2_F32 * f * (TWO_F32 * p - ONE_F32)


@inline_ir
def ndtri_central_f64(p):
    """Phi^{-1}(p) in float64 for ``-log(4 p (1 - p)) < 6.25`` (``|result| < 3.1``)."""
    w = -log_f64(FOUR_F64 * p * (ONE_F64 - p))
    f = horner(CENTRAL_F64_W, w)
    return SQRT2_F64 * f * (TWO_F64 * p - ONE_F64)


@jit
def ndtri_f64(p):
    """Phi^{-1}(p) in float64 for ``-log(4 p (1 - p)) <= 756.25``."""
    w = -log_f64(FOUR_F64 * p * (ONE_F64 - p))
    if w < _erf.CENTRAL_F64_HI:
        f = horner(CENTRAL_F64_W, w)
    else:
        t = np.sqrt(w)
        if t < _erf.TAIL2_F64_LO:
            f = _chebyshev_on(TAILS_F64[0], t, _erf.TAIL1_F64_LO, _erf.TAIL1_F64_HI)
        elif t < _erf.TAIL3_F64_LO:
            f = _chebyshev_on(TAILS_F64[1], t, _erf.TAIL2_F64_LO, _erf.TAIL2_F64_HI)
        elif t < _erf.TAIL4_F64_LO:
            f = _chebyshev_on(TAILS_F64[2], t, _erf.TAIL3_F64_LO, _erf.TAIL3_F64_HI)
        elif t < _erf.TAIL5_F64_LO:
            f = _chebyshev_on(TAILS_F64[3], t, _erf.TAIL4_F64_LO, _erf.TAIL4_F64_HI)
        else:
            f = _chebyshev_on(TAILS_F64[4], t, _erf.TAIL5_F64_LO, _erf.TAIL5_F64_HI)
    return SQRT2_F64 * f * (TWO_F64 * p - ONE_F64)


# Branch-free forms of ``ndtri_f64`` for inputs that need only the first tail
# series or two.  Every series is evaluated and the result is chosen with a
# select, which LLVM vectorises; ``ndtri_f64``'s if-chain keeps the loop scalar
# (measured: about 5x slower).  Each series is the same expression as in
# ``ndtri_f64``, so for ``w`` below the bound the two return identical bits,
# and the caller may pick either without changing the stream.  (For ``w`` near
# 0, ``sqrt(w)`` may be NaN from a -0 or a rounding below zero; it is never
# selected there.)
@inline_ir
def _central_or_tail1(w, t):
    f0 = horner(CENTRAL_F64_W, w)
    f1 = _chebyshev_on(TAILS_F64[0], t, _erf.TAIL1_F64_LO, _erf.TAIL1_F64_HI)
    return f0 if w < _erf.CENTRAL_F64_HI else f1


@inline_ir
def ndtri_f64_tail1(p):
    """``ndtri_f64(p)`` for ``-log(4 p (1 - p)) < 16`` (``|result| < 5.4``), branch-free."""
    w = -log_f64(FOUR_F64 * p * (ONE_F64 - p))
    f = _central_or_tail1(w, np.sqrt(w))
    return SQRT2_F64 * f * (TWO_F64 * p - ONE_F64)


@inline_ir
def ndtri_f64_tail2(p):
    """``ndtri_f64(p)`` for ``-log(4 p (1 - p)) < 36`` (``|result| < 8.2``), branch-free."""
    w = -log_f64(FOUR_F64 * p * (ONE_F64 - p))
    t = np.sqrt(w)
    f2 = _chebyshev_on(TAILS_F64[1], t, _erf.TAIL2_F64_LO, _erf.TAIL2_F64_HI)
    f = f2 if t >= _erf.TAIL2_F64_LO else _central_or_tail1(w, t)
    return SQRT2_F64 * f * (TWO_F64 * p - ONE_F64)


# --- Box-Muller ----------------------------------------------------------------
@inline_ir
def box_muller_f32(u_pos, k_turn):
    """Two independent N(0, 1) float32 from ``u_pos`` in (0, 1] and a 24-bit turn."""
    r = np.sqrt(-TWO_F32 * log_f32(u_pos))
    c, s = sincos_turn_f32(k_turn)
    return r * c, r * s


@inline_ir
def box_muller_f64(u_pos, k_turn):
    """Two independent N(0, 1) float64 from ``u_pos`` in (0, 1] and a 53-bit turn."""
    r = np.sqrt(-TWO_F64 * log_f64(u_pos))
    c, s = sincos_turn_f64(k_turn)
    return r * c, r * s
