r"""Correlation map, fixed points and depth scales of a deep random network (order and chaos).

Two inputs sent through the same random MLP ``h^l = W^l \phi(h^{l-1}) + b^l``
(``Var[W] = \sigma_w^2 / n``, ``Var[b] = \sigma_b^2``) have, at infinite width,
jointly Gaussian pre-activations with second moments ``q_1^l, q_2^l`` and
correlation ``c^l``.  Poole et al. (2016), eqs. (3)-(5), and Schoenholz et al.
(2017), eqs. (2)-(9):

.. math::

    q^{l+1} = \sigma_w^2\,\mathbb{E}[\phi(\sqrt{q^l} z)^2] + \sigma_b^2, \qquad
    c^{l+1} = \frac{\sigma_w^2\,\mathbb{E}[\phi(u_1)\phi(u_2)] + \sigma_b^2}{\sqrt{q_1^{l+1} q_2^{l+1}}},

with :math:`u_1 = \sqrt{q_1^l} z_1`, :math:`u_2 = \sqrt{q_2^l}(c^l z_1 + \sqrt{1 - (c^l)^2} z_2)`.
At the fixed point ``q*`` of the length map and ``c*`` of the correlation map,

.. math::

    \chi_1 = \sigma_w^2\,\mathbb{E}[\phi'(\sqrt{q^*} z)^2], \qquad
    \chi_c = \frac{\partial c^{l+1}}{\partial c^l}\Big|_{c^*} = \sigma_w^2\,\mathbb{E}[\phi'(u_1)\phi'(u_2)]
    \quad (q_1 = q_2 = q^*,\ c = c^*),

the second by Price's theorem, :math:`\partial_{\Sigma_{12}} \mathbb{E}[\phi\phi] = \mathbb{E}[\phi'\phi']`.
Deviations from the fixed points decay as ``e^{-l/\xi}``:

.. math::

    \xi_q^{-1} = -\ln\Big(\sigma_w^2 \frac{d}{dq}\mathbb{E}[\phi(\sqrt q z)^2]\Big|_{q^*}\Big), \qquad
    \xi_c^{-1} = -\ln \chi_c .

``c = 1`` is always a fixed point when ``q_1 = q_2 = q*``, with slope ``\chi_1``.
In the ordered phase (``\chi_1 < 1``) it is the stable one, so ``c* = 1`` and
``\chi_c = \chi_1``.  In the chaotic phase (``\chi_1 > 1``) the stable ``c*`` is
the root of ``c -> f(c) - c`` in ``[0, 1)``: that function is convex on
``[0, 1]`` (the Hermite expansion of ``E[\phi(u_1)\phi(u_2)]`` in ``c`` has
non-negative coefficients), non-negative at 0 and negative just below 1, so
the root is unique.  At ``\chi_1 = 1`` both depth scales diverge (the edge of
chaos).

Some networks have no finite ``q*``: for positively homogeneous activations
(linear, relu, leaky_relu) the length map is ``\sigma_w^2 \kappa q + \sigma_b^2``
with ``\kappa = E[\phi(z)^2]``, bounded only for ``\sigma_w^2 \kappa < 1``
(relu: ``\sigma_w^2 < 2``), marginal (every ``q`` fixed, ``\xi_q = \infty``) at
``\sigma_w^2 \kappa = 1, \sigma_b^2 = 0``, and divergent otherwise.  For other
activations the length map is iterated from ``q0``; a second moment beyond
``1e15`` counts as divergent.  Such points are marked ``bounded=False``, with
``q* = inf`` and ``c*``, ``\xi_q``, ``\xi_c`` NaN rather than a number.

References
----------
.. [1] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential
   expressivity in deep neural networks through transient chaos", NeurIPS.
   https://arxiv.org/abs/1606.05340
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize

from ..activations import Activation
from ..bivariate import hermite_coefficients
from ..gauss import length_map_slope, moment
from ..validation import check_real
from .corrmaps import (
    CRITICAL_TOLERANCE,
    Phase,
    _params,
    correlation_map,
    correlation_slope,
    length_map,
    phase,
)

__all__ = [
    "CRITICAL_TOLERANCE",
    "DepthScales",
    "Phase",
    "correlation_map",
    "correlation_slope",
    "depth_scale",
    "depth_scales",
    "fixed_point_c",
    "fixed_point_q",
    "length_map",
    "phase",
    "scales_at",
]

#: Positively homogeneous activations: ``E[phi(sqrt(q) z)^2] = kappa q``.
_HOMOGENEOUS = ("linear", "relu", "leaky_relu")
#: A second moment beyond this counts as divergent for the iterated length map.
_Q_DIVERGED = 1e15
#: Terms of Mehler's series that locate c* before the exact map polishes it.
_MEHLER_ORDER = 160
#: ``|slope - 1|`` at or below this counts as marginal (a depth scale of inf).
_MARGINAL = 1e-12


@dataclass(frozen=True)
class DepthScales:
    """Fixed points and depth scales of one ``(activation, sigma_w2, sigma_b2)`` point (:func:`depth_scales`).

    Attributes
    ----------
    q_star : fixed point of the length map; ``inf`` when there is none (``bounded`` False).
    c_star : stable fixed point of the correlation map (1.0 in the ordered phase); NaN when unbounded.
    chi_1 : ``sigma_w2 E[phi'(sqrt(q*) z)^2]`` (for an unbounded point, its limit at large ``q``).
    chi_c : slope of the correlation map at ``c*``, ``sigma_w2 E[phi'(u1) phi'(u2)]``.
    xi_q : ``-1 / ln(length-map slope at q*)``; inf at a marginal point; NaN when unbounded.
    xi_c : ``-1 / ln(chi_c)``; inf when ``chi_c == 1``; NaN when unbounded.
    bounded : False when the length map has no finite fixed point.
    phase : :func:`phase` of ``chi_1``.
    """

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    c_star: float
    chi_1: float
    chi_c: float
    xi_q: float
    xi_c: float
    bounded: bool
    phase: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``inf`` and NaN become the strings ``"inf"`` and ``"nan"``)."""
        return {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in asdict(self).items()}


def _homogeneous_q(act: Activation, sw2: float, sb2: float, q0: float) -> float:
    r = sw2 * moment(act, 1.0, "phi2")
    if abs(r - 1.0) <= _MARGINAL and sb2 == 0.0:
        return q0  # every q is a fixed point
    if r < 1.0:
        return sb2 / (1.0 - r)
    return math.inf


def fixed_point_q(
    activation: str | Activation,
    sigma_w2: float,
    sigma_b2: float,
    *,
    param: float | None = None,
    q0: float = 1.0,
) -> float:
    r"""The fixed point ``q*`` of the length map reached from ``q0``; ``inf`` when it diverges.

    .. math:: q^* = \sigma_w^2\,\mathbb{E}[\phi(\sqrt{q^*} z)^2] + \sigma_b^2

    Closed form ``sigma_b2 / (1 - sigma_w2 kappa)`` for linear, relu and
    leaky_relu (``q0`` itself at the marginal point ``sigma_w2 kappa = 1,
    sigma_b2 = 0``).  Otherwise 64 iterations of the map from ``q0``, then Brent's
    method on ``V(q) - q`` in a bracket grown from the last iterate in the
    direction the iteration moves, so the root found is the one the iteration
    converges to.  For tanh, erf and hard_tanh with ``sigma_b2 = 0`` and
    ``sigma_w2 phi'(0)^2 <= 1`` it is 0 (the signal dies out).

    Raises
    ------
    TypeError, ValueError
        As :func:`length_map`; ``q0`` not finite and > 0.

    Examples
    --------
    >>> fixed_point_q("relu", 1.0, 0.5)
    1.0
    >>> fixed_point_q("relu", 2.5, 0.0)
    inf
    """
    act, sw2, sb2 = _params(activation, sigma_w2, sigma_b2, param)
    q0 = check_real("q0", q0, positive=True)
    if act.name in _HOMOGENEOUS:
        return _homogeneous_q(act, sw2, sb2, q0)

    if act.odd and sb2 == 0.0 and sw2 * float(act.dphi(np.zeros(1))[0]) ** 2 <= 1.0:
        # The odd activations here (tanh, erf, hard_tanh) obey |phi(x)| <= |phi'(0) x|, so V(q) < q for
        # every q > 0: the signal dies out, q* = 0.
        return 0.0

    def gap(q: float) -> float:
        return sw2 * moment(act, q, "phi2") + sb2 - q

    q = q0
    for _ in range(64):
        nq = max(q + gap(q), 0.0)
        if not math.isfinite(nq) or nq > _Q_DIVERGED:
            return math.inf
        if abs(nq - q) <= 1e-15 * nq or nq == 0.0:
            return nq
        q = nq
    g = gap(q)
    if g == 0.0:
        return q
    lo, hi = q, q
    if g > 0:
        while gap(hi) > 0:
            lo, hi = hi, 2.0 * hi
            if hi > _Q_DIVERGED:
                return math.inf
    else:
        while lo > 1e-300 and gap(lo) < 0:
            hi, lo = lo, 0.5 * lo
        if lo <= 1e-300:
            return 0.0
    return float(optimize.brentq(gap, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=200))


def fixed_point_c(
    activation: str | Activation, sigma_w2: float, sigma_b2: float, q: float, *, param: float | None = None
) -> float:
    r"""The stable fixed point ``c*`` of the correlation map at ``q1 = q2 = q`` (normally ``q = q*``).

    .. math:: c^* = \frac{\sigma_w^2\,\mathbb{E}[\phi(u_1)\phi(u_2)] + \sigma_b^2}{\mathcal{V}(q)}

    1.0 when ``chi_1 = sigma_w2 E[phi'(sqrt(q) z)^2] <= 1`` (ordered and
    critical); otherwise the unique root in ``[0, 1)`` of the convex ``f(c) - c``
    (module docstring), by Brent's method: first on Mehler's series
    :math:`f(c) \approx (\sigma_w^2 \sum_{k \le 160} a_k^2 c^k + \sigma_b^2)/\mathcal{V}(q)`
    (:func:`~xinit_bench.gauss.hermite_coefficients`), then on the exact map in
    a bracket of ``±1e-7`` (grown by 100 until it holds the root) around that
    estimate.  ``q = 0`` (a signal that has died out) gives 1.0.

    Raises
    ------
    TypeError, ValueError
        As :func:`length_map`.

    Examples
    --------
    >>> fixed_point_c("tanh", 0.5, 0.1, fixed_point_q("tanh", 0.5, 0.1))
    1.0
    """
    act, sw2, sb2 = _params(activation, sigma_w2, sigma_b2, param)
    q = check_real("q", q, minimum=0.0)
    if q == 0.0 or sw2 * moment(act, q, "dphi2") <= 1.0:
        return 1.0

    def h(c: float) -> float:
        return correlation_map(act, sw2, sb2, q, q, c) - c

    norm = sw2 * moment(act, q, "phi2") + sb2
    if (sw2 * moment(act, q, "phi") ** 2 + sb2) / norm <= 0.0:  # h(0): E[phi(u1) phi(u2)] = E[phi]^2 at c = 0
        return 0.0
    # Locate the root on Mehler's series (hermite_coefficients), which costs one 1-d quadrature, then
    # polish it on the exact map inside a bracket grown around the estimate: a handful of 2-d
    # quadratures instead of a few dozen.
    a2 = hermite_coefficients(act.phi, q, _MEHLER_ORDER, act.kinks) ** 2

    def series(c: float) -> float:
        return float((sw2 * np.polynomial.polynomial.polyval(c, a2) + sb2) / norm - c)

    guess = None
    for k in range(1, 13):
        top = 1.0 - 10.0**-k
        if series(top) < 0.0:
            guess = float(optimize.brentq(series, 0.0, top, xtol=1e-15, rtol=1e-15, maxiter=200))
            break
    if guess is not None:
        delta = 1e-7
        while delta < 1.0:
            lo, hi = max(guess - delta, 0.0), min(guess + delta, 1.0 - 1e-15)
            if h(lo) >= 0.0 > h(hi):
                return float(optimize.brentq(h, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=200))
            delta *= 100.0
    for k in range(1, 13):  # the series did not bracket it: search on the exact map
        top = 1.0 - 10.0**-k
        if h(top) < 0.0:
            return float(optimize.brentq(h, 0.0, top, xtol=1e-15, rtol=1e-15, maxiter=200))
    return 1.0  # chi_1 so close to 1 that c* is within 1e-12 of 1


def depth_scale(slope: float) -> float:
    r"""``-1 / ln(slope)``: inf within 1e-12 of 1 (marginal), NaN above 1 (unstable), 0 at 0.

    .. math:: \xi = -1 / \ln \chi

    Examples
    --------
    >>> round(depth_scale(0.5), 12)
    1.442695040889
    """
    if abs(slope - 1.0) <= _MARGINAL:
        return math.inf
    if 0.0 < slope < 1.0:
        return -1.0 / math.log(slope)
    if slope == 0.0:
        return 0.0
    return math.nan  # an unstable fixed point: no decay, no depth scale


def depth_scales(
    activation: str | Activation, sigma_w2: float, sigma_b2: float, *, param: float | None = None
) -> DepthScales:
    r"""``q*``, ``c*``, ``chi_1``, ``chi_c`` and the depth scales ``xi_q``, ``xi_c`` of one point.

    .. math::

        \xi_q = -\frac{1}{\ln\big(\sigma_w^2\, \partial_q \mathbb{E}[\phi(\sqrt q z)^2]|_{q^*}\big)},\qquad
        \xi_c = -\frac{1}{\ln \chi_c}

    (Schoenholz et al. 2017, eqs. (4) and (9)); see the module docstring for
    the fixed points and the unbounded case.

    Raises
    ------
    TypeError, ValueError
        As :func:`length_map`.

    Examples
    --------
    >>> d = depth_scales("relu", 1.5, 0.1)
    >>> d.q_star, d.c_star, round(d.chi_1, 12), round(d.xi_c, 6)
    (0.4, 1.0, 0.75, 3.476059)
    >>> depth_scales("relu", 2.5, 0.0).bounded
    False
    """
    act, sw2, sb2 = _params(activation, sigma_w2, sigma_b2, param)
    qs = fixed_point_q(act, sw2, sb2)
    if not math.isfinite(qs):
        with np.errstate(over="ignore", invalid="ignore"):
            chi1 = sw2 * moment(act, 1.0 if act.name in _HOMOGENEOUS else _Q_DIVERGED, "dphi2")
        return DepthScales(
            act.label, sw2, sb2, math.inf, math.nan, chi1, math.nan, math.nan, math.nan, False, phase(chi1)
        )
    return _scales(act, sw2, sb2, qs)


def scales_at(
    activation: str | Activation, sigma_w2: float, sigma_b2: float, q: float, *, param: float | None = None
) -> DepthScales:
    r"""As :func:`depth_scales`, with ``q`` taken as the fixed point ``q*`` instead of searched for.

    For a point built so that ``q`` is on the length map (the forward gain and
    the edge of chaos of :func:`~xinit_bench.propagation.critical.critical_gain`),
    this skips the search and keeps the fixed point the construction chose,
    stable or not (``xi_q`` is NaN for an unstable one).

    Examples
    --------
    >>> round(scales_at("relu", 1.5, 0.1, 0.4).xi_c, 6)
    3.476059
    """
    act, sw2, sb2 = _params(activation, sigma_w2, sigma_b2, param)
    return _scales(act, sw2, sb2, check_real("q", q, minimum=0.0))


def _scales(act: Activation, sw2: float, sb2: float, qs: float) -> DepthScales:
    chi1 = sw2 * moment(act, qs, "dphi2")
    cs = fixed_point_c(act, sw2, sb2, qs)
    chic = correlation_slope(act, sw2, sb2, qs, cs)
    # d/dq E[phi(sqrt(q) z)^2] at q = 0 is phi'(0)^2 when phi(0) = 0, so the slope there is chi_1.
    slope_q = chi1 if qs == 0.0 else sw2 * length_map_slope(act, qs)
    return DepthScales(
        act.label, sw2, sb2, qs, cs, chi1, chic, depth_scale(slope_q), depth_scale(chic), True, phase(chi1)
    )
