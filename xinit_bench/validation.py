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

The scalar and argument checks live here; the dtype and ``out=`` checks in
:mod:`xinit_bench.buffers` and the writability probe in
:mod:`xinit_bench.writable`.  Every public name of the three is imported from
here.

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
from collections.abc import Sequence
from typing import Any

import numpy as np

from .buffers import FLOAT_DTYPES, Shape, allocate, bfloat16, check_dtype, check_out, is_half, resolve_dtype
from .writable import writable_problem

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
