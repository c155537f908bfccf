"""``xinit_bench/propagation/nettheory.py``: the per-layer mean-field rules against closed forms.

Each expected value below is derived here, independently of the module: the
ReLU residual recursion, the LayerNorm moments, the inverse chi-squared mean
for the LayerNorm gradient, the conv fans and the MLP theory of ``theory.py``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from xinit_bench import propagation as xp


@pytest.mark.known_answer
@pytest.mark.parametrize(("alpha", "gain"), [(1.0, math.sqrt(2.0)), (0.5, math.sqrt(2.0)), (0.1, 1.0), (0.0, 2.0)])
def test_relu_residual_grows_as_one_plus_alpha2_sigma2_over_2(alpha: float, gain: float) -> None:
    # x_{l+1} = x_l + alpha W relu(x_l), Var[W] = gain^2/n:  q_{l+1} = q_l + alpha^2 gain^2 q_l / 2,
    # so q_L = q_0 (1 + alpha^2 gain^2 / 2)^L; the gradient factor is the same, 1 + alpha^2 gain^2 E[relu'^2].
    L, n = 40, 128
    net = xp.Network(
        xp.Input(n, second_moment=1.5),
        xp.Residual([xp.Act("relu"), xp.Dense(n, init="he_normal", gain=gain)], alpha=alpha, repeat=L),
    )
    p = xp.predict(net)
    growth = 1.0 + alpha * alpha * gain * gain / 2.0
    expected = 1.5 * growth ** np.arange(1, L + 1)
    np.testing.assert_allclose(p.forward, expected, rtol=1e-12)
    np.testing.assert_allclose(p.backward, growth ** np.arange(L - 1, -1, -1), rtol=1e-12)
    assert p.input_backward == pytest.approx(growth**L, rel=1e-12)


@pytest.mark.known_answer
def test_residual_without_alpha_squared_is_a_different_number() -> None:
    # The wrong rule q -> q + alpha q_F (alpha, not alpha^2) differs at alpha = 0.5 by a factor
    # (1.5 / 1.25)^L: the theory's value is the alpha^2 one.
    net = xp.Network(xp.Input(64), xp.Residual([xp.Act("relu"), xp.Dense(64)], alpha=0.5, repeat=10))
    assert xp.predict(net).forward[-1] == pytest.approx(1.25**10, rel=1e-12)


@pytest.mark.known_answer
@pytest.mark.parametrize("q", [1e-2, 1.0, 30.0])
@pytest.mark.parametrize("eps", [1e-12, 1e-5, 1e-2])
def test_layernorm_output_is_one_minus_order_eps(q: float, eps: float) -> None:
    # y = x / sqrt(q + eps) for x ~ N(0, q) at infinite width: E[y^2] = q/(q+eps) = 1 - eps/q + O((eps/q)^2).
    net = xp.Network(xp.Input(256, second_moment=q), xp.LayerNorm(eps=eps))
    f = xp.predict(net).forward[0]
    assert f == pytest.approx(q / (q + eps), rel=1e-14)
    assert abs(1.0 - f - eps / q) <= (eps / q) ** 2 + 4 * np.finfo(np.float64).eps  # plus rounding of 1 - f


@pytest.mark.known_answer
def test_layernorm_gradient_is_one_over_q_with_its_finite_width_correction() -> None:
    # Infinite width: gamma_in / gamma_out = 1/(q + eps).  At width n with eps = 0 and Gaussian input,
    # n s^2/q ~ chi^2_{n-1}, E[1/s^2] = n/((n-3) q), and tr(J J^T)/n = (n-2)/n: exactly (n-2)/((n-3) q).
    # The delta method agrees with it to O(n^-2): the error shrinks about 4x per doubling of n.
    q = 2.0
    errs = []
    for n in (32, 64, 128, 256):
        net = xp.Network(xp.Input(n, second_moment=q), xp.LayerNorm(eps=0.0), xp.Dense(n))
        exact = (n - 2) / ((n - 3) * q)
        fin = xp.predict(net, finite_width=True)
        got = fin.input_backward / fin.backward[0]
        errs.append(abs(got / exact - 1.0))
        inf = xp.predict(net, finite_width=False)
        assert inf.input_backward / inf.backward[0] == pytest.approx(1.0 / q, rel=1e-14)
    assert errs[0] < 2.5 / 32**2
    for a, b in itertools.pairwise(errs):
        assert 3.0 < a / b < 5.0


@pytest.mark.known_answer
@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "init"), [(4, 8, 3, "he_normal"), (8, 8, 5, "xavier_uniform"), (6, 3, 3, "lecun_normal")]
)
def test_conv_fans_are_channels_times_kernel_area(c_in: int, c_out: int, k: int, init: str) -> None:
    # Var[W] of the scheme with fan_in = c_in k^2, fan_out = c_out k^2; circular padding: every output
    # sees c_in k^2 inputs (q_out = c_in k^2 Var[W] q_in), every input feeds c_out k^2 outputs.
    fan_in, fan_out = c_in * k * k, c_out * k * k
    var = {"he_normal": 2.0 / fan_in, "xavier_uniform": 2.0 / (fan_in + fan_out), "lecun_normal": 1.0 / fan_in}[init]
    net = xp.Network(xp.Input((c_in, 9, 9), second_moment=0.7), xp.Conv(c_out, k, init=init), xp.Dense(5))
    p = xp.predict(net)
    assert p.forward[0] == pytest.approx(fan_in * var * 0.7, rel=1e-12)
    assert p.input_backward / p.backward[0] == pytest.approx(fan_out * var, rel=1e-12)


@pytest.mark.known_answer
@pytest.mark.parametrize("act", ["relu", "tanh", "gelu", "elu"])
def test_dense_stack_equals_the_mlp_theory(act: str) -> None:
    widths = (64, 128, 96, 32)
    layers = []
    for w in widths[1:]:
        layers += [xp.Dense(w, init="xavier_normal", bias_std=0.2), xp.Act(act)]
    p = xp.predict(xp.Network(xp.Input(widths[0]), *layers))
    mlp = xp.predict(act, widths=widths, init="xavier_normal", bias_std=0.2)
    np.testing.assert_allclose(p.forward[0::2], mlp.pre_sq, rtol=1e-12)
    np.testing.assert_allclose(p.forward[1::2], mlp.act_sq, rtol=1e-12)
    np.testing.assert_allclose(p.backward[1::2], mlp.grad_act_sq, rtol=1e-12)
    np.testing.assert_allclose(p.backward[0::2], mlp.grad_pre_sq, rtol=1e-12)
