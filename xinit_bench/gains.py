"""Recommended gains for nonlinearities: PyTorch's table, and derived gains for the rest.

This module is the one source of PyTorch's gain table (:data:`PYTORCH_GAINS`);
:func:`xinit_bench.propagation.gain_table` shows it beside the critical gains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

from .validation import check_choice, check_real

__all__ = [
    "DERIVED_NAMES",
    "MAX_GAIN",
    "PYTORCH_GAINS",
    "TORCH_NAMES",
    "calculate_gain",
    "forward_gain",
    "he_gain",
    "scheme_gain",
]

_UNIT = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")

#: ``torch.nn.init.calculate_gain``, reproduced exactly: name -> gain as a
#: function of the parameter (only leaky_relu's negative slope ``a`` matters:
#: :math:`\sqrt{2 / (1 + a^2)}`).  PyTorch docs,
#: https://pytorch.org/docs/stable/nn.init.html#torch.nn.init.calculate_gain
PYTORCH_GAINS: Mapping[str, Callable[[float], float]] = MappingProxyType(
    {
        **{name: (lambda a: 1.0) for name in _UNIT},
        "tanh": lambda a: 5.0 / 3,
        "relu": lambda a: math.sqrt(2.0),
        "leaky_relu": lambda a: math.sqrt(2.0 / (1 + a * a)),
        "selu": lambda a: 3.0 / 4,
    }
)
#: The names PyTorch accepts.
TORCH_NAMES: tuple[str, ...] = tuple(PYTORCH_GAINS)
#: Activations PyTorch rejects, for which xinit-bench derives the gain.
DERIVED_NAMES: tuple[str, ...] = ("gelu", "silu", "elu", "mish", "softplus", "erf", "hard_tanh")

#: :math:`\mathbb E[\phi(z)^2]`, :math:`z \sim N(0, 1)`, in closed form where the derived gain has one:
#: erf's arcsine law (Williams 1997) and hard_tanh's ``1 - 2 pdf(1)`` (see :func:`calculate_gain`).
_SECOND_MOMENTS: Mapping[str, float] = MappingProxyType(
    {
        "erf": 2.0 / math.pi * math.asin(2.0 / 3.0),
        "hard_tanh": 1.0 - math.sqrt(2.0 / (math.pi * math.e)),
    }
)
#: PyTorch's default negative slope of leaky_relu.
LEAKY_RELU_SLOPE = 0.01


def forward_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The forward-criterion gain :math:`g = 1 / \sqrt{\mathbb E[\phi(z)^2]}`, :math:`z \sim N(0, 1)`.

    With :math:`\mathrm{Var}[W] = g^2 / \text{fan\_in}` it keeps the second
    moment of the pre-activations at 1 from layer to layer (the length map of
    Poole et al. 2016 has the fixed point :math:`q^* = 1`); the same value as
    ``xinit_bench.propagation.critical_gain(nonlinearity, "forward").gain``.

    Parameters
    ----------
    nonlinearity : str
        A name of :data:`xinit_bench.activations.ACTIVATIONS`.
    param : float, optional
        leaky_relu's slope or elu's alpha.

    Examples
    --------
    >>> forward_gain("relu") == math.sqrt(2.0)
    True
    """
    # Imported here, not at the top: they load SciPy and the activation kernels
    # (Numba), which ``import xinit_bench`` would otherwise pay for.
    from .activations import get_activation
    from .gauss import moment

    act = get_activation(nonlinearity, param)
    if act.name == "elu" and act.param > 1e150:
        # E[phi^2] = 1/2 + alpha^2 c overflows for alpha beyond ~1e154 while the gain,
        # about 1 / (alpha sqrt(c)), is still a float: divide alpha^2 out first.
        alpha = act.param
        c = moment(get_activation("elu", 1.0), 1.0, "phi2") - 0.5
        return _normal_gain("param", param, 1.0 / (alpha * math.sqrt(0.5 / alpha / alpha + c)))
    m2 = moment(act, 1.0, "phi2")
    return _normal_gain("param", param, math.sqrt(1.0 / m2))


def _normal_gain(name: str, param: float | None, gain: float) -> float:
    """``gain``, after checking that it is a normal float64 (neither 0 nor subnormal, nor infinite)."""
    if not (_SMALLEST_NORMAL <= gain < math.inf):
        raise ValueError(
            f"{name} must give a gain in float64's normal range [2.2e-308, 1.8e308], got {param!r} (gain {gain:.6g})"
        )
    return gain


_SMALLEST_NORMAL = 2.2250738585072014e-308


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain :math:`g` for weights followed by ``nonlinearity``.

    For PyTorch's names the values are PyTorch's, exactly:

    ==================================  ========================================
    nonlinearity                        gain
    ==================================  ========================================
    linear, conv*, conv_transpose*,     :math:`1`
    sigmoid
    tanh                                :math:`5/3`
    relu                                :math:`\\sqrt 2`
    leaky_relu (slope ``param``,        :math:`\\sqrt{2 / (1 + a^2)}`
    default 0.01)
    selu                                :math:`3/4`
    ==================================  ========================================

    For ``gelu``, ``silu``, ``elu`` (``param`` = alpha, default 1), ``mish``,
    ``softplus``, ``erf`` and ``hard_tanh``, which PyTorch rejects, the gain
    is the forward-criterion gain of mean-field theory (:func:`forward_gain`):
    the :math:`g` with :math:`g^2\\,\\mathbb E[\\phi(z)^2] = 1` for
    :math:`z \\sim N(0, 1)`, which keeps the pre-activation second moment at 1
    from layer to layer.  ReLU's :math:`\\sqrt 2` is this gain too; tanh's
    :math:`5/3` is PyTorch's convention, not a moment.  The first five are
    computed by quadrature (:mod:`xinit_bench.gauss`); erf and hard_tanh have
    closed forms, used here:

    .. math::

        \\mathbb E[\\operatorname{erf}(z)^2] = \\frac{2}{\\pi} \\arcsin\\frac{2}{3},
        \\qquad g_{\\text{erf}} = 1.46716695\\ldots

    (Williams 1997: :math:`\\mathbb E[\\operatorname{erf}(az)^2] = \\frac{2}{\\pi}
    \\arcsin\\frac{2a^2}{1 + 2a^2}` at :math:`a = 1`), and, with
    :math:`\\operatorname{hard\\_tanh}(z) = \\operatorname{clip}(z, -1, 1)`,
    :math:`\\Phi` and :math:`\\varphi` the normal CDF and pdf,

    .. math::

        \\mathbb E[\\operatorname{hard\\_tanh}(z)^2]
        = \\underbrace{2\\Phi(1) - 1 - 2\\varphi(1)}_{\\mathbb E[z^2;\\,|z| < 1]}
        + \\underbrace{2 - 2\\Phi(1)}_{P(|z| \\ge 1)}
        = 1 - 2\\varphi(1) = 1 - \\sqrt{2 / (\\pi e)},
        \\qquad g_{\\text{hard\\_tanh}} = 1.39203614\\ldots

    For these two saturating odd activations the forward gain without bias
    is in the chaotic phase (:math:`\\chi_1 = 1.226` for erf, :math:`1.323`
    for hard_tanh at :math:`q^* = 1`): it fixes the forward second moment, not
    the gradients.  ``xinit_bench.propagation.critical_gain(name,
    "edge_of_chaos")`` gives the gain and bias at :math:`\\chi_1 = 1`.

    Raises
    ------
    TypeError
        ``nonlinearity`` is not a str, or ``param`` is not a real number
        (PyTorch raises ``ValueError`` for a non-numeric slope).
    ValueError
        An unknown name, or a ``param`` that is NaN or infinite, or that the
        nonlinearity does not take.

    References
    ----------
    PyTorch ``torch.nn.init.calculate_gain``.
    C. K. I. Williams, "Computing with infinite networks", NeurIPS 1996
    (MIT Press 1997): the arcsine moment of erf.
    B. Poole et al., "Exponential expressivity in deep neural networks through
    transient chaos", NeurIPS 2016.  https://arxiv.org/abs/1606.05340

    Examples
    --------
    >>> calculate_gain("tanh")
    1.6666666666666667
    >>> calculate_gain("leaky_relu", 0.2)
    1.3867504905630728
    """
    name = check_choice("nonlinearity", nonlinearity, TORCH_NAMES + DERIVED_NAMES)
    if name == "leaky_relu":
        slope = LEAKY_RELU_SLOPE if param is None else check_real("param", param)
        if abs(slope) > 1e150:  # 1 + a^2 overflows: sqrt(2 / a^2) to full precision (1/a^2 is below 1e-300)
            return _normal_gain("param", param, math.sqrt(2.0) / abs(slope))
        return PYTORCH_GAINS[name](slope)
    if name in PYTORCH_GAINS:
        return PYTORCH_GAINS[name](0.0)
    if name in _SECOND_MOMENTS:
        if param is not None:
            raise ValueError(
                f"param must be None for nonlinearity {name!r}, which takes no parameter (only leaky_relu and elu "
                f"do), got {check_real('param', param)!r}"
            )
        return math.sqrt(1.0 / _SECOND_MOMENTS[name])
    return forward_gain(name, None if param is None else check_real("param", param))


#: Largest gain whose square, the variance scale, is a finite float64: sqrt(1.797e308).
MAX_GAIN = math.sqrt(float.fromhex("0x1.fffffffffffffp+1023"))


def scheme_gain(gain: float, nonlinearity: str | None) -> float:
    """The gain of a Xavier or LeCun call: ``gain``, or ``calculate_gain(nonlinearity)`` in its place.

    Raises
    ------
    ValueError
        A negative, non-finite or too large gain (``gain**2`` must be a finite
        float64), or both a gain other than 1 and a nonlinearity.

    Examples
    --------
    >>> scheme_gain(1.0, "tanh")
    1.6666666666666667
    """
    g = check_real("gain", gain, minimum=0.0)
    if g > MAX_GAIN:
        raise ValueError(f"gain must be a finite real number in [0, 1.34e154] (gain**2 finite), got {gain!r}")
    if nonlinearity is None:
        return g
    if g != 1.0:
        raise ValueError(f"pass either gain= or nonlinearity=, not both (got gain={gain!r})")
    return calculate_gain(nonlinearity)


def he_gain(a: float, nonlinearity: str) -> float:
    """The gain of a He (Kaiming) call: ``calculate_gain(nonlinearity, a)``, the slope ``a`` only for leaky_relu.

    As ``torch.nn.init.kaiming_*``: ``a`` is leaky_relu's negative slope and is
    ignored for every other nonlinearity, :math:`g = \\sqrt{2 / (1 + a^2)}`.

    Raises
    ------
    ValueError
        A slope whose gain leaves float64's normal range, named as ``a``.

    Examples
    --------
    >>> he_gain(0.0, "leaky_relu") == math.sqrt(2.0)
    True
    """
    slope = check_real("a", a)
    try:
        return calculate_gain(nonlinearity, slope if nonlinearity == "leaky_relu" else None)
    except ValueError as exc:  # a slope whose gain leaves float64's normal range
        if not str(exc).startswith("param "):
            raise
        raise ValueError(f"a must give a gain in float64's normal range, got a={a!r}: {exc}") from None
