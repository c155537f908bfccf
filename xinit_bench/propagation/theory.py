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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Callable, Literal, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special

from .activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE, Activation, get_activation
from .network import InitSpec, resolve_widths, validate_nonneg

__all__ = [
    "CRITERIA",
    "CriticalGain",
    "Criterion",
    "Moment",
    "Prediction",
    "critical_gain",
    "expected_dphi_squared",
    "expected_phi",
    "expected_phi_squared",
    "gain_table",
    "gaussian_expectation",
    "length_map_slope",
    "predict",
    "PYTORCH_GAINS",
]

Moment = Literal["phi", "phi2", "dphi2"]
Criterion = Literal["forward", "backward", "edge_of_chaos"]
CRITERIA: tuple[str, ...] = ("forward", "backward", "edge_of_chaos")
Array = NDArray[np.float64]

#: Gauss-Legendre order per panel and the Gaussian truncation in standard
#: deviations.  Beyond 13 sd the standard normal density is below 1e-36, so the
#: neglected mass of any integrand growing at most polynomially is far below
#: 1e-10 of the total.  The panels agree with scipy's quad to 1e-10 and with
#: mpmath at 30 digits to 1e-12 (tests/test_propagation_theory.py).
_GL_ORDER = 40
_TAIL_SD = 13.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@lru_cache(maxsize=None)
def _gauss_legendre(n: int) -> tuple[Array, Array]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


def _panels(q: float, kinks: Sequence[float]) -> Array:
    """Panel edges in x for ``x ~ N(0, q)``: kinks, every sd, and dyadic activation scales."""
    s = math.sqrt(q)
    lim = _TAIL_SD * s
    edges = [k * s for k in range(-13, 14)]
    edges += [sgn * 2.0 ** j for j in range(-3, 8) for sgn in (-1.0, 1.0)]
    edges += list(kinks)
    e = np.unique(np.clip(np.asarray(edges, dtype=np.float64), -lim, lim))
    return e


def gaussian_expectation(
    f: Callable[[Array], Array], q: float, kinks: Sequence[float] = ()
) -> float:
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

    Examples
    --------
    >>> round(gaussian_expectation(lambda x: x ** 4, 2.0), 12)
    12.0
    """
    if not math.isfinite(q) or q < 0:
        raise ValueError(f"q must be finite and >= 0, got {q!r}")
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
        return {"phi": (1.0 - a) * s / _SQRT_2PI, "phi2": 0.5 * (1.0 + a * a) * q,
                "dphi2": 0.5 * (1.0 + a * a)}[moment]
    if act.name == "elu":
        return _elu_moments(a, q, moment)
    if act.name == "selu":
        scale = SELU_SCALE if moment == "phi" else SELU_SCALE ** 2
        return float(scale * _elu_moments(SELU_ALPHA, q, moment))
    if moment == "phi" and act.odd:
        return 0.0
    return None


def _moment(act: Activation, q: float, moment: str) -> float:
    if not isinstance(q, (int, float, np.integer, np.floating)) or isinstance(q, bool):
        raise TypeError(f"q must be a real number, got {type(q).__name__}")
    q = float(q)
    if not math.isfinite(q) or q < 0:
        raise ValueError(f"q must be finite and >= 0, got {q!r}")
    exact = _closed_form(act, q, moment)
    if exact is not None:
        return exact
    if moment == "phi":
        return gaussian_expectation(act.phi, q, act.kinks)
    if moment == "phi2":
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
    return _moment(get_activation(activation, param), q, "phi")


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
    return _moment(get_activation(activation, param), q, "phi2")


def expected_dphi_squared(activation: str | Activation, q: float, param: float | None = None) -> float:
    r"""``E[phi'(sqrt(q) z)^2]``: the factor of the gradient recursion (Schoenholz et al. 2017, eq. (10)).

    .. math:: \mathbb{E}[\phi'(\sqrt q\, z)^2]

    Examples
    --------
    >>> expected_dphi_squared("leaky_relu", 1.0, 0.5)
    0.625
    """
    return _moment(get_activation(activation, param), q, "dphi2")


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
    if not q > 0:
        raise ValueError(f"q must be > 0, got {q!r}")
    return gaussian_expectation(lambda x: act.phi(x) ** 2 * (x * x / q - 1.0), q, act.kinks) / (2.0 * q)


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
) -> Prediction:
    r"""Mean-field forward and backward prediction for an MLP.

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
    act = get_activation(activation, param)
    ws = resolve_widths(depth, width, widths)
    spec = InitSpec.parse(init, gain)
    validate_nonneg("bias_std", bias_std)
    validate_nonneg("input_second_moment", input_second_moment, strict=True)
    L = len(ws) - 1
    var_w = np.array([spec.variance(ws[l], ws[l + 1]) for l in range(L)])
    sb2 = float(bias_std) ** 2
    q = np.empty(L)
    m2 = np.empty(L)
    mean = np.empty(L)
    d2 = np.empty(L)
    prev = float(input_second_moment)
    for l in range(L):
        q[l] = ws[l] * var_w[l] * prev + sb2
        m2[l] = _moment(act, q[l], "phi2")
        mean[l] = _moment(act, q[l], "phi")
        d2[l] = _moment(act, q[l], "dphi2")
        prev = m2[l]
    ga = np.empty(L)
    gp = np.empty(L)
    g = 1.0
    for l in range(L - 1, -1, -1):
        ga[l] = g
        gp[l] = d2[l] * g
        g = ws[l + 1] * var_w[l] * gp[l]
    a_prev = np.concatenate(([float(input_second_moment)], m2[:-1]))
    return Prediction(
        activation=act.label, widths=ws, init=spec.label, bias_std=float(bias_std),
        input_second_moment=float(input_second_moment), weight_var=var_w, pre_sq=q, act_sq=m2,
        act_var=m2 - mean ** 2, grad_act_sq=ga, grad_pre_sq=gp, weight_grad_var=gp * a_prev,
    )


# --- gains -------------------------------------------------------------------------------
#: ``torch.nn.init.calculate_gain`` for the names it accepts (PyTorch docs,
#: https://pytorch.org/docs/stable/nn.init.html#torch.nn.init.calculate_gain);
#: leaky_relu is ``sqrt(2 / (1 + a^2))``.  PyTorch rejects the other names.
PYTORCH_GAINS: dict[str, Callable[[float], float]] = {
    "linear": lambda a: 1.0,
    "sigmoid": lambda a: 1.0,
    "tanh": lambda a: 5.0 / 3.0,
    "relu": lambda a: math.sqrt(2.0),
    "leaky_relu": lambda a: math.sqrt(2.0 / (1.0 + a * a)),
    "selu": lambda a: 3.0 / 4.0,
}


@dataclass(frozen=True)
class CriticalGain:
    """Result of :func:`critical_gain`.

    ``gain`` is ``sigma_w`` with ``Var[W] = gain^2 / fan_in``; ``bias_std`` is
    ``sigma_b``; ``chi1 = gain^2 E[phi'^2]`` is the per-layer gradient factor;
    ``length_slope`` is the slope of the length map at ``q`` (stable < 1).
    ``feasible`` is False when the edge of chaos needs ``sigma_b^2 < 0``;
    ``stable`` is None when not feasible.
    """

    activation: str
    criterion: str
    q: float
    gain: float
    bias_std: float
    chi1: float
    length_slope: float
    feasible: bool
    stable: bool | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def critical_gain(
    activation: str | Activation,
    criterion: Criterion = "forward",
    q: float = 1.0,
    *,
    param: float | None = None,
) -> CriticalGain:
    r"""The gain that keeps forward or backward variance constant, or the edge of chaos.

    With ``Var[W] = g^2 / fan_in`` on square layers:

    * ``"forward"``: ``q`` is a fixed point of the length map without bias,
      :math:`g^2\,\mathbb{E}[\phi(\sqrt q z)^2] = q` (at ``q = 1``,
      :math:`g^2 \mathbb{E}[\phi^2] = 1`; Glorot & Bengio 2010, He et al. 2015).
    * ``"backward"``: :math:`\chi_1 = g^2\,\mathbb{E}[\phi'(\sqrt q z)^2] = 1`
      (Schoenholz et al. 2017, eq. (5)).
    * ``"edge_of_chaos"``: both at once with a bias, :math:`\sigma_w^2 =
      1/\mathbb{E}[\phi'^2]`, :math:`\sigma_b^2 = q - \sigma_w^2 \mathbb{E}[\phi^2]`
      (Poole et al. 2016; Schoenholz et al. 2017, section 3).  Infeasible when
      :math:`\sigma_b^2 < 0`; the fixed point is stable when the length-map
      slope :math:`\sigma_w^2\, d\mathbb{E}[\phi^2]/dq < 1`.  Neither case
      raises: both are reported in the result.

    Examples
    --------
    >>> round(critical_gain("relu").gain ** 2, 12), round(critical_gain("relu", "backward").gain ** 2, 12)
    (2.0, 2.0)
    """
    act = get_activation(activation, param)
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; allowed: {', '.join(CRITERIA)}")
    if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)):
        raise TypeError(f"q must be a real number, got {type(q).__name__}")
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"q must be finite and > 0, got {q!r}")
    q = float(q)
    m2 = _moment(act, q, "phi2")
    d2 = _moment(act, q, "dphi2")
    slope = length_map_slope(act, q)
    sb2 = 0.0
    feasible = True
    note = ""
    if criterion == "forward":
        g2 = q / m2
    elif criterion == "backward":
        g2 = 1.0 / d2
    else:
        g2 = 1.0 / d2
        sb2 = q - g2 * m2
        if sb2 < -1e-12 * q:
            feasible = False
            note = f"infeasible: needs sigma_b^2 = {sb2:.6g} < 0 at q* = {q:g}"
        sb2 = max(sb2, 0.0)
    s = g2 * slope
    stable: bool | None = None
    if feasible:
        if abs(s - 1.0) <= 1e-9:
            stable, note = True, note or "marginal: length-map slope is exactly 1"
        else:
            stable = bool(s < 1.0)
            note = note or ("stable fixed point" if stable else f"unstable fixed point (slope {s:.4g} > 1)")
    return CriticalGain(act.label, criterion, q, math.sqrt(g2), math.sqrt(sb2), g2 * d2, s, feasible, stable, note)


def gain_table(q: float = 1.0) -> list[dict[str, Any]]:
    """Critical gains of every built-in activation under each criterion, beside PyTorch's.

    Examples
    --------
    >>> [row["activation"] for row in gain_table()][:3]
    ['linear', 'relu', 'leaky_relu(0.01)']
    """
    rows = []
    for name in ACTIVATIONS:
        act = get_activation(name)
        row: dict[str, Any] = {"activation": act.label}
        for crit in CRITERIA:
            row[crit] = critical_gain(act, crit, q)  # type: ignore[arg-type]
        row["pytorch"] = PYTORCH_GAINS[name](act.param) if name in PYTORCH_GAINS else None
        rows.append(row)
    return rows


