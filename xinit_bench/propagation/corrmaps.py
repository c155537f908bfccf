r"""The length and correlation maps of a deep random network, and its phase.

One layer ``h' = W \phi(h) + b`` with ``Var[W] = \sigma_w^2/n``, ``Var[b] = \sigma_b^2`` maps the
second moment ``q`` and the correlation ``c`` of two inputs as (Poole et al. 2016, eqs. (3)
and (5))

.. math::

    \mathcal{V}(q) = \sigma_w^2\,\mathbb{E}[\phi(\sqrt q z)^2] + \sigma_b^2, \qquad
    c' = \frac{\sigma_w^2\,\mathbb{E}[\phi(u_1)\phi(u_2)] + \sigma_b^2}{\sqrt{\mathcal{V}(q_1)\mathcal{V}(q_2)}},

with slope ``\chi_c = \sigma_w^2 E[\phi'(u_1)\phi'(u_2)]`` (Schoenholz et al. 2017, eq. (6)).
Their fixed points and depth scales are in :mod:`xinit_bench.propagation.correlation`, which
re-exports everything here.

References
----------
.. [1] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), https://arxiv.org/abs/1606.05340
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), https://arxiv.org/abs/1611.01232
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from ..activations import Activation, get_activation
from ..bivariate import cross_moment
from ..gauss import moment
from ..validation import check_real

__all__ = ["CRITICAL_TOLERANCE", "Phase", "correlation_map", "correlation_slope", "length_map", "phase"]

#: Half-width of the critical band of chi_1: ``|chi_1 - 1| <= CRITICAL_TOLERANCE`` is critical.
CRITICAL_TOLERANCE = 1e-3
Phase = Literal["ordered", "critical", "chaotic"]


def phase(chi1: float) -> Phase:
    """The mean-field phase of a network with per-layer gradient factor ``chi1``.

    ``"ordered"`` for ``chi1 < 1 - 1e-3``, ``"chaotic"`` for ``chi1 > 1 + 1e-3``,
    ``"critical"`` between (Schoenholz et al. 2017, section 3: over ``L``
    layers the gradient second moment scales as ``chi1^L``).

    Examples
    --------
    >>> phase(1.18), phase(1.0), phase(0.5)
    ('chaotic', 'critical', 'ordered')
    """
    if chi1 > 1.0 + CRITICAL_TOLERANCE:
        return "chaotic"
    if chi1 < 1.0 - CRITICAL_TOLERANCE:
        return "ordered"
    return "critical"


def _params(
    activation: str | Activation, sigma_w2: float, sigma_b2: float, param: float | None
) -> tuple[Activation, float, float]:
    act = get_activation(activation, param)
    sw2 = check_real("sigma_w2", sigma_w2, positive=True)
    sb2 = check_real("sigma_b2", sigma_b2, minimum=0.0)
    return act, sw2, sb2


def _check_c(c: float) -> float:
    c = check_real("c", c, minimum=-1.0)
    if c > 1.0:
        raise ValueError(f"c must be a finite real number in [-1, 1], got {c!r}")
    return c


def length_map(
    activation: str | Activation, sigma_w2: float, sigma_b2: float, q: float, *, param: float | None = None
) -> float:
    r"""The length map ``q -> sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2`` (Poole et al. 2016, eq. (3)).

    .. math:: \mathcal{V}(q) = \sigma_w^2\,\mathbb{E}[\phi(\sqrt q z)^2] + \sigma_b^2

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        An unknown activation, ``sigma_w2`` not > 0, ``sigma_b2`` or ``q`` negative (or not finite).

    Examples
    --------
    >>> length_map("relu", 2.0, 0.5, 3.0)
    3.5
    """
    act, sw2, sb2 = _params(activation, sigma_w2, sigma_b2, param)
    q = check_real("q", q, minimum=0.0)
    return sw2 * moment(act, q, "phi2") + sb2


def correlation_map(
    activation: str | Activation,
    sigma_w2: float,
    sigma_b2: float,
    q1: float,
    q2: float,
    c: float,
    *,
    param: float | None = None,
) -> float:
    r"""``c^{l+1}`` from the second moments ``q1, q2`` and the correlation ``c`` of layer ``l`` (Poole et al., eq. (5)).

    .. math::

        c^{l+1} = \frac{\sigma_w^2\,\mathbb{E}[\phi(u_1)\phi(u_2)] + \sigma_b^2}
                       {\sqrt{\mathcal{V}(q_1)\,\mathcal{V}(q_2)}}

    The result is clipped to ``[-1, 1]`` against rounding.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        ``q1``, ``q2`` not finite and > 0, ``c`` outside ``[-1, 1]``, or a bad activation / ``sigma``.

    Examples
    --------
    >>> round(correlation_map("linear", 1.0, 0.0, 1.0, 1.0, 0.3), 12)
    0.3
    """
    act, sw2, sb2 = _params(activation, sigma_w2, sigma_b2, param)
    q1 = check_real("q1", q1, positive=True)
    q2 = check_real("q2", q2, positive=True)
    c = _check_c(c)
    cov = sw2 * cross_moment(act, q1, q2, c, "phiphi") + sb2
    n1 = sw2 * moment(act, q1, "phi2") + sb2
    n2 = n1 if q2 == q1 else sw2 * moment(act, q2, "phi2") + sb2
    if not n1 > 0 or not n2 > 0:
        raise ValueError(
            f"q1 and q2 must give a non-zero second moment at the next layer, got q1={q1!r}, q2={q2!r} "
            f"for {act.label} with sigma_b2={sb2!r}"
        )
    return float(min(1.0, max(-1.0, cov / (math.sqrt(n1) * math.sqrt(n2)))))  # n1 * n2 may underflow


def correlation_slope(
    activation: str | Activation, sigma_w2: float, sigma_b2: float, q: float, c: float, *, param: float | None = None
) -> float:
    r"""``chi_c = sigma_w2 E[phi'(u1) phi'(u2)]`` at ``q1 = q2 = q`` and correlation ``c`` (Schoenholz et al., eq. (6)).

    .. math:: \chi_c = \sigma_w^2\,\mathbb{E}[\phi'(u_1)\phi'(u_2)]

    ``q = 0`` gives ``sigma_w2 phi'(0)^2``.  ``sigma_b2`` does not enter the
    formula; it is taken (and validated) so that every function of this module
    has the same leading arguments.

    Examples
    --------
    >>> correlation_slope("relu", 2.0, 0.0, 1.0, 1.0)
    1.0
    """
    act, sw2, _ = _params(activation, sigma_w2, sigma_b2, param)
    q = check_real("q", q, minimum=0.0)
    c = _check_c(c)
    if q == 0.0:
        return sw2 * float(act.dphi(np.zeros(1))[0]) ** 2
    return sw2 * cross_moment(act, q, q, c, "dphidphi")
