"""Every ``@njit`` option of xinit-bench, decided in one place.

* ``cache=True``: compiling a fill takes seconds; the on-disk cache makes the
  second process start in milliseconds.  Only where Numba can write a cache:
  :data:`CACHE_ENABLED` is decided once, before any decorator runs, and
  without a writable location the kernels compile with ``cache=False`` and
  one :class:`CacheUnavailableWarning` is issued (``cache=True`` would make
  every decorator raise "no locator available" at import).
* ``nogil=True``: fills release the GIL so user threads can overlap them.
* ``error_model="numpy"``: division follows IEEE rules instead of raising,
  which keeps exception paths out of the vectorised loops.
* **No ``fastmath``.**  It allows LLVM to contract ``a * b + c`` into a fused
  multiply-add, and then the bits differ between CPUs with and without FMA,
  breaking the reproducibility contract (docs/design.md, "The random stream").

Cache caveat, measured with Numba 0.68: a function whose signature contains a
NamedTuple, a closure, or a dispatcher argument is never found in the on-disk
cache (a new entry is written per process), so kernels take plain tuples and
select their transform through a compile-time constant (see ``fill.py``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .errors import CacheUnavailableWarning

F = TypeVar("F", bound=Callable[..., Any])

_COMPILED: set[tuple[int, tuple[Any, ...]]] = set()


def _type_tag(a: Any) -> Any:
    """A cheap stand-in for ``numba.typeof(a)`` (which costs microseconds)."""
    if hasattr(a, "dtype") and hasattr(a, "ndim"):
        return (a.dtype.char, a.ndim, bool(a.flags.c_contiguous))
    if isinstance(a, tuple):
        return tuple(type(x) for x in a)
    return type(a)


def _cache_probe() -> None:
    """Stands in for a kernel: defined in the folder of every kernel, so Numba locates its cache alike."""


def _cache_location_found() -> bool:
    """Whether Numba finds a writable location for the on-disk cache of the kernels.

    Runs Numba's own search -- the locator classes that ``cache=True`` tries
    (``NUMBA_CACHE_DIR``, the ``__pycache__`` next to the source, the user's
    cache directory, ...), each of which test-writes its directory -- for a
    function defined in this file.  Every kernel module lives in this folder,
    so the answer holds for all of them.
    """
    try:
        from numba.core.caching import CompileResultCacheImpl
    except ImportError:  # a Numba that moved its caching internals: let cache=True decide, as before
        return True
    try:
        CompileResultCacheImpl(_cache_probe)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return False
    return True


def _decide_cache() -> bool:
    if _cache_location_found():
        return True
    folder = os.path.dirname(os.path.abspath(__file__))
    warnings.warn(
        "xinit-bench: Numba found no writable cache location for the kernels in "
        f"{folder} (NUMBA_CACHE_DIR unset or unwritable, and neither their __pycache__ nor the user cache "
        "directory writable); they are compiled in every process instead, a few seconds each on first use. "
        "Set NUMBA_CACHE_DIR to a writable directory to cache them.",
        CacheUnavailableWarning,
        stacklevel=3,
    )
    return False


#: Whether the kernels use Numba's on-disk cache (decided once, at import).
CACHE_ENABLED: bool = _decide_cache()

JIT_OPTIONS: dict[str, Any] = {"cache": CACHE_ENABLED, "nogil": True, "error_model": "numpy"}


def jit(fn: F) -> F:
    """Compile ``fn`` as a serial kernel with the project's options.

    Also the decorator of helpers that other kernels call: an ordinary
    ``njit`` function, which LLVM inlines into the caller's loop, where it
    vectorises.  (Numba-level ``inline="always"`` on every helper multiplied
    compile time by ~50 and raised NumbaIRAssumptionWarning; ``inline_ir`` is
    kept for the fill skeleton.)
    """
    return numba.njit(**JIT_OPTIONS)(fn)  # type: ignore[no-any-return]


def inline_ir(fn: F) -> F:
    """Inline ``fn`` into its callers' Numba IR.

    Only for the fill skeleton: the parallel pass must see its ``prange`` in
    the entry point's IR to turn it into a parallel loop.
    """
    return numba.njit(inline="always", **JIT_OPTIONS)(fn)  # type: ignore[no-any-return]


def parallel(fn: F) -> F:
    """Compile ``fn`` as a multi-threaded kernel (``prange`` loops run on all threads)."""
    return numba.njit(parallel=True, **JIT_OPTIONS)(fn)  # type: ignore[no-any-return]


def _bitcast(src: types.Type, dst: types.Type, width: int) -> Any:
    @intrinsic
    def cast(typingctx: Any, x: types.Type) -> Any:
        if x != src:
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            target = (
                ir.IntType(width)
                if isinstance(dst, types.Integer)
                else (ir.FloatType() if width == 32 else ir.DoubleType())
            )
            return builder.bitcast(args[0], target)

        return dst(src), codegen

    return cast


# Reinterpret the bits of a float as a signed integer and back (no conversion).
f32_as_i32 = _bitcast(types.float32, types.int32, 32)
i32_as_f32 = _bitcast(types.int32, types.float32, 32)
f64_as_i64 = _bitcast(types.float64, types.int64, 64)
i64_as_f64 = _bitcast(types.int64, types.float64, 64)


def compile_quietly(kernel: Any, *args: Any) -> None:
    """Compile ``kernel`` for the types of ``args`` once, before the first call.

    The fills inline a deep chain of small functions into one loop (that is
    what lets LLVM vectorise it).  On that IR Numba 0.68's SSA pass emits
    ``NumbaIRAssumptionWarning`` -- "an internal pedantic check", in its own
    words -- while the code it produces is correct: the tests compare every
    fill bit for bit with the independent NumPy reference.  The warning is
    silenced here, for this category only and only while compiling; a cache
    hit compiles nothing.
    """
    key = (id(kernel), tuple(_type_tag(a) for a in args))
    if key in _COMPILED:
        return
    sig = tuple(numba.typeof(a) for a in args)
    from numba.core.errors import NumbaIRAssumptionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
        kernel.compile(sig)
    _COMPILED.add(key)
