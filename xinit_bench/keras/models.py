"""Name-keyed streams for whole Keras models: each weight's values from ``(seed, weight path)``.

A Keras layer draws its weights when it is built, in construction order, and
an unseeded initialiser draws a seed each time.  :func:`init_model` instead
gives every weight whose initialiser is one of :mod:`xinit_bench.keras`'s the
stream :func:`xinit_bench.key_for_name` ``(seed, path)``, ``path`` being the
variable's Keras path (``"encoder/dense/kernel"``): its values then depend on
the seed and that path only, not on the order in which layers were created,
built or visited, nor on which other layers the model has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras  # type: ignore[import-untyped]

from .._rng import check_seed
from .initializers import Initializer

__all__ = ["init_model", "keyed_weights"]

_SUFFIX = "_initializer"


def _layers(model: Any) -> Iterator[Any]:
    """Every layer of ``model``, itself and nested ones, each once (Keras's own traversal)."""
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is not None:
        yield from flatten(include_self=True, recursive=True)
        return
    yield model
    for layer in getattr(model, "layers", ()):
        yield from _layers(layer)


def keyed_weights(model: Any) -> list[tuple[Any, Initializer]]:
    """``(variable, initialiser)`` for each weight of ``model`` made by an :mod:`xinit_bench.keras` initialiser.

    A layer's ``<w>_initializer`` attribute initialises its variable ``<w>``
    (``kernel_initializer`` -> ``kernel``), or ``<w>_kernel`` for the recurrent
    cells' ``recurrent_initializer`` -> ``recurrent_kernel``.  Weights with
    Keras's own initialisers are not listed.

    Raises
    ------
    TypeError
        ``model`` is not a ``keras.layers.Layer``.
    ValueError
        ``model`` is not built (it has no weights yet).
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"model must be a keras.Model or keras.layers.Layer, got {type(model).__name__}")
    if not model.built:
        raise ValueError(
            "model must be built (call it on data, or model.build(input_shape)) before its weights are keyed, "
            f"got an unbuilt {type(model).__name__}"
        )
    found: list[tuple[Any, Initializer]] = []
    seen: set[int] = set()
    for layer in _layers(model):
        own = {v.path: v for v in layer.weights}
        for attribute, value in vars(layer).items():
            if not (attribute.endswith(_SUFFIX) and isinstance(value, Initializer)):
                continue
            stem = attribute[: -len(_SUFFIX)]
            for candidate in (stem, f"{stem}_kernel"):
                variable = own.get(f"{layer.path}/{candidate}")
                if variable is not None and id(variable) not in seen:
                    seen.add(id(variable))
                    found.append((variable, value))
                    break
    return found


def init_model(model: Any, seed: int) -> dict[str, str]:
    """(Re-)initialise ``model``'s weights from name-keyed streams: weight ``path`` from ``key_for_name(seed, path)``.

    Each weight listed by :func:`keyed_weights` gets the values of
    ``init.keyed(seed, path)(shape, dtype)``: its own initialiser's law, drawn
    from the stream of ``(seed, path)``.  Every value is computed before any
    weight is assigned, so a refusal leaves the model as it was.

    Layer names are part of the paths: name the layers (``Dense(64,
    name="hidden")``) for values that do not depend on construction order,
    since Keras's automatic names (``dense``, ``dense_1``) number layers in
    the order they were created.

    Parameters
    ----------
    model : keras.Model or keras.layers.Layer
        Built.
    seed : int
        The model's seed, ``>= 0``.

    Returns
    -------
    dict
        Weight path -> the initialiser's class name, for every weight set.

    Examples
    --------
    >>> import keras
    >>> from xinit_bench import keras as xk
    >>> def mlp():
    ...     return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="h",
    ...                              kernel_initializer=xk.GlorotUniform())], name="m")
    >>> a, b = mlp(), mlp()
    >>> xk.init_model(a, 0)
    {'m/h/kernel': 'GlorotUniform'}
    >>> _ = xk.init_model(b, 0)
    >>> bool(keras.ops.all(keras.ops.equal(a.weights[0], b.weights[0])))
    True
    """
    base = check_seed(seed)
    pairs = keyed_weights(model)
    values = [
        (variable, init.keyed(base, variable.path).values(tuple(variable.shape), variable.dtype))
        for variable, init in pairs
    ]
    for variable, array in values:
        variable.assign(array)
    return {variable.path: type(init).__name__ for variable, init in pairs}
