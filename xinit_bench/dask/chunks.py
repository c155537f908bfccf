"""Chunk specifications: dask's spellings, normalised to the block sizes along every axis."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dask.array as da
import numpy as np

from ..validation import check_int, is_int

__all__ = ["AUTO_CHUNK_BYTES", "MAX_BLOCKS", "blocks", "check_chunks"]

#: Bytes per chunk that :func:`xinit_bench.dask.to_zarr` aims at when ``chunks="auto"``.
AUTO_CHUNK_BYTES = 64 * 2**20
#: The most blocks a chunking may give, counted before any list of them is made (a graph or a store of more
#: would not fit in memory: one task or one file each).
MAX_BLOCKS = 2**26


def _count(n: int, size: int, axis: int, chunks: Any) -> int:
    count = -(-n // size) if n else 1
    if count > MAX_BLOCKS:
        raise ValueError(
            f"chunks must give at most 2**26 blocks, got {chunks!r}, which cuts axis {axis} of length {n} into "
            f"{count} blocks of {size}: use larger chunks"
        )
    return count


def check_chunks(chunks: Any, dims: tuple[int, ...], dt: np.dtype[Any]) -> tuple[tuple[int, ...], ...]:
    """Normalise ``chunks`` for ``dims``: the block sizes along every axis, which must tile the shape.

    Accepted, as in dask: ``"auto"``; an int ``>= 1`` (every axis); a
    sequence with one entry per axis, each an int ``>= 1``, ``-1`` or None
    (the whole axis), or a sequence of block sizes that add up to the axis.

    Raises
    ------
    TypeError
        Not one of those types.
    ValueError
        A size below 1, the wrong number of axes, or block sizes that do not add up to the axis.
    """
    if isinstance(chunks, str):
        if chunks != "auto":
            raise ValueError(f"chunks must be 'auto', an int >= 1 or one entry per axis, got {chunks!r}")
        return tuple(da.core.normalize_chunks("auto", dims, dtype=dt))  # type: ignore[no-untyped-call]
    if is_int(chunks):
        size = check_int("chunks", chunks, minimum=1)
        entries: list[Any] = [size] * len(dims)
    elif isinstance(chunks, (Sequence, np.ndarray)) and not isinstance(chunks, bytes):
        entries = list(chunks)
        if len(entries) != len(dims):
            raise ValueError(f"chunks must have one entry per axis of shape {dims}, got {chunks!r}")
    else:
        raise TypeError(f"chunks must be 'auto', an int >= 1 or one entry per axis, got {chunks!r}")
    out: list[tuple[int, ...]] = []
    for axis, (entry, n) in enumerate(zip(entries, dims, strict=True)):
        name = f"chunks[{axis}]"
        if entry is None or (is_int(entry) and int(entry) == -1):
            out.append((n,))
        elif is_int(entry):
            size = check_int(name, entry, minimum=1, what="an int >= 1, -1 or None")
            _count(n, size, axis, chunks)
            out.append((size,) * (n // size) + ((n % size,) if n % size else ()) if n else (0,))
        elif isinstance(entry, (Sequence, np.ndarray)) and not isinstance(entry, (str, bytes)):
            sizes = tuple(check_int(f"{name}[{i}]", s, minimum=0) for i, s in enumerate(entry))
            if sum(sizes) != n or not sizes:
                raise ValueError(
                    f"{name} must be block sizes that add up to shape[{axis}] = {n}, got {entry!r} (sum {sum(sizes)})"
                )
            out.append(sizes)
        else:
            raise TypeError(f"{name} must be an int >= 1, -1, None or a sequence of block sizes, got {entry!r}")
    total = 1
    for sizes in out:
        total *= len(sizes)
    if total > MAX_BLOCKS:
        raise ValueError(
            f"chunks must give at most 2**26 blocks, got {chunks!r}, which gives {total}: use larger chunks"
        )
    return tuple(out)


def blocks(chunks: tuple[tuple[int, ...], ...]) -> Iterator[tuple[tuple[int, ...], tuple[tuple[int, int], ...]]]:
    """Every block's index and bounds, in C order of the block grid."""
    edges = [np.concatenate(([0], np.cumsum(c))).astype(int).tolist() for c in chunks]
    for index in np.ndindex(*(len(c) for c in chunks)):
        yield index, tuple((edges[a][i], edges[a][i + 1]) for a, i in enumerate(index))
