"""Lazy dask arrays and zarr stores whose every chunk equals the local fill, bit for bit.

``xinit_bench.dask.he_normal(shape, chunks=..., seed=...)`` (and every other
scheme and raw sampler) returns a lazy :class:`dask.array.Array`.  Each chunk
is one task that fills its block of the *global* tensor where it runs, with
one kernel launch over the block's contiguous runs
(:mod:`xinit_bench.regions`), and fans taken from the global shape.  Element
``i`` of the stream depends on ``(key, stream, i)`` alone, so

``xinit_bench.dask.he_normal(shape, chunks=c, seed=s).compute()``
equals ``xinit_bench.he_normal(shape, seed=s)``

for every chunking ``c``, every scheduler and every number of workers.
``dask.array.random`` does not promise this: it seeds each chunk from its
own state, so its values change when the chunks change (dask's own
documentation says so; the tests show it).

:func:`orthogonal` is the lazy form of :func:`xinit_bench.orthogonal` over a
stacked batch of matrices, one task per matrix or per group of them
(:mod:`xinit_bench.dask.structured`), with the same bits.

The key and stream are resolved once, when the graph is built (a
``generator=`` gives up one stream then), and every task carries only plain
values: the kernel kind, its parameters, the key words, the stream, the
offset and the block's bounds.  Building the graph costs O(number of chunks)
and computes no data.  Every argument is checked first, with the same errors
as the local call; nothing is built and no generator advances on a refused
call.

:func:`to_zarr` writes a tensor larger than memory to a zarr store, chunk by
chunk, with a ``progress=`` callback; a re-run with ``resume=True`` skips the
chunks already written and gives the same bytes.  zarr 3 has no bfloat16
data type: a bfloat16 tensor is stored as uint16 with the attribute
``xinit_bench.dtype = "bfloat16"``, and :func:`from_zarr` reads it back as
bfloat16.

dask, distributed and zarr are optional: ``pip install xinit-bench[dask]``.
"""

from __future__ import annotations

try:
    import dask.array  # noqa: F401
    import zarr  # noqa: F401
except ImportError as exc:  # pragma: no cover - the optional dependency is missing
    raise ImportError(
        "xinit_bench.dask needs dask and zarr: pip install 'xinit-bench[dask]' (dask[array], distributed, zarr)"
    ) from exc

from .arrays import (
    chunked,
    glorot_normal,
    glorot_truncated_normal,
    glorot_uniform,
    he_normal,
    he_truncated_normal,
    he_uniform,
    kaiming_normal,
    kaiming_truncated_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_truncated_normal,
    lecun_uniform,
    normal,
    truncated_normal,
    uniform,
    variance_scaling,
    xavier_normal,
    xavier_truncated_normal,
    xavier_uniform,
)
from .chunks import AUTO_CHUNK_BYTES, check_chunks
from .recipe import FUNCTIONS, Recipe, build_recipe, fill
from .stores import ATTRIBUTE, BASE_MEMORY, ZarrPlan, ZarrResult, from_zarr, plan_zarr, to_zarr, write_zarr
from .structured import orthogonal

__all__ = [
    "ATTRIBUTE",
    "AUTO_CHUNK_BYTES",
    "BASE_MEMORY",
    "FUNCTIONS",
    "Recipe",
    "ZarrPlan",
    "ZarrResult",
    "build_recipe",
    "check_chunks",
    "chunked",
    "fill",
    "from_zarr",
    "glorot_normal",
    "glorot_truncated_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_truncated_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "orthogonal",
    "plan_zarr",
    "to_zarr",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "write_zarr",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]
