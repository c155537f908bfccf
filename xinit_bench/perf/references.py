"""The memory-bandwidth reference: a parallel constant fill of the measured buffer.

Every fill is measured against the time it takes merely to write the same
buffer, with the same threads: a fill cannot be faster than that, so
``t_fill / t_xinit`` is the fraction of the bandwidth limit a kernel reaches.

The kernel is defined here, not in the library, so that the benchmarks time
every commit of the library against the same limit.  It is compiled on first
use; the on-disk cache (``cache=True``) keeps later processes from compiling
it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

#: Elements per parallel chunk: 256 KiB of float32, a share of L2 per thread.
CHUNK = 1 << 16


# A module-level function, not one built inside another: Numba's on-disk cache
# never finds a closure, so a nested definition would compile in every process.
@numba.njit(parallel=True, cache=True, nogil=True)
def fill_constant(out: NDArray[Any], value: Any) -> None:
    """Write ``value`` into every element of the flat contiguous ``out``, on all threads."""
    n = out.size
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in numba.prange(nchunks):
        start = c * CHUNK
        stop = min(n, start + CHUNK)
        chunk = out[start:stop]
        for i in range(stop - start):
            chunk[i] = value


def fill_call(out: NDArray[np.floating[Any]]) -> Callable[[], object]:
    """The parallel constant fill of ``out``: the memory-bandwidth limit.

    The threading layer is prepared as the library's fills prepare it, so that
    a benchmark whose first parallel launch is this one runs on the same layer.
    """
    from ..runtime import prepare_threading

    prepare_threading()
    flat = out.reshape(-1)
    value = out.dtype.type(0.5)
    return lambda: fill_constant(flat, value)
