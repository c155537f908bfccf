"""Property tests of ``xinit_bench/samplers.py``: uniform, normal and truncated normal on hostile input.

The strategies are in ``tests/strategies.py``; the contract checked on every
example (a valid result, or a refusal that names its parameter and changes
nothing) is in ``tests/hostile.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hostile import Call, check_array
from hypothesis import given
from hypothesis import strategies as st
from strategies import budget, dtypes, finite_moderate, mostly, outs, real_param, shapes, sources

import xinit_bench as xb

pytestmark = pytest.mark.property


SAMPLER_NAMES = (
    "shape",
    "low",
    "high",
    "mean",
    "std",
    "a",
    "b",
    "seed",
    "generator",
    "dtype",
    "out",
    "absolute",
    "high - low",
    "|mean|",
)


@budget("uniform")
@given(
    shape=shapes,
    low=real_param(st.floats(-10, 0)),
    high=real_param(st.floats(0.5, 10)),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_uniform(shape: Any, low: Any, high: Any, dtype: Any, out: Any, source: Any) -> None:
    call = Call(source, out)
    x = call.run(xb.uniform, shape, low, high, dtype=dtype, out=out, names=SAMPLER_NAMES, **call.kwargs)
    if x is not None:
        check_array(x, shape, dtype, out)
        lo, hi = x.dtype.type(low), x.dtype.type(high)
        assert ((x >= lo) & (x < hi)).all()


@budget("normal")
@given(
    shape=shapes,
    mean=real_param(finite_moderate),
    std=real_param(st.floats(0, 100)),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_normal(shape: Any, mean: Any, std: Any, dtype: Any, out: Any, source: Any) -> None:
    call = Call(source, out)
    x = call.run(xb.normal, shape, mean, std, dtype=dtype, out=out, names=SAMPLER_NAMES, **call.kwargs)
    if x is not None:
        check_array(x, shape, dtype, out)
        m = float(x.dtype.type(mean))  # the mean as the dtype holds it (1e-197 is 0 in float32)
        with np.errstate(over="ignore"):  # the spacing of the largest float is inf: no bound there
            bound = 8.6 * float(std) * (1 + 1e-6) + 4 * float(np.spacing(np.abs(x.dtype.type(mean))))
        assert (np.abs(x.astype(np.float64) - m) <= bound).all()


@budget("truncated_normal")
@given(
    shape=shapes,
    mean=real_param(finite_moderate),
    std=real_param(st.floats(1e-3, 100)),
    a=real_param(st.sampled_from([-2.0, -math.inf, -1.0, 0.5, -30.0])),
    b=real_param(st.sampled_from([2.0, math.inf, 1.0, 3.0, 40.0])),
    absolute=mostly(st.just(False), st.sampled_from([True, 0, None])),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_truncated_normal(
    shape: Any, mean: Any, std: Any, a: Any, b: Any, absolute: Any, dtype: Any, out: Any, source: Any
) -> None:
    call = Call(source, out)
    x = call.run(
        xb.truncated_normal,
        shape,
        mean,
        std,
        a,
        b,
        absolute=absolute,
        dtype=dtype,
        out=out,
        names=SAMPLER_NAMES,
        **call.kwargs,
    )
    if x is not None:
        check_array(x, shape, dtype, out)
        m, s = float(mean), float(std)
        lo, hi = (float(a), float(b)) if absolute else (m + s * float(a), m + s * float(b))
        f = x.dtype.type
        with np.errstate(over="ignore"):
            assert ((x >= f(lo)) & (x <= f(hi))).all()
