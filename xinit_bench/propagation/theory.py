r"""Mean-field theory of signal and gradient propagation through deep MLPs.

For a layer ``h^l = W^l a^{l-1} + b^l``, ``a^l = phi(h^l)``, with i.i.d.
weights of variance ``Var[W^l]`` and biases of variance ``sigma_b^2``, the
pre-activations are Gaussian in the infinite-width limit and their second
moment obeys the length map (Poole et al. 2016, eq. (3); Schoenholz et al.
2017, eq. (2)):

.. math::

    q^l = n_{l-1}\,\mathrm{Var}[W^l]\;
          \mathbb{E}_{z\sim N(0,1)}\big[\phi(\sqrt{q^{l-1}}\,z)^2\big] + \sigma_b^2 .

Back-propagated gradients obey (Schoenholz et al. 2017, eq. (10), under the
gradient-independence assumption; Glorot & Bengio 2010, eq. (7)):

.. math::

    \frac{\mathbb{E}[(\partial L/\partial a^{l-1})^2]}{\mathbb{E}[(\partial L/\partial a^{l})^2]}
        = n_l\,\mathrm{Var}[W^l]\;\mathbb{E}\big[\phi'(\sqrt{q^l}\,z)^2\big] .

Two inputs with the same second moment ``q^0`` and correlation ``c^0`` (the
``c0`` of :func:`predict`) have pre-activations whose cross moment obeys the
correlation map (Poole et al. 2016, eq. (5);
:mod:`xinit_bench.propagation.correlation`):

.. math::

    q_{12}^1 = n_0\,\mathrm{Var}[W^1]\,c^0 q^0 + \sigma_b^2, \qquad
    q_{12}^l = n_{l-1}\mathrm{Var}[W^l]\,\mathbb{E}[\phi(u_1)\phi(u_2)] + \sigma_b^2,
    \qquad c^l = q_{12}^l / q^l,

with ``(u_1, u_2)`` centred Gaussian, variances ``q^{l-1}`` and correlation ``c^{l-1}``.

References
----------
.. [1] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential
   expressivity in deep neural networks through transient chaos", NeurIPS.
   https://arxiv.org/abs/1606.05340
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232
.. [3] Glorot & Bengio (2010), "Understanding the difficulty of training deep
   feedforward neural networks", AISTATS.
   https://proceedings.mlr.press/v9/glorot10a.html
.. [4] He, Zhang, Ren & Sun (2015), "Delving Deep into Rectifiers", ICCV.
   https://arxiv.org/abs/1502.01852

The Gaussian expectations these recursions need live in :mod:`xinit_bench.gauss`,
the critical gains in :mod:`xinit_bench.propagation.critical`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from ..activations import Activation, get_activation
from ..bivariate import cross_moment
from ..gauss import moment
from ..validation import check_real
from .architecture import Network
from .correlation import DepthScales, depth_scales
from .netcorr import mlp_point, network_correlation
from .nettheory import NetworkPrediction, predict_network
from .network import InitSpec, resolve_widths

__all__ = ["Prediction", "predict"]

Array = NDArray[np.float64]


# --- predictions -------------------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    """Mean-field per-layer prediction (layers ``1..L``; index 0 is layer 1).

    Attributes
    ----------
    pre_sq : q^l, second moment of the pre-activations.
    act_sq, act_var : second moment and variance of the activations.
    grad_act_sq : second moment of dL/da^l (1 at the top).
    grad_pre_sq : second moment of dL/dh^l.
    weight_grad_var : per-example variance of dL/dW^l, ``grad_pre_sq[l] * E[(a^{l-1})^2]``.
    weight_var : Var[W^l].
    correlation : c^l, the correlation of the pre-activations of two inputs with correlation ``c0``
        (None when ``predict`` was not given ``c0``).
    c_star, chi_c, xi_c, xi_q, chi_1 : the fixed point of the correlation map, its slope and the depth
        scales of the last layer's map, ``sigma_w^2 = n_{L-1} Var[W^L]``, ``sigma_b^2`` (every layer's when
        the widths are equal); NaN where the length map has no finite fixed point (:attr:`scales`).
    """

    activation: str
    widths: tuple[int, ...]
    init: str
    bias_std: float
    input_second_moment: float
    weight_var: Array
    pre_sq: Array
    act_sq: Array
    act_var: Array
    grad_act_sq: Array
    grad_pre_sq: Array
    weight_grad_var: Array
    correlation: Array | None = None
    c0: float | None = None
    param: float = field(default=0.0, repr=False)

    @cached_property
    def scales(self) -> DepthScales:
        """:func:`~xinit_bench.propagation.correlation.depth_scales` of the last layer's map (computed once)."""
        sw2 = float(self.widths[-2] * self.weight_var[-1])
        return depth_scales(Activation(self.activation.split("(")[0], self.param), sw2, self.bias_std**2)

    @property
    def c_star(self) -> float:
        """Stable fixed point of the correlation map (1 in the ordered phase)."""
        return self.scales.c_star

    @property
    def chi_c(self) -> float:
        """Slope of the correlation map at ``c_star``."""
        return self.scales.chi_c

    @property
    def xi_c(self) -> float:
        """Correlation depth scale ``-1 / ln chi_c``."""
        return self.scales.xi_c

    @property
    def xi_q(self) -> float:
        """Length depth scale, from the slope of the length map at ``q*``."""
        return self.scales.xi_q

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (arrays as lists); with ``c0``, also the depth scales under ``"scales"``."""
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}
        if self.c0 is not None:
            out["scales"] = self.scales.to_dict()
        return out


@overload
def predict(activation: Network, *, finite_width: bool = False, c0: float | None = None) -> NetworkPrediction: ...


@overload
def predict(
    activation: str | Activation,
    *,
    depth: int | None = None,
    width: int | None = None,
    widths: Sequence[int] | None = None,
    init: str | InitSpec = "he_normal",
    gain: float | None = None,
    bias_std: float = 0.0,
    input_second_moment: float = 1.0,
    param: float | None = None,
    c0: float | None = None,
) -> Prediction: ...


def predict(
    activation: str | Activation | Network,
    *,
    depth: int | None = None,
    width: int | None = None,
    widths: Sequence[int] | None = None,
    init: str | InitSpec = "he_normal",
    gain: float | None = None,
    bias_std: float = 0.0,
    input_second_moment: float = 1.0,
    param: float | None = None,
    finite_width: bool = False,
    c0: float | None = None,
) -> Prediction | NetworkPrediction:
    r"""Mean-field forward and backward prediction for an MLP, or for a :class:`Network`.

    ``predict(net)`` with a :class:`~xinit_bench.propagation.architecture.Network`
    returns :func:`~xinit_bench.propagation.nettheory.predict_network` of it
    (``finite_width`` is its option), with the correlations of
    :mod:`~xinit_bench.propagation.netcorr` when ``c0`` is given; the other
    keywords are for the MLP.

    Forward (layer 1 sees the raw input, second moment ``q^0``):

    .. math::

        q^1 = n_0 \mathrm{Var}[W^1] q^0 + \sigma_b^2, \qquad
        q^l = n_{l-1}\mathrm{Var}[W^l]\,\mathbb{E}[\phi(\sqrt{q^{l-1}}z)^2] + \sigma_b^2 .

    Backward, from ``E[(dL/da^L)^2] = 1``:

    .. math::

        \mathbb{E}[\delta_l^2] = \mathbb{E}[\phi'(\sqrt{q^l}z)^2]\,\mathbb{E}[(dL/da^l)^2],\qquad
        \mathbb{E}[(dL/da^{l-1})^2] = n_l \mathrm{Var}[W^l]\,\mathbb{E}[\delta_l^2],

    and the per-example weight gradient ``dL/dW^l_{ij} = delta^l_i a^{l-1}_j``
    has variance ``E[delta_l^2] E[(a^{l-1})^2]`` (Glorot & Bengio 2010, eq. (6)).
    The prediction depends on the weights only through their variance, so it is
    the same for uniform, normal and truncated-normal weights.

    Parameters
    ----------
    activation : str or Activation
    depth, width : int, optional
        ``depth`` layers of ``width`` units on an input of ``width`` units.
    widths : sequence of int, optional
        ``(n_0, n_1, ..., n_L)``; exclusive with ``depth`` and ``width``.
    init : str or InitSpec
        e.g. ``"he_normal"``, ``"xavier_uniform"``, ``"standard"``.
    gain : float, optional
        Overrides the scheme's default gain.
    bias_std : float
        ``sigma_b >= 0``.
    input_second_moment : float
        ``q^0 > 0``.
    param : float, optional
        Activation parameter (leaky_relu slope, elu alpha).
    c0 : float, optional
        Correlation in ``[-1, 1]`` of two inputs of second moment ``q^0``: the
        result then holds ``correlation``, ``c^l`` layer by layer (module
        docstring).  The depth scales (``c_star``, ``chi_c``, ``xi_c``,
        ``xi_q``) are available either way.

    Returns
    -------
    Prediction

    Examples
    --------
    >>> p = predict("relu", depth=3, width=100, init="xavier_normal")
    >>> p.pre_sq.tolist()
    [1.0, 0.5, 0.25]
    """
    if isinstance(activation, Network):
        pred = predict_network(activation, finite_width=finite_width)
        point = mlp_point(activation)
        if c0 is None:
            return replace(pred, point=point)
        net_c, cross = network_correlation(activation, _check_c0(c0))
        return replace(pred, correlation=net_c, cross=cross, c0=float(c0), point=point)
    act = get_activation(activation, param)
    ws = resolve_widths(depth, width, widths)
    spec = InitSpec.parse(init, gain)
    sb = check_real("bias_std", bias_std, minimum=0.0)
    q0 = check_real("input_second_moment", input_second_moment, positive=True)
    c_0 = None if c0 is None else _check_c0(c0)
    L = len(ws) - 1
    spec.check_fits(ws, np.float64)
    var_w = np.array([spec.variance(ws[l], ws[l + 1]) for l in range(L)])
    sb2 = sb * sb
    q = np.empty(L)
    m2 = np.empty(L)
    mean = np.empty(L)
    d2 = np.empty(L)
    prev = q0
    for l in range(L):
        q[l] = ws[l] * float(var_w[l]) * prev + sb2  # Python floats: an overflow is inf, refused below
        if not math.isfinite(q[l]):
            raise ValueError(
                f"gain, bias_std, input_second_moment and param must keep the second moment q^l finite in "
                f"float64, got gain={spec.gain!r}, bias_std={sb!r}, input_second_moment={q0!r}, param={param!r} "
                f"(q^{l + 1} overflows)"
            )
        m2[l] = moment(act, q[l], "phi2")
        mean[l] = moment(act, q[l], "phi")
        d2[l] = moment(act, q[l], "dphi2")
        prev = float(m2[l])
    ga = np.empty(L)
    gp = np.empty(L)
    g = 1.0
    for l in range(L - 1, -1, -1):
        ga[l] = g
        gp[l] = d2[l] * g
        g = ws[l + 1] * var_w[l] * gp[l]
    a_prev = np.concatenate(([q0], m2[:-1]))
    corr = None if c_0 is None else _correlations(act, ws, var_w, sb2, q0, c_0, q)
    return Prediction(
        activation=act.label,
        widths=ws,
        init=spec.label,
        bias_std=sb,
        input_second_moment=q0,
        weight_var=var_w,
        pre_sq=q,
        act_sq=m2,
        act_var=m2 - mean**2,
        grad_act_sq=ga,
        grad_pre_sq=gp,
        weight_grad_var=gp * a_prev,
        correlation=corr,
        c0=c_0,
        param=act.param,
    )


def _check_c0(c0: Any) -> float:
    """``c0`` as a float in ``[-1, 1]``, or the house TypeError / ValueError naming it."""
    v = check_real("c0", c0, minimum=-1.0)
    if v > 1.0:
        raise ValueError(f"c0 must be a finite real number in [-1, 1], got {c0!r}")
    return v


def _correlations(
    act: Activation, ws: tuple[int, ...], var_w: Array, sb2: float, q0: float, c0: float, q: Array
) -> Array:
    """``c^l`` of the pre-activations, layers ``1..L`` (module docstring)."""
    L = len(ws) - 1
    c = np.empty(L)
    cross = c0 * q0  # E[x_1 x_2] of the raw input
    for l in range(L):
        if l > 0:
            cross = cross_moment(act, float(q[l - 1]), float(q[l - 1]), float(c[l - 1]), "phiphi")
        c[l] = min(1.0, max(-1.0, (ws[l] * float(var_w[l]) * cross + sb2) / float(q[l])))
    return c
