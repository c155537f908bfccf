"""Eager input checks shared by every public entry point.

Every check runs before any kernel does, and raises ``TypeError`` (wrong kind
of value) or ``ValueError`` (right kind, bad value) with a message that names
the value and what is allowed.  Nothing is ever half-written.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
Shape = tuple[int, ...]


def check_shape(shape: Any) -> Shape:
    """Normalise ``shape`` (an int or a sequence of ints) to a tuple of non-negative ints."""
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape  # the common case, without the ABC isinstance checks below
    if isinstance(shape, (bool, np.bool_)):
        raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}")
    if isinstance(shape, (numbers.Integral, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (numbers.Integral, np.integer)):
            raise TypeError(f"every dimension must be an integer, got {d!r} in shape {dims!r}")
        d = operator.index(d)
        if d < 0:
            raise ValueError(f"dimensions must be >= 0, got {d} in shape {dims!r}")
        out.append(d)
    return tuple(out)


def check_dtype(dtype: DTypeLike | None, out: NDArray[Any] | None) -> np.dtype[Any]:
    """The output dtype: ``dtype`` if given, else ``out.dtype``, else float32."""
    if dtype is None:
        chosen = out.dtype if isinstance(out, np.ndarray) else np.dtype(np.float32)
    else:
        try:
            chosen = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if chosen not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {chosen}")
    return chosen


def check_out(out: Any, shape: Shape, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Check that ``out`` can be filled in place: never copied, never cast."""
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"out must be a numpy.ndarray (np.memmap and torch_tensor.numpy() views qualify), "
            f"got {type(out).__name__}"
        )
    if out.dtype not in FLOAT_DTYPES:
        raise TypeError(f"out must have dtype float32 or float64, got {out.dtype}")
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype} but dtype={dtype} was requested")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape} but shape {shape} was requested")
    if not out.flags.writeable:
        raise ValueError("out is read-only (out.flags.writeable is False)")
    if not out.flags.c_contiguous:
        raise ValueError(
            "out must be C-contiguous so that element i of the stream lands at flat index i; "
            "fill a contiguous array and copy it into the strided view instead"
        )
    return out


def check_real(name: str, value: Any, *, minimum: float | None = None, positive: bool = False) -> float:
    """A finite real number, optionally ``>= minimum`` or ``> 0``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {v!r}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v!r}")
    return v


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}")
    return value
