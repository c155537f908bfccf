"""``xinit_bench/gains.py``: calculate_gain against PyTorch's table and the forward criterion; refusals; hostile
input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hostile import Call
from hypothesis import given
from hypothesis import strategies as st
from refusals import refused
from strategies import GAIN_NAMES, budget, mostly, real_param

import xinit_bench as xb

# PyTorch's values, written out (torch/nn/init.py calculate_gain)
TORCH_GAINS = {
    "linear": 1,
    "conv1d": 1,
    "conv2d": 1,
    "conv3d": 1,
    "conv_transpose1d": 1,
    "conv_transpose2d": 1,
    "conv_transpose3d": 1,
    "sigmoid": 1,
    "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0),
    "selu": 3.0 / 4,
    "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2)),
}


@pytest.mark.reference
@pytest.mark.parametrize("name,value", TORCH_GAINS.items())
def test_gain_equals_pytorch_exactly(name: str, value: float) -> None:
    assert xb.calculate_gain(name) == value


@pytest.mark.reference
@pytest.mark.parametrize("slope", [0, 0.2, 1, -0.5, 3])
def test_leaky_relu_slope(slope: float) -> None:
    assert xb.calculate_gain("leaky_relu", slope) == math.sqrt(2.0 / (1 + slope**2))


@pytest.mark.reference
@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "mish", "softplus"])
def test_derived_gains_satisfy_the_forward_criterion(name: str) -> None:
    # g^2 E[phi(z)^2] = 1 for z ~ N(0, 1), checked here by scipy quadrature
    from scipy import integrate, special

    phi = {
        "gelu": lambda x: x * special.ndtr(x),
        "silu": lambda x: x * special.expit(x),
        "elu": lambda x: x if x > 0 else math.expm1(x),
        "mish": lambda x: x * math.tanh(math.log1p(math.exp(x))),
        "softplus": lambda x: math.log1p(math.exp(x)),
    }[name]
    second, _ = integrate.quad(
        lambda x: phi(x) ** 2 * math.exp(-x * x / 2) / math.sqrt(2 * math.pi),
        -40,
        40,
        points=[0.0],
        limit=200,
        epsabs=0,
        epsrel=1e-12,
    )
    g = xb.calculate_gain(name)
    assert g**2 * second == pytest.approx(1.0, rel=1e-9)


@pytest.mark.reference
def test_elu_gain_for_huge_alpha_is_the_true_value() -> None:
    # g = 1 / sqrt(1/2 + alpha^2 c), c = E[(e^z - 1)^2; z < 0]: for alpha = 1e300, g = 1 / (alpha sqrt(c)).
    g1 = xb.calculate_gain("elu", 1.0)
    c = 1.0 / g1**2 - 0.5
    assert xb.calculate_gain("elu", 1e300) == pytest.approx(1.0 / (1e300 * np.sqrt(c)), rel=1e-12)
    assert xb.calculate_gain("elu", 1e300) > 2e-300


@pytest.mark.reference
def test_leaky_relu_gain_for_huge_slope_is_the_true_value() -> None:
    assert xb.calculate_gain("leaky_relu", 1e200) == pytest.approx(np.sqrt(2.0) * 1e-200, rel=1e-15)
    assert xb.calculate_gain("leaky_relu", -1e200) == pytest.approx(np.sqrt(2.0) * 1e-200, rel=1e-15)
    refused(ValueError, "param", xb.calculate_gain, "leaky_relu", 1.7e308)  # gain subnormal


@pytest.mark.reference
def test_calculate_gain_takes_a_numpy_float32_slope() -> None:
    assert xb.calculate_gain("leaky_relu", np.float32(0.25)) == pytest.approx(np.sqrt(2 / (1 + 0.0625)))
    assert xb.he_normal((3, 4), a=np.float32(0.25), seed=0).shape == (3, 4)


@pytest.mark.refusal
@pytest.mark.parametrize("bad", [True, [0.1], "0.1"])
def test_leaky_relu_rejects_bool_list_and_str(bad: object) -> None:
    # PyTorch raises ValueError("negative_slope ... not a valid number") here; the
    # one rule of xinit_bench.validation makes a wrong type a TypeError.
    with pytest.raises(TypeError, match="param must be a finite real number, got"):
        xb.calculate_gain("leaky_relu", bad)  # type: ignore[arg-type]


@pytest.mark.refusal
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_leaky_relu_rejects_nan_and_inf(bad: float) -> None:
    with pytest.raises(ValueError, match="param must be a finite real number, got"):
        xb.calculate_gain("leaky_relu", bad)


@pytest.mark.refusal
def test_unknown_nonlinearity() -> None:
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'linear', .*, got 'swish2'"):
        xb.calculate_gain("swish2")


# --- hostile input ----------------------------------------------------------------------------------
@pytest.mark.property
@budget("calculate_gain")
@given(
    nonlinearity=mostly(st.sampled_from(GAIN_NAMES), st.sampled_from(["nope", None, 3])),
    param=st.one_of(st.none(), real_param(st.floats(0, 5))),
)
def test_calculate_gain(nonlinearity: Any, param: Any) -> None:
    g = Call(None, None).run(xb.calculate_gain, nonlinearity, param, names=("nonlinearity", "param"))
    if g is not None:
        assert isinstance(g, float) and math.isfinite(g) and g >= 2.2250738585072014e-308
