"""``xinit_bench/fans.py``: compute_fans against PyTorch's and Keras's rules, its refusals, hostile input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hostile import Call
from hypothesis import given
from hypothesis import strategies as st
from refusals import refused
from strategies import axes, batch_axes, budget, mostly, shapes

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


@pytest.mark.reference
@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_torch_layout(shape: tuple[int, ...]) -> None:
    assert xb.compute_fans(shape) == torch_rule(shape)


@pytest.mark.reference
@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_keras_layout_of_the_same_kernel(shape: tuple[int, ...]) -> None:
    out_ch, in_ch, *k = shape
    keras_shape = (*k, in_ch, out_ch)
    assert xb.compute_fans(keras_shape, layout="keras") == keras_rule(keras_shape)
    assert xb.compute_fans(keras_shape, layout="jax") == xb.compute_fans(shape, layout="torch")


@pytest.mark.known_answer
def test_explicit_axes_and_batch_axis() -> None:
    # 3 stacked (in=4, out=5) matrices: the batch axis counts in neither fan
    assert xb.compute_fans((3, 4, 5), in_axis=1, out_axis=2, batch_axis=(0,)) == (4, 5)
    assert xb.compute_fans((4, 5), in_axis=0, out_axis=1) == (4, 5)


@pytest.mark.known_answer
def test_numpy_int_axes_are_accepted() -> None:
    assert xb.compute_fans((3, 4, 5), in_axis=np.int64(2), out_axis=np.int32(0)) == (20, 12)
    assert xb.compute_fans((3, 4, 5), batch_axis=(np.int64(2),)) == (4, 3)


@pytest.mark.refusal
@pytest.mark.parametrize("shape", [(), (7,)])
def test_rank_below_two_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="rank"):
        xb.compute_fans(shape)
    with pytest.raises(ValueError, match="fans="):
        xb.xavier_uniform(shape)
    # with explicit fans it works
    assert xb.variance_scaling(shape, fans=(3, 4), seed=0).shape == shape


@pytest.mark.refusal
def test_rank_below_two_when_fans_are_inferred() -> None:
    with pytest.raises(ValueError, match=r"shape must have rank >= 2 .*of rank 1"):
        xb.he_normal((10,))


@pytest.mark.refusal
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


@pytest.mark.refusal
def test_batch_axis_none_names_batch_axis() -> None:
    refused(TypeError, "batch_axis", xb.variance_scaling, (3, 4), batch_axis=None, seed=0)


# --- hostile input ----------------------------------------------------------------------------------
@pytest.mark.property
@budget("compute_fans")
@given(
    shape=mostly(st.lists(st.integers(0, 5), min_size=2, max_size=4).map(tuple), shapes),
    layout=mostly(st.sampled_from(["torch", "keras", "jax"]), st.sampled_from(["nope", None])),
    in_axis=axes,
    out_axis=axes,
    batch_axis=batch_axes,
)
def test_compute_fans(shape: Any, layout: Any, in_axis: Any, out_axis: Any, batch_axis: Any) -> None:
    r = Call(None, None).run(
        xb.compute_fans,
        shape,
        layout,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        names=("shape", "layout", "in_axis", "out_axis", "batch_axis"),
    )
    if r is not None:
        fan_in, fan_out = r
        assert type(fan_in) is int and type(fan_out) is int and fan_in >= 0 and fan_out >= 0
