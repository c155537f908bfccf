"""``xinit_bench/init.py``: variance scaling and the named schemes: their laws, their refusals, hostile input.

The expected std of each scheme is computed here from the shape, independently
of the library; the tolerances are derived in ``tests/stat_checks.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hostile import Call, check_array
from hypothesis import given
from hypothesis import strategies as st
from refusals import refused, untouched
from scipy import stats
from stat_checks import ALPHA, check_ks, check_moments
from strategies import axes, batch_axes, budget, dtypes, fans, mostly, outs, real_param, shapes, sources

import xinit_bench as xb
from xinit_bench import reference

DTYPES = (np.float32, np.float64)


@pytest.mark.statistical
@pytest.mark.parametrize("dtype", DTYPES)
def test_symmetric_uniform_bounds_and_symmetry(dtype: type) -> None:
    x = xb.xavier_uniform((1024, 1024), seed=102, dtype=dtype)
    bound = dtype(math.sqrt(6.0 / 2048))
    assert np.abs(x).max() < bound  # never +-b
    dist = stats.uniform(-float(bound), 2 * float(bound))
    check_ks(x, dist)
    check_moments(x, dist)
    # The grid is symmetric: negating the words' grid maps the support onto itself,
    # so the exact (population) mean over all 2**24 grid points is 0.
    k = np.arange(2**24, dtype=np.int64)
    grid = (2 * k + 1 - 2**24).astype(np.float64) * 2.0**-24
    assert grid.sum() == 0.0


# --- the schemes: expected std computed here from the shape, independently --------------------------
SHAPE = (1024, 256, 2, 2)  # torch layout: fan_in = 256*4 = 1024, fan_out = 1024*4 = 4096


def _fans() -> tuple[int, int]:
    receptive = SHAPE[2] * SHAPE[3]
    return SHAPE[1] * receptive, SHAPE[0] * receptive


def _expected_var(name: str) -> float:
    fan_in, fan_out = _fans()
    return {
        "xavier": 2.0 / (fan_in + fan_out),  # Glorot & Bengio 2010, eq. (12)
        "he": 2.0 / fan_in,  # He et al. 2015, eq. (10), relu gain sqrt(2)
        "lecun": 1.0 / fan_in,  # LeCun et al. 1998
    }[name.split("_")[0]]


@pytest.mark.statistical
@pytest.mark.parametrize(
    "name", [f"{s}_{d}" for s in ("xavier", "he", "lecun") for d in ("uniform", "normal", "truncated_normal")]
)
def test_scheme_distribution(name: str) -> None:
    var = _expected_var(name)
    sd = math.sqrt(var)
    if name.endswith("_uniform"):
        dist = stats.uniform(-math.sqrt(3) * sd, 2 * math.sqrt(3) * sd)
    elif name.endswith("_truncated_normal"):
        parent = sd / stats.truncnorm(-2, 2).std()
        dist = stats.truncnorm(-2, 2, scale=parent)
    else:
        dist = stats.norm(0, sd)
    assert dist.var() == pytest.approx(var, rel=1e-12)
    w = getattr(xb, name)(SHAPE, seed=106)
    assert w.shape == SHAPE and w.dtype == np.float32
    check_ks(w, dist)
    check_moments(w, dist)


@pytest.mark.statistical
@pytest.mark.parametrize("name", ["xavier_uniform", "he_normal", "lecun_truncated_normal", "xavier_normal"])
def test_two_sample_against_numpy_reference(name: str) -> None:
    ours = getattr(xb, name)(SHAPE, seed=107).ravel()
    theirs = reference.scheme(name, SHAPE, rng=np.random.default_rng(107)).ravel()
    res = stats.ks_2samp(ours, theirs)
    assert res.pvalue > ALPHA, res


# --- parameters that used to give wrong values ------------------------------------------------------
@pytest.mark.refusal
def test_variance_scaling_scale_overflowing_float32_names_scale() -> None:
    msg = refused(
        ValueError, "scale", xb.variance_scaling, (3, 4), scale=1e308, distribution="truncated_normal", seed=0
    )
    assert "float32" in msg


@pytest.mark.refusal
def test_variance_scaling_scale_underflowing_to_zero_names_scale() -> None:
    refused(ValueError, "scale", xb.variance_scaling, (3, 4), scale=5e-324, seed=0)
    assert (xb.variance_scaling((3, 4), scale=0.0, seed=0) == 0).all()  # scale = 0 stays legal


@pytest.mark.refusal
@pytest.mark.parametrize(
    "init", [xb.xavier_uniform, xb.xavier_normal, xb.lecun_truncated_normal, xb.lecun_uniform, xb.glorot_normal]
)
def test_gain_1e308_is_a_value_error_naming_gain(init) -> None:
    refused(ValueError, "gain", init, (3, 4), gain=1e308, seed=0)


@pytest.mark.refusal
def test_gain_whose_weights_overflow_float32_names_gain() -> None:
    refused(ValueError, "gain", xb.xavier_uniform, (3, 4), gain=1e100, seed=0)
    assert np.isfinite(xb.xavier_uniform((3, 4), gain=1e100, seed=0, dtype=np.float64)).all()


@pytest.mark.refusal
@pytest.mark.parametrize("init", [xb.he_uniform, xb.he_normal, xb.he_truncated_normal])
def test_he_slope_1e308_is_a_value_error_naming_a(init) -> None:
    refused(ValueError, "a", init, (3, 4), a=1e308, seed=0)


@pytest.mark.refusal
def test_huge_int_fans_are_a_value_error() -> None:
    msg = refused(ValueError, "fans[0]", xb.variance_scaling, (3, 4), fans=(2**1100, 1), seed=0)
    assert "2**1100" in msg and len(msg) < 300


@pytest.mark.refusal
def test_float_fans_are_a_type_error() -> None:
    refused(TypeError, "fans[0]", xb.variance_scaling, (3, 4), fans=(3.0, 4), seed=0)


# --- bad values refused before anything is written --------------------------------------------------
@pytest.mark.refusal
@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"mode": "fan_sum"}, "mode must be one of 'fan_in', .*, got 'fan_sum'"),
        ({"distribution": "laplace"}, "distribution must be one of 'uniform', .*, got 'laplace'"),
    ],
)
def test_unknown_mode_and_distribution(kw: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        xb.variance_scaling((4, 4), **kw)


@pytest.mark.refusal
def test_unknown_nonlinearity() -> None:
    with pytest.raises(ValueError, match=r"nonlinearity must be one of .*, got 'swish2'"):
        xb.he_uniform((4, 4), nonlinearity="swish2")


@pytest.mark.refusal
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_bad_gain_scale_and_std(value: float, canary: np.ndarray) -> None:
    with pytest.raises(ValueError, match="gain"):
        xb.xavier_uniform((8, 4), gain=value, out=canary)
    with pytest.raises(ValueError, match="scale"):
        xb.variance_scaling((8, 4), value, out=canary)
    with pytest.raises(ValueError, match="std"):
        xb.normal((8, 4), 0.0, value, out=canary)
    assert untouched(canary)


@pytest.mark.refusal
def test_gain_and_nonlinearity_together() -> None:
    with pytest.raises(ValueError, match="either gain= or nonlinearity="):
        xb.xavier_normal((4, 4), gain=2.0, nonlinearity="tanh")


@pytest.mark.known_answer
def test_zero_element_scheme() -> None:
    assert xb.xavier_uniform((0, 5), seed=1).shape == (0, 5)
    assert xb.he_normal((3, 0, 3, 3), seed=1).shape == (3, 0, 3, 3)


# --- hostile input ----------------------------------------------------------------------------------
INIT_NAMES = (
    "shape",
    "scale",
    "gain",
    "a",
    "mode",
    "distribution",
    "layout",
    "in_axis",
    "out_axis",
    "batch_axis",
    "fans",
    "seed",
    "generator",
    "dtype",
    "out",
    "nonlinearity",
    "param",
)


NAMED = (
    "xavier_uniform",
    "xavier_normal",
    "xavier_truncated_normal",
    "lecun_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "he_uniform",
    "he_normal",
    "he_truncated_normal",
    "glorot_uniform",
    "kaiming_normal",
)


@pytest.mark.property
@budget("variance_scaling")
@given(
    shape=shapes,
    scale=real_param(st.floats(0, 10)),
    mode=mostly(st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]), st.sampled_from(["fan_sum", 3])),
    distribution=mostly(st.sampled_from(["uniform", "normal", "truncated_normal"]), st.sampled_from(["Normal", None])),
    layout=mostly(st.sampled_from(["torch", "keras", "jax"]), st.just("TORCH")),
    in_axis=axes,
    out_axis=axes,
    batch_axis=batch_axes,
    fan_pair=fans,
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_variance_scaling(
    shape: Any,
    scale: Any,
    mode: Any,
    distribution: Any,
    layout: Any,
    in_axis: Any,
    out_axis: Any,
    batch_axis: Any,
    fan_pair: Any,
    dtype: Any,
    out: Any,
    source: Any,
) -> None:
    call = Call(source, out)
    x = call.run(
        xb.variance_scaling,
        shape,
        scale,
        mode,
        distribution,
        layout=layout,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        fans=fan_pair,
        dtype=dtype,
        out=out,
        names=INIT_NAMES,
        **call.kwargs,
    )
    if x is not None:
        check_array(x, shape, dtype, out)


@pytest.mark.property
@budget("named")
@given(
    name=st.sampled_from(NAMED),
    shape=shapes,
    gain=real_param(st.floats(0, 3)),
    nonlinearity=mostly(st.none(), st.sampled_from(["relu", "tanh", "leaky_relu", "gelu", "elu", "nope", 3])),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_named_schemes(name: str, shape: Any, gain: Any, nonlinearity: Any, dtype: Any, out: Any, source: Any) -> None:
    call = Call(source, out)
    fn = getattr(xb, name)
    if name.startswith(("he_", "kaiming_")):
        kwargs: dict[str, Any] = {"a": gain, "nonlinearity": "leaky_relu" if nonlinearity is None else nonlinearity}
    else:
        kwargs = {"gain": gain, "nonlinearity": nonlinearity}
    x = call.run(fn, shape, dtype=dtype, out=out, names=INIT_NAMES, **kwargs, **call.kwargs)
    if x is not None:
        check_array(x, shape, dtype, out)
