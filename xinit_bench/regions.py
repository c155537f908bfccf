"""Blocks of a global tensor as runs of the stream: shard-exact slices.

A sampler called with ``region=`` computes only ``full[region]`` of the tensor
of the global ``shape``, bit for bit, with fans (for an initialiser) taken
from the global shape.  Element ``g`` of the C-order global tensor is stream
position ``offset + g``, so a block is a set of *runs*: for a block
:math:`[s_0, e_0) \\times \\dots \\times [s_{d-1}, e_{d-1})` the trailing axes
that the block covers whole merge with the last partial axis ``k`` into runs
of :math:`(e_k - s_k) \\prod_{a > k} n_a` consecutive positions, one run per
index of the axes before ``k``, starting at

.. math:: p = \\text{offset} + \\sum_{a \\le k} i_a \\prod_{b > a} n_b .

All the runs of a block go to one kernel launch
(:mod:`xinit_bench.kernels.runs`).  A region is a tuple of slices with step 1
and ints, as in NumPy indexing (an int drops its axis; missing trailing axes
are whole; out-of-range slice ends are clipped as NumPy clips them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .validation import Shape, is_int

__all__ = ["Region", "check_region", "region_runs"]

#: A block of a tensor: ``(slice(r0, r1), slice(None))``, ``(3,)``, ... (step 1 only).
Region = Sequence[slice | int]


def check_region(region: Any, dims: Shape, name: str = "region") -> tuple[Shape, tuple[tuple[int, int], ...]]:
    """The output shape of ``full[region]`` and the ``[start, stop)`` of every global axis.

    Raises
    ------
    TypeError
        Not a tuple or list of slices and ints (a single slice or int is accepted as a 1-tuple).
    ValueError
        More entries than axes, a slice step other than 1, an int index out of range.

    Examples
    --------
    >>> check_region((slice(2, 4),), (6, 3))
    ((2, 3), ((2, 4), (0, 3)))
    >>> check_region((1, slice(None, 2)), (6, 3))
    ((2,), ((1, 2), (0, 2)))
    """
    entries = (region,) if isinstance(region, slice) or is_int(region) else region
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence):
        raise TypeError(f"{name} must be a tuple of slices and ints, got {region!r}")
    if len(entries) > len(dims):
        raise ValueError(f"{name} must have at most {len(dims)} entries (one per axis of {dims}), got {region!r}")
    shape: list[int] = []
    bounds: list[tuple[int, int]] = []
    for axis, n in enumerate(dims):
        entry = entries[axis] if axis < len(entries) else slice(None)
        if isinstance(entry, slice):
            if entry.step not in (None, 1):
                raise ValueError(f"{name}[{axis}] must be a slice with step 1, got {entry!r}")
            for end in (entry.start, entry.stop):
                if end is not None and not is_int(end):
                    raise TypeError(f"{name}[{axis}] must be a slice of ints, got {entry!r}")
            start, stop, _ = entry.indices(n)
            stop = max(start, stop)
            shape.append(stop - start)
            bounds.append((start, stop))
        elif is_int(entry):
            i = int(entry)
            if not -n <= i < n:
                raise ValueError(f"{name}[{axis}] must be an index in [{-n}, {n}), got {i}")
            i %= n
            bounds.append((i, i + 1))
        else:
            raise TypeError(f"{name}[{axis}] must be a slice or an int, got {entry!r}")
    return tuple(shape), tuple(bounds)


def region_runs(dims: Shape, bounds: Sequence[tuple[int, int]]) -> tuple[NDArray[np.int64], int]:
    """Stream positions (offset 0) of the runs of the block ``bounds``, in C order, and the run length.

    Run ``r`` goes to elements ``r * length ... (r + 1) * length - 1`` of the
    C-contiguous block.  An empty block has no runs.

    Examples
    --------
    >>> starts, length = region_runs((4, 5), ((1, 3), (2, 4)))
    >>> starts.tolist(), length
    ([7, 12], 2)
    >>> region_runs((4, 5), ((1, 3), (0, 5)))[0].tolist()   # whole rows merge into one run
    [5]
    """
    extents = [stop - start for start, stop in bounds]
    if not dims or 0 in extents:
        return np.zeros(0 if 0 in extents else 1, np.int64), 0 if 0 in extents else 1
    strides = np.ones(len(dims), np.int64)
    for a in range(len(dims) - 2, -1, -1):
        strides[a] = strides[a + 1] * dims[a + 1]
    k = len(dims) - 1  # the last axis the block does not cover whole, merging the whole trailing ones
    while k > 0 and extents[k] == dims[k]:
        k -= 1
    length = extents[k] * int(strides[k])
    starts = np.array([bounds[k][0] * int(strides[k])], np.int64)
    for a in range(k - 1, -1, -1):
        rows = np.arange(bounds[a][0], bounds[a][1], dtype=np.int64) * strides[a]
        starts = (rows[:, None] + starts[None, :]).reshape(-1)
    return starts, length
