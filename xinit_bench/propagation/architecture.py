r"""A small declarative description of the networks people train: dense, conv, residual, LayerNorm.

:class:`Network` takes an :class:`Input` and a sequence of layers, the records of
:mod:`~xinit_bench.propagation.netlayers`: :class:`Dense`, :class:`Conv`
(circular padding, stride 1), :class:`Act`, :class:`LayerNorm` and
:class:`Residual` (``beta x + alpha F(x)``, ``repeat`` times).

``init`` is any name of :data:`~xinit_bench.propagation.INIT_NAMES`, an
:class:`~xinit_bench.propagation.InitSpec`, ``"orthogonal"`` or, for a conv,
``"delta_orthogonal"``.

:class:`Network` checks every layer before any computation
(:mod:`~xinit_bench.propagation.netresolve`) and names the layer of a bad
value by its index and kind (``layer 3 (Act): activation must be one of
...``).  The checked network is a tuple of :class:`Node`, which the theory
(:mod:`~xinit_bench.propagation.nettheory`) and the Monte Carlo
(:mod:`~xinit_bench.propagation.netsim`) both read.

:meth:`Network.from_dict`, :meth:`Network.to_dict` and :func:`load_network`
(JSON and TOML files) read and write the same description as data, in the
format of :mod:`~xinit_bench.propagation.netfile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .netfile import description_to_dict, layers_from_dict, read_description
from .netlayers import (
    INIT_CHOICES,
    LAYER_TYPES,
    PADDINGS,
    Act,
    Conv,
    Dense,
    Input,
    Layer,
    LayerNorm,
    NetworkError,
    Residual,
    Weights,
)
from .netresolve import Node, resolve_network

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
        shape, q0, nodes, labels = resolve_network(layers)
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "input_second_moment", q0)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "labels", labels)
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
        return cls(*layers_from_dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The description as :meth:`from_dict` reads it (JSON-ready)."""
        return description_to_dict(self.input_shape, self.input_second_moment, self.layers[1:])


def load_network(path: str | Path) -> Network:
    """Read a :class:`Network` from a JSON (``.json``) or TOML (any other suffix) file.

    Raises
    ------
    NetworkError
        A file that does not parse, or a bad description (the message names the file and the layer).
    """
    p = Path(path)
    data = read_description(p)
    try:
        return Network.from_dict(data)
    except NetworkError as e:
        raise NetworkError(f"{p}: {e}") from None
