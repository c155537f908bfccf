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


def _second_moment(phi: Any, breaks: list[float]) -> float:
    """E[phi(z)^2], z ~ N(0, 1), by scipy's adaptive quadrature (independent of xinit_bench.gauss)."""
    from scipy import integrate

    value, _ = integrate.quad(
        lambda x: phi(x) ** 2 * math.exp(-x * x / 2) / math.sqrt(2 * math.pi),
        -40,
        40,
        points=breaks,
        limit=200,
        epsabs=0,
        epsrel=1e-12,
    )
    return float(value)


def _erf(x: float) -> float:
    return math.erf(x)


def _hard_tanh(x: float) -> float:
    return min(max(x, -1.0), 1.0)


# The closed forms of calculate_gain's docstring, and what quadrature says of them.  quad is asked for a relative
# error of 1e-12 on a smooth (erf) or piecewise smooth integrand split at its kinks (hard_tanh at +-1), and the closed
# forms are a few float64 roundings, so g^2 E[phi^2] = 1 to rel 1e-10 leaves two decades of margin; the wrong
# variants below are off by 30 % or more.
CLOSED = {
    "erf": (_erf, [0.0], 2 / math.pi * math.asin(2 / 3)),
    "hard_tanh": (_hard_tanh, [-1.0, 0.0, 1.0], 1 - math.sqrt(2 / (math.pi * math.e))),
}


@pytest.mark.reference
@pytest.mark.parametrize("name", sorted(CLOSED))
def test_erf_and_hard_tanh_gains_are_the_closed_form_second_moment_gains(name: str) -> None:
    phi, breaks, closed = CLOSED[name]
    second = _second_moment(phi, breaks)
    assert closed == pytest.approx(second, rel=1e-10)  # the closed form is the moment
    g = xb.calculate_gain(name)
    assert g**2 * second == pytest.approx(1.0, rel=1e-10)  # and the gain meets the forward criterion
    assert name in xb.gains.DERIVED_NAMES and name not in xb.gains.TORCH_NAMES
    # the library's own quadrature (xinit_bench.gauss) and the propagation study agree with the closed form
    assert xb.gains.forward_gain(name) == pytest.approx(g, rel=1e-13)
    from xinit_bench.propagation import critical_gain

    assert critical_gain(name, "forward").gain == pytest.approx(g, rel=1e-13)


@pytest.mark.reference
def test_wrong_gains_of_erf_and_hard_tanh_fail_the_criterion() -> None:
    # each is a slip a derivation could make; quadrature must tell it from the right gain
    wrong = {
        # arcsin(2 a^2 / (1 + 2 a^2)) at a = 1 written as arcsin(a^2 / (1 + a^2)) = pi / 6: E = 1/3
        "erf": 1 / math.sqrt(1 / 3),
        # the tails dropped: E[z^2; |z| < 1] = 2 Phi(1) - 1 - 2 pdf(1) alone
        "hard_tanh": 1 / math.sqrt(math.erf(1 / math.sqrt(2)) - math.sqrt(2 / (math.pi * math.e))),
    }
    for name, g in wrong.items():
        phi, breaks, _ = CLOSED[name]
        assert abs(g**2 * _second_moment(phi, breaks) - 1.0) > 0.3
    # tanh's 5/3 convention, or the slope gain 1 / phi'(0), is not the second-moment gain of either
    for name, g in (("erf", 5 / 3), ("erf", math.sqrt(math.pi) / 2), ("hard_tanh", 5 / 3), ("hard_tanh", 1.0)):
        phi, breaks, _ = CLOSED[name]
        assert abs(g**2 * _second_moment(phi, breaks) - 1.0) > 0.1


@pytest.mark.reference
def test_erf_and_hard_tanh_forward_gains_are_chaotic_as_documented() -> None:
    # chi_1 = g^2 E[phi'(z)^2]: erf' = (2 / sqrt(pi)) exp(-z^2), E = (4 / pi) / sqrt(5); hard_tanh' = 1 on |z| < 1
    chi = {
        "erf": xb.calculate_gain("erf") ** 2 * 4 / math.pi / math.sqrt(5),
        "hard_tanh": xb.calculate_gain("hard_tanh") ** 2 * math.erf(1 / math.sqrt(2)),
    }
    assert round(chi["erf"], 3) == 1.226 and round(chi["hard_tanh"], 3) == 1.323  # the docstring's numbers
    from xinit_bench.propagation import critical_gain

    for name, c in chi.items():
        assert critical_gain(name, "forward").chi1 == pytest.approx(c, rel=1e-9)


@pytest.mark.refusal
@pytest.mark.parametrize("name", ["erf", "hard_tanh"])
def test_erf_and_hard_tanh_take_no_param(name: str) -> None:
    refused(ValueError, "param", xb.calculate_gain, name, 1.0)
    refused(TypeError, "param", xb.calculate_gain, name, "1")


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
