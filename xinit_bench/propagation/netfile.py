"""The network file format: a :class:`~xinit_bench.propagation.architecture.Network` as data, JSON or TOML.

:meth:`Network.from_dict <xinit_bench.propagation.architecture.Network.from_dict>`,
:meth:`~xinit_bench.propagation.architecture.Network.to_dict` and
:func:`~xinit_bench.propagation.architecture.load_network` read and write this
description::

    {"input": 512, "layers": [{"type": "dense", "width": 512, "init": "he_normal"},
                              {"type": "residual", "alpha": 0.5, "repeat": 20,
                               "branch": [{"type": "act", "activation": "relu"},
                                          {"type": "dense", "width": 512}]},
                              {"type": "layernorm", "eps": 1e-5}, {"type": "act", "activation": "tanh"}]}

A layer is a table with a ``type`` (one of :data:`~xinit_bench.propagation.netlayers.LAYER_TYPES`)
and the fields of its layer class; ``input_second_moment`` is optional.  Every
key is checked here: an unknown key, a missing ``type`` or an unknown one, a
missing required field is a :class:`~xinit_bench.propagation.netlayers.NetworkError`
naming the layer.  The values themselves are checked when the network is built.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import tomllib

from .netlayers import LAYER_CLASSES, LAYER_TYPES, Input, NetworkError, layer_where
from .network import InitSpec

__all__ = ["description_to_dict", "layers_from_dict", "read_description"]


def layers_from_dict(data: Any) -> list[Any]:
    """``[Input, *layers]`` from ``{"input": shape, "input_second_moment": q0, "layers": [...]}``, keys checked.

    Raises
    ------
    TypeError
        ``data`` or a layer is not a mapping, or ``layers`` not a list.
    NetworkError
        An unknown, missing or misspelt key, named by layer.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"a network description must be a mapping with 'input' and 'layers', got {data!r}")
    unknown = sorted(set(data) - {"input", "input_second_moment", "layers"})
    if unknown:
        raise NetworkError(f"network: unknown key {unknown[0]!r}; allowed: 'input', 'input_second_moment', 'layers'")
    if "input" not in data or "layers" not in data:
        raise NetworkError("network: needs both 'input' and 'layers'")
    inp = Input(data["input"], data.get("input_second_moment", 1.0))
    return [inp, *_layers_from(data["layers"], "")]


def description_to_dict(input_shape: tuple[int, ...], second_moment: float, layers: Sequence[Any]) -> dict[str, Any]:
    """The description :func:`layers_from_dict` reads (JSON-ready) of a checked input and its layers as given."""
    shape: Any = input_shape[0] if len(input_shape) == 1 else list(input_shape)
    return {
        "input": shape,
        "input_second_moment": second_moment,
        "layers": [_layer_to_dict(layer) for layer in layers],
    }


def read_description(path: Path) -> Any:
    """The data of a JSON (``.json``) or TOML (any other suffix) network file.

    Raises
    ------
    NetworkError
        A file that does not parse (the message names the file).
    """
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise NetworkError(f"{path}: not a valid {kind} file: {e}") from None


def _layer_to_dict(layer: Any) -> dict[str, Any]:
    name = next(k for k, v in LAYER_CLASSES.items() if isinstance(layer, v))
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
        where = layer_where(i, str(kind), parent)
        if not isinstance(item, Mapping):
            raise TypeError(f"{where}: a layer must be a table with a 'type', got {item!r}")
        if kind not in LAYER_CLASSES:
            raise NetworkError(f"{where}: type must be one of {', '.join(map(repr, LAYER_TYPES))}, got {kind!r}")
        klass = LAYER_CLASSES[kind]
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
