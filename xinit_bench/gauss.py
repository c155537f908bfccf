r"""Gaussian expectations of activations: ``E[f(x)]`` for ``x ~ N(0, q)``.

The derived gains of :func:`xinit_bench.calculate_gain` (``g = 1 / sqrt(E[phi(z)^2])``)
and the mean-field theory of :mod:`xinit_bench.propagation` are built from
three moments of an activation ``phi`` under ``z ~ N(0, 1)``:

.. math::

    \mathbb{E}[\phi(\sqrt q z)], \qquad \mathbb{E}[\phi(\sqrt q z)^2], \qquad
    \mathbb{E}[\phi'(\sqrt q z)^2],

in closed form where one exists (linear, relu, leaky_relu, elu, selu, erf,
hard_tanh; the mean of an odd activation), otherwise by composite
Gauss-Legendre quadrature (:func:`gaussian_expectation`).

The bivariate expectations of the correlation map are in
:mod:`xinit_bench.bivariate`, built on the panel rule here.

References
----------
.. [1] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential
   expressivity in deep neural networks through transient chaos", NeurIPS.
   https://arxiv.org/abs/1606.05340
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232
.. [3] Clevert, Unterthiner & Hochreiter (2015), "Fast and Accurate Deep Network
   Learning by Exponential Linear Units (ELUs)". https://arxiv.org/abs/1511.07289
.. [4] Williams (1997), "Computing with Infinite Networks", NeurIPS, eq. (11)
   (the erf kernel, here at c = 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special

from .activations import SELU_ALPHA, SELU_SCALE, Activation, get_activation
from .validation import check_callable, check_real

__all__ = [
    "Moment",
    "expected_dphi_squared",
    "expected_phi",
    "expected_phi_squared",
    "gaussian_expectation",
    "length_map_slope",
    "moment",
]

Moment = Literal["phi", "phi2", "dphi2"]
Array = NDArray[np.float64]

#: Gauss-Legendre order per panel and the Gaussian truncation in standard
#: deviations.  Beyond 13 sd the standard normal density is below 1e-36, so the
#: neglected mass of any integrand growing at most polynomially is far below
#: 1e-10 of the total.  The panels agree with scipy's quad to 1e-10 and with
#: mpmath at 30 digits to 1e-12 (tests/core/test_gauss.py).
_GL_ORDER = 40
_TAIL_SD = 13.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@cache
def _gauss_legendre(n: int) -> tuple[Array, Array]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


def _panels(q: float, kinks: Sequence[float]) -> Array:
    """Panel edges in x for ``x ~ N(0, q)``: kinks, every sd, and dyadic activation scales."""
    s = math.sqrt(q)
    lim = _TAIL_SD * s
    edges = [k * s for k in range(-13, 14)]
    edges += [sgn * 2.0**j for j in range(-3, 8) for sgn in (-1.0, 1.0)]
    edges += list(kinks)
    e = np.unique(np.clip(np.asarray(edges, dtype=np.float64), -lim, lim))
    return e


def gaussian_expectation(f: Callable[[Array], Array], q: float, kinks: Sequence[float] = ()) -> float:
    r"""``E[f(x)]`` for ``x ~ N(0, q)`` by composite Gauss-Legendre quadrature.

    .. math::

        \mathbb{E}[f(\sqrt{q} z)] = \int_{-13\sqrt q}^{13\sqrt q} f(x)\,
            \frac{e^{-x^2/2q}}{\sqrt{2\pi q}}\,dx

    The interval is cut at every standard deviation, at ``±2^j`` for
    ``j = -3..7`` (where activations change shape, whatever ``q``) and at the
    ``kinks`` of ``f``; each panel gets a 40-point Gauss-Legendre rule, exact
    for polynomials of degree 79.  On each panel the integrand is analytic, so
    the rule converges geometrically; cutting at the kinks is what keeps ReLU-
    type integrands from losing that rate (a Gauss-Hermite rule straddling a
    kink converges only algebraically).  Agreement with
    ``scipy.integrate.quad`` is tested to 1e-10 relative for q in [1e-3, 1e2].

    Parameters
    ----------
    f : callable
        Vectorised float64 function.
    q : float
        Variance, ``q >= 0``; ``q = 0`` returns ``f(0)``.
    kinks : sequence of float
        Points where ``f`` or a derivative jumps.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        ``f`` is not callable or ``q`` is not a real number.
    ValueError
        ``q`` is negative, NaN or infinite.

    Examples
    --------
    >>> round(gaussian_expectation(lambda x: x ** 4, 2.0), 12)
    12.0
    """
    check_callable("f", f)
    q = check_real("q", q, minimum=0.0)
    if q == 0.0:
        return float(f(np.zeros(1))[0])
    nodes, weights = _gauss_legendre(_GL_ORDER)
    e = _panels(q, kinks)
    half = 0.5 * np.diff(e)
    mid = 0.5 * (e[1:] + e[:-1])
    x = (mid[:, None] + half[:, None] * nodes[None, :]).ravel()
    w = (half[:, None] * weights[None, :]).ravel()
    dens = np.exp(-0.5 * x * x / q) / math.sqrt(2.0 * math.pi * q)
    return float(np.sum(w * dens * f(x)))


# --- closed forms ----------------------------------------------------------------------
def _m(c: float, q: float) -> float:
    """``E[exp(c x) 1{x<0}]`` for ``x ~ N(0, q)``, c >= 0: ``exp(c^2 q/2) Phi(-c sqrt q)``.

    Written as ``erfcx(c sqrt(q/2)) / 2`` (completing the square), which cannot
    overflow for large ``q``.
    """
    return 0.5 * float(special.erfcx(c * math.sqrt(0.5 * q)))


def _elu_moments(alpha: float, q: float, moment: str) -> float:
    # x ~ N(0, q): E[x 1{x>0}] = sqrt(q / 2 pi), E[x^2 1{x>0}] = q / 2, P(x<0) = 1/2;
    # ELU below 0 is alpha (e^x - 1): expand and use _m (Clevert et al. 2015, eq. (1)).
    if moment == "phi":
        return math.sqrt(q) / _SQRT_2PI + alpha * (_m(1.0, q) - 0.5)
    if moment == "phi2":
        return 0.5 * q + alpha * alpha * (_m(2.0, q) - 2.0 * _m(1.0, q) + 0.5)
    return 0.5 + alpha * alpha * _m(2.0, q)


def _closed_form(act: Activation, q: float, moment: str) -> float | None:
    a = act.param
    s = math.sqrt(q)
    if act.name == "linear":
        return {"phi": 0.0, "phi2": q, "dphi2": 1.0}[moment]
    if act.name in ("relu", "leaky_relu"):
        a = 0.0 if act.name == "relu" else a
        # Half-normal moments: E[x 1{x>0}] = s / sqrt(2 pi), E[x^2 1{x>0}] = q / 2.
        return {"phi": (1.0 - a) * s / _SQRT_2PI, "phi2": 0.5 * (1.0 + a * a) * q, "dphi2": 0.5 * (1.0 + a * a)}[moment]
    if act.name in ("elu", "selu") and q < 1e-3:
        return None  # the closed form cancels at small q (it turns negative near 1e-16): quadrature instead
    if act.name == "elu":
        return _elu_moments(a, q, moment)
    if act.name == "selu":
        scale = SELU_SCALE if moment == "phi" else SELU_SCALE**2
        return float(scale * _elu_moments(SELU_ALPHA, q, moment))
    if moment == "phi" and act.odd:
        return 0.0
    if act.name == "erf":
        # Williams (1997) at c = 1: E[erf^2] = (2/pi) arcsin(2q / (1 + 2q));
        # E[erf'^2] = (4/pi) E[exp(-2x^2)] = (4/pi) / sqrt(1 + 4q).
        return 2.0 / math.pi * math.asin(2.0 * q / (1.0 + 2.0 * q)) if moment == "phi2" else _erf_d2(q, q, 1.0)
    if act.name == "hard_tanh":
        # P(|x| < 1) = erf(1 / sqrt(2q)); E[x^2 1{|x|<1}] = q (P - 2 t pdf(t)), t = 1/s; outside phi^2 = 1.
        if q == 0.0:
            return 0.0 if moment == "phi2" else 1.0
        t = 1.0 / s
        inside = math.erf(t / math.sqrt(2.0))
        if moment == "dphi2":
            return inside
        if t < 0.5:
            # E[x^2 1{|x|<1}] = (t / sqrt(2 pi)) sum_n (-t^2/2)^n / n! * 2 / (2n + 3), from the Taylor series of
            # the density: the difference below cancels catastrophically for large q.
            term, total = 1.0, 0.0
            for n in range(30):
                total += term * 2.0 / (2 * n + 3)
                term *= -0.5 * t * t / (n + 1)
            return t / _SQRT_2PI * total + (1.0 - inside)
        return q * (inside - 2.0 * t * math.exp(-0.5 * t * t) / _SQRT_2PI) + (1.0 - inside)
    return None


def moment(act: Activation, q: float, which: Moment) -> float:
    r"""One Gaussian moment of ``act`` at variance ``q``: ``which`` is ``"phi"``, ``"phi2"`` or ``"dphi2"``.

    .. math:: \mathbb{E}[\phi(\sqrt q z)],\quad \mathbb{E}[\phi(\sqrt q z)^2],\quad
              \mathbb{E}[\phi'(\sqrt q z)^2],\qquad z \sim N(0, 1)

    Closed form for linear, relu, leaky_relu, elu, selu, erf and hard_tanh
    (and for the mean of an odd activation), quadrature (:func:`gaussian_expectation`) otherwise.

    Raises
    ------
    TypeError
        ``q`` is not a real number.
    ValueError
        ``q`` is negative, NaN or infinite.

    Examples
    --------
    >>> moment(get_activation("relu"), 3.0, "phi2")
    1.5
    """
    q = check_real("q", q, minimum=0.0)
    exact = _closed_form(act, q, which)
    if exact is not None:
        return exact
    if which == "phi":
        return gaussian_expectation(act.phi, q, act.kinks)
    if which == "phi2":
        return gaussian_expectation(lambda x: act.phi(x) ** 2, q, act.kinks)
    return gaussian_expectation(lambda x: act.dphi(x) ** 2, q, act.kinks)


def expected_phi(activation: str | Activation, q: float, param: float | None = None) -> float:
    r"""``E[phi(sqrt(q) z)]``, ``z ~ N(0, 1)``: the mean activation.

    .. math:: \mathbb{E}[\phi(\sqrt q\, z)]

    Closed form for linear, relu, leaky_relu, elu, selu and odd activations;
    quadrature (:func:`gaussian_expectation`) otherwise.

    Examples
    --------
    >>> round(expected_phi("relu", 2 * math.pi), 12)
    1.0
    """
    return moment(get_activation(activation, param), q, "phi")


def expected_phi_squared(activation: str | Activation, q: float, param: float | None = None) -> float:
    r"""``E[phi(sqrt(q) z)^2]``: the factor of the length map (Poole et al. 2016, eq. (3)).

    .. math:: \mathbb{E}[\phi(\sqrt q\, z)^2]

    Closed forms: linear ``q``; relu ``q/2``; leaky_relu ``(1+a^2) q/2``; elu
    and selu through ``E[e^{cx} 1\{x<0\}] = erfcx(c sqrt(q/2))/2``.

    Examples
    --------
    >>> expected_phi_squared("relu", 3.0)
    1.5
    """
    return moment(get_activation(activation, param), q, "phi2")


def expected_dphi_squared(activation: str | Activation, q: float, param: float | None = None) -> float:
    r"""``E[phi'(sqrt(q) z)^2]``: the factor of the gradient recursion (Schoenholz et al. 2017, eq. (10)).

    .. math:: \mathbb{E}[\phi'(\sqrt q\, z)^2]

    Examples
    --------
    >>> expected_dphi_squared("leaky_relu", 1.0, 0.5)
    0.625
    """
    return moment(get_activation(activation, param), q, "dphi2")


def length_map_slope(activation: str | Activation, q: float, param: float | None = None) -> float:
    r"""``d/dq E[phi(sqrt(q) z)^2]``, by the Gaussian identity (valid at kinks too).

    .. math::

        \frac{d}{dq}\mathbb{E}[f(\sqrt q z)] = \frac{\mathbb{E}[f(\sqrt q z)(z^2-1)]}{2q}

    obtained by differentiating the N(0, q) density under the integral.

    Examples
    --------
    >>> round(length_map_slope("relu", 1.0), 12)
    0.5
    """
    act = get_activation(activation, param)
    q = check_real("q", q, positive=True)
    return gaussian_expectation(lambda x: act.phi(x) ** 2 * (x * x / q - 1.0), q, act.kinks) / (2.0 * q)


def _erf_d2(q1: float, q2: float, c: float) -> float:
    # erf'(x) = (2/sqrt(pi)) e^{-x^2}: E[e^{-u1^2 - u2^2}] = det(I + 2 Sigma)^{-1/2}, with the determinant
    # (1 + 2 q1)(1 + 2 q2) - 4 q1 q2 c^2 expanded so that it neither overflows nor cancels at large q.
    r = (1.0 - c) * (1.0 + c)
    det = 1.0 + 2.0 * q1 + 2.0 * q2 + (4.0 * q1 * q2 * r if r > 0.0 else 0.0)  # inf * 0 would be NaN
    return 4.0 / math.pi / math.sqrt(det)
