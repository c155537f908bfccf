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

The correlation map of two inputs needs the bivariate expectations

.. math::

    \mathbb{E}[\phi(u_1)\phi(u_2)], \qquad \mathbb{E}[\phi'(u_1)\phi'(u_2)], \qquad
    u_1 = \sqrt{q_1} z_1,\quad u_2 = \sqrt{q_2}\,(c z_1 + \sqrt{1-c^2} z_2),

in closed form for linear, relu and leaky_relu (the arc-cosine kernel of Cho
& Saul 2009) and erf (Williams 1997), otherwise by nested panel quadrature
(:func:`bivariate_expectation`).

References
----------
.. [1] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential
   expressivity in deep neural networks through transient chaos", NeurIPS.
   https://arxiv.org/abs/1606.05340
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232
.. [3] Clevert, Unterthiner & Hochreiter (2015), "Fast and Accurate Deep Network
   Learning by Exponential Linear Units (ELUs)". https://arxiv.org/abs/1511.07289
.. [4] Cho & Saul (2009), "Kernel Methods for Deep Learning", NeurIPS, eq. (6)
   with n = 0, 1 (the arc-cosine kernels).
   https://papers.nips.cc/paper/3628-kernel-methods-for-deep-learning
.. [5] Williams (1997), "Computing with Infinite Networks", NeurIPS, eq. (11)
   (the erf kernel).
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
    "CrossMoment",
    "Moment",
    "bivariate_expectation",
    "cross_moment",
    "expected_dphi_dphi",
    "expected_dphi_squared",
    "expected_phi",
    "expected_phi_phi",
    "expected_phi_squared",
    "gaussian_expectation",
    "hermite_coefficients",
    "length_map_slope",
    "moment",
]

Moment = Literal["phi", "phi2", "dphi2"]
CrossMoment = Literal["phiphi", "dphidphi"]
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


# --- bivariate expectations: the correlation map ---------------------------------------
#: Gauss-Legendre order per panel of the nested rule: each panel is at most one
#: standard deviation wide and the integrand is analytic on it.  10 points already
#: agree with 40 to 1e-15 relative on tanh, hard_tanh, gelu, elu and relu over
#: q in [1e-3, 50], |c| <= 0.999999; 12 leave a margin (tests/core/test_gauss.py
#: checks the rule against the closed forms and against scipy's dblquad).
_GL2_ORDER = 12
#: Truncation of the inner integral in standard deviations: the density beyond 10 sd
#: is below 2e-22, negligible beside float64 rounding for integrands of polynomial growth.
_INNER_SD = 10.0


def _check_pair(q1: float, q2: float, c: float) -> tuple[float, float, float]:
    q1 = check_real("q1", q1, positive=True)
    q2 = check_real("q2", q2, positive=True)
    c = check_real("c", c, minimum=-1.0)
    if c > 1.0:
        raise ValueError(f"c must be a finite real number in [-1, 1], got {c!r}")
    return q1, q2, c


def _inner_edges(mu: Array, s: float, kinks: Sequence[float]) -> Array:
    """Per-row panel edges in z for ``mu + s z``: every sd, the kinks and the dyadic scales, mapped to z."""
    fixed = np.arange(-_INNER_SD, _INNER_SD + 1.0)
    pts = [sgn * 2.0**j for j in range(-3, 8) for sgn in (-1.0, 1.0)] + list(kinks)
    moved = (np.asarray(pts, dtype=np.float64)[None, :] - mu[:, None]) / s
    e = np.concatenate([np.broadcast_to(fixed, (mu.size, fixed.size)), moved], axis=1)
    return np.sort(np.clip(e, -_INNER_SD, _INNER_SD), axis=1)


def bivariate_expectation(
    f: Callable[[Array], Array],
    g: Callable[[Array], Array],
    q1: float,
    q2: float,
    c: float,
    kinks_f: Sequence[float] = (),
    kinks_g: Sequence[float] = (),
) -> float:
    r"""``E[f(u1) g(u2)]`` for a centred Gaussian pair with variances ``q1, q2`` and correlation ``c``.

    .. math::

        \mathbb{E}[f(u_1)\,g(u_2)] = \mathbb{E}_{u_1}\Big[f(u_1)\,
            \mathbb{E}_{z_2}\big[g(\mu(u_1) + s z_2)\big]\Big],\qquad
        \mu(u_1) = c\sqrt{q_2/q_1}\,u_1,\quad s = \sqrt{q_2 (1 - c^2)} .

    The outer integral is the panel rule of :func:`gaussian_expectation`; the
    inner one, for each outer node, cuts ``z_2`` at every standard deviation and
    at the kinks of ``g`` and the dyadic scales ``±2^j`` moved to ``z_2``-space,
    ``(k - \mu)/s``.  The kinks stay on panel edges however small ``s`` is, so
    the rule keeps its accuracy as ``c \to \pm 1``; at ``|c| = 1`` exactly,
    ``u_2 = c\sqrt{q_2/q_1}\,u_1`` and the expectation is one-dimensional.
    Each panel gets a 12-point Gauss-Legendre rule; the inner integral stops at
    10 standard deviations and outer nodes weighing less than ``1e-22`` of the
    largest are skipped.

    Parameters
    ----------
    f, g : callable
        Vectorised float64 functions.
    q1, q2 : float
        Variances, ``> 0``.
    c : float
        Correlation, in ``[-1, 1]``.
    kinks_f, kinks_g : sequence of float
        Points where ``f`` (``g``) or a derivative jumps.

    Raises
    ------
    TypeError
        ``f`` or ``g`` is not callable, or ``q1``, ``q2``, ``c`` is not a real number.
    ValueError
        ``q1`` or ``q2`` not finite and > 0, ``c`` outside ``[-1, 1]``.

    Examples
    --------
    >>> round(bivariate_expectation(lambda x: x, lambda y: y, 2.0, 8.0, 0.25), 12)
    1.0
    """
    check_callable("f", f)
    check_callable("g", g)
    q1, q2, c = _check_pair(q1, q2, c)
    ratio = c * math.sqrt(q2 / q1)
    if abs(c) == 1.0:
        kinks = list(kinks_f) + [k / ratio for k in kinks_g]
        return gaussian_expectation(lambda x: f(x) * g(ratio * x), q1, kinks)
    nodes, weights = _gauss_legendre(_GL2_ORDER)
    s = math.sqrt(q2 * (1.0 - c * c))
    # E[g(mu + s z2)] turns over within a few s of mu = k for each kink k of g: cut the outer
    # integral there too, at u1 = (k + m s) / ratio, or it converges only algebraically as c -> ±1.
    extra = [(k + m * s) / ratio for k in kinks_g for m in range(-8, 9)] if ratio != 0.0 else []
    e = _panels(q1, list(kinks_f) + extra)
    half = 0.5 * np.diff(e)
    mid = 0.5 * (e[1:] + e[:-1])
    x = (mid[:, None] + half[:, None] * nodes[None, :]).ravel()
    wx = (half[:, None] * weights[None, :]).ravel() * np.exp(-0.5 * x * x / q1) / math.sqrt(2.0 * math.pi * q1)
    fx = f(x)
    # Rows whose weight is below 1e-22 of the largest cannot move the sum in float64: skipped.
    size = np.abs(wx * fx)
    keep = size > 1e-22 * np.max(size, initial=0.0)
    x, wx, fx = x[keep], wx[keep], fx[keep]
    mu = ratio * x
    ez = _inner_edges(mu, s, kinks_g)
    hz = 0.5 * np.diff(ez, axis=1)
    mz = 0.5 * (ez[:, 1:] + ez[:, :-1])
    z = mz[:, :, None] + hz[:, :, None] * nodes[None, None, :]
    wz = hz[:, :, None] * weights[None, None, :] * np.exp(-0.5 * z * z) / _SQRT_2PI
    inner = np.sum(wz * g(mu[:, None, None] + s * z), axis=(1, 2))
    return float(np.sum(wx * fx * inner))


def _arccos_kernels(c: float) -> tuple[float, float]:
    """Cho & Saul (2009) arc-cosine kernels at unit variances: ``(E[1{u1>0}1{u2>0}], E[relu(u1) relu(u2)])``."""
    theta = math.acos(c)
    return (math.pi - theta) / (2.0 * math.pi), (math.sin(theta) + (math.pi - theta) * c) / (2.0 * math.pi)


def _erf_d2(q1: float, q2: float, c: float) -> float:
    # erf'(x) = (2/sqrt(pi)) e^{-x^2}: E[e^{-u1^2 - u2^2}] = det(I + 2 Sigma)^{-1/2}, with the determinant
    # (1 + 2 q1)(1 + 2 q2) - 4 q1 q2 c^2 expanded so that it neither overflows nor cancels at large q.
    r = (1.0 - c) * (1.0 + c)
    det = 1.0 + 2.0 * q1 + 2.0 * q2 + (4.0 * q1 * q2 * r if r > 0.0 else 0.0)  # inf * 0 would be NaN
    return 4.0 / math.pi / math.sqrt(det)


def _cross_closed_form(act: Activation, q1: float, q2: float, c: float, which: str) -> float | None:
    s12 = math.sqrt(q1 * q2)
    if act.name in ("linear", "relu", "leaky_relu"):
        # phi = a x + (1 - a) relu(x) (a = 1 linear, 0 relu); E[u1 relu(u2)] = c s12 / 2 by the
        # symmetry (u1, u2) -> (-u1, -u2); the relu-relu terms are the arc-cosine kernels.
        a = {"linear": 1.0, "relu": 0.0}.get(act.name, act.param)
        k0, k1 = _arccos_kernels(c)
        if which == "phiphi":
            return s12 * (a * a * c + a * (1.0 - a) * c + (1.0 - a) ** 2 * k1)
        return a * a + a * (1.0 - a) + (1.0 - a) ** 2 * k0
    if act.name == "erf":
        if which == "phiphi":
            # Williams (1997): (2/pi) arcsin(2 S12 / sqrt((1 + 2 S11)(1 + 2 S22))).
            rho = 2.0 * c * s12 / (math.sqrt(1.0 + 2.0 * q1) * math.sqrt(1.0 + 2.0 * q2))
            return 2.0 / math.pi * math.asin(max(-1.0, min(1.0, rho)))
        return _erf_d2(q1, q2, c)
    return None


def cross_moment(act: Activation, q1: float, q2: float, c: float, which: CrossMoment) -> float:
    r"""``E[phi(u1) phi(u2)]`` (``"phiphi"``) or ``E[phi'(u1) phi'(u2)]`` (``"dphidphi"``).

    .. math:: u_1 = \sqrt{q_1} z_1,\qquad u_2 = \sqrt{q_2}\,(c z_1 + \sqrt{1-c^2}\, z_2)

    Closed forms: linear ``c sqrt(q1 q2)``; relu and leaky_relu through the
    arc-cosine kernels of Cho & Saul (2009),
    :math:`k_0 = (\pi-\theta)/2\pi`,
    :math:`k_1 = \sqrt{q_1 q_2}(\sin\theta + (\pi-\theta)\cos\theta)/2\pi`,
    :math:`\theta = \arccos c`; erf by Williams (1997),
    :math:`\tfrac{2}{\pi}\arcsin\big(2c\sqrt{q_1q_2}/\sqrt{(1+2q_1)(1+2q_2)}\big)`
    and :math:`\tfrac{4}{\pi}\det(I + 2\Sigma)^{-1/2}`.  Otherwise
    :func:`bivariate_expectation`.

    Raises
    ------
    TypeError
        ``q1``, ``q2`` or ``c`` is not a real number.
    ValueError
        ``q1`` or ``q2`` not finite and > 0, ``c`` outside ``[-1, 1]``, or an unknown ``which``.

    Examples
    --------
    >>> round(cross_moment(get_activation("relu"), 1.0, 1.0, 0.0, "phiphi"), 12) == round(1 / (2 * math.pi), 12)
    True
    """
    q1, q2, c = _check_pair(q1, q2, c)
    if which not in ("phiphi", "dphidphi"):
        raise ValueError(f"which must be one of 'phiphi', 'dphidphi', got {which!r}")
    exact = _cross_closed_form(act, q1, q2, c, which)
    if exact is not None:
        return exact
    fn = act.phi if which == "phiphi" else act.dphi
    return bivariate_expectation(fn, fn, q1, q2, c, act.kinks, act.kinks)


def expected_phi_phi(activation: str | Activation, q1: float, q2: float, c: float, param: float | None = None) -> float:
    r"""``E[phi(u1) phi(u2)]``: the covariance factor of the correlation map (Poole et al. 2016, eq. (5)).

    .. math:: \mathbb{E}[\phi(u_1)\phi(u_2)],\quad u_1 = \sqrt{q_1}z_1,\
              u_2 = \sqrt{q_2}(c z_1 + \sqrt{1-c^2} z_2)

    Examples
    --------
    >>> round(expected_phi_phi("relu", 1.0, 1.0, 1.0), 12)
    0.5
    """
    return cross_moment(get_activation(activation, param), q1, q2, c, "phiphi")


def expected_dphi_dphi(
    activation: str | Activation, q1: float, q2: float, c: float, param: float | None = None
) -> float:
    r"""``E[phi'(u1) phi'(u2)]``: the slope factor of the correlation map (Schoenholz et al. 2017, eq. (6)).

    .. math:: \chi_c = \sigma_w^2\,\mathbb{E}[\phi'(u_1)\phi'(u_2)]

    Examples
    --------
    >>> round(expected_dphi_dphi("relu", 1.0, 1.0, 0.0), 12)
    0.25
    """
    return cross_moment(get_activation(activation, param), q1, q2, c, "dphidphi")


def hermite_coefficients(f: Callable[[Array], Array], q: float, order: int, kinks: Sequence[float] = ()) -> Array:
    r"""``a_k = E[f(sqrt(q) z) He_k(z)] / sqrt(k!)``, ``k = 0..order``: the normalised Hermite coefficients.

    .. math::

        \mathbb{E}[f(\sqrt q z_1) f(\sqrt q z_2)] = \sum_{k \ge 0} a_k^2\, c^k
        \quad (\mathrm{corr}(z_1, z_2) = c,\ 	ext{Mehler's formula}),

    so the truncated sum is a cheap, everywhere-below (all terms are
    non-negative for ``c >= 0``) approximation of the correlation map, exact
    to within ``c^{order+1} (E[f^2] - \sum a_k^2)``.  The coefficients come from
    the panel rule of :func:`gaussian_expectation` (40 points per panel), the
    polynomials from the stable three-term recurrence
    :math:`h_{k+1} = (z h_k - \sqrt{k} h_{k-1})/\sqrt{k+1}`.

    Examples
    --------
    >>> a = hermite_coefficients(lambda x: x, 4.0, 3)
    >>> (np.round(a, 12) + 0.0).tolist()  # + 0.0 turns -0.0 into 0.0
    [0.0, 2.0, 0.0, 0.0]
    """
    check_callable("f", f)
    q = check_real("q", q, positive=True)
    nodes, weights = _gauss_legendre(_GL_ORDER)
    e = _panels(q, kinks)
    half = 0.5 * np.diff(e)
    mid = 0.5 * (e[1:] + e[:-1])
    x = (mid[:, None] + half[:, None] * nodes[None, :]).ravel()
    w = (half[:, None] * weights[None, :]).ravel() * np.exp(-0.5 * x * x / q) / math.sqrt(2.0 * math.pi * q)
    wf = w * f(x)
    z = x / math.sqrt(q)
    out = np.empty(order + 1)
    prev, cur = np.zeros_like(z), np.ones_like(z)
    for k in range(order + 1):
        out[k] = float(np.sum(wf * cur))
        prev, cur = cur, (z * cur - math.sqrt(k) * prev) / math.sqrt(k + 1)
    return out
