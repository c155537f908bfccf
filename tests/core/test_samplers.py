"""``xinit_bench/samplers.py``: uniform, normal and truncated normal: the documented bits, the laws, offsets,
``out=``, refusals.

The tolerances of the statistical tests are derived in ``tests/stat_checks.py``;
the property tests on hostile input are in ``test_samplers_properties.py``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from refusals import refused, untouched
from scipy import stats
from stat_checks import N, check_ks, check_moments

import xinit_bench as xb
from xinit_bench import reference

DTYPES = (np.float32, np.float64)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", DTYPES)
def test_public_samplers_use_the_documented_seed_mapping(dtype: type) -> None:
    key = reference.key_from_seed(2024)
    f = np.dtype(dtype).type
    got = xb.normal(5000, 1.0, 3.0, seed=2024, dtype=dtype)
    assert np.array_equal(got, reference.philox_fill("normal", 5000, key, 0, 0, (f(1.0), f(3.0)), dtype))
    got = xb.uniform(5000, 2.0, 4.0, seed=2024, dtype=dtype)
    p = (f(2.0), f(2.0), np.nextafter(f(4.0), f(2.0)))
    assert np.array_equal(got, reference.philox_fill("uniform", 5000, key, 0, 0, p, dtype))


# --- the laws against scipy.stats -------------------------------------------------------------------
@pytest.mark.statistical
@pytest.mark.parametrize("dtype", DTYPES)
def test_uniform(dtype: type) -> None:
    x = xb.uniform(N, -0.5, 1.5, seed=101, dtype=dtype)
    dist = stats.uniform(-0.5, 2.0)
    check_ks(x, dist)
    check_moments(x, dist)
    assert x.min() >= -0.5 and x.max() < 1.5


@pytest.mark.statistical
@pytest.mark.parametrize("dtype", DTYPES)
def test_normal(dtype: type) -> None:
    x = xb.normal(N, 0.25, 2.0, seed=103, dtype=dtype)
    dist = stats.norm(0.25, 2.0)
    check_ks(x, dist)
    check_moments(x, dist)


@pytest.mark.statistical
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a,b", [(-2.0, 2.0), (-1.0, 3.0), (0.5, 6.0), (-12.0, -3.0)])
def test_truncated_normal(dtype: type, a: float, b: float) -> None:
    mean, std = 0.3, 1.7
    x = xb.truncated_normal(N, mean, std, a, b, seed=104, dtype=dtype)
    dist = stats.truncnorm(a, b, loc=mean, scale=std)
    lo, hi = dtype(mean + std * a), dtype(mean + std * b)
    assert x.min() >= lo and x.max() <= hi
    check_ks(x, dist)
    check_moments(x, dist)


@pytest.mark.statistical
@pytest.mark.parametrize("dtype", DTYPES)
def test_truncated_normal_absolute_bounds_like_torch(dtype: type) -> None:
    # torch.nn.init.trunc_normal_(std=0.02, a=-2, b=2): bounds at +-100 std, effectively a normal
    x = xb.truncated_normal(N, 0.0, 0.02, -2.0, 2.0, absolute=True, seed=105, dtype=dtype)
    dist = stats.truncnorm(-100, 100, loc=0.0, scale=0.02)
    check_ks(x, dist)
    check_moments(x, dist)


@pytest.mark.statistical
def test_variance_one_percent_off_is_detected() -> None:
    # The variance check must be able to fail: 1 % is 7 SE at this n (sqrt(2/N) = 0.14 %).
    x = xb.normal(N, 0.0, math.sqrt(1.01), seed=109)
    with pytest.raises(AssertionError):
        check_moments(x, stats.norm(0, 1))


# --- offset= continues the stream -------------------------------------------------------------------
@pytest.mark.invariance
def test_offset_continues_the_stream() -> None:
    whole = xb.uniform(1000, seed=1)
    assert np.array_equal(xb.uniform(400, seed=1, offset=600), whole[600:])
    assert np.array_equal(xb.uniform((3, 5), seed=1, offset=7), whole[7:22].reshape(3, 5))
    whole64 = xb.normal(99, seed=1, dtype=np.float64)
    assert np.array_equal(xb.normal(98, seed=1, dtype=np.float64, offset=1), whole64[1:])


@pytest.mark.refusal
@pytest.mark.parametrize(
    "offset,error", [(-1, ValueError), (2**62, ValueError), (1.0, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_bad_offsets_are_refused(offset: Any, error: type) -> None:
    with pytest.raises(error, match="offset must be an int in"):
        xb.uniform(4, seed=0, offset=offset)


@pytest.mark.refusal
def test_offset_must_leave_room_for_the_tensor() -> None:
    with pytest.raises(ValueError, match="offset must leave room"):
        xb.uniform(10, seed=0, offset=2**62 - 5)


# --- out= is filled in place, never copied: arrays, memmaps, shared buffers -------------------------
@pytest.mark.invariance
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_is_filled_in_place_and_returned(dtype: type) -> None:
    out = np.zeros((256, 128), dtype)
    got = xb.he_uniform((256, 128), seed=3, out=out)
    assert got is out
    assert np.array_equal(out, xb.he_uniform((256, 128), seed=3, dtype=dtype))


@pytest.mark.invariance
def test_memmap_is_filled_without_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "w.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(512, 256))
    got = xb.xavier_normal((512, 256), seed=4, out=mm)
    assert got is mm
    mm.flush()
    on_disk = np.fromfile(path, dtype=np.float32).reshape(512, 256)
    assert np.array_equal(on_disk, xb.xavier_normal((512, 256), seed=4))


@pytest.mark.invariance
def test_view_of_a_shared_buffer() -> None:
    # A buffer shared with another library (torch_tensor.numpy() is such a view) is written through.
    buf = bytearray(4 * 1000)
    view = np.frombuffer(buf, dtype=np.float32)
    xb.normal(1000, seed=5, out=view)
    assert np.array_equal(np.frombuffer(bytes(buf), dtype=np.float32), xb.normal(1000, seed=5))


@pytest.mark.invariance
def test_contiguous_slice_of_a_larger_array() -> None:
    big = np.zeros((10, 64), np.float32)
    xb.normal((4, 64), seed=6, out=big[3:7])
    assert not big[:3].any() and not big[7:].any()
    assert np.array_equal(big[3:7], xb.normal((4, 64), seed=6))


# --- parameters that used to give wrong values ------------------------------------------------------
@pytest.mark.refusal
def test_uniform_width_overflowing_float64_is_refused() -> None:
    msg = refused(ValueError, "high - low", xb.uniform, 1000, -1e308, 1e308, dtype=np.float64, seed=0)
    assert "float64" in msg and "high=1e+308" in msg and "low=-1e+308" in msg and "overflows" in msg


@pytest.mark.refusal
def test_uniform_width_overflowing_float32_is_refused() -> None:
    refused(ValueError, "high - low", xb.uniform, 1000, -2e38, 2e38, seed=0)
    assert np.isfinite(xb.uniform(1000, -2e38, 2e38, seed=0, dtype=np.float64)).all()  # fine in float64


@pytest.mark.refusal
def test_uniform_bound_beyond_float32_is_refused() -> None:
    refused(ValueError, "low", xb.uniform, 10, -1e39, 0.0, seed=0)


@pytest.mark.refusal
def test_uniform_subnormal_width_is_refused() -> None:
    refused(ValueError, "high - low", xb.uniform, 10, 0.0, 1e-40, seed=0)


@pytest.mark.refusal
@pytest.mark.parametrize("call", [xb.normal, xb.truncated_normal])
def test_std_overflowing_float32_is_refused(call) -> None:
    msg = refused(ValueError, "std", call, 10, std=1e39, seed=0)
    assert "float32" in msg
    assert np.isfinite(call(10, std=1e39, seed=0, dtype=np.float64)).all()


@pytest.mark.refusal
def test_normal_whose_extreme_samples_overflow_is_refused() -> None:
    refused(ValueError, "|mean| + 5.8 std", xb.normal, 10, mean=3e38, std=1e37, seed=0)


@pytest.mark.refusal
@pytest.mark.parametrize("std", [1e-40, 1e-50])
def test_nonzero_std_that_underflows_is_refused(std: float) -> None:
    refused(ValueError, "std", xb.normal, 10, std=std, seed=0)
    assert (xb.normal(10, std=0.0, seed=0) == 0).all()  # std = 0 stays legal


@pytest.mark.refusal
def test_truncated_normal_whose_finite_end_overflows_is_refused() -> None:
    # Found by tests/core/test_samplers_properties.py: std = 1.8e308 puts the end at -2 std beyond float64.
    refused(ValueError, "mean + std * a", xb.truncated_normal, 3, std=1.7976931348623157e308, dtype=np.float64, seed=0)


# --- bad values refused before anything is written --------------------------------------------------
@pytest.mark.refusal
@pytest.mark.parametrize("a,b", [(2.0, 2.0), (3.0, -1.0), (math.nan, 1.0)])
def test_truncation_needs_a_below_b(a: float, b: float, canary: np.ndarray) -> None:
    with pytest.raises(ValueError):
        xb.truncated_normal((8, 4), a=a, b=b, out=canary)
    assert untouched(canary)


@pytest.mark.refusal
def test_truncation_with_no_mass_is_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        xb.truncated_normal(4, a=60.0, b=61.0)


@pytest.mark.refusal
def test_uniform_low_not_below_high() -> None:
    with pytest.raises(ValueError, match="high must be > low"):
        xb.uniform(4, 1.0, 1.0)


@pytest.mark.known_answer
@pytest.mark.parametrize("fn", [xb.normal, xb.uniform, xb.truncated_normal])
def test_zero_elements_returns_empty(fn) -> None:  # type: ignore[no-untyped-def]
    out = fn((0, 5), seed=1)
    assert out.shape == (0, 5) and out.dtype == np.float32
