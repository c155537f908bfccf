"""Shard-exact slices: ``region=`` and ``offset=`` give the matching part of the whole fill, bit for bit.

Also the work-list fills behind them (``kernels/runs.py`` through
``xinit_bench.batch``), and the refusals of bad regions and offsets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xinit_bench as xb
from xinit_bench._rng import resolve
from xinit_bench.batch import Job, fill_jobs
from xinit_bench.plans import distribution_plan, normal_plan, symmetric_plan, truncated_plan
from xinit_bench.regions import check_region, region_runs

BF16 = np.dtype(ml_dtypes.bfloat16)

#: name -> sampler taking (shape, **kw): every kind, through the public API.
SAMPLERS: dict[str, Callable[..., np.ndarray]] = {
    "uniform": lambda shape, **kw: xb.uniform(shape, -1.0, 3.0, **kw),
    "he_uniform": lambda shape, **kw: xb.he_uniform(shape, **kw),
    "normal": lambda shape, **kw: xb.normal(shape, 0.5, 2.0, **kw),
    "xavier_truncated_normal": lambda shape, **kw: xb.xavier_truncated_normal(shape, **kw),
    "trunc_wide": lambda shape, **kw: xb.truncated_normal(shape, 0.0, 0.02, -2.0, 2.0, absolute=True, **kw),
    "trunc_branchy": lambda shape, **kw: xb.truncated_normal(shape, 0.0, 1.0, 8.0, 40.0, **kw),
}

REGIONS = [
    (slice(3, 17),),  # a row range: one run
    (slice(None), slice(5, 9)),  # a column block: a run per row
    (slice(2, 3), slice(0, 1), slice(1, 2), 2),  # one element of a conv weight
    (-1, slice(-3, None)),  # negative indices
    (slice(10, 500),),  # clipped as NumPy clips
    (slice(4, 4),),  # empty
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, BF16], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("region", REGIONS, ids=str)
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_region_equals_that_part_of_the_whole_fill(name: str, region: tuple[Any, ...], dtype: Any) -> None:
    shape = (40, 12, 3, 3)
    full = SAMPLERS[name](shape, seed=7, dtype=dtype)
    part = SAMPLERS[name](shape, seed=7, dtype=dtype, region=region)
    expected = full[region]
    assert part.shape == expected.shape and part.dtype == full.dtype
    assert np.array_equal(part.view(np.uint8), np.ascontiguousarray(expected).view(np.uint8))


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(0, 9), min_size=1, max_size=4),
    data=st.data(),
    offset=st.integers(0, 2**40),
)
def test_any_block_at_any_offset_equals_the_whole_fill(shape: list[int], data: st.DataObject, offset: int) -> None:
    region = []
    for n in shape:
        start = data.draw(st.integers(0, n))
        region.append(slice(start, data.draw(st.integers(start, n))))
    full = xb.normal(tuple(shape), seed=3, offset=offset)
    part = xb.normal(tuple(shape), seed=3, offset=offset, region=tuple(region))
    assert np.array_equal(part, full[tuple(region)])


def test_offset_continues_the_stream() -> None:
    whole = xb.uniform(1000, seed=1)
    assert np.array_equal(xb.uniform(400, seed=1, offset=600), whole[600:])
    assert np.array_equal(xb.uniform((3, 5), seed=1, offset=7), whole[7:22].reshape(3, 5))
    whole64 = xb.normal(99, seed=1, dtype=np.float64)
    assert np.array_equal(xb.normal(98, seed=1, dtype=np.float64, offset=1), whole64[1:])


def test_fans_come_from_the_global_shape() -> None:
    """A row block of a He-normal weight has the whole weight's std, not its own shape's."""
    block = xb.he_normal((4096, 1024), seed=0, region=(slice(0, 64),))
    # std sqrt(2 / 1024) = 0.0442; a (64, 1024) weight of its own would also have fan_in 1024, so use columns:
    cols = xb.he_normal((1024, 4096), seed=0, region=(slice(None), slice(0, 16)))
    assert cols.shape == (1024, 16)
    assert abs(float(cols.std()) - (2 / 4096) ** 0.5) < 0.02 * (2 / 4096) ** 0.5 * 10
    assert abs(float(block.std()) - (2 / 1024) ** 0.5) < 0.05 * (2 / 1024) ** 0.5


def test_region_runs_merge_whole_trailing_axes() -> None:
    starts, length = region_runs((4, 5, 6), ((1, 3), (0, 5), (0, 6)))
    assert starts.tolist() == [30] and length == 60
    starts, length = region_runs((4, 5, 6), ((1, 3), (2, 4), (0, 6)))
    assert starts.tolist() == [42, 72] and length == 12  # axis 1's [2, 4) with whole rows: 2 x 6
    starts, length = region_runs((4, 5, 6), ((1, 3), (2, 4), (1, 6)))
    assert starts.tolist() == [43, 49, 73, 79] and length == 5


@pytest.mark.parametrize(
    "region,error,match",
    [
        ("rows", TypeError, "region must be a tuple of slices and ints"),
        ((slice(0, 4, 2),), ValueError, r"region\[0\] must be a slice with step 1"),
        ((0, 0, 0), ValueError, "region must have at most 2 entries"),
        ((9,), ValueError, r"region\[0\] must be an index in \[-8, 8\)"),
        ((1.5,), TypeError, r"region\[0\] must be a slice or an int"),
        ((slice(0.5, 2),), TypeError, r"region\[0\] must be a slice of ints"),
    ],
)
def test_bad_regions_are_refused_before_anything_changes(region: Any, error: type, match: str) -> None:
    g = xb.Generator(1)
    with pytest.raises(error, match=match):
        xb.normal((8, 4), generator=g, region=region)
    assert np.array_equal(xb.normal(3, generator=g), xb.normal(3, seed=1))


@pytest.mark.parametrize(
    "offset,error", [(-1, ValueError), (2**62, ValueError), (1.0, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_bad_offsets_are_refused(offset: Any, error: type) -> None:
    with pytest.raises(error, match="offset must be an int in"):
        xb.uniform(4, seed=0, offset=offset)


def test_offset_must_leave_room_for_the_tensor() -> None:
    with pytest.raises(ValueError, match="offset must leave room"):
        xb.uniform(10, seed=0, offset=2**62 - 5)


def test_out_must_have_the_region_shape() -> None:
    with pytest.raises(ValueError, match=r"out must have shape \(2, 4\)"):
        xb.normal((8, 4), seed=0, region=(slice(0, 2),), out=np.zeros((8, 4), np.float32))
    out = np.zeros((2, 4), np.float32)
    assert xb.normal((8, 4), seed=0, region=(slice(0, 2),), out=out) is out


def test_check_region_normalises_like_numpy() -> None:
    a = np.arange(6 * 3).reshape(6, 3)
    for region in [(slice(-2, None),), (1,), (slice(None), -1), (slice(1, 100), slice(None, -1))]:
        shape, bounds = check_region(region, (6, 3))
        assert shape == a[region].shape
        lo = [b[0] for b in bounds]
        assert a[tuple(lo)] == np.asarray(a[region]).reshape(-1)[0]


def test_jobs_fill_many_tensors_in_one_launch_per_kind_and_dtype() -> None:
    shapes = [(64, 48), (48,), (7,), (300, 5), (1,)]
    plans = [distribution_plan("uniform", 1 / 48), normal_plan(0.0, 0.02), normal_plan(1.0, 0.0)]
    bufs, jobs, expected = [], [], []
    for i, shape in enumerate(shapes):
        for dt in (np.dtype(np.float32), BF16):
            plan = plans[i % len(plans)]
            buf = np.zeros(shape, dt)
            bufs.append(buf)
            jobs.append(Job(buf.ctypes.data, buf.size, dt, plan, resolve(100 + i, None), position=i))
            expected.append((plan, shape, dt, 100 + i, i))
    groups = fill_jobs(jobs)
    assert groups == {
        ("symmetric_uniform", "float32"): 2,
        ("symmetric_uniform", "bfloat16"): 2,
        ("normal", "float32"): 3,
        ("normal", "bfloat16"): 3,
    }
    for buf, (plan, shape, dt, seed, position) in zip(bufs, expected, strict=True):
        from xinit_bench.samplers import sample

        want = sample(shape, plan, seed, None, dt, None, position)
        assert np.array_equal(buf.view(np.uint8), want.view(np.uint8))


def test_a_refused_job_leaves_every_buffer_untouched() -> None:
    good = np.zeros(100, np.float32)
    bad = np.zeros(100, np.float16)
    key = resolve(0, None)
    jobs = [
        Job(good.ctypes.data, good.size, good.dtype, symmetric_plan(0.1), key),
        Job(bad.ctypes.data, bad.size, bad.dtype, truncated_plan(0.0, 1e5, -2.0, 2.0), key),
    ]
    with pytest.raises(xb.ParameterRangeError):
        fill_jobs(jobs)
    assert not good.any() and not bad.any()
