"""out= is filled in place, never copied: arrays, memmaps, shared buffers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import xinit_bench as xb


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_is_filled_in_place_and_returned(dtype: type) -> None:
    out = np.zeros((256, 128), dtype)
    got = xb.he_uniform((256, 128), seed=3, out=out)
    assert got is out
    assert np.array_equal(out, xb.he_uniform((256, 128), seed=3, dtype=dtype))


def test_memmap_is_filled_without_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "w.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(512, 256))
    got = xb.xavier_normal((512, 256), seed=4, out=mm)
    assert got is mm
    mm.flush()
    on_disk = np.fromfile(path, dtype=np.float32).reshape(512, 256)
    assert np.array_equal(on_disk, xb.xavier_normal((512, 256), seed=4))


def test_view_of_a_shared_buffer() -> None:
    # A buffer shared with another library (torch_tensor.numpy() is such a view) is written through.
    buf = bytearray(4 * 1000)
    view = np.frombuffer(buf, dtype=np.float32)
    xb.normal(1000, seed=5, out=view)
    assert np.array_equal(np.frombuffer(bytes(buf), dtype=np.float32), xb.normal(1000, seed=5))


def test_contiguous_slice_of_a_larger_array() -> None:
    big = np.zeros((10, 64), np.float32)
    xb.normal((4, 64), seed=6, out=big[3:7])
    assert not big[:3].any() and not big[7:].any()
    assert np.array_equal(big[3:7], xb.normal((4, 64), seed=6))
