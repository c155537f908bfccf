"""Dtype and output-buffer checks: which float types a sampler writes, and whether an ``out=`` array takes them.

The dtype half of the validation contract (:mod:`xinit_bench.validation`,
which re-exports every public name here): a *dtype* is anything
``numpy.dtype`` understands; a name it does not know or a dtype outside the
allowed ones is a ``ValueError``, an object that is no dtype at all a
``TypeError``.  An ``out=`` array must be a :class:`numpy.ndarray` of the
requested float type (``TypeError`` otherwise, as NumPy's ufuncs raise for an
``out`` they cannot cast into); its shape, writeability and layout are values
(``ValueError``).  :func:`resolve_dtype` and :func:`check_out` sit on the
path of every small call, so the common spellings are resolved from a table
built once at import.

Examples
--------
>>> resolve_dtype("float64", None)
dtype('float64')
>>> check_out(np.zeros(3, np.float64), (3,), np.dtype(np.float32))
Traceback (most recent call last):
    ...
TypeError: out must be a float32 array (dtype=float32 was requested), got dtype float64
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "FLOAT_DTYPES",
    "Shape",
    "allocate",
    "bfloat16",
    "check_dtype",
    "check_out",
    "is_half",
    "resolve_dtype",
]

FLOAT_DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))
Shape = tuple[int, ...]


def check_dtype(name: str, value: Any, allowed: Sequence[DTypeLike] = FLOAT_DTYPES) -> np.dtype[Any]:
    """``numpy.dtype(value)``, after checking it is one of ``allowed``.

    Raises
    ------
    TypeError
        ``value`` is no dtype at all (``numpy.dtype`` rejects an object that is not a str).
    ValueError
        A dtype, or a dtype name, that is not one of ``allowed`` (``"int32"``,
        ``np.int64``), or a str that names no dtype.

    Examples
    --------
    >>> check_dtype("dtype", "float64")
    dtype('float64')
    >>> check_dtype("dtype", "int32")
    Traceback (most recent call last):
        ...
    ValueError: dtype must be one of float32, float64, got 'int32'
    """
    dtypes = [bfloat16() if d == "bfloat16" else np.dtype(d) for d in allowed]
    choices = "one of " + ", ".join(d.name for d in dtypes)
    try:
        dt: np.dtype[Any] = np.dtype(value)
    except TypeError:
        if isinstance(value, str):
            raise ValueError(f"{name} must be {choices}, got {value!r}") from None
        raise TypeError(f"{name} must be {choices}, got {value!r}") from None
    if dt not in dtypes:
        raise ValueError(f"{name} must be {choices}, got {value!r}")
    return dt


def check_out(out: Any, shape: Shape, dtype: np.dtype[Any], name: str = "out") -> NDArray[Any]:
    """Check that ``out`` can be filled in place with ``shape`` and ``dtype``: never copied, never cast.

    Raises
    ------
    TypeError
        Not a ``numpy.ndarray`` (``np.memmap`` and ``torch_tensor.numpy()``
        views are), or its element type is not ``dtype``.
    ValueError
        Another shape, read-only, or not C-contiguous.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray (np.memmap and torch_tensor.numpy() views qualify), "
            f"got {type(out).__name__}"
        )
    if isinstance(out, np.matrix):  # a matrix stays 2-d when flattened: no flat view to fill
        raise TypeError(f"{name} must be a numpy.ndarray, got numpy.matrix (pass np.asarray(m) instead)")
    if out.dtype not in FLOAT_DTYPES and not is_half(out.dtype):
        raise TypeError(f"{name} must be a float32, float64, float16 or bfloat16 array, got dtype {out.dtype}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must be a {dtype} array (dtype={dtype} was requested), got dtype {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writable, got a read-only array (out.flags.writeable is False)")
    if not out.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous so that element i of the stream lands at flat index i, "
            "got a strided view; fill a contiguous array and copy it into the view instead"
        )
    return out


def allocate(dims: tuple[int, ...], dt: np.dtype[Any], name: str = "shape") -> NDArray[Any]:
    """``np.empty(dims, dt)``; a shape NumPy cannot represent is a ``ValueError`` that names ``name``.

    Raises
    ------
    ValueError
        More elements or bytes than an array can hold (NumPy's own message does not name the shape).
    MemoryError
        A shape that an array can hold but that memory cannot.
    """
    try:
        return np.empty(dims, dt)
    except ValueError:
        raise ValueError(
            f"{name} must describe an array NumPy can hold (at most {np.iinfo(np.intp).max} bytes), got {dims}"
        ) from None


def resolve_dtype(dtype: DTypeLike | None, out: Any) -> np.dtype[Any]:
    """The output dtype of a sampler: ``dtype`` if given, else ``out.dtype``, else float32.

    A sampler's dtype is float32, float64, float16 or bfloat16 (``"bfloat16"``
    or ``ml_dtypes.bfloat16``; ml_dtypes is imported only when one is asked for).
    """
    if dtype is None:
        chosen: np.dtype[Any] = out.dtype if isinstance(out, np.ndarray) else np.dtype(np.float32)
        return chosen
    try:
        return _SAMPLER_DTYPES[dtype]  # the spellings people use, without building the message
    except (KeyError, TypeError):  # TypeError: an unhashable value, which check_dtype refuses
        pass
    if dtype == "bfloat16" or getattr(dtype, "__name__", None) == "bfloat16" or _is_bfloat16(dtype):
        return bfloat16()
    return check_dtype("dtype", dtype, (*FLOAT_DTYPES, np.dtype(np.float16), "bfloat16"))


def bfloat16() -> np.dtype[Any]:
    """``numpy.dtype(ml_dtypes.bfloat16)``, importing ml_dtypes (about 0.1 s) on first use."""
    import ml_dtypes

    dt: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
    return dt


def _is_bfloat16(value: Any) -> bool:
    return isinstance(value, np.dtype) and value.name == "bfloat16"


def is_half(dt: np.dtype[Any]) -> bool:
    """Whether ``dt`` is one of the 16-bit sampler dtypes (float16 or ml_dtypes' bfloat16)."""
    return dt.itemsize == 2 and (dt.kind == "f" or dt.name == "bfloat16")


#: Every common spelling of the sampler dtypes, resolved once: ``np.dtype(x)``
#: and the membership check cost microseconds, as much as filling 1K elements.
_SAMPLER_DTYPES: dict[Any, np.dtype[Any]] = {
    spelling: np.dtype(kind)
    for kind in (np.float32, np.float64, np.float16)
    for spelling in (kind, np.dtype(kind), np.dtype(kind).name, np.dtype(kind).char)
}
