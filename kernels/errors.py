"""Warnings of the kernels' layer, in a module that imports nothing (not even Numba).

The library re-exports them (:mod:`xinit_bench.runtime`), so that a user can
filter them without importing Numba first.
"""

from __future__ import annotations

__all__ = ["CacheUnavailableWarning"]


class CacheUnavailableWarning(UserWarning):
    """Numba has no writable place for its on-disk cache: kernels compile anew in every process.

    Issued once, when the kernels are imported.  The library works the same
    (same bits), only each process pays the compile time of the kernels it
    uses (seconds each).  Set ``NUMBA_CACHE_DIR`` to a writable directory to
    cache them there.
    """
