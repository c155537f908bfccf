"""The one place where the library launches a fill kernel.

Every sampler and :func:`~xinit_bench.random_bits` ends in :func:`fill_flat`,
after all of its arguments have been checked.  It chooses between a kind's
serial and parallel entry point (:mod:`xinit_bench.kernels.fill`), which give
the same bits, and compiles each entry point once per process with the
project's warning filter (:func:`~xinit_bench.kernels._jit.compile_quietly`).
"""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray

from .kernels import fill as _k
from .kernels._jit import compile_quietly
from .kernels.kinds import KINDS

__all__ = ["fill_flat"]


def fill_flat(kind: str, flat: NDArray[Any], key: _k.Key, offset: int, params: tuple[Any, ...]) -> None:
    """Fill the 1-d C-contiguous ``flat`` with stream positions ``offset ...`` of ``kind``; no checks.

    Outputs below ``SERIAL_BELOW`` elements take the serial entry point, so a
    process that only makes small tensors never compiles a parallel kernel
    and a small call pays no parallel dispatch.
    """
    serial = flat.size < _SERIAL_BELOW[kind]
    kernel = (_k.SERIAL_FILLS if serial else _k.FILLS)[kind]
    ready = (kernel, flat.dtype.char)
    if ready not in _READY:
        compile_quietly(kernel, flat, key, offset, params)
        _READY.add(ready)
    kernel(flat, key, offset, params)


#: Elements below which a kind runs serially, by kind name.
_SERIAL_BELOW = {name: _k.SERIAL_BELOW[number] for name, number in KINDS.items()}
#: (entry point, dtype char) pairs already compiled in this process: the plans
#: give each pair one fixed argument signature, so the first call is the only
#: one that needs ``compile_quietly``.
_READY: set[tuple[Any, str]] = set()
