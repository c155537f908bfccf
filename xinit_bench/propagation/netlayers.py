r"""The layers of a :class:`~xinit_bench.propagation.architecture.Network` as the user writes them, and ``Weights``.

* :class:`Dense` ``(width, init=, gain=, bias_std=)``: ``y = W x + b``; on a
  spatial input it acts on the flattened ``c * prod(spatial)`` features;
* :class:`Conv` ``(channels, kernel, init=, gain=, bias_std=, padding="circular")``:
  a 1-d or 2-d convolution, stride 1, circular padding (the output has the
  input's spatial size); its fans are the conv fans ``c_in k^d`` and
  ``c_out k^d``;
* :class:`Act` ``(activation, param=)``: elementwise;
* :class:`LayerNorm` ``(eps=)``: ``(x - mean) / sqrt(var + eps)`` over the
  features (over the channels at each position of a spatial input), unit
  gain and zero bias as at initialisation;
* :class:`Residual` ``(branch, alpha=, beta=, repeat=)``: ``beta x + alpha F(x)``
  with ``F`` the branch, ``repeat`` times with independent weights.

The layers are plain, unchecked records; :mod:`~xinit_bench.propagation.netresolve`
checks them.  :class:`Weights` is the checked init of one dense or conv layer,
with the mean-field factors the theory and the Monte Carlo read.

References
----------
.. [1] Saxe, McClelland & Ganguli (2014), https://arxiv.org/abs/1312.6120
.. [2] Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018),
   "Dynamical isometry and a mean field theory of CNNs", ICML. https://arxiv.org/abs/1806.05393
.. [3] Ba, Kiros & Hinton (2016), "Layer normalization", https://arxiv.org/abs/1607.06450
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from .network import INIT_NAMES, InitSpec

__all__ = [
    "INIT_CHOICES",
    "LAYER_CLASSES",
    "LAYER_TYPES",
    "MAX_SPATIAL",
    "PADDINGS",
    "STRUCTURED",
    "Act",
    "Conv",
    "Dense",
    "Input",
    "Layer",
    "LayerNorm",
    "NetworkError",
    "Residual",
    "Weights",
    "layer_where",
]

#: Weight inits that are not variance scalings: sampled by :mod:`xinit_bench.orthogonal`.
STRUCTURED = ("orthogonal", "delta_orthogonal")
#: Every init name a weight layer accepts (an InitSpec is accepted too).
INIT_CHOICES: tuple[str, ...] = (*INIT_NAMES, *STRUCTURED)
#: The conv paddings the study supports: circular keeps every position's statistics the same.
PADDINGS = ("circular",)
#: Largest spatial rank of a convolution.
MAX_SPATIAL = 2


class NetworkError(ValueError):
    """A network description that cannot be built (a bad layer, a bad file); the message names the layer."""


def layer_where(index: int, kind: str, parent: str) -> str:
    """How a message names a layer: ``"layer 3 (Act)"``, inside a residual ``"<parent>, branch layer 1 (Dense)"``."""
    here = f"layer {index} ({kind})"
    return here if not parent else f"{parent}, branch {here}"


@dataclass(frozen=True)
class Input:
    """The input: ``shape`` is a width, ``(channels, width)`` or ``(channels, height, width)``.

    ``second_moment`` is ``q^0 = E[x^2]`` of the Gaussian input (default 1).
    """

    shape: Any
    second_moment: Any = 1.0


@dataclass(frozen=True)
class Dense:
    """``y = W x + b`` with ``width`` outputs; ``W`` from ``init`` (and ``gain``), ``b ~ N(0, bias_std^2)``."""

    width: Any
    init: Any = "he_normal"
    gain: Any = None
    bias_std: Any = 0.0


@dataclass(frozen=True)
class Conv:
    """A circular-padded, stride-1 convolution to ``channels`` output channels with a ``kernel`` (int or tuple)."""

    channels: Any
    kernel: Any
    init: Any = "he_normal"
    gain: Any = None
    bias_std: Any = 0.0
    padding: Any = "circular"


@dataclass(frozen=True)
class Act:
    """An elementwise activation by name (``param``: leaky_relu's slope, elu's alpha)."""

    activation: Any
    param: Any = None


@dataclass(frozen=True)
class LayerNorm:
    """``(x - mean) / sqrt(var + eps)`` over the features, unit gain and zero bias."""

    eps: Any = 1e-5


@dataclass(frozen=True)
class Residual:
    """``beta * x + alpha * branch(x)``, ``repeat`` times with independent weights."""

    branch: Any
    alpha: Any = 1.0
    beta: Any = 1.0
    repeat: Any = 1


Layer = Dense | Conv | Act | LayerNorm | Residual
#: The layer class of each ``type`` of a network file.
LAYER_CLASSES: dict[str, type] = {
    "dense": Dense,
    "conv": Conv,
    "act": Act,
    "layernorm": LayerNorm,
    "residual": Residual,
}
#: The ``type`` of a layer in a network file.
LAYER_TYPES: tuple[str, ...] = tuple(LAYER_CLASSES)


@dataclass(frozen=True)
class Weights:
    r"""The weights of one dense or conv layer, checked.

    ``fan_in``, ``fan_out`` are the fans (``c k^d`` for a conv); ``rows`` and
    ``cols`` the matrix the weights are drawn as (``(c_out, c_in k^d)`` for a
    conv, torch's layout).  The mean-field factors: the second moment of an
    output is ``forward_factor * E[x^2] + bias_std^2`` and the gradient
    second moment at an input is ``backward_factor`` times the one at an
    output, with (i.i.d. weights of variance ``v``)

    .. math:: f_{fwd} = n_{in} v,\qquad f_{bwd} = n_{out} v,

    where ``n_in``, ``n_out`` are the fans.  Orthogonal weights of gain ``g``
    (rows or columns orthonormal, ``W W^T = g^2 I`` or ``W^T W = g^2 I``) have
    ``sum_ij W_ij^2 = g^2 min(rows, cols)``, so on average every row has
    squared norm ``g^2 min/rows`` and every column ``g^2 min/cols``; the
    second moments are those of i.i.d. weights of variance
    ``g^2 / max(rows, cols)`` (Saxe et al. 2014).  A delta-orthogonal
    kernel holds an orthogonal ``(c_out, c_in)`` matrix ``M`` at its centre and
    zeros elsewhere (Xiao et al. 2018): ``f_fwd = g^2 c_in / c_out`` and
    ``f_bwd = g^2`` (``c_in <= c_out``), the factors of an orthogonal dense
    layer on the channels.
    """

    kind: Literal["iid", "orthogonal", "delta_orthogonal"]
    spec: InitSpec | None
    gain: float
    fan_in: int
    fan_out: int
    rows: int
    cols: int
    bias_std: float
    channels_in: int = 0
    kernel: tuple[int, ...] = ()

    @property
    def variance(self) -> float:
        """``Var[W]`` of an i.i.d. init, or the variance with the same second moments of an orthogonal one."""
        if self.kind == "iid":
            assert self.spec is not None
            return self.spec.variance(self.fan_in, self.fan_out)
        if self.kind == "orthogonal":
            return self.gain * self.gain / max(self.rows, self.cols)
        k = math.prod(self.kernel)
        return self.gain * self.gain / (max(self.rows, self.channels_in) * k)

    @property
    def forward_factor(self) -> float:
        """``E[y^2] / E[x^2]`` without the bias."""
        if self.kind == "delta_orthogonal":
            return self.gain * self.gain * self.channels_in / self.rows
        return self.fan_in * self.variance

    @property
    def backward_factor(self) -> float:
        """``E[(dL/dx)^2] / E[(dL/dy)^2]``."""
        if self.kind == "delta_orthogonal":
            return self.gain * self.gain
        return self.fan_out * self.variance

    @property
    def label(self) -> str:
        """The init as the tables show it."""
        if self.spec is not None:
            return self.spec.label
        return self.kind if self.gain == 1.0 else f"{self.kind}(gain={self.gain:g})"
