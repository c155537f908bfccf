"""Orthogonal matrices as a lazy dask array: one task per matrix, or per group of matrices, of a stacked batch.

``xinit_bench.dask.orthogonal(shape, gain, batch_axis=k, seed=s)`` is the
lazy form of ``xinit_bench.orthogonal(shape, gain, batch_axis=k, seed=s)``:
each index along axis ``k`` is its own ``rows x cols`` matrix, taken from
stream positions ``b * rows * cols ...`` of the call's one stream, and each
task computes the matrices of its chunk with the local function's
``region=`` (which factorises only the matrices the region touches), so

``xinit_bench.dask.orthogonal(shape, batch_axis=k, chunks=c, seed=s).compute()``
equals ``xinit_bench.orthogonal(shape, batch_axis=k, seed=s)``

bit for bit, for every chunking ``c`` of the batch axis.  A QR needs its whole
matrix, so a chunking that cuts any other axis is refused.  Without
``batch_axis`` the tensor is one matrix, and the array has one chunk.

The key and stream are resolved once, when the graph is built (a
``generator=`` gives up one stream then): every task carries a copy of the
source at that stream and copies it again before it draws, so no task
advances another's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import partial
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from numpy.typing import DTypeLike, NDArray

from .._rng import Generator, check_source, peek, take
from ..orthogonal import orthogonal as local_orthogonal
from ..orthogonal_law import Layout, check_orthogonal, check_scale
from ..validation import resolve_dtype
from .chunks import blocks, check_chunks
from .recipe import STREAM_VERSION, dtype_of

__all__ = ["OrthogonalRecipe", "fill_orthogonal", "orthogonal"]


@dataclass(frozen=True)
class OrthogonalRecipe:
    """One lazy orthogonal tensor: the checked call and the source at its reserved stream."""

    shape: tuple[int, ...]
    gain: float
    dtype: str
    layout: Layout
    column_axis: int | None
    batch_axis: int | None
    source: Generator

    def token(self) -> str:
        """The values that fix the bits, as dask's token: the gain by its hex, the key words and the stream."""
        key = (int(self.source.key[0]), int(self.source.key[1]), self.source.stream)
        return tokenize(
            "orthogonal",
            self.shape,
            float(self.gain).hex(),
            self.dtype,
            self.layout,
            self.column_axis,
            self.batch_axis,
            key,
            STREAM_VERSION,
        )


def fill_orthogonal(recipe: OrthogonalRecipe, bounds: tuple[tuple[int, int], ...]) -> NDArray[Any]:
    """The block ``bounds`` of the recipe's tensor: the local :func:`~xinit_bench.orthogonal` of that region."""
    region = tuple(slice(start, stop) for start, stop in bounds)
    source = copy.deepcopy(recipe.source)  # the same stream in every task, whatever the scheduler shares
    result: NDArray[Any] = local_orthogonal(
        recipe.shape,
        recipe.gain,
        generator=source,
        dtype=dtype_of(recipe.dtype),
        layout=recipe.layout,
        column_axis=recipe.column_axis,
        batch_axis=recipe.batch_axis,
        region=region,
    )
    return result


def _whole_matrices(
    chunks: Any, dims: tuple[int, ...], batch_axis: int | None, dt: np.dtype[Any]
) -> tuple[tuple[int, ...], ...]:
    """The chunks, normalised; None is one matrix per chunk.  Refuses a chunking that cuts a matrix."""
    if chunks is None:
        return tuple((1,) * n if axis == batch_axis else (n,) for axis, n in enumerate(dims))
    normalised = check_chunks(chunks, dims, dt)
    for axis, sizes in enumerate(normalised):
        if axis != batch_axis and len(sizes) > 1:
            where = "the tensor is one matrix" if batch_axis is None else f"only batch_axis={batch_axis} may be cut"
            raise ValueError(
                f"chunks must keep every matrix whole (a QR needs all of it; {where}): axis {axis} of length "
                f"{dims[axis]} must be one block, got {chunks!r}, which cuts it into {sizes}"
            )
    return normalised


def orthogonal(
    shape: Any,
    gain: float = 1.0,
    *,
    chunks: Any = None,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    layout: Layout = "torch",
    column_axis: int | None = None,
    batch_axis: int | None = None,
) -> da.Array:
    """Lazy dask array equal to :func:`xinit_bench.orthogonal` bit for bit, one task per chunk of matrices.

    .. math:: W_b = g\\, Q_b\\, \\operatorname{diag}(\\operatorname{sign} (R_b)_{jj}),\\qquad G_b = Q_b R_b

    for every matrix ``b`` along ``batch_axis``, with ``G_b`` the Gaussian of
    its own stream positions (the module docstring gives the contract).

    Parameters
    ----------
    shape, gain, seed, generator, dtype, layout, column_axis, batch_axis
        As for :func:`xinit_bench.orthogonal` (no ``out=`` or ``region=``: each chunk is its own block).
    chunks : optional
        None (the default): one matrix per chunk.  Otherwise any of dask's
        spellings (:func:`~xinit_bench.dask.check_chunks`) that cut only the
        batch axis: ``(4, -1, -1)`` puts four matrices of a ``(B, m, n)``
        batch in each task.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        As :func:`xinit_bench.orthogonal`, or chunks that cut a matrix.
        Nothing is built and no generator advances.

    Examples
    --------
    >>> import numpy as np
    >>> from xinit_bench.orthogonal import orthogonal as local
    >>> import xinit_bench.dask as xd
    >>> lazy = xd.orthogonal((4, 6, 3), batch_axis=0, chunks=(2, -1, -1), seed=1, dtype=np.float64)
    >>> lazy.numblocks, bool((lazy.compute() == local((4, 6, 3), batch_axis=0, seed=1, dtype=np.float64)).all())
    ((2, 1, 1), True)
    """
    call = check_orthogonal(shape, gain, layout, column_axis, batch_axis)
    dims = call.spec.dims
    dt = resolve_dtype(dtype, None)
    check_scale(dt, "gain", call.gain, f"gain={gain!r}")
    normalised = _whole_matrices(chunks, dims, call.batch_axis, dt)
    check_source(seed, generator)
    if generator is None:
        source = Generator(seed)  # stream 0 of the seed's key: the seed=s draw (seed=None: fresh entropy, once)
    else:
        stream = int(peek(None, generator)[2])
        source = copy.deepcopy(generator)  # replays the stream the call takes next
        take(generator, stream)
    recipe = OrthogonalRecipe(dims, call.gain, dt.name, call.layout, call.column_axis, call.batch_axis, source)
    name = f"orthogonal-{tokenize(recipe.token(), normalised)}"
    task = partial(fill_orthogonal, recipe)
    graph: dict[Any, Any] = {(name, *index): (task, bounds) for index, bounds in blocks(normalised)}
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=())
    return da.Array(hlg, name, normalised, meta=np.empty((0,) * len(dims), dt))  # type: ignore[no-untyped-call]
