"""Lazy dask arrays: one task per chunk, each filling its block of the global tensor.

Every constructor is one line around :func:`chunked`, with the local
function's name (as ``dask/array/random.py`` wraps one constructor).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from numpy.typing import DTypeLike

from .. import init as _init
from .._rng import Generator
from .chunks import blocks, check_chunks
from .recipe import ALIASES, FUNCTIONS, Recipe, build_recipe, dtype_of, fill


def chunked(
    function: str,
    shape: Any,
    *args: Any,
    chunks: Any = "auto",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    **kwargs: Any,
) -> da.Array:
    """The lazy dask array of ``xinit_bench.<function>(shape, *args, seed=..., **kwargs)``, in ``chunks``.

    ``function`` is one of :data:`FUNCTIONS`.  Every named constructor of
    this module is this call with its name.
    """
    if not isinstance(function, str) or function not in FUNCTIONS:
        raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, got {function!r}")
    normalised: list[tuple[tuple[int, ...], ...]] = []

    def check(recipe: Recipe) -> None:
        normalised.append(check_chunks(chunks, recipe.shape, dtype_of(recipe.dtype)))

    recipe = build_recipe(function, shape, args, kwargs, seed, generator, dtype, check)
    return _array(recipe, normalised[0])


def _array(recipe: Recipe, chunks: tuple[tuple[int, ...], ...]) -> da.Array:
    name = f"{recipe.function}-{tokenize(recipe.fingerprint(), chunks)}"
    task = partial(fill, recipe)
    graph: dict[Any, Any] = {(name, *index): (task, bounds) for index, bounds in blocks(chunks)}
    dt = dtype_of(recipe.dtype)
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=())
    return da.Array(hlg, name, chunks, meta=np.empty((0,) * len(recipe.shape), dt))  # type: ignore[no-untyped-call]


def _constructor(function: str) -> Callable[..., da.Array]:
    local = getattr(_init, ALIASES.get(function, function))

    def constructor(
        shape: Any,
        *args: Any,
        chunks: Any = "auto",
        seed: int | None = None,
        generator: Generator | None = None,
        dtype: DTypeLike | None = None,
        **kwargs: Any,
    ) -> da.Array:
        return chunked(function, shape, *args, chunks=chunks, seed=seed, generator=generator, dtype=dtype, **kwargs)

    constructor.__name__ = constructor.__qualname__ = function
    constructor.__doc__ = (
        f"Lazy dask array equal to ``xinit_bench.{function}`` bit for bit, on any ``chunks``.\n\n"
        f"Takes the arguments of ``xinit_bench.{function}`` (except ``out=`` and ``region=``) and\n"
        f"``chunks`` (see :func:`check_chunks`).  Local signature: ``{function}{inspect.signature(local)}``."
    )
    return constructor


xavier_uniform = _constructor("xavier_uniform")
xavier_normal = _constructor("xavier_normal")
xavier_truncated_normal = _constructor("xavier_truncated_normal")
he_uniform = _constructor("he_uniform")
he_normal = _constructor("he_normal")
he_truncated_normal = _constructor("he_truncated_normal")
lecun_uniform = _constructor("lecun_uniform")
lecun_normal = _constructor("lecun_normal")
lecun_truncated_normal = _constructor("lecun_truncated_normal")
glorot_uniform = _constructor("glorot_uniform")
glorot_normal = _constructor("glorot_normal")
glorot_truncated_normal = _constructor("glorot_truncated_normal")
kaiming_uniform = _constructor("kaiming_uniform")
kaiming_normal = _constructor("kaiming_normal")
kaiming_truncated_normal = _constructor("kaiming_truncated_normal")
variance_scaling = _constructor("variance_scaling")
uniform = _constructor("uniform")
normal = _constructor("normal")
truncated_normal = _constructor("truncated_normal")
