"""``xinit_bench/regions.py``: shard-exact slices: ``region=`` gives the matching part of the whole fill, bit for bit.

Also the refusals of bad regions.  ``offset=`` is tested with the samplers
(``test_samplers.py``), the work-list fills behind regions in ``test_batch.py``.
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


@pytest.mark.invariance
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


@pytest.mark.invariance
@pytest.mark.property
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


@pytest.mark.statistical
def test_fans_come_from_the_global_shape() -> None:
    """A row block of a He-normal weight has the whole weight's std, not its own shape's."""
    block = xb.he_normal((4096, 1024), seed=0, region=(slice(0, 64),))
    # std sqrt(2 / 1024) = 0.0442; a (64, 1024) weight of its own would also have fan_in 1024, so use columns:
    cols = xb.he_normal((1024, 4096), seed=0, region=(slice(None), slice(0, 16)))
    assert cols.shape == (1024, 16)
    assert abs(float(cols.std()) - (2 / 4096) ** 0.5) < 0.02 * (2 / 4096) ** 0.5 * 10
    assert abs(float(block.std()) - (2 / 1024) ** 0.5) < 0.05 * (2 / 1024) ** 0.5


@pytest.mark.known_answer
def test_region_runs_merge_whole_trailing_axes() -> None:
    starts, length = region_runs((4, 5, 6), ((1, 3), (0, 5), (0, 6)))
    assert starts.tolist() == [30] and length == 60
    starts, length = region_runs((4, 5, 6), ((1, 3), (2, 4), (0, 6)))
    assert starts.tolist() == [42, 72] and length == 12  # axis 1's [2, 4) with whole rows: 2 x 6
    starts, length = region_runs((4, 5, 6), ((1, 3), (2, 4), (1, 6)))
    assert starts.tolist() == [43, 49, 73, 79] and length == 5


@pytest.mark.refusal
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


@pytest.mark.refusal
def test_out_must_have_the_region_shape() -> None:
    with pytest.raises(ValueError, match=r"out must have shape \(2, 4\)"):
        xb.normal((8, 4), seed=0, region=(slice(0, 2),), out=np.zeros((8, 4), np.float32))
    out = np.zeros((2, 4), np.float32)
    assert xb.normal((8, 4), seed=0, region=(slice(0, 2),), out=out) is out


@pytest.mark.reference
def test_check_region_normalises_like_numpy() -> None:
    a = np.arange(6 * 3).reshape(6, 3)
    for region in [(slice(-2, None),), (1,), (slice(None), -1), (slice(1, 100), slice(None, -1))]:
        shape, bounds = check_region(region, (6, 3))
        assert shape == a[region].shape
        lo = [b[0] for b in bounds]
        assert a[tuple(lo)] == np.asarray(a[region]).reshape(-1)[0]
