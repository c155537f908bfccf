"""zarr stores written chunk by chunk, out of core, equal to the local fill; resumable."""

from __future__ import annotations

import errno
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from numpy.typing import DTypeLike

from .._rng import Generator
from ..validation import bfloat16, check_bool, check_callable, check_int, writable_problem
from .chunks import AUTO_CHUNK_BYTES, blocks, check_chunks
from .recipe import FUNCTIONS, Recipe, build_recipe, dtype_of, fill

__all__ = ["ATTRIBUTE", "BASE_MEMORY", "ZarrPlan", "ZarrResult", "from_zarr", "plan_zarr", "to_zarr", "write_zarr"]

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
        return math.prod(self.chunks) * dtype_of(self.recipe.dtype).itemsize

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
        dt = dtype_of(recipe.dtype)
        spec = chunks
        if isinstance(chunks, str) and chunks == "auto":  # whole rows, about AUTO_CHUNK_BYTES a chunk
            rows = max(1, AUTO_CHUNK_BYTES // max(1, dt.itemsize * math.prod(recipe.shape[1:])))
            spec = (rows, *(None,) * (len(recipe.shape) - 1)) if recipe.shape else ()
        grid = check_chunks(spec, recipe.shape, dt)
        chunk_shape = _regular(grid, recipe.shape)
        indices = [index for index, _ in blocks(grid)]
        missing = indices
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
            missing = _missing(path, recipe, chunk_shape, indices)
            resuming = True
        itemsize = dt.itemsize
        total = math.prod(recipe.shape) * itemsize
        to_write = total
        if resuming:
            sizes = {index: math.prod(b[1] - b[0] for b in bounds) * itemsize for index, bounds in blocks(grid)}
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
                len(indices),
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
    bounds = dict(blocks(plan.grid))
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
