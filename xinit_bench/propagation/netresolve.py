r"""The resolution of a network's layers into checked :class:`Node` records.

:func:`resolve_network` checks every layer of ``Network(Input(...), *layers)``
before any computation (shapes, fans, inits, gains, kernels, residual
branches) and names the layer of a bad value by its index and kind
(``layer 3 (Act): activation must be one of ...``; the :class:`Input` is
layer 0, a branch's layers are counted from 1 inside their residual).  The
result is a tuple of :class:`Node`, which the theory
(:mod:`~xinit_bench.propagation.nettheory`), the Monte Carlo
(:mod:`~xinit_bench.propagation.netsim`) and the Jacobian
(:mod:`~xinit_bench.propagation.jacobian`) read.

``init`` is any name of :data:`~xinit_bench.propagation.INIT_NAMES`, an
:class:`~xinit_bench.propagation.InitSpec`, ``"orthogonal"`` (Saxe et al.
2014; :func:`xinit_bench.orthogonal.orthogonal` of the ``(out, in * k^d)``
matrix) or, for a conv, ``"delta_orthogonal"`` (Xiao et al. 2018;
:func:`xinit_bench.orthogonal.delta_orthogonal`); the mean-field factors of
each are those of :class:`~xinit_bench.propagation.netlayers.Weights`.

References
----------
.. [1] Saxe, McClelland & Ganguli (2014), https://arxiv.org/abs/1312.6120
.. [2] Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018),
   "Dynamical isometry and a mean field theory of CNNs", ICML. https://arxiv.org/abs/1806.05393
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..activations import Activation, get_activation
from ..validation import check_choice, check_real, is_int
from .netlayers import (
    INIT_CHOICES,
    MAX_SPATIAL,
    PADDINGS,
    STRUCTURED,
    Act,
    Conv,
    Dense,
    Input,
    LayerNorm,
    NetworkError,
    Residual,
    Weights,
    layer_where,
)
from .network import INIT_NAMES, MAX_DEPTH, InitSpec, bounded_count

__all__ = ["Node", "NodeKind", "bounded_count_in", "resolve_network"]

#: Largest ``|alpha|``, ``|beta|``, gain or bias std: beyond it a square leaves float64.
_MAX_SCALE = 1e150

NodeKind = Literal["dense", "conv", "act", "layernorm", "residual"]


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
        where = layer_where(i, kind, parent)
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


def resolve_network(
    layers: Sequence[Any],
) -> tuple[tuple[int, ...], float, tuple[Node, ...], tuple[str, ...]]:
    """``(input_shape, input_second_moment, nodes, labels)`` of ``(Input, *layers)``, every layer checked.

    ``labels`` has one entry per top-level layer, and per repeat of a
    :class:`Residual` (``"3 Residual(alpha=1, beta=1) [2/20]"``).

    Raises
    ------
    TypeError, ValueError (NetworkError)
        The first bad layer, named by index (the Input is layer 0) and kind.
    """
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
        raise NetworkError(f"a Network may have at most {MAX_DEPTH} entries (layers and repeats), got {len(labels)}")
    return shape, q0, nodes, tuple(labels)
