"""``init_model``: each weight from ``key_for_name(seed, path)``, whatever the order the layers were built in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from refusals import refused

keras = pytest.importorskip("keras")
xk = pytest.importorskip("xinit_bench.keras")
import xinit_bench as xb  # noqa: E402


def two_branches(first: str) -> Any:
    """A functional model whose two named branches are created in the order ``first`` says."""
    x = keras.Input((12,), name="x")
    made = {}
    for name in ("left", "right") if first == "left" else ("right", "left"):
        made[name] = keras.layers.Dense(
            6, name=name, kernel_initializer=xk.GlorotUniform(), bias_initializer=xk.RandomNormal(0.0, 0.1)
        )
    out = keras.layers.Concatenate()([made["left"](x), made["right"](x)])
    head = keras.layers.Dense(3, name="head", kernel_initializer=keras.initializers.Zeros())(out)
    return keras.Model(x, head, name="net")


@pytest.mark.invariance
def test_values_depend_on_seed_and_path_not_on_order(host: Callable[[Any], np.ndarray]) -> None:
    a, b = two_branches("left"), two_branches("right")
    report = xk.init_model(a, 7)
    assert report == xk.init_model(b, 7)
    assert set(report) == {"left/kernel", "left/bias", "right/kernel", "right/bias"}  # the Zeros head is Keras's
    for va, vb in zip(sorted(a.weights, key=lambda v: v.path), sorted(b.weights, key=lambda v: v.path), strict=True):
        assert va.path == vb.path
        assert np.array_equal(host(va), host(vb))
    kernel = {v.path: v for v in a.weights}["left/kernel"]
    want = xb.glorot_uniform((12, 6), generator=xb.key_for_name(7, "left/kernel"), layout="keras")
    assert np.array_equal(host(kernel), want)
    other = two_branches("left")
    xk.init_model(other, 8)
    assert not np.array_equal(host({v.path: v for v in other.weights}["left/kernel"]), want)


@pytest.mark.refusal
def test_refusals() -> None:
    refused(TypeError, "model", xk.init_model, object(), 0)
    refused(ValueError, "model", xk.init_model, keras.layers.Dense(3, kernel_initializer=xk.HeNormal()), 0)
    model = two_branches("left")
    before = [v.value.detach().clone() for v in model.weights]
    refused(ValueError, "seed", xk.init_model, model, -1)
    refused(TypeError, "seed", xk.init_model, model, None)
    assert all(bool((v.value == w).all()) for v, w in zip(model.weights, before, strict=True))
