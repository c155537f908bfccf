"""Resuming a zarr store: only a store of this stream and release, and no chunk trusted without being verified.

The kill -9 test runs :func:`xinit_bench.dask.to_zarr` in a child process,
kills it mid-write, and then truncates one written chunk file in place: that
is what zarr < 3.1.3 left after a kill (its LocalStore wrote chunks in
place; 3.1.3, the floor in pyproject.toml, writes through a temporary name
and renames).  The installed zarr is the floor or later, so the truncation
is simulated rather than produced by an old zarr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import xinit_bench as xb

zarr = pytest.importorskip("zarr")
xd = pytest.importorskip("xinit_bench.dask")
from xinit_bench.dask import recipe as xd_recipe  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (64, 1000)
CHUNKS = (4, 1000)  # 16 chunks of 16,000 bytes


def chunk_files(store: Path) -> list[Path]:
    return sorted(p for p in (store / "c").rglob("*") if p.is_file() and not p.name.endswith(".partial"))


def test_the_stream_version_is_the_golden_files() -> None:
    golden = json.loads((ROOT / "tests" / "data" / "golden_sha256.json").read_text())
    assert golden["stream_version"] == xd_recipe.STREAM_VERSION


def test_a_store_records_and_fingerprints_its_stream_and_library_versions(tmp_path: Path) -> None:
    store = tmp_path / "w.zarr"
    xd.to_zarr(store, "he_normal", (8, 8), chunks=(4, 8), seed=0)
    attrs = dict(zarr.open_array(str(store), mode="r").attrs)["xinit_bench"]
    assert attrs["stream_version"] == xd_recipe.STREAM_VERSION == 2
    assert attrs["library_version"] == xd_recipe.library_version() == xb.__version__


def test_resume_refuses_a_store_of_another_stream_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "w.zarr"
    monkeypatch.setattr(xd_recipe, "STREAM_VERSION", 1)
    from xinit_bench.dask import stores

    monkeypatch.setattr(stores, "STREAM_VERSION", 1)
    xd.to_zarr(store, "he_normal", SHAPE, chunks=CHUNKS, seed=0)  # a store begun under stream version 1
    monkeypatch.undo()
    before = {p: p.read_bytes() for p in chunk_files(store)}
    with pytest.raises(ValueError, match=r"begun under stream version 2 to be resumed, got .* stream version 1"):
        xd.to_zarr(store, "he_normal", SHAPE, chunks=CHUNKS, seed=0, resume=True)
    assert {p: p.read_bytes() for p in chunk_files(store)} == before


def test_the_fingerprint_changes_with_the_stream_and_the_library_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = xd.plan_zarr(tmp_path / "w.zarr", "normal", (4, 4), chunks=2, seed=0).recipe
    base = r.fingerprint()
    monkeypatch.setattr(xd_recipe, "STREAM_VERSION", 3)
    assert r.fingerprint() != base
    monkeypatch.undo()
    monkeypatch.setattr(xd_recipe, "library_version", lambda: "9.9.9")
    assert r.fingerprint() != base


def test_resume_rewrites_a_chunk_cut_short(tmp_path: Path) -> None:
    store = tmp_path / "w.zarr"
    xd.to_zarr(store, "he_normal", SHAPE, chunks=CHUNKS, seed=7)
    whole = [p.read_bytes() for p in chunk_files(store)]
    victim = chunk_files(store)[5]
    with victim.open("r+b") as f:
        f.truncate(10_000)
    result = xd.to_zarr(store, "he_normal", SHAPE, chunks=CHUNKS, seed=7, resume=True)
    assert result.chunks_written == 1 and result.chunks_skipped == 15
    assert [p.read_bytes() for p in chunk_files(store)] == whole


CHILD = """
import sys, xinit_bench.dask as xd
def progress(done, total):
    if done:
        print("chunk", done, flush=True)
xd.to_zarr(sys.argv[1], "he_normal", (640, 100_000), chunks=(20, 100_000), seed=5, workers=1, progress=progress)
"""


@pytest.mark.slow
def test_kill_9_then_a_truncated_chunk_then_resume_gives_one_runs_bytes(tmp_path: Path) -> None:
    # 32 chunks of 8 MB; the child is killed after its third chunk, far from the end.
    store = tmp_path / "w.zarr"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store)], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    assert child.stdout is not None
    done = 0
    deadline = time.monotonic() + 300
    while done < 3 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        done = int(line.split()[1])
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert done >= 3 and child.returncode == -signal.SIGKILL
    written = chunk_files(store)
    assert 3 <= len(written) < 32
    with written[1].open("r+b") as f:  # what an in-place write left: the start of the chunk only
        f.truncate(5_242_880)
    result = xd.to_zarr(store, "he_normal", (640, 100_000), chunks=(20, 100_000), seed=5, resume=True)
    assert result.chunks_skipped == len(written) - 1
    back = xd.from_zarr(store)
    for i in range(32):  # the verified, the rewritten, and the ones written on resume
        block = np.asarray(back[i * 20 : (i + 1) * 20].compute())
        local = xb.he_normal((640, 100_000), seed=5, region=(slice(i * 20, (i + 1) * 20), slice(None)))
        assert block.tobytes() == local.tobytes(), i
