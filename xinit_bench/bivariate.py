r"""Bivariate Gaussian expectations of activations: the correlation map of two inputs.

The correlation map of the mean-field theory (:mod:`xinit_bench.propagation.correlation`)
needs, for a centred Gaussian pair of variances ``q1, q2`` and correlation ``c``,

.. math::

    \mathbb{E}[\phi(u_1)\phi(u_2)], \qquad \mathbb{E}[\phi'(u_1)\phi'(u_2)], \qquad
    u_1 = \sqrt{q_1} z_1,\quad u_2 = \sqrt{q_2}\,(c z_1 + \sqrt{1-c^2} z_2),

in closed form for linear, relu and leaky_relu (the arc-cosine kernels of Cho
& Saul 2009) and erf (Williams 1997), otherwise by nested panel quadrature
(:func:`bivariate_expectation`) on the rule of :mod:`xinit_bench.gauss`.
:func:`hermite_coefficients` gives Mehler's series of the same map.

References
----------
.. [1] Cho & Saul (2009), "Kernel Methods for Deep Learning", NeurIPS, eq. (6)
   with n = 0, 1 (the arc-cosine kernels).
   https://papers.nips.cc/paper/3628-kernel-methods-for-deep-learning
.. [2] Williams (1997), "Computing with Infinite Networks", NeurIPS, eq. (11)
   (the erf kernel).
.. [3] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential
   expressivity in deep neural networks through transient chaos", NeurIPS.
   https://arxiv.org/abs/1606.05340
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .activations import Activation, get_activation
from .gauss import _GL_ORDER, _SQRT_2PI, _erf_d2, _gauss_legendre, _panels, gaussian_expectation
from .validation import check_callable, check_real

__all__ = [
    "CrossMoment",
    "bivariate_expectation",
    "cross_moment",
    "expected_dphi_dphi",
    "expected_phi_phi",
    "hermite_coefficients",
]

CrossMoment = Literal["phiphi", "dphidphi"]
Array = NDArray[np.float64]


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
