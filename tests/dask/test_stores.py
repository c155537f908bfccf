"""zarr stores written chunk by chunk: the local fill's bits, resumable, bf16 kept as its uint16 bits."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xinit_bench as xb

zarr = pytest.importorskip("zarr")
xd = pytest.importorskip("xinit_bench.dask")

SHAPE = (50, 6, 3, 3)
CHUNKS = (8, 6, 2, 3)  # splits rows: the last two axes are cut


def chunk_bytes(store: Path) -> dict[str, bytes]:
    """Every chunk file of a store, by its key."""
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted((store / "c").rglob("*")) if p.is_file()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float16", "bfloat16"])
def test_store_equals_the_local_fill(tmp_path: Path, dtype: Any) -> None:
    store = tmp_path / "w.zarr"
    result = xd.to_zarr(store, "he_truncated_normal", SHAPE, chunks=CHUNKS, seed=3, dtype=dtype)
    assert result.chunks_written == result.chunks_total == 7 * 2 * 1
    back = xd.from_zarr(store).compute()
    local = xb.he_truncated_normal(SHAPE, seed=3, dtype=dtype)
    assert back.dtype == local.dtype and back.tobytes() == local.tobytes()


def test_bfloat16_is_stored_as_uint16_with_a_dtype_attribute(tmp_path: Path) -> None:
    store = tmp_path / "w.zarr"
    xd.to_zarr(store, "xavier_uniform", (9, 7), chunks=(4, 7), seed=0, dtype="bfloat16")
    raw = zarr.open_array(str(store), mode="r")
    assert raw.dtype == np.uint16 and raw.attrs["xinit_bench"]["dtype"] == "bfloat16"
    assert (raw[:] == xb.xavier_uniform((9, 7), seed=0, dtype="bfloat16").view(np.uint16)).all()
    assert str(xd.from_zarr(store).dtype) == "bfloat16"


def test_a_rerun_gives_the_same_bytes(tmp_path: Path) -> None:
    store = tmp_path / "w.zarr"
    xd.to_zarr(store, "normal", SHAPE, 0.5, 2.0, chunks=CHUNKS, seed=1)
    first = chunk_bytes(store)
    xd.to_zarr(store, "normal", SHAPE, 0.5, 2.0, chunks=CHUNKS, seed=1, overwrite=True)
    assert chunk_bytes(store) == first and len(first) == 14


def test_resume_after_an_interruption_skips_the_chunks_written(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole.zarr", tmp_path / "cut.zarr"
    xd.to_zarr(whole, "lecun_normal", SHAPE, chunks=CHUNKS, seed=8, dtype="bfloat16", workers=1)

    def interrupt(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        xd.to_zarr(cut, "lecun_normal", SHAPE, chunks=CHUNKS, seed=8, dtype="bfloat16", workers=1, progress=interrupt)
    assert 0 < len(chunk_bytes(cut)) < 14
    (cut / "c" / "0" / "0" / "0" / "0.abc.partial").write_bytes(b"torn")  # an interrupted write's leftover
    again = xd.to_zarr(cut, "lecun_normal", SHAPE, chunks=CHUNKS, seed=8, dtype="bfloat16", resume=True)
    assert again.chunks_skipped == len(chunk_bytes(whole)) - again.chunks_written > 0
    assert chunk_bytes(cut) == chunk_bytes(whole)
    done = xd.to_zarr(cut, "lecun_normal", SHAPE, chunks=CHUNKS, seed=8, dtype="bfloat16", resume=True)
    assert done.chunks_written == 0 and done.chunks_skipped == 14


def test_resume_refuses_another_tensor(tmp_path: Path) -> None:
    store = tmp_path / "w.zarr"
    xd.to_zarr(store, "lecun_normal", SHAPE, chunks=CHUNKS, seed=8)
    before = chunk_bytes(store)
    with pytest.raises(ValueError, match="store must hold this same tensor to be resumed"):
        xd.to_zarr(store, "lecun_normal", SHAPE, chunks=CHUNKS, seed=9, resume=True)
    with pytest.raises(ValueError, match=r"chunks must be the store's own \(8, 6, 2, 3\) to resume it"):
        xd.to_zarr(store, "lecun_normal", SHAPE, chunks=(4, 6, 3, 3), seed=8, resume=True)
    assert chunk_bytes(store) == before


# --- bad input: a clear error before any chunk is written ----------------------------------------
@pytest.mark.parametrize(
    "kwargs,exc,msg",
    [
        ({"chunks": ((20, 20), 6, 3, 3)}, ValueError, r"chunks\[0\] must be block sizes that add up to shape\[0\]"),
        ({"chunks": ((20, 30), 6, 3, 3)}, ValueError, r"chunks\[0\] must be regular for a zarr store"),
        ({"chunks": (8, 6, 2, 3, 1)}, ValueError, "chunks must have one entry per axis"),
        ({"dtype": "int32"}, ValueError, "dtype must be one of float32, float64, float16, bfloat16, got 'int32'"),
        ({"dtype": "float16", "gain": 1e6}, ValueError, "must fit float16"),
        ({"overwrite": True, "resume": True}, ValueError, "pass either overwrite=True or resume=True, not both"),
        ({"workers": 0}, ValueError, r"workers must be an int in \[1, 64\], got 0"),
        ({"progress": 3}, TypeError, "progress must be callable or None, got 3"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], exc: type, msg: str) -> None:
    store, g = tmp_path / "w.zarr", xb.Generator(0)
    args = {"chunks": CHUNKS, **kwargs}
    with pytest.raises(exc, match=msg):
        xd.to_zarr(store, "xavier_normal", SHAPE, generator=g, **args)
    assert not store.exists() and g.stream == 0


def test_an_existing_store_needs_overwrite(tmp_path: Path) -> None:
    store = tmp_path / "w.zarr"
    xd.to_zarr(store, "he_uniform", (9, 4), chunks=3, seed=0)
    before, g = chunk_bytes(store), xb.Generator(0)
    with pytest.raises(FileExistsError, match="store must not exist unless overwrite=True or resume=True"):
        xd.to_zarr(store, "he_uniform", (9, 4), chunks=3, generator=g)
    assert chunk_bytes(store) == before and g.stream == 0
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="store must be a zarr store to be overwritten or resumed"):
        xd.to_zarr(other, "he_uniform", (9, 4), chunks=3, seed=0, overwrite=True)
    assert (other / "keep.txt").read_text() == "mine"


def _read_only_dir(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root ignores file modes; /sys refuses new files even to root
        if not Path("/sys").is_dir():
            pytest.skip("running as root without /sys: no read-only directory to write into")
        return Path("/sys")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return folder


def test_a_read_only_store_path(tmp_path: Path) -> None:
    folder = _read_only_dir(tmp_path)
    g = xb.Generator(0)
    try:
        with pytest.raises(PermissionError, match="store must be a writable path"):
            xd.to_zarr(folder / "w.zarr", "he_normal", SHAPE, chunks=CHUNKS, generator=g)
        with pytest.raises(FileNotFoundError, match="store must be in an existing directory"):
            xd.to_zarr(tmp_path / "missing" / "w.zarr", "he_normal", SHAPE, chunks=CHUNKS, generator=g)
        with pytest.raises(TypeError, match="store must be a path"):
            xd.to_zarr(3, "he_normal", SHAPE, chunks=CHUNKS, generator=g)
    finally:
        if folder != Path("/sys"):
            folder.chmod(stat.S_IRWXU)
    assert g.stream == 0


def test_not_enough_disk_space(tmp_path: Path) -> None:
    # 2**60 bytes of float32 in 128 chunks: refused by the disk-space preflight, nothing created.
    with pytest.raises(OSError, match=r"store needs .* GiB on disk for its 128 chunks, got .* GiB free"):
        xd.to_zarr(tmp_path / "w.zarr", "he_normal", (2**29, 2**29), chunks=(2**22, 2**29), seed=0)
    assert not (tmp_path / "w.zarr").exists()
