"""``kernels/activations.py``: every fused forward kernel against the float64 NumPy activation it stands for."""

from __future__ import annotations

import numpy as np
import pytest

from xinit_bench.activations import ACTIVATIONS, get_activation
from xinit_bench.kernels import activations as K


def test_one_kernel_per_activation_in_table_order() -> None:
    kinds = [get_activation(name).kind for name in ACTIVATIONS]
    assert kinds == list(range(len(ACTIVATIONS)))
    assert len(K.FORWARD) == len(ACTIVATIONS)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_forward_kernel_matches_float64_activation(name: str) -> None:
    # The kernels evaluate phi in float64 from polynomial exp (relative error
    # < 1e-13, kernels/phi.py) and libm erf / erfc; tanh as (1 - e) / (1 + e) is
    # accurate to ~1e-15 absolute, not relative, near 0.  So 1e-12 relative plus
    # 1e-13 absolute: far below any wrong formula (a wrong constant or branch is
    # off by > 1e-3 somewhere on this grid).  The points straddle the kinks
    # (0, +-1) and reach the saturated tails.
    act = get_activation(name)
    x = np.concatenate([np.linspace(-6.0, 6.0, 241), [-1.0, 1.0, -1e-9, 1e-9, 0.0, -30.0, 30.0]])
    x = x[np.argsort(x)][None, :].copy()
    bias = np.zeros(x.shape[1])
    a = np.empty_like(x)
    d = np.empty_like(x)
    part = np.zeros((1, 3))
    K.FORWARD[act.kind](x, bias, a, d, act.param, part)
    # At a kink the derivative is one-sided by convention; compare away from them.
    away = np.all(np.abs(x[0][:, None] - np.asarray((0.0, *act.kinks))[None, :]) > 0, axis=1)
    np.testing.assert_allclose(a[0], act.phi(x[0]), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(d[0][away], act.dphi(x[0])[away], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(part[0, 2], np.sum(act.phi(x[0]) ** 2), rtol=1e-12)
