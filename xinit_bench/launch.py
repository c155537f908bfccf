"""The one place where the library launches a fill kernel.

Every sampler and :func:`~xinit_bench.random_bits` ends in :func:`fill_flat`,
after all of its arguments have been checked.  It chooses between a kind's
serial and parallel entry point (:mod:`xinit_bench.kernels.fill`), which give
the same bits, and compiles each entry point once per process with the
project's warning filter (:func:`~xinit_bench.kernels._jit.compile_quietly`).

Parallel launches are made safe under every Numba threading layer by
:mod:`xinit_bench.runtime`: :func:`~xinit_bench.runtime.prepare_threading`
before the first one (so Numba can pick TBB), the serial entry point in a
forked child of an OpenMP process (:func:`~xinit_bench.runtime.parallel_allowed`),
and a lock under the workqueue layer (:func:`~xinit_bench.runtime.launch_guard`).
"""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray

from .kernels import fill as _k
from .kernels._jit import compile_quietly
from .kernels.kinds import KINDS
from .runtime import launch_guard, parallel_allowed, prepare_threading

__all__ = ["fill_flat"]


def fill_flat(kind: str, flat: NDArray[Any], key: _k.Key, offset: int, params: tuple[Any, ...]) -> None:
    """Fill the 1-d C-contiguous ``flat`` with stream positions ``offset ...`` of ``kind``; no checks.

    Outputs below ``SERIAL_BELOW`` elements take the serial entry point, so a
    process that only makes small tensors never compiles a parallel kernel
    and a small call pays no parallel dispatch.  So do all outputs in a
    forked child of a process whose threading layer is OpenMP.
    """
    serial = flat.size < _SERIAL_BELOW[kind] or not parallel_allowed()
    kernel = (_k.SERIAL_FILLS if serial else _k.FILLS)[kind]
    if not serial:
        prepare_threading()  # before the compile or cache load below, which picks Numba's layer
    ready = (kernel, flat.dtype.char)
    if ready not in _READY:
        compile_quietly(kernel, flat, key, offset, params)
        _READY.add(ready)
    if serial:
        kernel(flat, key, offset, params)
        return
    with launch_guard():
        kernel(flat, key, offset, params)


#: Elements below which a kind runs serially, by kind name.
_SERIAL_BELOW = {name: _k.SERIAL_BELOW[number] for name, number in KINDS.items()}
#: (entry point, dtype char) pairs already compiled in this process: the plans
#: give each pair one fixed argument signature, so the first call is the only
#: one that needs ``compile_quietly``.
_READY: set[tuple[Any, str]] = set()
