"""The memory-bandwidth reference: a parallel constant fill of the measured buffer.

Every fill is measured against the time it takes merely to write the same
buffer, with the same threads: a fill cannot be faster than that, so
``t_fill / t_xinit`` is the fraction of the bandwidth limit a kernel reaches.

The kernel is defined here, not in the library, so that the benchmarks time
every commit of the library against the same limit.  Numba is imported, and
the kernel compiled, on first use; the on-disk cache (``cache=True``) keeps
later processes from compiling it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Elements per parallel chunk: 256 KiB of float32, a share of L2 per thread.
CHUNK = 1 << 16

_KERNEL: Callable[[NDArray[Any], Any], None] | None = None


def constant_fill_kernel() -> Callable[[NDArray[Any], Any], None]:
    """The jitted ``fill_constant(out, value)`` for flat contiguous ``out`` (compiled on first call)."""
    global _KERNEL
    if _KERNEL is None:
        import numba

        prange = numba.prange

        def fill_constant(out: Any, value: Any) -> None:
            n = out.size
            nchunks = (n + CHUNK - 1) // CHUNK
            for c in prange(nchunks):
                start = c * CHUNK
                stop = min(n, start + CHUNK)
                chunk = out[start:stop]
                for i in range(stop - start):
                    chunk[i] = value

        _KERNEL = numba.njit(parallel=True, cache=True, nogil=True)(fill_constant)
    return _KERNEL


def fill_call(out: NDArray[np.floating[Any]]) -> Callable[[], object]:
    """The parallel constant fill of ``out``: the memory-bandwidth limit."""
    kernel = constant_fill_kernel()
    flat = out.reshape(-1)
    value = out.dtype.type(0.5)
    return lambda: kernel(flat, value)
