"""Numba's thread pool as the library sees it: the one thread-control helper.

The library itself never changes Numba's settings at import or behind a
caller's back.  Code that must run kernels on a given number of threads (the
Monte Carlo engine, which shares the cores with OpenBLAS; the benchmarks; the
gate, which measures on one thread) does it inside :func:`threads`, which
restores the previous count on exit.  ``numba.set_num_threads`` is
thread-local, so other Python threads are not affected.

**Threading layers.**  Numba runs parallel kernels on one of three layers,
chosen at its first parallel launch (or first ``numba.get_num_threads()``) and
fixed for the life of the process: ``tbb``, ``omp`` or ``workqueue``, the first
that loads in ``NUMBA_THREADING_LAYER_PRIORITY`` order unless
``NUMBA_THREADING_LAYER`` names one.  Only TBB is both fork- and thread-safe,
so the library makes every layer safe for its own launches
(:func:`~xinit_bench.launch.fill_flat`):

* :func:`prepare_threading`, once, before the library's first parallel launch
  and only if Numba has not chosen a layer yet, loads the TBB that pip
  installed with the package (``tbb`` is a dependency where wheels exist).
  pip puts ``libtbb`` in ``<prefix>/lib``, where Numba's TBB extension does not
  look, so without this Numba silently falls back to OpenMP.  It changes no
  Numba setting: Numba still picks the layer, by its own priority, and a
  ``NUMBA_THREADING_LAYER`` of ``omp`` or ``workqueue`` is left alone.
* GNU OpenMP kills a forked child that launches a parallel region ("fork()
  called from a process already using GNU OpenMP").  In a child forked from a
  process whose layer is ``omp``, :func:`parallel_allowed` is false and the
  fills take their serial entry points: the same bits, on one thread.
* The workqueue layer aborts the process when two threads launch at once.
  Under it, :func:`launch_guard` serialises the parallel launches.

Numba is imported by the kernels (``import xinit_bench`` imports them); the
threading layer is never touched at import.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .kernels.errors import CacheUnavailableWarning
from .validation import check_int

__all__ = [
    "CacheUnavailableWarning",
    "available_memory",
    "check_thread_count",
    "get_threads",
    "launch_guard",
    "max_threads",
    "parallel_allowed",
    "prepare_threading",
    "tbb_candidates",
    "threading_layer",
    "threads",
]


def _numba_config() -> Any:
    """``numba.core.config``, whose attributes are set from the environment at import."""
    import numba.core.config

    return numba.core.config


def max_threads() -> int:
    """The size of Numba's thread pool: ``NUMBA_NUM_THREADS``, by default the number of CPUs."""
    return int(_numba_config().NUMBA_NUM_THREADS)


def get_threads() -> int:
    """The number of threads the calling thread's parallel kernels use now.

    Asking Numba initialises its threading layer, so :func:`prepare_threading` runs first.
    """
    import numba

    prepare_threading()
    return int(numba.get_num_threads())


def check_thread_count(name: str, count: object) -> int:
    """``count`` as an int in ``[1, max_threads()]``.

    Raises
    ------
    TypeError
        If ``count`` is not an integer (a bool is not).
    ValueError
        If it is outside ``[1, NUMBA_NUM_THREADS]``.
    """
    limit = max_threads()
    return check_int(name, count, minimum=1, maximum=limit, what=f"an int in [1, {limit}] (NUMBA_NUM_THREADS)")


@contextlib.contextmanager
def threads(count: int | None) -> Iterator[int]:
    """Run the block with ``count`` Numba threads (``None``: unchanged), then restore.

    Yields the thread count in force inside the block.

    Examples
    --------
    >>> from xinit_bench.runtime import get_threads, threads
    >>> before = get_threads()
    >>> with threads(1) as n:
    ...     n, get_threads()
    (1, 1)
    >>> get_threads() == before
    True
    """
    import numba

    prepare_threading()  # numba.get_num_threads() picks the threading layer
    previous = int(numba.get_num_threads())
    if count is None:
        yield previous
        return
    n = check_thread_count("threads", count)
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)


def threading_layer(initialise: bool = False) -> str:
    """The threading layer in use (``"tbb"``, ``"omp"``, ``"workqueue"``), or ``"not initialised"``.

    Numba picks the layer at the first parallel launch of the process, so
    without ``initialise`` this reads ``"not initialised"`` before one.  With
    ``initialise=True`` the layer is picked now, as the library's first
    parallel fill would pick it (after :func:`prepare_threading`): what
    ``xinit-bench info`` reports.
    """
    if initialise:
        _initialised_layer()
    return _current_layer() or "not initialised"


# --- safe parallel launches under every threading layer ------------------------------------------
#: The layer Numba chose for this process, once it has (it never changes afterwards, nor across a fork).
_LAYER: str | None = None
#: Set once :func:`prepare_threading` has run in this process (or in the parent of a fork).
_PREPARED = False
#: Set in a forked child of a process whose layer is ``omp``: parallel launches would kill it.
_SERIAL_ONLY = False
#: The path of the TBB library that :func:`prepare_threading` loaded, if any.
_TBB_LOADED: str | None = None
_STATE_LOCK = threading.Lock()
#: Serialises parallel launches under the workqueue layer.
_LAUNCH_LOCK = threading.Lock()
#: ``NUMBA_THREADING_LAYER`` values under which Numba would try TBB first (``forksafe``: TBB, then workqueue).
_TBB_FIRST = frozenset({"default", "tbb", "safe", "threadsafe", "forksafe"})


def _current_layer() -> str | None:
    """The layer Numba has chosen, or ``None`` before it has (never initialises it)."""
    global _LAYER
    if _LAYER is None:
        import numba

        try:
            _LAYER = str(numba.threading_layer())  # type: ignore[attr-defined]  # public, not in numba's __all__
        except ValueError:
            return None
    return _LAYER


def _initialised_layer() -> str:
    """The layer in use, initialising Numba's pool (after :func:`prepare_threading`) if no launch has yet."""
    layer = _current_layer()
    if layer is None:
        import numba

        prepare_threading()
        numba.get_num_threads()  # runs Numba's layer selection, as a first parallel launch does
        layer = _current_layer()
        assert layer is not None
    return layer


def _tbb_library_name() -> str | None:
    if sys.platform.startswith("linux"):
        return "libtbb.so.12"
    if sys.platform == "win32":
        return "tbb12.dll"
    if sys.platform == "darwin":
        return "libtbb.12.dylib"
    return None


def tbb_candidates() -> list[str]:
    """Paths of the TBB runtime that pip may have installed, most likely first (existing files only).

    ``<sys.prefix>/lib`` (``Library/bin`` on Windows), then the files of the
    ``tbb`` distribution as its metadata lists them (a ``--user`` install puts
    them under the user base).
    """
    name = _tbb_library_name()
    if name is None:
        return []
    folder = os.path.join("Library", "bin") if sys.platform == "win32" else "lib"
    found = [os.path.join(sys.prefix, folder, name)]
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            files = distribution("tbb").files or []
        except PackageNotFoundError:
            files = []
        found += [str(f.locate()) for f in files if f.name == name]
    except Exception:  # broken metadata must not break a fill; the prefix was tried
        pass
    unique = []
    for path in found:
        path = os.path.abspath(path)
        if path not in unique and os.path.isfile(path):
            unique.append(path)
    return unique


def _load_tbb() -> str | None:
    """Load the first loadable TBB of :func:`tbb_candidates` with global symbols; its path, or ``None``."""
    for path in tbb_candidates():
        try:
            ctypes.CDLL(path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
        except OSError:
            continue
        return path
    return None


def prepare_threading() -> None:
    """Prepare this process for the library's parallel launches; once, cheap afterwards.

    If Numba has not chosen a threading layer yet and ``NUMBA_THREADING_LAYER``
    lets it try TBB, load the TBB runtime installed with the package
    (:func:`tbb_candidates`), so that Numba's own selection finds it.  Also
    registers the at-fork handler behind :func:`parallel_allowed`.  Never sets
    a Numba option: with no TBB found, Numba picks the layer it would have
    picked anyway.
    """
    global _PREPARED, _TBB_LOADED
    if _PREPARED:
        return
    with _STATE_LOCK:
        if _PREPARED:
            return
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
        if _current_layer() is None and str(_numba_config().THREADING_LAYER).lower() in _TBB_FIRST:
            _TBB_LOADED = _load_tbb()
        _PREPARED = True


def _after_fork_in_child() -> None:
    """At-fork handler: fresh locks; serial fills only in a child of an ``omp`` process."""
    global _SERIAL_ONLY, _STATE_LOCK, _LAUNCH_LOCK
    _STATE_LOCK = threading.Lock()
    _LAUNCH_LOCK = threading.Lock()  # a parent thread may have held it while another forked
    if _current_layer() == "omp":
        _SERIAL_ONLY = True


def parallel_allowed() -> bool:
    """Whether a parallel kernel may run in this process.

    False only in a process forked (``os.fork``, a fork ``multiprocessing``
    pool, fork ``DataLoader`` workers) from one whose threading layer is
    ``omp``: GNU OpenMP terminates such a child at its first parallel region
    (measured: even when the parent only initialised the layer and never launched).
    Callers then run the serial entry points, which give the same bits.
    """
    return not _SERIAL_ONLY


def launch_guard() -> contextlib.AbstractContextManager[Any]:
    """The context to hold around one parallel launch: a process-wide lock under ``workqueue``, else nothing.

    Numba's workqueue pool aborts the process ("Concurrent access has been
    detected") when two threads launch at once; TBB and OpenMP accept
    concurrent launches.  Initialises the layer (after :func:`prepare_threading`)
    if no parallel launch has run yet.  Serial kernels need no guard.

    Examples
    --------
    >>> import numpy as np
    >>> from xinit_bench.kernels.fill import FILLS
    >>> from xinit_bench.runtime import launch_guard, prepare_threading
    >>> prepare_threading()
    >>> key = (np.uint32(1), np.uint32(2), np.uint32(0))
    >>> with launch_guard():
    ...     FILLS["bits"](np.empty(1 << 17, np.uint32), key, 0, ())
    """
    if _initialised_layer() == "workqueue":
        return _LAUNCH_LOCK
    return contextlib.nullcontext()


def available_memory() -> int:
    """Bytes of memory available to new allocations without swapping.

    Linux's ``MemAvailable`` (``/proc/meminfo``), which counts reclaimable page
    cache; elsewhere the free physical pages reported by ``sysconf``.
    """
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
