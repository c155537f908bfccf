"""``kernels/fill.py``: every fill kernel against the independent NumPy reference, bit for bit, and its invariances.

The reference (``xinit_bench.reference.philox_*``) re-implements the word
layout, the conversions and the polynomial transforms in NumPy, in the same
floating-point operation order; without ``fastmath`` LLVM may not reorder or
fuse, so equality is exact -- also for normal and truncated normal.  The
same bits come at any offset, from the serial and the parallel entry point,
and from inside a user's ``@njit`` function.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy import special

from xinit_bench import reference
from xinit_bench.kernels import fill as K
from xinit_bench.kernels._jit import compile_quietly

KEY = (np.uint32(0x1234), np.uint32(0xBEEF), np.uint32(7))


DTYPES = (np.float32, np.float64)


def _params(kind: str, dt: type) -> tuple:
    f = dt
    return {
        "uniform": (f(-1.5), f(3.0), np.nextafter(f(1.5), f(-1.5))),
        "symmetric_uniform": (f(0.25), np.nextafter(f(0.25), f(0))),
        "normal": (f(0.5), f(2.0)),
        "truncated_normal_central": tuple(
            f(v) for v in (special.ndtr(-2), special.ndtr(2) - special.ndtr(-2), 0.0, 1.0, -2.0, 2.0)
        ),
        # deep tails: p down to ~1e-16, w up to ~36, all five tail branches of the float64 inverse CDF
        "truncated_normal": (0.0, float(special.ndtr(-1.0)), 0.0, 1.0, -40.0, -1.0),
        # torch's trunc_normal_(std=0.02): +-100 sigma, so the grid reaches w = 15.2 (float32) / 35.3 (float64)
        "truncated_normal_tail": (0.0, 1.0, 0.0, 0.02, -2.0, 2.0),
    }[kind]


#: Every float kind of the one vocabulary (kernels/kinds.py), by the name the reference takes too.
KERNELS = {kind: fill for kind, fill in K.FILLS.items() if kind != "bits"}


@pytest.mark.structure
def test_every_kind_has_an_entry_point_and_the_names_match() -> None:
    assert list(K.FILLS) == list(K.SERIAL_FILLS) == list(K.KINDS)
    for kind, fill in K.FILLS.items():
        assert fill.__name__ == f"fill_{kind}"
        assert K.SERIAL_FILLS[kind].__name__ == f"serial_{kind}"


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(KERNELS))
@pytest.mark.parametrize("offset", [0, 1, 3, 2**33 + 2])
def test_kernel_equals_reference_bitwise(kind: str, dtype: type, offset: int) -> None:
    n = 40_003  # odd, larger than every serial threshold: exercises head, body, tail and prange
    params = _params(kind, dtype)
    out = np.full(n, np.nan, dtype)
    compile_quietly(KERNELS[kind], out, KEY, offset, params)
    KERNELS[kind](out, KEY, offset, params)
    key = (int(KEY[0]), int(KEY[1]))
    expected = reference.philox_fill(kind, n, key, int(KEY[2]), offset, params, dtype)
    assert out.dtype == expected.dtype
    assert np.array_equal(out.view(np.uint8), expected.view(np.uint8))


@pytest.mark.invariance
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


@pytest.mark.invariance
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


@pytest.mark.invariance
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
