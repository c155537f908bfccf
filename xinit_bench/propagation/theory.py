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
from dataclasses import asdict, dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from ..activations import Activation, get_activation
from ..gauss import moment
from ..validation import check_real
from .architecture import Network
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (arrays as lists)."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}


@overload
def predict(activation: Network, *, finite_width: bool = False) -> NetworkPrediction: ...


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
) -> Prediction | NetworkPrediction:
    r"""Mean-field forward and backward prediction for an MLP, or for a :class:`Network`.

    ``predict(net)`` with a :class:`~xinit_bench.propagation.architecture.Network`
    returns :func:`~xinit_bench.propagation.nettheory.predict_network` of it
    (``finite_width`` is its option); the keywords below are for the MLP.

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
        return predict_network(activation, finite_width=finite_width)
    act = get_activation(activation, param)
    ws = resolve_widths(depth, width, widths)
    spec = InitSpec.parse(init, gain)
    sb = check_real("bias_std", bias_std, minimum=0.0)
    q0 = check_real("input_second_moment", input_second_moment, positive=True)
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
    )
