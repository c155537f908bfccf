"""Eager input checks: the one validation contract of every public entry point.

One rule, everywhere: a value of the wrong *type* raises ``TypeError``; a
value of the right type but outside what is allowed raises ``ValueError``.
Either way the message names the parameter, what is allowed and the value
given, as ``"<name> must be <allowed>, got <repr>"``, and the check runs
before any kernel does and before any state changes (a
:class:`~xinit_bench.Generator` never advances on a refused call).

What counts as what:

* an *int* is any :class:`numbers.Integral` (so NumPy integer scalars are
  ints) except ``bool`` and ``numpy.bool_``: a flag is not a count;
* a *real* is any :class:`numbers.Real` (ints and NumPy floats included),
  again except the bools; NaN is a real of the wrong value (``ValueError``),
  and so is an infinity unless the parameter allows one;
* a *choice* is a ``str`` (anything else is a ``TypeError``); an unknown
  name is a ``ValueError``;
* a *dtype* is anything ``numpy.dtype`` understands; a name it does not know
  (``"float"``-like typos) or a dtype outside the allowed ones (``"int32"``)
  is a ``ValueError``, an object that is no dtype at all a ``TypeError``;
* an ``out=`` array must be a :class:`numpy.ndarray` whose element type is the
  requested float type (``TypeError`` otherwise, as NumPy's ufuncs raise for
  an ``out`` they cannot cast into); its shape, writeability and layout are
  values (``ValueError``).

Examples
--------
>>> check_int("stream", 3, minimum=0, maximum=2**32 - 1)
3
>>> check_int("stream", "1", minimum=0, maximum=2**32 - 1)
Traceback (most recent call last):
    ...
TypeError: stream must be an int in [0, 2**32), got '1'
>>> check_real("std", float("nan"), minimum=0.0)
Traceback (most recent call last):
    ...
ValueError: std must be a finite real number >= 0.0, got nan
"""

from __future__ import annotations

import math
import numbers
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "FLOAT_DTYPES",
    "ParameterRangeError",
    "Shape",
    "allocate",
    "bfloat16",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_dtype",
    "check_int",
    "check_out",
    "check_real",
    "check_shape",
    "is_half",
    "is_int",
    "is_real",
    "resolve_dtype",
    "writable_problem",
]


class ParameterRangeError(ValueError):
    """Parameters of the right type and range whose derived quantities do not fit the output dtype.

    A width ``high - low``, a standard deviation, a bound or an extreme sample
    that overflows the dtype, or a nonzero one that rounds to zero or to a
    subnormal there.  A ``ValueError``, so callers need not know it; the
    initialisers catch it to name their own parameter (``scale``, ``gain``).
    """


FLOAT_DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))
Shape = tuple[int, ...]


def is_int(value: object) -> bool:
    """True for an integer that is not a bool (NumPy integer scalars included)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> bool:
    """True for a real number that is not a bool (ints and NumPy floats included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _int_range(minimum: int | None, maximum: int | None) -> str:
    """``"an int"``, ``"an int >= 1"``, ``"an int in [0, 2**32)"``, ``"an int in [1, 4]"``."""
    if minimum is None and maximum is None:
        return "an int"
    if maximum is None:
        return f"an int >= {minimum}"
    if minimum is None:
        return f"an int <= {maximum}"
    top = maximum + 1
    if top >= 2**16 and top & (top - 1) == 0:  # a power of two: the bound as people write it
        return f"an int in [{minimum}, 2**{top.bit_length() - 1})"
    return f"an int in [{minimum}, {maximum}]"


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None, what: str | None = None
) -> int:
    """``value`` as a Python int, after checking it is an int in ``[minimum, maximum]``.

    ``what`` replaces the generated description of what is allowed in the
    message (e.g. ``"an int in [1, 2] (NUMBA_NUM_THREADS)"``).

    Raises
    ------
    TypeError
        Not an int (a bool, a float, a str, ...).
    ValueError
        Below ``minimum`` or above ``maximum`` (both inclusive).

    Examples
    --------
    >>> check_int("n", np.int64(4), minimum=0)
    4
    >>> check_int("n", True)
    Traceback (most recent call last):
        ...
    TypeError: n must be an int, got True
    """
    allowed = what or _int_range(minimum, maximum)
    if not is_int(value):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name} must be {allowed}, got {_short(value)}")
    return v


def check_real(
    name: str, value: Any, *, minimum: float | None = None, positive: bool = False, allow_inf: bool = False
) -> float:
    """``value`` as a float, after checking it is a real number, ``>= minimum`` or ``> 0`` if asked.

    NaN is always refused; infinities only pass with ``allow_inf=True``.

    Raises
    ------
    TypeError
        Not a real number (a bool, a str, a complex, None, ...).
    ValueError
        NaN, an infinity that is not allowed, or outside the bounds.

    Examples
    --------
    >>> check_real("a", -math.inf, allow_inf=True)
    -inf
    >>> check_real("gain", -1.0, minimum=0.0)
    Traceback (most recent call last):
        ...
    ValueError: gain must be a finite real number >= 0.0, got -1.0
    """
    # type() first: the ABC check of is_real costs more than the rest of a small call.
    if not (type(value) is float or type(value) is int or is_real(value)):
        raise TypeError(f"{name} must be {_real_range(minimum, positive, allow_inf)}, got {value!r}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond float64 (2**1100): a real of the wrong value
        raise ValueError(
            f"{name} must be {_real_range(minimum, positive, allow_inf)}, got {_short(value)} (beyond float64)"
        ) from None
    if (
        math.isnan(v)
        or (math.isinf(v) and not allow_inf)
        or (positive and not v > 0)
        or (minimum is not None and v < minimum)
    ):
        raise ValueError(f"{name} must be {_real_range(minimum, positive, allow_inf)}, got {value!r}")
    return v


def _short(value: Any) -> str:
    """``repr(value)``, or for a huge int ``2**1100``-style, so that a message stays one line."""
    if is_int(value) and abs(int(value)).bit_length() > 64:
        v = int(value)
        return f"an int of about {'-' if v < 0 else ''}2**{abs(v).bit_length() - 1}"
    return repr(value)


def _real_range(minimum: float | None, positive: bool, allow_inf: bool) -> str:
    """``"a finite real number >= 0.0"`` and the like: what :func:`check_real` allows."""
    allowed = "a real number (infinities allowed)" if allow_inf else "a finite real number"
    if positive:
        allowed += " > 0"
    if minimum is not None:
        allowed += f" >= {minimum}"
    return allowed


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool, after checking it is one (``bool`` or ``numpy.bool_``; 0 and 1 are not).

    Examples
    --------
    >>> check_bool("absolute", 1)
    Traceback (most recent call last):
        ...
    TypeError: absolute must be a bool, got 1
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, allowed: Sequence[str], *, casefold: bool = False) -> str:
    """``value`` (lower-cased if ``casefold``), after checking it is one of ``allowed``.

    Raises
    ------
    TypeError
        Not a str.
    ValueError
        A str that is not one of ``allowed``.

    Examples
    --------
    >>> check_choice("mode", "fan_sum", ("fan_in", "fan_out"))
    Traceback (most recent call last):
        ...
    ValueError: mode must be one of 'fan_in', 'fan_out', got 'fan_sum'
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be {_one_of(allowed)}, got {value!r}")
    key = value.lower() if casefold else value
    if key not in allowed:
        raise ValueError(f"{name} must be {_one_of(allowed)}, got {value!r}")
    return key


def _one_of(allowed: Sequence[str]) -> str:
    return "one of " + ", ".join(map(repr, allowed))


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


def check_callable(name: str, value: Any, *, optional: bool = False) -> None:
    """Check that ``value`` is callable (or None when ``optional``); ``TypeError`` otherwise."""
    if value is None and optional:
        return
    if not callable(value):
        raise TypeError(f"{name} must be callable{' or None' if optional else ''}, got {value!r}")


def check_shape(shape: Any, name: str = "shape") -> Shape:
    """Normalise ``shape`` (an int or a sequence of ints) to a tuple of non-negative ints.

    Raises
    ------
    TypeError
        Not an int or a sequence (a str is no shape), or an element that is not an int.
    ValueError
        A negative dimension.

    Examples
    --------
    >>> check_shape(3), check_shape([2, np.int64(3)])
    ((3,), (2, 3))
    >>> check_shape((4, -1))
    Traceback (most recent call last):
        ...
    ValueError: shape[1] must be an int >= 0, got -1
    """
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape  # the common cases, without the ABC isinstance checks below
    if type(shape) is int and shape >= 0:
        return (shape,)
    if is_int(shape):
        return (check_int(name, shape, minimum=0),)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {shape!r}")
    return tuple(check_int(f"{name}[{i}]", d, minimum=0) for i, d in enumerate(shape))


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


def writable_problem(path: Path, *, folder: bool = False, make_parents: bool = False) -> str | None:
    """Why ``path`` could not be written, or ``None``: the one writability probe of the library and the CLI.

    A *file* (``folder=False``): an existing file is opened for append, which
    changes nothing; for a new one a temporary sibling is created and removed.
    A *folder* (``folder=True``), existing or to be created: the nearest
    existing directory -- ``path`` itself, else its parent, else (with
    ``make_parents``) any ancestor -- must let a temporary file be created
    there.  A real write is the only test that sees a read-only file system
    and, for root, what :func:`os.access` cannot.  Nothing is left behind.

    Returns
    -------
    str or None
        A clause for the caller's message (``"is a directory"``,
        ``"directory /x does not exist"``, ``"cannot write in /x: Permission denied"``),
        or ``None`` when the path is writable.
    """
    if not folder and path.is_dir():
        return "is a directory"
    if folder and path.exists():
        if not path.is_dir():
            return f"{path} is not a directory"
        target = path
    else:
        target = path.parent if str(path.parent) else Path(".")
        while make_parents and not target.exists() and target != target.parent:
            target = target.parent
        if target.exists() and not target.is_dir():
            return f"{target} is not a directory"
        if not target.is_dir():
            return f"directory {target} does not exist"
    try:
        if not folder and path.exists():
            with open(path, "a"):
                pass
        else:
            with tempfile.NamedTemporaryFile(dir=target, prefix=".xinit-probe-", suffix=".tmp"):
                pass
    except OSError as exc:
        return f"cannot write in {target}: {exc.strerror or exc}"
    return None
