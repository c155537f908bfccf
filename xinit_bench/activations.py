"""Activation functions in float64 NumPy form: the gains' and the propagation study's ground truth.

Each built-in activation is an :class:`Activation`: its name, its parameter
(``leaky_relu`` slope, ``elu`` alpha), the function and its derivative as
vectorised float64 NumPy callables, the points where either is not smooth, and
the integer ``kind`` that selects its fused Numba kernel in
``xinit_bench.kernels.activations``.

The float64 functions are the ground truth for the Gaussian expectations of
:mod:`xinit_bench.gauss` (and so for the derived gains of
:func:`~xinit_bench.calculate_gain` and the mean-field theory of
:mod:`xinit_bench.propagation`) and for the kernel tests; the Numba kernels
compute the same maps.

References
----------
.. [1] Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing
   Neural Networks", NeurIPS. https://arxiv.org/abs/1706.02515 (SELU constants,
   eq. (14) with full precision from the authors' code).
.. [2] Hendrycks & Gimpel (2016), "Gaussian Error Linear Units (GELUs)".
   https://arxiv.org/abs/1606.08415 (exact form ``x Phi(x)``).
.. [3] Misra (2019), "Mish: A Self Regularized Non-Monotonic Activation
   Function". https://arxiv.org/abs/1908.08681
.. [4] Clevert, Unterthiner & Hochreiter (2015), "Fast and Accurate Deep Network
   Learning by Exponential Linear Units (ELUs)". https://arxiv.org/abs/1511.07289
.. [5] Elfwing, Uchibe & Doya (2018), "Sigmoid-Weighted Linear Units for Neural
   Network Function Approximation in Reinforcement Learning" (SiLU).
   https://arxiv.org/abs/1702.03118
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray
from scipy import special

from .kernels import activations as _k
from .validation import check_choice, check_real

__all__ = [
    "ACTIVATIONS",
    "SELU_ALPHA",
    "SELU_SCALE",
    "Activation",
    "ActivationName",
    "get_activation",
]

ActivationName = Literal[
    "linear",
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "elu",
    "selu",
    "gelu",
    "silu",
    "softplus",
    "mish",
    "erf",
    "hard_tanh",
]
#: All built-in activation names, in table order.
ACTIVATIONS: tuple[str, ...] = get_args(ActivationName)

#: SELU constants of Klambauer et al. (2017) [1]_, as in ``torch.nn.SELU``.
SELU_ALPHA = _k.SELU_ALPHA
SELU_SCALE = _k.SELU_SCALE

_DEFAULT_PARAM = {"leaky_relu": 0.01, "elu": 1.0}

Array = NDArray[np.float64]
Fn = Callable[[Array, float], Array]


def _f64(v: object) -> Array:
    # scipy.special has no type stubs: this gives its results a type, at no cost.
    return np.asarray(v, dtype=np.float64)


def _relu(x: Array, a: float) -> Array:
    return np.maximum(x, 0.0)


def _relu_d(x: Array, a: float) -> Array:
    return (x > 0).astype(np.float64)


def _leaky(x: Array, a: float) -> Array:
    return np.where(x > 0, x, a * x)


def _leaky_d(x: Array, a: float) -> Array:
    return np.where(x > 0, 1.0, a)


def _elu(x: Array, a: float) -> Array:
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))


def _elu_d(x: Array, a: float) -> Array:
    return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0.0)))


def _selu(x: Array, a: float) -> Array:
    return _f64(SELU_SCALE * _elu(x, SELU_ALPHA))


def _selu_d(x: Array, a: float) -> Array:
    return _f64(SELU_SCALE * _elu_d(x, SELU_ALPHA))


def _tanh_d(x: Array, a: float) -> Array:
    t = np.tanh(x)
    return 1.0 - t * t


def _sigmoid_d(x: Array, a: float) -> Array:
    s = special.expit(x)
    return _f64(s * (1.0 - s))


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu(x: Array, a: float) -> Array:
    return _f64(x * special.ndtr(x))


def _gelu_d(x: Array, a: float) -> Array:
    return _f64(special.ndtr(x) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x))


def _silu(x: Array, a: float) -> Array:
    return _f64(x * special.expit(x))


def _silu_d(x: Array, a: float) -> Array:
    s = special.expit(x)
    return _f64(s * (1.0 + x * (1.0 - s)))


def _softplus(x: Array, a: float) -> Array:
    return np.logaddexp(0.0, x)


def _erf_d(x: Array, a: float) -> Array:
    return _f64(2.0 / math.sqrt(math.pi) * np.exp(-x * x))


def _hard_tanh_d(x: Array, a: float) -> Array:
    return (np.abs(x) < 1.0).astype(np.float64)


def _mish(x: Array, a: float) -> Array:
    return x * np.tanh(np.logaddexp(0.0, x))


def _mish_d(x: Array, a: float) -> Array:
    t = np.tanh(np.logaddexp(0.0, x))
    return _f64(t + x * (1.0 - t * t) * special.expit(x))


@dataclass(frozen=True)
class _Entry:
    phi: Fn
    dphi: Fn
    kind: int
    kinks: tuple[float, ...] = ()
    odd: bool = False


_TABLE: dict[str, _Entry] = {
    "linear": _Entry(lambda x, a: np.asarray(x, np.float64), lambda x, a: np.ones_like(x), _k.LINEAR, odd=True),
    "relu": _Entry(_relu, _relu_d, _k.RELU, (0.0,)),
    "leaky_relu": _Entry(_leaky, _leaky_d, _k.LEAKY_RELU, (0.0,)),
    "tanh": _Entry(lambda x, a: np.tanh(x), _tanh_d, _k.TANH, odd=True),
    "sigmoid": _Entry(lambda x, a: special.expit(x), _sigmoid_d, _k.SIGMOID),
    "elu": _Entry(_elu, _elu_d, _k.ELU, (0.0,)),
    "selu": _Entry(_selu, _selu_d, _k.SELU, (0.0,)),
    "gelu": _Entry(_gelu, _gelu_d, _k.GELU),
    "silu": _Entry(_silu, _silu_d, _k.SILU),
    "softplus": _Entry(_softplus, lambda x, a: special.expit(x), _k.SOFTPLUS),
    "mish": _Entry(_mish, _mish_d, _k.MISH),
    "erf": _Entry(lambda x, a: _f64(special.erf(x)), _erf_d, _k.ERF, odd=True),
    "hard_tanh": _Entry(lambda x, a: np.clip(x, -1.0, 1.0), _hard_tanh_d, _k.HARD_TANH, (-1.0, 1.0), odd=True),
}


@dataclass(frozen=True)
class Activation:
    """A built-in activation with its parameter.

    Parameters
    ----------
    name : ActivationName
        One of :data:`ACTIVATIONS`.
    param : float
        The negative slope ``a`` of ``leaky_relu`` (default 0.01, as PyTorch)
        or the ``alpha`` of ``elu`` (default 1.0); 0.0 and ignored otherwise.

    Examples
    --------
    >>> act = get_activation("leaky_relu", 0.2)
    >>> act.phi(np.array([-1.0, 2.0])).tolist()
    [-0.2, 2.0]
    """

    name: str
    param: float = 0.0
    _entry: _Entry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_entry", _TABLE[self.name])

    @property
    def kind(self) -> int:
        """The kernel selector of ``xinit_bench.kernels.activations``."""
        return self._entry.kind

    @property
    def kinks(self) -> tuple[float, ...]:
        """Points where the function or its derivative is not smooth."""
        return self._entry.kinks

    @property
    def odd(self) -> bool:
        """True when ``phi(-x) = -phi(x)``, so that ``E[phi] = 0`` exactly."""
        return self._entry.odd

    @property
    def label(self) -> str:
        """``name`` or ``name(param)`` for parametrised activations."""
        return f"{self.name}({self.param:g})" if self.name in _DEFAULT_PARAM else self.name

    def phi(self, x: NDArray[np.floating]) -> Array:
        """The activation, float64."""
        return self._entry.phi(np.asarray(x, dtype=np.float64), self.param)

    def dphi(self, x: NDArray[np.floating]) -> Array:
        """Its derivative, float64 (the right derivative at kinks is irrelevant: measure zero)."""
        return self._entry.dphi(np.asarray(x, dtype=np.float64), self.param)


def get_activation(activation: str | Activation, param: float | None = None) -> Activation:
    """Validate and build an :class:`Activation`.

    Parameters
    ----------
    activation : str or Activation
        A name from :data:`ACTIVATIONS`, or an :class:`Activation` (returned
        unchanged when ``param`` is None).
    param : float, optional
        ``leaky_relu`` negative slope (finite, default 0.01) or ``elu`` alpha
        (finite and >= 0, default 1.0).  Rejected for the other activations.

    Raises
    ------
    TypeError
        ``activation`` is not a str or an Activation, or ``param`` is not a real number.
    ValueError
        An unknown name, a parameter given to an activation without one, or
        a parameter out of range.

    Examples
    --------
    >>> get_activation("elu").label
    'elu(1)'
    """
    if isinstance(activation, Activation):
        if param is None:
            return activation
        activation = activation.name
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a str or an Activation, got {type(activation).__name__}")
    name = check_choice("activation", activation, ACTIVATIONS, casefold=True)
    if param is None:
        return Activation(name, _DEFAULT_PARAM.get(name, 0.0))
    if name not in _DEFAULT_PARAM:
        raise ValueError(
            f"param must be None for activation {name!r}, which takes no parameter "
            f"(only {' and '.join(_DEFAULT_PARAM)} do), got {param!r}"
        )
    return Activation(name, check_real("param", param, minimum=0.0 if name == "elu" else None))
