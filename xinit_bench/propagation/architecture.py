r"""A small declarative description of the networks people train: dense, conv, residual, LayerNorm.

:class:`Network` takes an :class:`Input` and a sequence of layers:

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

``init`` is any name of :data:`~xinit_bench.propagation.INIT_NAMES`, an
:class:`~xinit_bench.propagation.InitSpec`, ``"orthogonal"`` (Saxe et al.
2014; :func:`xinit_bench.orthogonal.orthogonal` of the ``(out, in * k^d)``
matrix) or, for a conv, ``"delta_orthogonal"`` (Xiao et al. 2018;
:func:`xinit_bench.orthogonal.delta_orthogonal`).

The layers are plain records; :class:`Network` checks them all, before any
computation, and names the layer of a bad value by its index and kind
(``layer 3 (Act): activation must be one of ...``; the :class:`Input` is
layer 0, a branch's layers are counted from 1 inside their residual).  The
checked network is a tuple of :class:`Node`, which the theory
(:mod:`~xinit_bench.propagation.nettheory`) and the Monte Carlo
(:mod:`~xinit_bench.propagation.netsim`) both read.

:meth:`Network.from_dict` (and :func:`load_network`, for JSON and TOML files)
reads the same description from data::

    {"input": 512, "layers": [{"type": "dense", "width": 512, "init": "he_normal"},
                              {"type": "residual", "alpha": 0.5, "repeat": 20,
                               "branch": [{"type": "act", "activation": "relu"},
                                          {"type": "dense", "width": 512}]},
                              {"type": "layernorm", "eps": 1e-5}, {"type": "act", "activation": "tanh"}]}

References
----------
.. [1] Saxe, McClelland & Ganguli (2014), https://arxiv.org/abs/1312.6120
.. [2] Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018),
   "Dynamical isometry and a mean field theory of CNNs", ICML. https://arxiv.org/abs/1806.05393
.. [3] Ba, Kiros & Hinton (2016), "Layer normalization", https://arxiv.org/abs/1607.06450
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import tomllib

from ..activations import Activation, get_activation
from ..validation import check_choice, check_real, is_int
from .network import INIT_NAMES, MAX_DEPTH, InitSpec, bounded_count

__all__ = [
    "INIT_CHOICES",
    "LAYER_TYPES",
    "PADDINGS",
    "Act",
    "Conv",
    "Dense",
    "Input",
    "Layer",
    "LayerNorm",
    "Network",
    "NetworkError",
    "Node",
    "Residual",
    "Weights",
    "load_network",
]

#: Weight inits that are not variance scalings: sampled by :mod:`xinit_bench.orthogonal`.
STRUCTURED = ("orthogonal", "delta_orthogonal")
#: Every init name a weight layer accepts (an InitSpec is accepted too).
INIT_CHOICES: tuple[str, ...] = (*INIT_NAMES, *STRUCTURED)
#: The conv paddings the study supports: circular keeps every position's statistics the same.
PADDINGS = ("circular",)
#: Largest spatial rank of a convolution.
MAX_SPATIAL = 2
#: Largest ``|alpha|``, ``|beta|``, gain or bias std: beyond it a square leaves float64.
_MAX_SCALE = 1e150

NodeKind = Literal["dense", "conv", "act", "layernorm", "residual"]


class NetworkError(ValueError):
    """A network description that cannot be built (a bad layer, a bad file); the message names the layer."""


# --- the layers, as the user writes them --------------------------------------------------
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
_LAYER_CLASSES: dict[str, type] = {
    "dense": Dense,
    "conv": Conv,
    "act": Act,
    "layernorm": LayerNorm,
    "residual": Residual,
}
#: The ``type`` of a layer in a network file.
LAYER_TYPES: tuple[str, ...] = tuple(_LAYER_CLASSES)


# --- the checked network ------------------------------------------------------------------
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


@dataclass(frozen=True)
class Node:
    """One checked layer: its kind, where it is, its shapes and its parameters."""

    kind: NodeKind
    where: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weights: Weights | None = None
    act: Activation | None = None
    eps: float = 0.0
    alpha: float = 1.0
    beta: float = 1.0
    repeat: int = 1
    branch: tuple[Node, ...] = ()
    title: str = ""

    @property
    def entries(self) -> int:
        """Entries this node adds to the per-layer arrays (``repeat`` for a residual, else 1)."""
        return self.repeat

    @property
    def mixes(self) -> bool:
        """Whether a top-level layer of the branch has weights: then its output is independent of the skip."""
        return any(n.kind in ("dense", "conv") for n in self.branch)


def _where(index: int, kind: str, parent: str) -> str:
    here = f"layer {index} ({kind})"
    return here if not parent else f"{parent}, branch {here}"


def _in(where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, with ``where`` prefixed to the message of a TypeError or ValueError."""
    try:
        return fn(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{where}: {e}") from None
    except ValueError as e:
        raise NetworkError(f"{where}: {e}") from None


def _scale(where: str, name: str, value: Any, *, minimum: float | None = None, positive: bool = False) -> float:
    v = float(_in(where, check_real, name, value, minimum=minimum, positive=positive))
    if abs(v) > _MAX_SCALE:
        raise NetworkError(f"{where}: {name} must have |{name}| <= {_MAX_SCALE:g}, got {value!r}")
    return v


def _shape(value: Any) -> tuple[int, ...]:
    where = "layer 0 (Input)"
    if is_int(value):
        return (bounded_count_in(where, "shape", value),)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{where}: shape must be an int or a sequence of 2 or 3 ints, got {value!r}")
    if not 1 <= len(value) <= 1 + MAX_SPATIAL:
        raise NetworkError(
            f"{where}: shape must be a width, (channels, width) or (channels, height, width), got {tuple(value)!r}"
        )
    return tuple(bounded_count_in(where, f"shape[{i}]", v) for i, v in enumerate(value))


def bounded_count_in(where: str, name: str, value: Any, maximum: int = 2**31 - 1) -> int:
    """:func:`~xinit_bench.propagation.network.bounded_count` with the layer named in the message."""
    return int(_in(where, bounded_count, name, value, maximum))


def _weights(where: str, layer: Dense | Conv, shape_in: tuple[int, ...], rows: int, kernel: tuple[int, ...]) -> Weights:
    init = layer.init
    gain = None if layer.gain is None else _scale(where, "gain", layer.gain, positive=True)
    bias_std = _scale(where, "bias_std", layer.bias_std, minimum=0.0)
    k = math.prod(kernel) if kernel else 1
    c_in = shape_in[0] if kernel else math.prod(shape_in)
    fan_in, fan_out, cols = c_in * k, rows * k, c_in * k
    if isinstance(init, str) and init.lower() in STRUCTURED:
        kind: Literal["orthogonal", "delta_orthogonal"] = (
            "orthogonal" if init.lower() == "orthogonal" else "delta_orthogonal"
        )
        if kind == "delta_orthogonal":
            if not kernel:
                raise NetworkError(f"{where}: init 'delta_orthogonal' is for a Conv; a Dense takes 'orthogonal'")
            if c_in > rows:
                raise NetworkError(
                    f"{where}: init 'delta_orthogonal' needs input channels <= output channels, "
                    f"got {c_in} input and {rows} output channels"
                )
        return Weights(kind, None, 1.0 if gain is None else gain, fan_in, fan_out, rows, cols, bias_std, c_in, kernel)
    if not isinstance(init, (str, InitSpec)):
        raise TypeError(
            f"{where}: init must be one of {', '.join(map(repr, INIT_CHOICES))} or an InitSpec, got {init!r}"
        )
    if isinstance(init, str) and init.lower() not in INIT_NAMES:
        raise NetworkError(f"{where}: init must be one of {', '.join(map(repr, INIT_CHOICES))}, got {init!r}")
    spec = _in(where, InitSpec.parse, init, gain)
    w = Weights("iid", spec, spec.gain, fan_in, fan_out, rows, cols, bias_std, c_in, kernel)
    if not (0.0 < w.variance < math.inf and w.forward_factor < math.inf and w.backward_factor < math.inf):
        raise NetworkError(f"{where}: gain must give a finite, nonzero Var[W], got gain={spec.gain!r}")
    return w


def _resolve(layers: Sequence[Any], shape: tuple[int, ...], parent: str) -> tuple[tuple[Node, ...], tuple[int, ...]]:
    nodes: list[Node] = []
    for i, layer in enumerate(layers, start=1):
        kind = type(layer).__name__
        where = _where(i, kind, parent)
        if isinstance(layer, Input):
            raise NetworkError(f"{where}: an Input may only come first in a Network, not inside it")
        if isinstance(layer, Dense):
            width = bounded_count_in(where, "width", layer.width)
            w = _weights(where, layer, shape, width, ())
            nodes.append(Node("dense", where, shape, (width,), weights=w, title=f"Dense({width})"))
            shape = (width,)
        elif isinstance(layer, Conv):
            if len(shape) < 2:
                raise NetworkError(
                    f"{where}: a Conv needs a spatial input (channels, width) or (channels, height, width), "
                    f"got shape {shape!r}"
                )
            d = len(shape) - 1
            channels = bounded_count_in(where, "channels", layer.channels)
            raw = layer.kernel
            ks: tuple[int, ...]
            if is_int(raw):
                ks = (bounded_count_in(where, "kernel", raw),) * d
            elif isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)) and len(raw) == d:
                ks = tuple(bounded_count_in(where, f"kernel[{j}]", v) for j, v in enumerate(raw))
            else:
                raise TypeError(f"{where}: kernel must be an int or {d} ints for a {d}-d input, got {raw!r}")
            if any(k > s for k, s in zip(ks, shape[1:], strict=True)):
                raise NetworkError(
                    f"{where}: kernel {ks!r} must not be larger than the input's spatial size {shape[1:]!r}"
                )
            _in(where, check_choice, "padding", layer.padding, PADDINGS)
            w = _weights(where, layer, shape, channels, ks)
            out = (channels, *shape[1:])
            nodes.append(
                Node("conv", where, shape, out, weights=w, title=f"Conv({channels}, {'x'.join(map(str, ks))})")
            )
            shape = out
        elif isinstance(layer, Act):
            act = _in(where, get_activation, layer.activation, layer.param)
            nodes.append(Node("act", where, shape, shape, act=act, title=f"Act({act.label})"))
        elif isinstance(layer, LayerNorm):
            eps = _scale(where, "eps", layer.eps, minimum=0.0)
            if shape[0] < 2:
                raise NetworkError(f"{where}: LayerNorm needs at least 2 features to normalise over, got {shape[0]}")
            nodes.append(Node("layernorm", where, shape, shape, eps=eps, title="LayerNorm"))
        elif isinstance(layer, Residual):
            alpha = _scale(where, "alpha", layer.alpha)
            beta = _scale(where, "beta", layer.beta)
            repeat = bounded_count_in(where, "repeat", layer.repeat, MAX_DEPTH)
            br = layer.branch
            if isinstance(br, (str, bytes, Mapping)) or not isinstance(br, Sequence) or len(br) == 0:
                raise TypeError(f"{where}: branch must be a non-empty list of layers, got {br!r}")
            branch, out = _resolve(br, shape, where)
            if out != shape:
                raise NetworkError(
                    f"{where}: the branch must keep the shape of its input for beta*x + alpha*F(x), "
                    f"got input {shape!r} and branch output {out!r}"
                )
            title = f"Residual(alpha={alpha:g}, beta={beta:g})"
            nodes.append(
                Node("residual", where, shape, shape, alpha=alpha, beta=beta, repeat=repeat, branch=branch, title=title)
            )
        else:
            raise TypeError(
                f"{where}: a layer must be Dense, Conv, Act, LayerNorm or Residual, got {type(layer).__name__}"
            )
    return tuple(nodes), shape


@dataclass(frozen=True, init=False)
class Network:
    """An input and a sequence of layers, checked (see the module docstring).

    Attributes
    ----------
    input_shape : tuple of int
    input_second_moment : float
    nodes : tuple of Node
        The checked top-level layers.
    labels : tuple of str
        One label per entry of the per-layer arrays: per top-level layer, and
        per repeat of a :class:`Residual` (``"3 Residual(alpha=1, beta=1) [2/20]"``).
    layers : tuple
        The layers as given.

    Raises
    ------
    TypeError, ValueError (NetworkError)
        The first bad layer, named by index (the Input is layer 0) and kind.

    Examples
    --------
    >>> net = Network(Input(8), Dense(8), Residual([Act("relu"), Dense(8)], repeat=2))
    >>> net.labels
    ('1 Dense(8)', '2 Residual(alpha=1, beta=1) [1/2]', '2 Residual(alpha=1, beta=1) [2/2]')
    """

    input_shape: tuple[int, ...]
    input_second_moment: float
    nodes: tuple[Node, ...]
    labels: tuple[str, ...]
    layers: tuple[Any, ...] = field(repr=False)

    def __init__(self, *layers: Any) -> None:
        if not layers or not isinstance(layers[0], Input):
            first = type(layers[0]).__name__ if layers else "nothing"
            raise TypeError(f"layer 0 (Input): a Network must start with an Input, got {first}")
        inp = layers[0]
        shape = _shape(inp.shape)
        q0 = _scale("layer 0 (Input)", "second_moment", inp.second_moment, positive=True)
        if len(layers) < 2:
            raise NetworkError("a Network needs at least one layer after its Input")
        nodes, _ = _resolve(layers[1:], shape, "")
        labels: list[str] = []
        for i, n in enumerate(nodes, start=1):
            if n.kind == "residual" and n.repeat > 1:
                labels += [f"{i} {n.title} [{r}/{n.repeat}]" for r in range(1, n.repeat + 1)]
            else:
                labels.append(f"{i} {n.title}")
        if len(labels) > MAX_DEPTH:
            raise NetworkError(
                f"a Network may have at most {MAX_DEPTH} entries (layers and repeats), got {len(labels)}"
            )
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "input_second_moment", q0)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "labels", tuple(labels))
        object.__setattr__(self, "layers", tuple(layers))

    @property
    def depth(self) -> int:
        """Entries of the per-layer arrays."""
        return len(self.labels)

    @classmethod
    def from_dict(cls, data: Any) -> Network:
        """From ``{"input": shape, "input_second_moment": q0, "layers": [{"type": ..., ...}, ...]}``.

        Every key is checked: an unknown key, a missing ``type`` or an unknown
        one is a :class:`NetworkError` naming the layer.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"a network description must be a mapping with 'input' and 'layers', got {data!r}")
        unknown = sorted(set(data) - {"input", "input_second_moment", "layers"})
        if unknown:
            raise NetworkError(
                f"network: unknown key {unknown[0]!r}; allowed: 'input', 'input_second_moment', 'layers'"
            )
        if "input" not in data or "layers" not in data:
            raise NetworkError("network: needs both 'input' and 'layers'")
        inp = Input(data["input"], data.get("input_second_moment", 1.0))
        return cls(inp, *_layers_from(data["layers"], ""))

    def to_dict(self) -> dict[str, Any]:
        """The description as :meth:`from_dict` reads it (JSON-ready)."""
        shape: Any = self.input_shape[0] if len(self.input_shape) == 1 else list(self.input_shape)
        return {
            "input": shape,
            "input_second_moment": self.input_second_moment,
            "layers": [_layer_to_dict(layer) for layer in self.layers[1:]],
        }


def _layer_to_dict(layer: Any) -> dict[str, Any]:
    name = next(k for k, v in _LAYER_CLASSES.items() if isinstance(layer, v))
    out: dict[str, Any] = {"type": name}
    for f in fields(layer):
        v = getattr(layer, f.name)
        if f.name == "branch":
            v = [_layer_to_dict(b) for b in v]
        elif isinstance(v, InitSpec):
            v = v.name
        elif isinstance(v, tuple):
            v = list(v)
        if v is not None:
            out[f.name] = v
    return out


def _layers_from(items: Any, parent: str) -> list[Any]:
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise TypeError(f"{parent or 'network'}: layers must be a list of tables, got {items!r}")
    out: list[Any] = []
    for i, item in enumerate(items, start=1):
        kind = item.get("type", "?") if isinstance(item, Mapping) else type(item).__name__
        where = _where(i, str(kind), parent)
        if not isinstance(item, Mapping):
            raise TypeError(f"{where}: a layer must be a table with a 'type', got {item!r}")
        if kind not in _LAYER_CLASSES:
            raise NetworkError(f"{where}: type must be one of {', '.join(map(repr, LAYER_TYPES))}, got {kind!r}")
        klass = _LAYER_CLASSES[kind]
        allowed = [f.name for f in fields(klass)]
        unknown = sorted(set(item) - {"type", *allowed})
        if unknown:
            raise NetworkError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(map(repr, allowed))}")
        kwargs = {k: v for k, v in item.items() if k != "type"}
        required = [f.name for f in fields(klass) if f.default is MISSING]
        missing = [k for k in required if k not in kwargs]
        if missing:
            raise NetworkError(f"{where}: missing key {missing[0]!r}")
        if kind == "residual":
            kwargs["branch"] = _layers_from(kwargs["branch"], where)
        out.append(klass(**kwargs))
    return out


def load_network(path: str | Path) -> Network:
    """Read a :class:`Network` from a JSON (``.json``) or TOML (any other suffix) file.

    Raises
    ------
    NetworkError
        A file that does not parse, or a bad description (the message names the file and the layer).
    """
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise NetworkError(f"{p}: not a valid {'JSON' if p.suffix.lower() == '.json' else 'TOML'} file: {e}") from None
    try:
        return Network.from_dict(data)
    except NetworkError as e:
        raise NetworkError(f"{p}: {e}") from None
