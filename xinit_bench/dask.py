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
documentation says so; ``tests/test_dask.py`` shows it).

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

import errno
import hashlib
import inspect
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path
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
from ._rng import Generator, check_source, key_from_seed
from .fans import compute_fans
from .gains import calculate_gain
from .half import clamps
from .regions import region_runs
from .samplers import fill_block, normal_plan, truncated_plan, uniform_plan
from .schemes import NAMED_SCHEMES, fan_size
from .validation import (
    bfloat16,
    check_bool,
    check_callable,
    check_int,
    check_shape,
    is_half,
    is_int,
    resolve_dtype,
    writable_problem,
)

__all__ = [
    "FUNCTIONS",
    "Recipe",
    "ZarrPlan",
    "ZarrResult",
    "check_chunks",
    "chunked",
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
    "plan_zarr",
    "to_zarr",
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
    before_stream: Callable[[Recipe], None] | None = None,
) -> Recipe:
    """Check a call of ``function`` as the local API does, then resolve the key: the one state change.

    ``before_stream`` runs every further check (chunks, store) on the recipe
    after the arguments' checks and before a generator advances.
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
    limits = clamps(kind, params, dt) if half else None
    # The key this call will use, seen before it is taken (seed=None draws its entropy here).
    k0, k1 = generator.key if generator is not None else key_from_seed(seed)
    stream = generator.stream if generator is not None else 0
    recipe = Recipe(function, dims, dt.name, kind, tuple(params), limits, (int(k0), int(k1), int(stream)), offset)
    if before_stream is not None:
        before_stream(recipe)
    if generator is not None and generator.next_stream() != stream:
        raise RuntimeError("generator was used by another thread while this graph was built; build it again")
    return recipe


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

    def check(recipe: Recipe) -> None:
        normalised.append(check_chunks(chunks, recipe.shape, _dtype_of(recipe.dtype)))

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


# --- zarr stores -------------------------------------------------------------------------------
#: The attribute that holds the recipe of a store written by :func:`to_zarr`.
ATTRIBUTE = "xinit_bench"
#: Process memory besides the chunks in flight (Python, NumPy, Numba's kernels, zarr), measured: see the README.
BASE_MEMORY = 300 * 2**20


@dataclass(frozen=True)
class ZarrPlan:
    """Everything :func:`to_zarr` will do, checked and measured before any chunk is written.

    ``missing`` are the block indices still to write (all of them, unless
    resuming); ``bytes_to_write`` their size; ``free_bytes`` the free space
    where the store goes; ``memory_estimate`` the peak resident memory
    expected (:data:`BASE_MEMORY` plus two copies of each chunk in flight).
    """

    path: Path
    recipe: Recipe
    chunks: tuple[int, ...]
    grid: tuple[tuple[int, ...], ...]
    missing: tuple[tuple[int, ...], ...]
    total_chunks: int
    bytes_total: int
    bytes_to_write: int
    free_bytes: int
    workers: int
    overwrite: bool
    resuming: bool

    @property
    def chunk_bytes(self) -> int:
        return math.prod(self.chunks) * _dtype_of(self.recipe.dtype).itemsize

    @property
    def memory_estimate(self) -> int:
        return BASE_MEMORY + 2 * self.workers * self.chunk_bytes


@dataclass(frozen=True)
class ZarrResult:
    """What :func:`to_zarr` did: chunks written and skipped, bytes written, wall seconds."""

    path: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    stored_dtype: str
    chunks_total: int
    chunks_written: int
    chunks_skipped: int
    bytes_written: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def _stored(dtype_name: str) -> str:
    """The zarr data type of a dtype: zarr 3 has no bfloat16, so it is stored as its uint16 bits."""
    return "uint16" if dtype_name == "bfloat16" else dtype_name


def _attributes(recipe: Recipe) -> dict[str, Any]:
    return {
        "dtype": recipe.dtype,
        "function": recipe.function,
        "shape": list(recipe.shape),
        "kind": recipe.kind,
        "key": list(recipe.key[:2]),
        "stream": recipe.key[2],
        "offset": recipe.offset,
        "stream_version": 1,
        "fingerprint": recipe.fingerprint(),
    }


def _check_store(store: Any) -> Path:
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a path (str or os.PathLike) of a directory, got {type(store).__name__}")
    return Path(store)


def _is_zarr(path: Path) -> bool:
    return (path / "zarr.json").is_file()


def _check_writable(path: Path) -> None:
    """Refuse a store that could not be written: read-only, or under a missing or read-only directory."""
    target = path if path.exists() else path.parent
    if not target.is_dir():
        raise FileNotFoundError(f"store must be in an existing directory, got {str(path)!r} (no directory {target})")
    problem = writable_problem(path, folder=True)
    if problem is not None:
        raise PermissionError(f"store must be a writable path, got {str(path)!r} ({problem})")


def _regular(grid: tuple[tuple[int, ...], ...], dims: tuple[int, ...]) -> tuple[int, ...]:
    """The chunk shape of a regular grid (equal blocks, a smaller last one); zarr stores no other."""
    shape = []
    for axis, sizes in enumerate(grid):
        first = sizes[0]
        if any(s != first for s in sizes[:-1]) or sizes[-1] > first:
            raise ValueError(
                f"chunks[{axis}] must be regular for a zarr store (equal blocks, the last one smaller), got {sizes}"
            )
        shape.append(max(first, 1))
    return tuple(shape)


def plan_zarr(
    store: Any,
    function: str,
    shape: Any,
    *args: Any,
    chunks: Any = "auto",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    overwrite: bool = False,
    resume: bool = False,
    workers: int = 2,
    **kwargs: Any,
) -> ZarrPlan:
    """Check a :func:`to_zarr` call and measure what it will write; nothing is written.

    A ``generator`` gives up one stream here, after every check.  See
    :func:`to_zarr` for the arguments and the errors.
    """
    path = _check_store(store)
    if not isinstance(function, str) or function not in FUNCTIONS:
        raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, got {function!r}")
    overwrite, resume = check_bool("overwrite", overwrite), check_bool("resume", resume)
    if overwrite and resume:
        raise ValueError("pass either overwrite=True or resume=True, not both")
    n_workers = check_int("workers", workers, minimum=1, maximum=64)
    found: list[ZarrPlan] = []

    def check(recipe: Recipe) -> None:
        dt = _dtype_of(recipe.dtype)
        spec = chunks
        if isinstance(chunks, str) and chunks == "auto":  # whole rows, about AUTO_CHUNK_BYTES a chunk
            rows = max(1, AUTO_CHUNK_BYTES // max(1, dt.itemsize * math.prod(recipe.shape[1:])))
            spec = (rows, *(None,) * (len(recipe.shape) - 1)) if recipe.shape else ()
        grid = check_chunks(spec, recipe.shape, dt)
        chunk_shape = _regular(grid, recipe.shape)
        blocks = [index for index, _ in _blocks(grid)]
        missing = blocks
        resuming = False
        if path.exists():
            if not (overwrite or resume):
                raise FileExistsError(
                    f"store must not exist unless overwrite=True or resume=True, got {str(path)!r}, which exists"
                )
            if any(path.iterdir()) and not _is_zarr(path):
                raise ValueError(f"store must be a zarr store to be overwritten or resumed, got {str(path)!r}")
        _check_writable(path)
        if resume and path.exists() and _is_zarr(path):
            missing = _missing(path, recipe, chunk_shape, blocks)
            resuming = True
        itemsize = dt.itemsize
        total = math.prod(recipe.shape) * itemsize
        to_write = total
        if resuming:
            sizes = {index: math.prod(b[1] - b[0] for b in bounds) * itemsize for index, bounds in _blocks(grid)}
            to_write = sum(sizes[i] for i in missing)
        probe = path if path.exists() else path.parent
        free = shutil.disk_usage(probe).free
        if overwrite and path.exists():
            free += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        if to_write > free:
            raise OSError(
                errno.ENOSPC,
                f"store needs {to_write / 2**30:.2f} GiB for its chunks, got {free / 2**30:.2f} GiB free in {probe}",
            )
        found.append(
            ZarrPlan(
                path,
                recipe,
                chunk_shape,
                grid,
                tuple(missing),
                len(blocks),
                total,
                to_write,
                free,
                n_workers,
                overwrite,
                resuming,
            )
        )

    build_recipe(function, shape, args, kwargs, seed, generator, dtype, check)
    return found[0]


def _missing(
    path: Path, recipe: Recipe, chunk_shape: tuple[int, ...], blocks: list[tuple[int, ...]]
) -> list[tuple[int, ...]]:
    """The blocks of a store to resume that are not written yet, after checking it holds this recipe."""
    import zarr

    arr = zarr.open_array(str(path), mode="r")
    mine = dict(arr.attrs).get(ATTRIBUTE)
    if not isinstance(mine, dict) or mine.get("fingerprint") != recipe.fingerprint():
        raise ValueError(
            f"store must hold this same tensor to be resumed (function, shape, dtype, parameters, seed or stream), "
            f"got {str(path)!r}, written by {mine.get('function') if isinstance(mine, dict) else 'something else'}"
        )
    if tuple(arr.chunks) != chunk_shape:
        raise ValueError(f"chunks must be the store's own {tuple(arr.chunks)} to resume it, got {chunk_shape}")
    # zarr's LocalStore writes a chunk to a temporary file and renames it into place, so a chunk that
    # exists is whole; a temporary file left by an interrupted write is removed here.
    for leftover in (path / "c").rglob("*.partial") if (path / "c").is_dir() else ():
        leftover.unlink(missing_ok=True)
    return [i for i in blocks if not (path / arr.metadata.encode_chunk_key(i)).is_file()]


def write_zarr(plan: ZarrPlan, progress: Callable[[int, int], None] | None = None) -> ZarrResult:
    """Write the chunks of ``plan`` (from :func:`plan_zarr`), ``plan.workers`` at a time.

    ``progress(done, total)`` is called with the chunks done so far (skipped ones included).
    """
    import zarr

    check_callable("progress", progress, optional=True)
    start = time.perf_counter()
    recipe = plan.recipe
    if not plan.resuming:
        if plan.overwrite and plan.path.exists():
            shutil.rmtree(plan.path)
        zarr.create_array(
            store=str(plan.path),
            shape=recipe.shape,
            chunks=plan.chunks,
            dtype=_stored(recipe.dtype),
            compressors=None,  # random floats do not compress; a compressor would only cost CPU
            fill_value=0,
            attributes={ATTRIBUTE: _attributes(recipe)},
            config={"write_empty_chunks": True},  # a chunk that happens to be all zeros is still a written chunk
        )
    arr = zarr.open_array(str(plan.path), mode="r+")
    bounds = dict(_blocks(plan.grid))
    bf16 = recipe.dtype == "bfloat16"

    def write(index: tuple[int, ...]) -> int:
        block = fill(recipe, bounds[index])
        arr[tuple(slice(a, b) for a, b in bounds[index])] = block.view(np.uint16) if bf16 else block
        return block.nbytes

    done = plan.total_chunks - len(plan.missing)
    written = 0
    if progress is not None:
        progress(done, plan.total_chunks)
    pending: set[Future[int]] = set()
    with ThreadPoolExecutor(plan.workers) as pool:
        for index in plan.missing:
            if len(pending) >= plan.workers:  # at most `workers` chunks in memory at once
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    written += f.result()
                    done += 1
                    if progress is not None:
                        progress(done, plan.total_chunks)
            pending.add(pool.submit(write, index))
        for f in pending:
            written += f.result()
            done += 1
            if progress is not None:
                progress(done, plan.total_chunks)
    return ZarrResult(
        str(plan.path),
        recipe.shape,
        plan.chunks,
        recipe.dtype,
        _stored(recipe.dtype),
        plan.total_chunks,
        len(plan.missing),
        plan.total_chunks - len(plan.missing),
        written,
        time.perf_counter() - start,
    )


def to_zarr(
    store: Any,
    function: str,
    shape: Any,
    *args: Any,
    chunks: Any = "auto",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    overwrite: bool = False,
    resume: bool = False,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> ZarrResult:
    """Write ``xinit_bench.<function>(shape, *args, seed=..., **kwargs)`` to the zarr store ``store``, out of core.

    Chunk by chunk, ``workers`` at a time, so memory holds a few chunks
    whatever the tensor's size.  Every chunk equals the local fill's block;
    the store gets no compressor (random floats do not compress).

    Parameters
    ----------
    store : str or os.PathLike
        The store's directory; it must not exist, unless ``overwrite`` (an
        existing zarr store is replaced) or ``resume``.
    function : str
        One of :data:`FUNCTIONS`; ``args`` and ``kwargs`` are its arguments.
    chunks : "auto", int or one entry per axis
        A regular grid (zarr stores no other).  ``"auto"``: whole rows, about 64 MiB a chunk.
    resume : bool
        Continue a store written by the same call (same function, shape,
        dtype, parameters and key): the chunks already there are skipped, the
        others written, so the bytes are those of one uninterrupted run.
    progress : callable, optional
        ``progress(done, total)`` after each chunk.

    Raises
    ------
    TypeError, ValueError
        As the local call, and for chunks that do not tile the shape or are not regular.
    FileExistsError
        ``store`` exists, and neither ``overwrite`` nor ``resume`` is given.
    PermissionError, FileNotFoundError
        ``store`` cannot be written (read-only, or its directory is missing).
    OSError
        Not enough free disk space for the chunks to write (``errno.ENOSPC``).

    Every check runs before any chunk is written and before a ``generator`` advances.
    """
    check_callable("progress", progress, optional=True)
    plan = plan_zarr(
        store,
        function,
        shape,
        *args,
        chunks=chunks,
        seed=seed,
        generator=generator,
        dtype=dtype,
        overwrite=overwrite,
        resume=resume,
        workers=workers,
        **kwargs,
    )
    return write_zarr(plan, progress)


def from_zarr(store: Any) -> da.Array:
    """The dask array of a zarr store, bfloat16 again if :func:`to_zarr` stored it as uint16."""
    path = _check_store(store)
    import zarr

    arr = zarr.open_array(str(path), mode="r")
    lazy: da.Array = da.from_zarr(arr)  # type: ignore[no-untyped-call]
    mine = dict(arr.attrs).get(ATTRIBUTE)
    if isinstance(mine, dict) and mine.get("dtype") == "bfloat16" and arr.dtype == np.uint16:
        viewed: da.Array = lazy.view(bfloat16())  # type: ignore[no-untyped-call]
        return viewed
    return lazy
