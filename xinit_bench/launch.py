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

import numpy as np
from numpy.typing import NDArray

from .kernels.kinds import KINDS
from .runtime import launch_guard, parallel_allowed, prepare_threading

if TYPE_CHECKING:
    from .kernels.fill import Key

__all__ = ["fill_flat", "fill_runs"]


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


def fill_runs(
    kind: str,
    dtype: np.dtype[Any],
    addresses: NDArray[np.int64],
    counts: NDArray[np.int64],
    positions: NDArray[np.int64],
    keys: NDArray[np.uint32],
    params: NDArray[Any],
    clamps: NDArray[np.float32] | None = None,
) -> None:
    """Fill every run ``(address, count, position, key, params)`` of ``kind`` in one launch; no checks.

    The caller owns the memory: run ``r`` writes ``counts[r]`` elements of
    ``dtype`` from the raw address ``addresses[r]``, and keeps that buffer
    alive until this returns.  ``keys`` is uint32 ``(m, 3)``; ``params`` is
    ``(m, P)`` in the kind's params dtype (float32 for half outputs);
    ``clamps`` is float32 ``(m, 2)`` for half outputs (float16 or bfloat16,
    see :mod:`xinit_bench.half`), else None.

    Runs longer than the kernels' ``CHUNK`` are cut into chunks here, so a
    launch balances over threads whatever the run lengths; the launch is
    serial below the kind's ``SERIAL_BELOW`` elements in all, or in a forked
    child of an OpenMP process.
    """
    runs, chunk, serial_below, compile_quietly = _RUN_KERNELS or _load_run_kernels()
    half = clamps is not None
    addresses, counts, positions, keys, params, clamps = _split(
        chunk, dtype.itemsize, addresses, counts, positions, keys, params, clamps
    )
    if addresses.size == 0:
        return
    serial = addresses.size == 1 or int(counts.sum()) < serial_below[kind] or not parallel_allowed()
    kernel = runs[(kind, not serial, half)]
    if not serial:
        prepare_threading()
    like = np.empty(0, np.uint16 if half else dtype)
    args: tuple[Any, ...] = (like, addresses, counts, positions, keys, params)
    if half:
        args = (*args, clamps, dtype.name == "bfloat16")
    ready = (kernel, params.dtype.char, like.dtype.char)
    if ready not in _READY:
        compile_quietly(kernel, *args)
        _READY.add(ready)
    if serial:
        kernel(*args)
        return
    with launch_guard():
        kernel(*args)


def _split(chunk: int, itemsize: int, *arrays: Any) -> tuple[Any, ...]:
    """Cut runs longer than ``chunk`` elements into runs of at most ``chunk``; rows of the other arrays repeat."""
    addresses, counts, positions, *rest = arrays
    pieces = (counts + chunk - 1) // chunk
    if addresses.size == 0 or int(pieces.max()) <= 1:
        return (addresses, counts, positions, *rest)
    keep = counts > 0
    pieces = pieces[keep]
    owner = np.repeat(np.flatnonzero(keep), pieces)
    first = np.cumsum(pieces) - pieces
    within = (np.arange(owner.size, dtype=np.int64) - np.repeat(first, pieces)) * chunk
    new_counts = np.minimum(counts[owner] - within, chunk)
    return (
        addresses[owner] + within * itemsize,
        new_counts,
        positions[owner] + within,
        *(None if a is None else np.ascontiguousarray(a[owner]) for a in rest),
    )


#: ``(run entry points by (kind, parallel, half), CHUNK, SERIAL_BELOW by kind, compile_quietly)``.
_RUN_KERNELS: tuple[dict[tuple[str, bool, bool], Any], int, dict[str, int], Any] | None = None


def _load_run_kernels() -> tuple[dict[tuple[str, bool, bool], Any], int, dict[str, int], Any]:
    global _RUN_KERNELS
    from .kernels import fill, runs
    from .kernels._jit import compile_quietly

    below = {name: fill.SERIAL_BELOW[number] for name, number in KINDS.items()}
    _RUN_KERNELS = (runs.RUNS, runs.CHUNK, below, compile_quietly)
    return _RUN_KERNELS


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
_READY: set[tuple[Any, ...]] = set()
