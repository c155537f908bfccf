"""Numba's thread pool as the library sees it: the one thread-control helper.

The library itself never changes Numba's settings at import or behind a
caller's back.  Code that must run kernels on a given number of threads (the
Monte Carlo engine, which shares the cores with OpenBLAS; the benchmarks; the
gate, which measures on one thread) does it inside :func:`threads`, which
restores the previous count on exit.  ``numba.set_num_threads`` is
thread-local, so other Python threads are not affected.

Numba is imported on first use, not when this module is.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from .validation import check_int


def _numba_config() -> Any:
    """``numba.core.config``, whose attributes are set from the environment at import."""
    import numba.core.config

    return numba.core.config


def max_threads() -> int:
    """The size of Numba's thread pool: ``NUMBA_NUM_THREADS``, by default the number of CPUs."""
    return int(_numba_config().NUMBA_NUM_THREADS)


def get_threads() -> int:
    """The number of threads the calling thread's parallel kernels use now."""
    import numba

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


def threading_layer() -> str:
    """The threading layer Numba chose (``"omp"``, ``"tbb"``, ``"workqueue"``), or ``"not initialised"``.

    Numba picks the layer at the first parallel launch of the process, so this
    reads ``"not initialised"`` before any parallel fill has run.
    """
    import numba

    try:
        return str(numba.threading_layer())  # type: ignore[attr-defined]  # public, not in numba's __all__
    except ValueError:
        return "not initialised"


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
