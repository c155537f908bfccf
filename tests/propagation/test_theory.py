"""``xinit_bench/propagation/theory.py``: the mean-field prediction: closed forms, refusals, hostile input.

The Gaussian expectations it uses are checked in ``tests/core/test_gauss.py``,
the critical gains in ``test_critical.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hostile import Call
from hypothesis import given
from hypothesis import strategies as st
from refusals import refused
from strategies import ACTS, budget, inits, net_ints, real_param

from xinit_bench import propagation as prop
from xinit_bench.propagation import (
    predict,
)


@pytest.mark.reference
def test_predict_closed_forms() -> None:
    # Linear + Xavier on square layers: n Var[W] = 1, q constant.
    p = predict("linear", depth=10, width=64, init="xavier_uniform")
    np.testing.assert_allclose(p.pre_sq, 1.0, rtol=1e-14)
    np.testing.assert_allclose(p.grad_act_sq, 1.0, rtol=1e-14)
    # ReLU + He: 2/n * n * q/2 = q from layer 2 on; layer 1 sees the raw input, q^1 = 2 q^0.
    p = predict("relu", depth=30, width=64, init="he_normal")
    np.testing.assert_allclose(p.pre_sq, 2.0, rtol=1e-14)
    # ReLU + Xavier: halves per layer after the first (which sees the raw input).
    p = predict("relu", depth=30, width=64, init="xavier_normal")
    np.testing.assert_allclose(p.pre_sq, 0.5 ** np.arange(30), rtol=1e-13)
    np.testing.assert_allclose(p.grad_act_sq, 0.5 ** np.arange(29, -1, -1), rtol=1e-13)


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"activation": "swish", "depth": 2, "width": 4},
            ValueError,
            "activation must be one of 'linear', .*, got 'swish'",
        ),
        ({"activation": "relu", "depth": 0, "width": 4}, ValueError, "depth must be an int >= 1, got 0"),
        ({"activation": "relu", "depth": 2, "width": 0}, ValueError, "width must be an int >= 1, got 0"),
        ({"activation": "relu", "depth": 2.0, "width": 4}, TypeError, "depth must be an int >= 1, got 2.0"),
        ({"activation": "relu", "depth": 2, "width": 4, "bias_std": -0.1}, ValueError, "bias_std"),
        ({"activation": "relu", "depth": 2, "widths": [4, 4, 4]}, ValueError, "not both"),
        (
            {"activation": "relu", "depth": 2, "width": 4, "init": "glorot"},
            ValueError,
            "init must be one of 'xavier_uniform', .*, got 'glorot'",
        ),
        ({"activation": "tanh", "depth": 2, "width": 4, "param": 0.1}, ValueError, "takes no parameter"),
    ],
)
def test_predict_rejects_bad_input(kwargs: dict, exc: type, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(exc, match=match):
        predict(**kwargs)


@pytest.mark.refusal
def test_predict_huge_gain_names_gain() -> None:
    refused(ValueError, "gain", prop.predict, "relu", depth=2, width=4, gain=1e200)
    with pytest.raises(ValueError, match=r"^gain\b.*q\^2 overflows"):
        prop.predict("relu", depth=5, width=4, gain=1e100)


@pytest.mark.refusal
def test_depth_beyond_the_limit_is_a_value_error() -> None:
    # Found by test_predict below: depth = 2**1100 raised OverflowError building the widths.
    refused(ValueError, "depth", prop.predict, "relu", depth=2**1100, width=4)
    refused(ValueError, "batch", prop.simulate, "relu", depth=1, width=4, batch=2**1100, repeats=1)


# --- hostile input ----------------------------------------------------------------------------------
@pytest.mark.property
@budget("predict")
@given(
    activation=ACTS,
    depth=net_ints,
    width=net_ints,
    init=inits,
    gain=st.one_of(st.none(), real_param(st.floats(0.1, 3))),
    bias_std=real_param(st.floats(0, 1)),
    q0=real_param(st.floats(0.1, 3)),
    param=st.one_of(st.none(), st.none(), real_param(st.floats(0, 3))),
)
def test_predict(
    activation: Any, depth: Any, width: Any, init: Any, gain: Any, bias_std: Any, q0: Any, param: Any
) -> None:
    names = ("activation", "depth", "width", "widths", "init", "gain", "bias_std", "input_second_moment", "param")
    with np.errstate(all="ignore"):
        p = Call(None, None).run(
            prop.predict,
            activation,
            depth=depth,
            width=width,
            init=init,
            gain=gain,
            bias_std=bias_std,
            input_second_moment=q0,
            param=param,
            names=names,
        )
    if p is not None:
        assert len(p.pre_sq) == int(depth)
        for v in (p.pre_sq, p.act_sq, p.grad_act_sq):
            assert np.isfinite(v).all()
