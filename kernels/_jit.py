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

Cache freshness: Numba checks only the file that defines an entry point, not
the modules the fills inline, so the kernels' cache folder carries a stamp of
every kernel source, and a folder compiled from other sources is emptied at
import (:func:`_drop_stale_entries`).

Cache caveat, measured with Numba 0.68: a function whose signature contains a
NamedTuple, a closure, or a dispatcher argument is never found in the on-disk
cache (a new entry is written per process), so kernels take plain tuples and
select their transform through a compile-time constant (see ``fill.py``).

What the cache holds is read from Numba's own index (:func:`cache_state`,
:func:`cache_folder`), without loading or compiling anything.  The first time
a process must compile a kernel signature that the cache lacks,
:func:`compile_quietly` says so once, on the ``xinit_bench.kernels`` logger at
``WARNING`` level, naming ``xinit-bench compile``: with no logging configured,
Python prints that one line on stderr; ``logging.getLogger("xinit_bench")``
silences or redirects it.  A log record, unlike a warning, is not turned into
an error by ``-W error`` or pytest's ``filterwarnings = error``, so a test run
on a cold cache is not broken by it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

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


class _NoLocator(Exception):
    """Numba found no writable location for the kernels' cache."""


def _kernel_cache_path() -> Path | None:
    """The folder of the kernels' on-disk cache; None when this Numba's caching internals moved.

    Runs Numba's own search -- the locator classes that ``cache=True`` tries
    (``NUMBA_CACHE_DIR``, the ``__pycache__`` next to the source, the user's
    cache directory, ...), each of which test-writes its directory -- for a
    function defined in this file.  Every kernel module lives in this folder,
    so the answer holds for all of them.  Raises :class:`_NoLocator` when no
    location is writable.
    """
    try:
        from numba.core.caching import CompileResultCacheImpl
    except ImportError:  # a Numba that moved its caching internals: let cache=True decide, as before
        return None
    try:
        impl = CompileResultCacheImpl(_cache_probe)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        raise _NoLocator from exc
    try:
        return Path(impl.locator.get_cache_path())
    except AttributeError:  # internals moved: the cache works, its folder is unknown here
        return None


def _decide_cache() -> tuple[bool, Path | None]:
    """Whether the kernels use the on-disk cache, and its folder (None where it cannot be told)."""
    try:
        return True, _kernel_cache_path()
    except _NoLocator:
        pass
    folder = os.path.dirname(os.path.abspath(__file__))
    warnings.warn(
        "xinit-bench: Numba found no writable cache location for the kernels in "
        f"{folder} (NUMBA_CACHE_DIR unset or unwritable, and neither their __pycache__ nor the user cache "
        "directory writable); they are compiled in every process instead, a few seconds each on first use. "
        "Set NUMBA_CACHE_DIR to a writable directory to cache them.",
        CacheUnavailableWarning,
        stacklevel=3,
    )
    return False, None


#: Whether the kernels use Numba's on-disk cache, and the folder it is in (decided once, at import).
CACHE_ENABLED, _CACHE_PATH = _decide_cache()

#: The file in the kernels' cache folder that names the kernel sources its entries were compiled from.
STAMP_NAME = "xinit-bench-kernels.sha256"


def source_digest() -> str:
    """SHA-256 of the kernel sources: every ``kernels/*.py``, by file name and content, in name order."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _drop_stale_entries(folder: Path) -> None:
    """Empty the kernels' cache folder when the kernel sources changed since its entries were compiled.

    Numba (0.68) keys an entry on the kernel's own function only: the index
    is stamped with a hash of the one file that defines it, and the key
    hashes that function's bytecode.  The fills inline functions from other
    modules (``philox``, ``convert``, ``transforms``, ``blocks``), so after an
    edit of one of those -- an upgrade that replaces the files but leaves the
    old ``__pycache__`` behind, a checkout of another commit, a change in a
    working tree -- Numba loads the old machine code as fresh: the old
    stream, silently (measured: an edit of a constant of ``transforms.py``
    left ``serial_normal``'s output unchanged).  So the folder carries a stamp
    with :func:`source_digest`; on a mismatch at import, before any kernel is
    loaded, every Numba index and data file in it (``*.nbi``, ``*.nbc``; the
    folder holds only the kernels' entries) is removed and the stamp
    rewritten, and each kernel compiles afresh on first use.
    """
    digest = source_digest()
    stamp = folder / STAMP_NAME
    try:
        if stamp.read_text(encoding="ascii").strip() == digest:
            return
    except (OSError, UnicodeDecodeError):
        pass
    for entry in [*folder.glob("*.nbi"), *folder.glob("*.nbc")]:
        with contextlib.suppress(OSError):
            entry.unlink()
    partial = folder / f"{STAMP_NAME}.{os.getpid()}.tmp"
    try:
        partial.write_text(digest + "\n", encoding="ascii")
        os.replace(partial, stamp)
    except OSError:  # an unwritable stamp only means the check runs again next time
        with contextlib.suppress(OSError):
            partial.unlink()


if _CACHE_PATH is not None:
    _drop_stale_entries(_CACHE_PATH)

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


#: Where a signature's machine code comes from on its next compile (see :func:`cache_state`).
CacheState = Literal["in memory", "on disk", "cold", "uncached", "unknown"]

#: The logger of the one compile notice per process.
LOG = logging.getLogger("xinit_bench.kernels")
_NOTICE_LOCK = threading.Lock()
_NOTICE_GIVEN = False


def signature(*args: Any) -> tuple[Any, ...]:
    """The Numba signature (a tuple of Numba types) that a call with ``args`` compiles."""
    return tuple(numba.typeof(a) for a in args)


def _state(kernel: Any, sig: tuple[Any, ...]) -> CacheState:
    if kernel.overloads.get(sig) is not None:
        return "in memory"
    if not CACHE_ENABLED:
        return "uncached"
    try:
        # The key and the index are those Dispatcher.compile looks up before it compiles
        # (numba.core.caching.Cache._load_overload): the signature, the CPU's magic tuple
        # and a hash of the bytecode, in the index of the function's source file, which is
        # empty when that file's stamp (mtime and size) differs from the one it was saved with.
        cache = kernel._cache
        key = cache._index_key(sig, kernel.targetctx.codegen())
        index = cache._cache_file._load_index()
        name = index.get(key)
        if name is None:
            return "cold"
        return "on disk" if os.path.exists(cache._cache_file._data_path(name)) else "cold"
    except Exception:  # a Numba whose caching internals moved: the compile itself will tell
        return "unknown"


def cache_state(kernel: Any, *args: Any) -> CacheState:
    """Where ``kernel``'s machine code for the types of ``args`` would come from; nothing is loaded.

    ``"in memory"``: compiled or loaded by this process already; ``"on disk"``:
    Numba's on-disk cache holds it (a load of milliseconds); ``"cold"``: it
    must be compiled (seconds); ``"uncached"``: this process has no on-disk
    cache (:data:`CACHE_ENABLED` is false); ``"unknown"``: this Numba's cache
    cannot be read this way.
    """
    return _state(kernel, signature(*args))


def cache_folder(kernel: Any) -> str | None:
    """The folder of ``kernel``'s on-disk cache (``None`` when the cache is off)."""
    if not CACHE_ENABLED:
        return None
    path = getattr(getattr(kernel, "_cache", None), "cache_path", None)
    return None if path is None else str(path)


def start_numba() -> None:
    """Do Numba's once-per-process start-up now: the first load or compile of any kernel pays it otherwise.

    The CPU target's ``refresh()`` imports Numba's extra registries (its
    NumPy and linear-algebra implementations, SciPy's BLAS among them): about
    0.3 to 0.8 s of CPU, cached or not, which is no compilation.
    """
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()


def _announce(kernel: Any, sig: tuple[Any, ...]) -> None:
    """Log, once per process, that a kernel signature is about to be compiled because the cache lacks it."""
    global _NOTICE_GIVEN
    with _NOTICE_LOCK:
        if _NOTICE_GIVEN:
            return
        _NOTICE_GIVEN = True
    types = ", ".join(str(t) for t in sig)
    LOG.warning(
        "xinit-bench: compiling %s(%s), which is not in Numba's on-disk cache (%s); a first call of each "
        "kernel compiles for a few seconds. Run `xinit-bench compile` once per environment to compile "
        "every kernel ahead of time.",
        kernel.__name__,
        types,
        cache_folder(kernel) or "no cache folder",
    )


def compile_quietly(kernel: Any, *args: Any, announce: bool = True) -> bool:
    """Compile ``kernel`` for the types of ``args`` once, before the first call; True if it compiled.

    A signature that Numba's on-disk cache holds is loaded, not compiled
    (False is returned).  One that the cache lacks is compiled; the first
    such compile of the process is announced on :data:`LOG` (see the module
    docstring) unless ``announce`` is false, as it is for ``xinit-bench
    compile``, whose job that is.

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
        return False
    sig = signature(*args)
    if announce and CACHE_ENABLED and not _NOTICE_GIVEN and _state(kernel, sig) == "cold":
        _announce(kernel, sig)
    misses = sum(kernel.stats.cache_misses.values())
    from numba.core.errors import NumbaIRAssumptionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
        kernel.compile(sig)
    _COMPILED.add(key)
    return bool(sum(kernel.stats.cache_misses.values()) > misses)
