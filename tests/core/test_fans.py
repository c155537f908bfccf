"""compute_fans against PyTorch's and Keras's rules; calculate_gain against PyTorch's table."""

from __future__ import annotations

import math

import pytest

import xinit_bench as xb


def torch_rule(shape: tuple[int, ...]) -> tuple[int, int]:
    # torch.nn.init._calculate_fan_in_and_fan_out: size(1) and size(0) times prod(shape[2:])
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def keras_rule(shape: tuple[int, ...]) -> tuple[int, int]:
    # keras initializers _compute_fans: shape[-2] and shape[-1] times prod(shape[:-2])
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


TORCH_SHAPES = [(10, 20), (16, 3, 5), (64, 3, 7, 7), (8, 4, 3, 3, 3)]  # linear, conv1d, conv2d, conv3d


@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_torch_layout(shape: tuple[int, ...]) -> None:
    assert xb.compute_fans(shape) == torch_rule(shape)


@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_keras_layout_of_the_same_kernel(shape: tuple[int, ...]) -> None:
    out_ch, in_ch, *k = shape
    keras_shape = (*k, in_ch, out_ch)
    assert xb.compute_fans(keras_shape, layout="keras") == keras_rule(keras_shape)
    assert xb.compute_fans(keras_shape, layout="jax") == xb.compute_fans(shape, layout="torch")


def test_explicit_axes_and_batch_axis() -> None:
    # 3 stacked (in=4, out=5) matrices: the batch axis counts in neither fan
    assert xb.compute_fans((3, 4, 5), in_axis=1, out_axis=2, batch_axis=(0,)) == (4, 5)
    assert xb.compute_fans((4, 5), in_axis=0, out_axis=1) == (4, 5)


@pytest.mark.parametrize("shape", [(), (7,)])
def test_rank_below_two_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="rank"):
        xb.compute_fans(shape)
    with pytest.raises(ValueError, match="fans="):
        xb.xavier_uniform(shape)
    # with explicit fans it works
    assert xb.variance_scaling(shape, fans=(3, 4), seed=0).shape == shape


def test_bad_layout_and_axes() -> None:
    with pytest.raises(ValueError, match="layout must be one of 'torch', 'keras', 'jax', got 'caffe'"):
        xb.compute_fans((2, 3), layout="caffe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"in_axis must be an int in \[-2, 1\] .*, got 5"):
        xb.compute_fans((2, 3), in_axis=5)
    with pytest.raises(TypeError, match=r"in_axis must be an int in \[-2, 1\]"):
        xb.compute_fans((2, 3), in_axis=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="batch_axis must be a sequence of ints, got 0"):
        xb.compute_fans((2, 3, 4), batch_axis=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distinct"):
        xb.compute_fans((2, 3), in_axis=0, out_axis=0)


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


@pytest.mark.parametrize("name,value", TORCH_GAINS.items())
def test_gain_equals_pytorch_exactly(name: str, value: float) -> None:
    assert xb.calculate_gain(name) == value


@pytest.mark.parametrize("slope", [0, 0.2, 1, -0.5, 3])
def test_leaky_relu_slope(slope: float) -> None:
    assert xb.calculate_gain("leaky_relu", slope) == math.sqrt(2.0 / (1 + slope**2))


@pytest.mark.parametrize("bad", [True, [0.1], "0.1"])
def test_leaky_relu_rejects_bool_list_and_str(bad: object) -> None:
    # PyTorch raises ValueError("negative_slope ... not a valid number") here; the
    # one rule of xinit_bench.validation makes a wrong type a TypeError.
    with pytest.raises(TypeError, match="param must be a finite real number, got"):
        xb.calculate_gain("leaky_relu", bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_leaky_relu_rejects_nan_and_inf(bad: float) -> None:
    with pytest.raises(ValueError, match="param must be a finite real number, got"):
        xb.calculate_gain("leaky_relu", bad)


def test_unknown_nonlinearity() -> None:
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'linear', .*, got 'swish2'"):
        xb.calculate_gain("swish2")


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
