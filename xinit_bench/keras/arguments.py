"""The Keras initialisers' arguments: the seed, the weight name and the fan axes, checked, and Keras's fan rule.

:mod:`xinit_bench.keras.initializers` checks every constructor argument here
before it builds anything; :func:`keras_fans` says where Keras's fans differ
from the library's ``layout="keras"`` (low ranks, explicit axes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras  # type: ignore[import-untyped]

from .._rng import check_seed
from ..validation import check_int

__all__ = ["check_axes", "check_fan_axes", "check_keras_seed", "check_name", "keras_fans"]

Axes = tuple[int, ...]


def check_keras_seed(seed: Any) -> int | None:
    """``seed`` as an int or None; a ``keras.random.SeedGenerator`` is refused with the reason."""
    if isinstance(seed, keras.random.SeedGenerator):
        raise TypeError(
            "seed must be an int >= 0 or None, got a keras.random.SeedGenerator: its values change on every "
            "call and come from Keras's own stream, so they cannot be xinit_bench's reproducible draws; "
            "pass an int seed (the same values on every call) or name= with xinit_bench.keras.init_model "
            "for a stream per weight"
        )
    return None if seed is None else check_seed(seed)


def check_name(name: Any) -> str | None:
    """``name`` as a str (a weight's path) or None."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str (a weight's path, e.g. 'encoder/dense/kernel') or None, got {name!r}")
    return name


def check_axes(name: str, axes: Any) -> tuple[int, ...] | None:
    """``axes`` (the argument ``name``) as a tuple of ints, or None."""
    if axes is None:
        return None
    if isinstance(axes, (str, bytes)) or not isinstance(axes, Sequence):
        raise TypeError(f"{name} must be a sequence of ints (axes of the weight) or None, got {axes!r}")
    return tuple(check_int(f"{name}[{k}]", a) for k, a in enumerate(axes))


def check_fan_axes(input_axes: Any, output_axes: Any) -> tuple[Axes | None, Axes | None]:
    """Keras's explicit fan axes: both sequences of ints, or both None."""
    axes = check_axes("input_axes", input_axes), check_axes("output_axes", output_axes)
    if (axes[0] is None) != (axes[1] is None):
        raise ValueError(
            f"input_axes must be given with output_axes (both or neither), got input_axes={input_axes!r}, "
            f"output_axes={output_axes!r}"
        )
    return axes


def keras_fans(shape: tuple[int, ...], input_axes: Axes | None, output_axes: Axes | None) -> tuple[int, int] | None:
    """Explicit ``(fan_in, fan_out)`` where Keras's rule differs from :func:`~xinit_bench.compute_fans`, else None.

    With ``input_axes`` and ``output_axes`` the fans are the products of those
    dimensions; a rank-1 weight of ``n`` has fans ``(n, n)`` and a scalar
    ``(1, 1)``, as in ``keras.initializers``.  Rank 2 and above without axes
    is the library's ``layout="keras"``: ``(*kernel, in, out)``.
    """
    ndim = len(shape)
    input_axes, output_axes = check_fan_axes(input_axes, output_axes)
    if input_axes is not None and output_axes is not None:
        fans = []
        for label, axes in (("input_axes", input_axes), ("output_axes", output_axes)):
            size = 1
            for k, a in enumerate(axes):
                check_int(f"{label}[{k}]", a, minimum=-ndim, maximum=ndim - 1, what=f"an axis of a rank-{ndim} shape")
                size *= shape[a]
            fans.append(size)
        return max(fans[0], 1), max(fans[1], 1)
    if ndim == 0:
        return 1, 1
    if ndim == 1:
        return max(shape[0], 1), max(shape[0], 1)
    return None
