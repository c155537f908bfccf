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
``dask.array.random`` does not promise this: its values change when the
chunks change (dask issue 1684, "changing the chunksize changes the random
sequence").

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

import hashlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

try:
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as exc:  # pragma: no cover - the optional dependency is missing
    raise ImportError(
        "xinit_bench.dask needs dask: pip install 'xinit-bench[dask]' (dask[array], distributed, zarr)"
    ) from exc

from . import init as _init
from ._rng import Generator, check_source, resolve
from .fans import compute_fans
from .gains import calculate_gain
from .half import clamps
from .regions import region_runs
from .samplers import fill_block, normal_plan, truncated_plan, uniform_plan
from .schemes import NAMED_SCHEMES, fan_size
from .validation import bfloat16, check_int, check_shape, is_half, is_int, resolve_dtype

__all__ = [
    "FUNCTIONS",
    "chunked",
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
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]

#: Aliases of the named schemes, as in the local API.
_ALIASES = {
    "glorot_uniform": "xavier_uniform",
    "glorot_normal": "xavier_normal",
    "glorot_truncated_normal": "xavier_truncated_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
    "kaiming_truncated_normal": "he_truncated_normal",
}
_RAW = ("uniform", "normal", "truncated_normal")
#: Every function this module mirrors, by its name in the local API.
FUNCTIONS: tuple[str, ...] = (*NAMED_SCHEMES, *_ALIASES, "variance_scaling", *_RAW)

_F32 = np.dtype(np.float32)
#: Bytes per chunk that :func:`to_zarr` aims at when ``chunks="auto"``.
AUTO_CHUNK_BYTES = 64 * 2**20


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
        """A SHA-256 of every field, bit-exact (floats by their hex): the same in every process."""
        values = [float(v).hex() if isinstance(v, (float, np.floating)) else repr(v) for v in self.params]
        limits = None if self.limits is None else [float(v).hex() for v in self.limits]
        text = repr((self.function, self.shape, self.dtype, self.kind, values, limits, self.key, self.offset))
        return hashlib.sha256(text.encode()).hexdigest()


def _dtype_of(name: str) -> np.dtype[Any]:
    return bfloat16() if name == "bfloat16" else np.dtype(name)


def fill(recipe: Recipe, bounds: tuple[tuple[int, int], ...]) -> NDArray[Any]:
    """The block ``bounds`` (``[start, stop)`` per axis) of the recipe's global tensor, in one launch."""
    dt = _dtype_of(recipe.dtype)
    out = np.empty(tuple(stop - start for start, stop in bounds), dt)
    if out.size:
        starts, length = region_runs(recipe.shape, bounds)
        key = (np.uint32(recipe.key[0]), np.uint32(recipe.key[1]), np.uint32(recipe.key[2]))
        fill_block(recipe.kind, out, key, starts + recipe.offset, length, recipe.params, recipe.limits)
    return out


def _plan(function: str, bound: inspect.BoundArguments) -> Any:
    """The plan of ``function`` called with ``bound`` (already validated by the local call)."""
    a = bound.arguments
    if function == "uniform":
        return uniform_plan(float(a["low"]), float(a["high"]))
    if function == "normal":
        return normal_plan(float(a["mean"]), float(a["std"]))
    if function == "truncated_normal":
        m, s, lo, hi = (float(a[k]) for k in ("mean", "std", "a", "b"))
        if a["absolute"]:
            lo, hi = (lo - m) / s, (hi - m) / s
        return truncated_plan(m, s, lo, hi)
    dims = check_shape(a["shape"])
    if function == "variance_scaling":
        scale, mode, distribution = float(a["scale"]), a["mode"], a["distribution"]
        fans = a["fans"]
        fan_in, fan_out = (
            (int(fans[0]), int(fans[1]))
            if fans is not None
            else compute_fans(
                dims, a["layout"], in_axis=a["in_axis"], out_axis=a["out_axis"], batch_axis=a["batch_axis"]
            )
        )
    else:
        spec = NAMED_SCHEMES[function]
        if spec.family == "he":
            slope = float(a["a"])
            gain = calculate_gain(a["nonlinearity"], slope if a["nonlinearity"] == "leaky_relu" else None)
            mode = a["mode"]
        else:
            gain = float(a["gain"]) if a["nonlinearity"] is None else calculate_gain(a["nonlinearity"])
            mode = spec.mode
        scale, distribution = gain**2, spec.distribution
        fan_in, fan_out = compute_fans(dims, a["layout"])
    n = fan_size(mode, fan_in, fan_out)
    if n == 0:
        return normal_plan(0.0, 0.0)
    return _init.distribution_plan(distribution, scale / n)


def _probe_region(dims: tuple[int, ...]) -> tuple[slice, ...] | None:
    """An empty region of ``dims``: the local call checks everything and fills nothing."""
    return (slice(0, 0),) if dims else None


def build_recipe(
    function: str,
    shape: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    seed: Any,
    generator: Generator | None,
    dtype: DTypeLike | None,
    before_stream: Callable[[tuple[int, ...], np.dtype[Any]], None] | None = None,
) -> Recipe:
    """Check a call of ``function`` as the local API does, then resolve the key: the one state change.

    ``before_stream`` runs every further check (chunks, store) after the
    arguments' and before the generator advances.
    """
    local = getattr(_init, _ALIASES.get(function, function))
    for reserved in ("out", "region"):
        if reserved in kwargs:
            raise TypeError(f"{function}() of xinit_bench.dask takes no {reserved}= (each chunk is its own block)")
    try:
        bound = inspect.signature(local).bind(shape, *args, dtype=dtype, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{function}(): {exc}") from None
    bound.apply_defaults()
    dims = check_shape(shape)
    dt = resolve_dtype(dtype, None)
    # The local call on an empty block: the same checks and errors as xinit_bench.<function>, no data.
    local(shape, *args, seed=0, dtype=dtype, region=_probe_region(dims), **kwargs)
    check_source(seed, generator)
    offset = int(bound.arguments.get("offset", 0))
    plan = _plan(_ALIASES.get(function, function), bound)
    half = is_half(dt)
    kind, params = plan(_F32 if half else dt)
    limits = clamps(kind, params, dt, f"the {kind} parameters") if half else None
    if before_stream is not None:
        before_stream(dims, dt)
    k0, k1, stream = resolve(seed, generator)
    return Recipe(function, dims, dt.name, kind, tuple(params), limits, (int(k0), int(k1), int(stream)), offset)


# --- chunks ------------------------------------------------------------------------------------
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
    return tuple(out)


def _blocks(chunks: tuple[tuple[int, ...], ...]) -> Iterator[tuple[tuple[int, ...], tuple[tuple[int, int], ...]]]:
    """Every block's index and bounds, in C order of the block grid."""
    edges = [np.concatenate(([0], np.cumsum(c))).astype(int).tolist() for c in chunks]
    for index in np.ndindex(*(len(c) for c in chunks)):
        yield index, tuple((edges[a][i], edges[a][i + 1]) for a, i in enumerate(index))


# --- dask arrays -------------------------------------------------------------------------------
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

    def check(dims: tuple[int, ...], dt: np.dtype[Any]) -> None:
        normalised.append(check_chunks(chunks, dims, dt))

    recipe = build_recipe(function, shape, args, kwargs, seed, generator, dtype, check)
    return _array(recipe, normalised[0])


def _array(recipe: Recipe, chunks: tuple[tuple[int, ...], ...]) -> da.Array:
    name = f"{recipe.function}-{tokenize(recipe.fingerprint(), chunks)}"
    task = partial(fill, recipe)
    graph: dict[Any, Any] = {(name, *index): (task, bounds) for index, bounds in _blocks(chunks)}
    dt = _dtype_of(recipe.dtype)
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=())
    return da.Array(hlg, name, chunks, meta=np.empty((0,) * len(recipe.shape), dt))  # type: ignore[no-untyped-call]


def _constructor(function: str) -> Callable[..., da.Array]:
    local = getattr(_init, _ALIASES.get(function, function))

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
