"""Tier 4: the same bits on any thread count, chunking, offset or caller.

Plus golden SHA-256 checksums that pin the streams across versions: changing
any of them is a deliberate, documented stream-version bump.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numba
import numpy as np
import pytest

import xinit_bench as xb
from xinit_bench.kernels import fill as K
from xinit_bench.kernels._jit import compile_quietly

GOLDEN = Path(__file__).parent / "data" / "golden_sha256.json"
#: Raised by one with every stream change (docs/design.md, "Stream-version policy"):
#: 2 sends truncations beyond the normal kernel's reach to the normal kernel.
STREAM_VERSION = 2
SAMPLERS = {
    "uniform": lambda n, dt, **kw: xb.uniform(n, -1.0, 1.0, dtype=dt, **kw),
    "variance_scaling_uniform": lambda n, dt, **kw: xb.variance_scaling(
        n, 2.0, "fan_avg", "uniform", fans=(64, 128), dtype=dt, **kw
    ),
    "normal": lambda n, dt, **kw: xb.normal(n, dtype=dt, **kw),
    "truncated_normal": lambda n, dt, **kw: xb.truncated_normal(n, dtype=dt, **kw),
    "truncated_normal_tail": lambda n, dt, **kw: xb.truncated_normal(n, 0.0, 1.0, 3.0, 9.0, dtype=dt, **kw),
    # torch's trunc_normal_(std=0.02): +-100 std, beyond the normal kernel's reach (stream version 2)
    "truncated_normal_wide": lambda n, dt, **kw: xb.truncated_normal(
        n, 0.0, 0.02, -2.0, 2.0, absolute=True, dtype=dt, **kw
    ),
}
DTYPES = (np.float32, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_one_and_two_threads_give_identical_bits(name: str, dtype: type, restore_threads: None) -> None:
    n = 1 << 20
    numba.set_num_threads(1)
    one = SAMPLERS[name](n, dtype, seed=5)
    numba.set_num_threads(2)
    two = SAMPLERS[name](n, dtype, seed=5)
    assert np.array_equal(one, two)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kernel,params",
    [
        (K.fill_symmetric_uniform, (0.5, 0.49999997)),
        (K.fill_normal, (0.0, 1.0)),
    ],
)
def test_slice_at_offset_equals_whole_fill(kernel, params, dtype: type) -> None:
    key = (np.uint32(3), np.uint32(4), np.uint32(5))
    p = tuple(dtype(v) for v in params)
    whole = np.empty(300_001, dtype)
    compile_quietly(kernel, whole, key, 0, p)
    kernel(whole, key, 0, p)
    for start, stop in [(0, 1), (1, 2), (3, 4099), (12_345, 200_000), (299_999, 300_001), (7, 300_001)]:
        part = np.empty(stop - start, dtype)
        kernel(part, key, start, p)  # small parts run serially, large ones in prange
        assert np.array_equal(part, whole[start:stop]), (start, stop)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_serial_path_equals_parallel_path(name: str) -> None:
    # 1024 elements run on the calling thread; 2**20 run in prange: the prefix must agree.
    big = SAMPLERS[name](1 << 20, np.float32, seed=8).ravel()
    small = SAMPLERS[name](1024, np.float32, seed=8).ravel()
    assert np.array_equal(small, big[:1024])


@pytest.mark.parametrize("kind", ["uniform", "symmetric_uniform", "normal", "truncated_normal_central"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_serial_entry_point_equals_parallel_one(kind: str, dtype: type) -> None:
    # The serial entry point runs the whole output on the calling thread; the
    # parallel one cuts it into CHUNK pieces: same stream positions, same bits.
    key = (np.uint32(5), np.uint32(6), np.uint32(2))
    f = np.dtype(dtype).type
    params = {
        "uniform": (f(-1.0), f(3.0), np.nextafter(f(2.0), f(-1.0))),
        "symmetric_uniform": (f(0.5), np.nextafter(f(0.5), f(0.0))),
        "normal": (f(0.0), f(1.0)),
        "truncated_normal_central": tuple(f(v) for v in (0.02275, 0.9545, 0.0, 1.0, -2.0, 2.0)),
    }[kind]
    n = 3 * K.CHUNK + 7
    parallel, serial = np.empty(n, dtype), np.empty(n, dtype)
    K.FILLS[kind](parallel, key, 11, params)
    K.SERIAL_FILLS[kind](serial, key, 11, params)
    assert np.array_equal(parallel.view(np.uint8), serial.view(np.uint8))


def test_kernel_called_from_a_users_njit_function() -> None:
    key = (np.uint32(1), np.uint32(2), np.uint32(0))
    p = (np.float32(0.0), np.float32(1.0))

    @numba.njit
    def user_code(out):  # type: ignore[no-untyped-def]
        K.fill_normal(out, key, 0, p)
        return out.sum()

    inside = np.empty(50_000, np.float32)
    user_code(inside)
    outside = np.empty(50_000, np.float32)
    K.fill_normal(outside, key, 0, p)
    assert np.array_equal(inside, outside)


def _golden_cases() -> dict[str, np.ndarray]:
    return (
        {f"{name}/{np.dtype(dt).name}": SAMPLERS[name](4096, dt, seed=20261122) for name in SAMPLERS for dt in DTYPES}
        | {
            "random_bits/stream3/offset5": xb.random_bits(4096, seed=20261122, stream=3, offset=5),
            "he_normal/conv": xb.he_normal((32, 16, 3, 3), seed=1),
        }
        | {  # half precision is derived from float32, but the checksums pin the rounding and clamps
            f"{name}/{dt}": SAMPLERS[name](4096, dt, seed=20261122)
            for name in ("uniform", "normal", "truncated_normal_tail")
            for dt in ("float16", "bfloat16")
        }
    )


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_golden_checksums() -> None:
    """Pinned streams.  To bump deliberately: ``python tests/test_invariance.py --regenerate``."""
    golden = json.loads(GOLDEN.read_text())
    assert golden["stream_version"] == STREAM_VERSION
    got = {k: _sha(v) for k, v in _golden_cases().items()}
    assert got == golden["sha256"]


if __name__ == "__main__":
    import sys

    if "--regenerate" in sys.argv:
        GOLDEN.write_text(
            json.dumps(
                {"stream_version": STREAM_VERSION, "sha256": {k: _sha(v) for k, v in _golden_cases().items()}},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
