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
from .recipe import FUNCTIONS, STREAM_VERSION, Recipe, build_recipe, dtype_of, fill, library_version

__all__ = [
    "ATTRIBUTE",
    "BASE_MEMORY",
    "ZarrPlan",
    "ZarrResult",
    "disk_bytes",
    "from_zarr",
    "plan_zarr",
    "size_text",
    "to_zarr",
    "write_zarr",
]

#: The attribute that holds the recipe of a store written by :func:`to_zarr`.
ATTRIBUTE = "xinit_bench"
#: Process memory besides the chunks in flight (Python, NumPy, Numba's kernels, zarr), measured: see the README.
BASE_MEMORY = 300 * 2**20


@dataclass(frozen=True)
class ZarrPlan:
    """Everything :func:`to_zarr` will do, checked and measured before any chunk is written.

    ``missing`` are the block indices still to write (all of them, unless
    resuming); ``bytes_to_write`` their size; ``disk_bytes`` the space their
    files take on disk (zarr stores an edge chunk at the full chunk shape,
    and each file takes whole blocks of the file system), which the free
    space is checked against; ``free_bytes`` the free space where the store
    goes; ``memory_estimate`` the peak resident memory expected
    (:data:`BASE_MEMORY` plus two copies of each chunk in flight).
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
    disk_bytes: int = 0

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


def size_text(n: int) -> str:
    """A byte count for a message, in the largest unit that keeps it above 1 (so a small store is not "0.00 GiB")."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} bytes"


def disk_bytes(files: int, file_bytes: int, block: int) -> int:
    """The disk space ``files`` files of ``file_bytes`` each take on a file system of ``block``-byte blocks."""
    size = max(block, 1)
    return files * (-(-file_bytes // size) * size)


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
        "stream_version": STREAM_VERSION,
        "library_version": library_version(),
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
        block = os.statvfs(probe).f_frsize if hasattr(os, "statvfs") else 4096
        if overwrite and path.exists():
            free += sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())
        on_disk = disk_bytes(len(missing), math.prod(chunk_shape) * itemsize, block)
        if on_disk > free:
            raise OSError(
                errno.ENOSPC,
                f"store needs {size_text(on_disk)} on disk for its {len(missing)} chunks, got {size_text(free)} "
                f"free in {probe}",
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
                on_disk,
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
    if isinstance(mine, dict) and mine.get("stream_version") != STREAM_VERSION:
        raise ValueError(
            f"store must have been begun under stream version {STREAM_VERSION} to be resumed, got {str(path)!r}, "
            f"begun under stream version {mine.get('stream_version')!r} by xinit-bench "
            f"{mine.get('library_version', 'before 0.1.0')}: its chunks hold other bits; overwrite it instead"
        )
    if not isinstance(mine, dict) or mine.get("fingerprint") != recipe.fingerprint():
        raise ValueError(
            f"store must hold this same tensor to be resumed (function, shape, dtype, parameters, seed or stream, "
            f"written by this xinit-bench {library_version()}), got {str(path)!r}, written by "
            f"{mine.get('function') if isinstance(mine, dict) else 'something else'}"
            f"{' under xinit-bench ' + str(mine.get('library_version')) if isinstance(mine, dict) else ''}"
        )
    if tuple(arr.chunks) != chunk_shape:
        raise ValueError(f"chunks must be the store's own {tuple(arr.chunks)} to resume it, got {chunk_shape}")
    # A temporary file left by an interrupted write (zarr's LocalStore writes a chunk to one and renames it
    # into place) is removed.
    for leftover in (path / "c").rglob("*.partial") if (path / "c").is_dir() else ():
        leftover.unlink(missing_ok=True)
    # Each chunk there is verified, not trusted: a store written without the rename (or a chunk cut short by a
    # full disk) can hold a short file under a chunk's name.  The store has no compressor, so a whole chunk is
    # exactly the chunk's raw bytes (edge chunks included: zarr stores them at the full chunk shape).
    whole = math.prod(chunk_shape) * np.dtype(_stored(recipe.dtype)).itemsize
    raw = [type(c).__name__ for c in arr.metadata.codecs] == ["BytesCodec"]  # type: ignore[union-attr]
    todo = []
    for i in blocks:
        chunk = path / arr.metadata.encode_chunk_key(i)
        if not chunk.is_file() or (raw and chunk.stat().st_size != whole) or (not raw and not _decodes(arr, i)):
            todo.append(i)
    return todo


def _decodes(arr: Any, index: tuple[int, ...]) -> bool:
    """Whether the chunk ``index`` of a compressed store decodes (a truncated one does not)."""
    try:
        arr.get_block_selection(index)
    except Exception:
        return False
    return True


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
