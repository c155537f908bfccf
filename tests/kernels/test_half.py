"""``kernels/half.py``: the float32 -> float16 / bfloat16 rounding against NumPy's and ml_dtypes' own.

Both round to nearest-even; the patterns cover every exponent, sign and tie.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import pytest

from xinit_bench.kernels.half import round_into

pytestmark = pytest.mark.reference


BF16 = np.dtype(ml_dtypes.bfloat16)


F16 = np.dtype(np.float16)


HALVES = (F16, BF16)


def _rounded(x: np.ndarray, dt: np.dtype[Any]) -> np.ndarray:
    """The kernels' rounding of float32 ``x`` into ``dt`` with no clamp, as an array of ``dt``."""
    out = np.empty(x.size, np.uint16)
    round_into(x, out, np.float32(-np.inf), np.float32(np.inf), dt == BF16)
    return out.view(dt)


def _patterns() -> np.ndarray:
    """float32 bit patterns covering every exponent, sign and rounding case of both half types.

    All 2**24 patterns whose low 8 bits are zero (every tie of bfloat16, whose
    ties are low halves 0x8000, and of binary16, 0x1000 below the kept bits, on
    every exponent and sign), plus 2**20 random patterns for the sticky bits.
    """
    grid = np.arange(1 << 24, dtype=np.uint32) << np.uint32(8)
    rng = np.random.default_rng(0)
    rand = rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64).astype(np.uint32)
    return np.concatenate([grid, rand]).view(np.float32)


@pytest.mark.parametrize("dt", HALVES, ids=lambda d: d.name)
def test_rounding_matches_numpy_and_ml_dtypes_on_every_exponent(dt: np.dtype[Any]) -> None:
    x = _patterns()
    with np.errstate(over="ignore", invalid="ignore"):  # NaN and overflow patterns are part of the set
        expected = x.astype(dt)
    got = _rounded(x, dt)
    nan = np.isnan(x)
    assert np.array_equal(np.isnan(got.astype(np.float32)), nan)  # a NaN stays a NaN
    assert np.array_equal(got[~nan].view(np.uint16), expected[~nan].view(np.uint16))
