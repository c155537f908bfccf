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

from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

from .kernels.kinds import KINDS
from .runtime import launch_guard, parallel_allowed, prepare_threading

if TYPE_CHECKING:
    from .kernels.fill import Key

__all__ = ["fill_flat"]


def fill_flat(kind: str, flat: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Fill the 1-d C-contiguous ``flat`` with stream positions ``offset ...`` of ``kind``; no checks.

    Outputs below ``SERIAL_BELOW`` elements take the serial entry point, so a
    process that only makes small tensors never compiles a parallel kernel
    and a small call pays no parallel dispatch.  So do all outputs in a
    forked child of a process whose threading layer is OpenMP.
    """
    serial_fills, parallel_fills, serial_below, compile_quietly = _KERNELS or _load_kernels()
    serial = flat.size < serial_below[kind] or not parallel_allowed()
    kernel = (serial_fills if serial else parallel_fills)[kind]
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


#: ``(serial entry points, parallel entry points, elements below which a kind
#: runs serially, compile_quietly)``, by kind name, once the kernels are loaded.
_KERNELS: tuple[dict[str, Any], dict[str, Any], dict[str, int], Any] | None = None


def _load_kernels() -> tuple[dict[str, Any], dict[str, Any], dict[str, int], Any]:
    """Import the kernels (and so Numba) on the first fill, not with ``import xinit_bench``."""
    global _KERNELS
    from .kernels import fill
    from .kernels._jit import compile_quietly

    below = {name: fill.SERIAL_BELOW[number] for name, number in KINDS.items()}
    _KERNELS = (fill.SERIAL_FILLS, fill.FILLS, below, compile_quietly)
    return _KERNELS


#: (entry point, dtype char) pairs already compiled in this process: the plans
#: give each pair one fixed argument signature, so the first call is the only
#: one that needs ``compile_quietly``.
_READY: set[tuple[Any, str]] = set()
