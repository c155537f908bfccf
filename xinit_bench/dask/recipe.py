"""The recipe of a lazy tensor: a call, checked by the plan layer, as the plain values every task carries.

:func:`build_recipe` checks a call of one of :data:`FUNCTIONS` exactly as the
local API does -- the law through :func:`xinit_bench.plans.law_of`, the
dtype's plan through :func:`xinit_bench.plans.resolve_plan`, the seed or
generator through :func:`xinit_bench._rng.peek` -- and only then reserves the
stream (:func:`xinit_bench._rng.take`), the one state change.  :func:`fill`
computes one block of the global tensor from a recipe, in one launch.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .. import init as _init
from .._rng import OFFSETS, STREAM_VERSION, Generator, peek, take
from ..plans import law_of, resolve_plan
from ..regions import region_runs
from ..samplers import check_offset, fill_block
from ..schemes import NAMED_SCHEMES
from ..validation import bfloat16, check_shape, resolve_dtype

__all__ = ["ALIASES", "FUNCTIONS", "STREAM_VERSION", "Recipe", "build_recipe", "dtype_of", "fill", "library_version"]


def library_version() -> str:
    """The installed xinit-bench's version, as its package metadata gives it."""
    try:
        return metadata.version("xinit-bench")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


#: Aliases of the named schemes, as in the local API.
ALIASES = {
    "glorot_uniform": "xavier_uniform",
    "glorot_normal": "xavier_normal",
    "glorot_truncated_normal": "xavier_truncated_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
    "kaiming_truncated_normal": "he_truncated_normal",
}
_RAW = ("uniform", "normal", "truncated_normal")
#: Every function a dask array or zarr store can be made of: the local API's names.
FUNCTIONS: tuple[str, ...] = (*NAMED_SCHEMES, *ALIASES, "variance_scaling", *_RAW)


# --- the recipe: everything a task needs, as plain values ------------------------------------
@dataclass(frozen=True)
class Recipe:
    """One tensor's fill, as plain picklable values: what every task of the graph carries.

    ``key`` is ``(k0, k1, stream)``; ``offset`` the stream position of the
    global tensor's first element; ``kind`` and ``params`` the kernel and its
    parameters (float32 ones for a half dtype, with ``limits`` the clamps).
    """

    function: str
    shape: tuple[int, ...]
    dtype: str
    kind: str
    params: tuple[Any, ...]
    limits: tuple[Any, ...] | None
    key: tuple[int, int, int]
    offset: int

    def fingerprint(self) -> str:
        """A SHA-256 of every field, bit-exact (floats by their hex), the stream version and the library version.

        The same in every process of one installation; a store begun under
        another stream version (other bits for the same call) or another
        release of the library gets another fingerprint, so it is not resumed.
        """
        values = [float(v).hex() if isinstance(v, (float, np.floating)) else repr(v) for v in self.params]
        limits = None if self.limits is None else [float(v).hex() for v in self.limits]
        text = repr(
            (
                self.function,
                self.shape,
                self.dtype,
                self.kind,
                values,
                limits,
                self.key,
                self.offset,
                STREAM_VERSION,
                library_version(),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()


def dtype_of(name: str) -> np.dtype[Any]:
    return bfloat16() if name == "bfloat16" else np.dtype(name)


def fill(recipe: Recipe, bounds: tuple[tuple[int, int], ...]) -> NDArray[Any]:
    """The block ``bounds`` (``[start, stop)`` per axis) of the recipe's global tensor, in one launch."""
    dt = dtype_of(recipe.dtype)
    out = np.empty(tuple(stop - start for start, stop in bounds), dt)
    if out.size:
        starts, length = region_runs(recipe.shape, bounds)
        key = (np.uint32(recipe.key[0]), np.uint32(recipe.key[1]), np.uint32(recipe.key[2]))
        fill_block(recipe.kind, out, key, starts + recipe.offset, length, recipe.params, recipe.limits)
    return out


def build_recipe(
    function: str,
    shape: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    seed: Any,
    generator: Generator | None,
    dtype: DTypeLike | None,
    before_stream: Callable[[Recipe], None] | None = None,
) -> Recipe:
    """Check a call of ``function`` as the local API does, then reserve its stream: the one state change.

    The arguments bind to the local function's signature (so a wrong or
    missing argument is the same ``TypeError``), the law and the dtype's plan
    come from the plan layer (the same ``ValueError``s), and nothing is drawn.
    ``before_stream`` runs every further check (chunks, store) on the recipe
    after those and before a generator advances.
    """
    name = ALIASES.get(function, function)
    local = getattr(_init, name)
    for reserved in ("out", "region"):
        if reserved in kwargs:
            raise TypeError(f"{function}() of xinit_bench.dask takes no {reserved}= (each chunk is its own block)")
    try:
        bound = inspect.signature(local).bind(shape, *args, dtype=dtype, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{function}(): {exc}") from None
    law = law_of(name, bound.arguments)
    dims = check_shape(shape)
    dt = resolve_dtype(dtype, None)
    offset = check_offset(bound.arguments.get("offset", 0))
    if math.prod(dims) > OFFSETS:
        raise ValueError(
            f"shape must have at most 2**62 elements (the stream's positions), got {dims}, "
            f"of {math.prod(dims)} elements"
        )
    if offset and offset + math.prod(dims) > OFFSETS:
        raise ValueError(
            f"offset must leave room for the tensor's {math.prod(dims)} elements below 2**62, got offset={offset!r}"
        )
    kind, params, limits = resolve_plan(law, dt)
    k0, k1, stream = peek(seed, generator)  # seed=None draws its entropy here, once
    recipe = Recipe(function, dims, dt.name, kind, tuple(params), limits, (int(k0), int(k1), int(stream)), offset)
    if before_stream is not None:
        before_stream(recipe)
    take(generator, int(stream))
    return recipe
