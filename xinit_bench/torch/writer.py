"""Writing a checkpoint's shards: each filled straight into a memory map of its file, by one or many processes.

A shard is filled under a temporary name, a window of its random tensors at
a time (each window handed to the disk and out of the process's memory as
soon as it is filled), then flushed and renamed, so a file under a final name
is always whole.  :func:`write_shard` takes only plain values, so it is the
task of a worker process or a ``dask.distributed`` worker.
"""

from __future__ import annotations

import math
import mmap
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..launch import fill_runs
from ..runtime import max_threads, threads
from ..validation import bfloat16, check_callable
from .shards import DTYPE_NAMES, INDEX, PARTIAL, CheckpointPlan, ShardSpec, TensorSpec, is_client, our_file

__all__ = ["WINDOW", "CheckpointResult", "write_checkpoint", "write_shard"]


@dataclass(frozen=True)
class CheckpointResult:
    """What :func:`write_checkpoint` did: shards written and skipped, bytes written, wall seconds."""

    directory: str
    shards_total: int
    shards_written: int
    shards_skipped: int
    bytes_written: int
    seconds: float

    @property
    def gb_per_s(self) -> float:
        return self.bytes_written / self.seconds / 1e9 if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "gb_per_s": self.gb_per_s}


def _write_small(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary name and a rename, so the file is whole or absent."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}{PARTIAL}")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


#: The random tensors of a shard are filled a window of about this many bytes at a time, in file order; each
#: window's pages are handed to the disk as soon as it is filled, and leave the process's resident memory.
WINDOW = 256 * 2**20


def _start_writeback() -> Callable[[int, int, int], None]:
    """``start(fd, offset, length)``: begin writing a range of a file to disk without waiting (Linux), else nothing."""
    if not sys.platform.startswith("linux"):
        return lambda fd, offset, length: None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    call = libc.sync_file_range
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    write = 2  # SYNC_FILE_RANGE_WRITE: start writeback of the range's dirty pages, return at once

    def start(fd: int, offset: int, length: int) -> None:
        call(fd, offset, length, write)

    return start


def _windows(shard: ShardSpec) -> list[list[tuple[TensorSpec, int, int]]]:
    """The random tensors of ``shard`` as runs ``(tensor, first element, count)``, cut into windows in file order."""
    out: list[list[tuple[TensorSpec, int, int]]] = [[]]
    room = WINDOW
    for t in shard.tensors:
        if t.kind is None or t.end == t.begin:
            continue
        item = DTYPE_NAMES[t.dtype].itemsize
        first, left = 0, math.prod(t.shape)
        while left:
            if room < item:
                out.append([])
                room = WINDOW
            count = min(left, room // item)
            out[-1].append((t, first, count))
            first, left, room = first + count, left - count, room - count * item
    return [w for w in out if w]


def _fill(mm: mmap.mmap, fd: int, shard: ShardSpec) -> None:
    """Every tensor of ``shard`` into the mapped file: constants and computed bytes, then the draws a window at a time.

    In a window, the runs of each (kind, dtype) are one launch; a run is a
    stretch of a tensor's stream (its elements from ``first`` on), so the bits
    are those of one fill of the whole tensor.  Then the embedding's padding row.
    """
    with torch.no_grad():
        for t in shard.tensors:
            if t.end > t.begin and t.value is not None:
                _view(mm, shard, t).fill_(t.value)
            elif t.data is not None:
                mm[shard.data_start + t.begin : shard.data_start + t.end] = t.data
    start = _start_writeback()
    buf = np.frombuffer(mm, np.uint8)
    base = int(buf.ctypes.data) + shard.data_start
    page = mmap.PAGESIZE
    done = 0  # file bytes before this are filled and handed to the disk
    for window in _windows(shard):
        groups: dict[tuple[str, str], list[tuple[TensorSpec, int, int]]] = {}
        for run in window:
            groups.setdefault((run[0].kind or "", run[0].dtype), []).append(run)
        for (kind, dtype), runs in groups.items():
            dt = bfloat16() if dtype == "bfloat16" else np.dtype(dtype)
            addresses = np.array([base + t.begin + first * dt.itemsize for t, first, _ in runs], np.int64)
            counts = np.array([count for _, _, count in runs], np.int64)
            positions = np.array([first for _, first, _ in runs], np.int64)
            keys = np.array([(t.key[0], t.key[1], 0) for t, _, _ in runs], np.uint32).reshape(-1, 3)
            table = np.array([t.params for t, _, _ in runs])
            limits = None if runs[0][0].limits is None else np.array([t.limits for t, _, _ in runs], np.float32)
            fill_runs(kind, dt, addresses, counts, positions, keys, table, limits)
        t, first, count = window[-1]
        end = shard.data_start + t.begin + (first + count) * DTYPE_NAMES[t.dtype].itemsize
        end -= end % page
        if end > done:
            start(fd, done, end - done)
            mm.madvise(mmap.MADV_DONTNEED, done, end - done)  # shared file pages: the data stays in the file
            done = end
    del buf
    with torch.no_grad():
        for t in shard.tensors:
            if t.end > t.begin and t.zero_row is not None:
                _view(mm, shard, t)[t.zero_row].zero_()


def _view(mm: mmap.mmap, shard: ShardSpec, t: TensorSpec) -> torch.Tensor:
    """Tensor ``t`` of ``shard`` in the mapped file, of its dtype and shape (released with the last reference)."""
    raw = torch.frombuffer(mm, dtype=torch.uint8, count=t.end - t.begin, offset=shard.data_start + t.begin)
    return raw.view(DTYPE_NAMES[t.dtype]).reshape(t.shape)


def _begin_shard(directory: str, shard: ShardSpec) -> tuple[int, str, str]:
    """Fill ``shard`` into a new file under a temporary name; returns its open descriptor and both names."""
    final = os.path.join(directory, shard.file)
    tmp = f"{final}.{uuid.uuid4().hex[:12]}{PARTIAL}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, shard.size)  # the blocks are reserved now: a full disk fails here
        else:
            os.ftruncate(fd, shard.size)
        with mmap.mmap(fd, shard.size) as mm:
            mm[:8] = len(shard.header).to_bytes(8, "little")
            mm[8 : shard.data_start] = shard.header
            _fill(mm, fd, shard)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp, final


def _finish_shard(fd: int, tmp: str, final: str) -> None:
    """Flush the shard to disk, close it and give it its final name."""
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def write_shard(directory: str, shard: ShardSpec, thread_count: int | None = None) -> int:
    """Write one shard file of a checkpoint: the task of a worker process or a dask worker; returns its bytes.

    Takes only plain values (the folder as a str, the :class:`ShardSpec`, a
    thread count or None) and writes ``shard.file`` in ``directory`` through a
    temporary name, renamed when the file is complete and on disk.
    """
    with threads(thread_count):
        fd, tmp, final = _begin_shard(directory, shard)
    _finish_shard(fd, tmp, final)
    return shard.size


def _spawn_context() -> Any:
    import multiprocessing

    return multiprocessing.get_context("spawn")  # a fork of a threaded process is not safe under every layer


def write_checkpoint(plan: CheckpointPlan, progress: Callable[[int, int], None] | None = None) -> CheckpointResult:
    """Write the shards of ``plan`` (from :func:`plan_checkpoint`), then nothing else is left to do.

    ``progress(done_bytes, total_bytes)`` is called with the shard bytes on
    disk so far (the shards already there included), first before any write.
    """
    check_callable("progress", progress, optional=True)
    start = time.perf_counter()
    path = plan.directory
    if plan.overwrite and path.exists():
        for f in path.iterdir():
            if f.is_file() and our_file(f.name):
                f.unlink()
    path.mkdir(exist_ok=True)
    for leftover in path.glob(f"*{PARTIAL}"):  # what an interrupted run left under a temporary name
        leftover.unlink(missing_ok=True)
    if plan.config_text is not None and not (plan.resuming and (path / "config.json").is_file()):
        _write_small(path / "config.json", plan.config_text)
    if not plan.resuming:
        _write_small(path / INDEX, plan.index_text)
    total = sum(s.size for s in plan.shards)
    done = total - plan.bytes_to_write
    if progress is not None:
        progress(done, total)
    todo = [plan.shards[i] for i in plan.missing]
    where = str(path)
    if is_client(plan.workers):
        from distributed import as_completed

        futures = [plan.workers.submit(write_shard, where, s, None, pure=False) for s in todo]
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            done += int(future.result())
            if progress is not None:
                progress(done, total)
    elif plan.processes > 1:
        each = max(1, max_threads() // plan.processes)
        with ProcessPoolExecutor(plan.processes, mp_context=_spawn_context()) as pool:
            pending: set[Future[int]] = {pool.submit(write_shard, where, s, each) for s in todo}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for task in finished:
                    done += task.result()
                    if progress is not None:
                        progress(done, total)
    else:
        done = _write_serial(where, todo, done, total, progress)
    _sync_folder(path)
    return CheckpointResult(where, len(plan.shards), len(todo), len(plan.shards) - len(todo), plan.bytes_to_write,
                            time.perf_counter() - start)  # fmt: skip


def _write_serial(
    where: str, todo: Sequence[ShardSpec], done: int, total: int, progress: Callable[[int, int], None] | None
) -> int:
    """One process: shard ``k + 1`` is filled while shard ``k`` is flushed to disk by a helper thread.

    Shard ``k`` is unmapped before ``k + 1`` is mapped, so the process holds
    one shard's pages; the flush waits only for the disk.
    """
    from concurrent.futures import ThreadPoolExecutor

    def settle(pending: Future[None] | None, size: int, done: int) -> int:
        """Wait for the flush of the last shard (``size`` bytes), if any, and report it; the bytes now on disk."""
        if pending is None:
            return done
        pending.result()
        if progress is not None:
            progress(done + size, total)
        return done + size

    with ThreadPoolExecutor(1) as flusher:
        pending: Future[None] | None = None
        previous = 0
        for shard in todo:
            opened = _begin_shard(where, shard)
            done = settle(pending, previous, done)
            pending, previous = flusher.submit(_finish_shard, *opened), shard.size
        done = settle(pending, previous, done)
    return done


def _sync_folder(path: Path) -> None:
    """Make the renames durable (a folder's entries are flushed by fsync of the folder, where it can be opened)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
