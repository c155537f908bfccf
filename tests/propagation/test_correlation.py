"""``propagation/correlation.py`` and ``predict(..., c0=)``: correlation map, fixed points, depth scales."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from xinit_bench.bivariate import cross_moment
from xinit_bench.gauss import moment
from xinit_bench.propagation import (
    Act,
    Dense,
    Input,
    LayerNorm,
    Network,
    Residual,
    correlation_map,
    correlation_slope,
    depth_scales,
    fixed_point_c,
    fixed_point_q,
    get_activation,
    length_map,
    predict,
)


def _arccos(c: float) -> float:
    # Cho & Saul (2009), n = 1, at unit variances, written out independently of gauss.py.
    t = math.acos(c)
    return (math.sin(t) + (math.pi - t) * c) / (2 * math.pi)


# --- fixed points ----------------------------------------------------------------------
@pytest.mark.parametrize(("sw2", "sb2"), [(1.0, 0.5), (1.5, 0.1), (0.5, 2.0)])
def test_relu_fixed_point_is_closed_form(sw2: float, sb2: float) -> None:
    # q* = sb2 / (1 - sw2/2); the length-map slope is sw2/2 = chi_1, so xi_q = xi_c = -1/ln(sw2/2).
    d = depth_scales("relu", sw2, sb2)
    assert d.bounded and d.q_star == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-14)
    assert d.c_star == 1.0 and d.phase == "ordered"
    assert d.chi_1 == pytest.approx(sw2 / 2, rel=1e-14) and d.chi_c == pytest.approx(sw2 / 2, rel=1e-12)
    assert d.xi_q == pytest.approx(-1 / math.log(sw2 / 2), rel=1e-12)
    assert d.xi_c == pytest.approx(-1 / math.log(sw2 / 2), rel=1e-12)


@pytest.mark.parametrize(
    ("name", "sw2", "sb2"),
    [("tanh", 1.5, 0.05), ("tanh", 2.5, 0.05), ("tanh", 4.0, 0.3), ("erf", 2.0, 0.1), ("hard_tanh", 1.2, 0.02)],
)
def test_fixed_points_are_fixed(name: str, sw2: float, sb2: float) -> None:
    d = depth_scales(name, sw2, sb2)
    assert d.bounded
    assert length_map(name, sw2, sb2, d.q_star) == pytest.approx(d.q_star, rel=1e-12)
    assert correlation_map(name, sw2, sb2, d.q_star, d.q_star, d.c_star) == pytest.approx(d.c_star, abs=1e-12)
    # Stability: one step of the map from c* +- 0.05 (inside [-1, 1]) lands closer to c*.
    for delta in (-0.05, 0.05):
        c = min(1.0, d.c_star + delta)
        if c != d.c_star:
            step = correlation_map(name, sw2, sb2, d.q_star, d.q_star, c)
            assert abs(step - d.c_star) < abs(c - d.c_star)


def test_chi_c_equals_chi_1_in_the_ordered_phase() -> None:
    for name, sw2, sb2 in [("tanh", 1.5, 0.05), ("tanh", 0.8, 0.05), ("erf", 0.5, 0.1), ("sigmoid", 4.0, 0.0)]:
        d = depth_scales(name, sw2, sb2)
        assert d.phase == "ordered" and d.c_star == 1.0
        assert d.chi_c == pytest.approx(d.chi_1, rel=1e-12)
        assert d.chi_1 == pytest.approx(sw2 * moment(get_activation(name), d.q_star, "dphi2"), rel=1e-14)


def test_chi_c_is_the_slope_of_the_correlation_map() -> None:
    # Independent check of Price's theorem: a central difference of the map at c*,
    # step h = 1e-4 (truncation O(h^2 f''') ~ 1e-8, rounding ~ 1e-16 / h = 1e-12).
    # The wrong variant sigma_w2 E[phi'(u)]^2 (the slope at c = 0 for odd phi, not at c*) fails.
    h = 1e-4
    for name, sw2, sb2 in [("tanh", 2.5, 0.05), ("erf", 2.0, 0.1), ("tanh", 1.5, 0.05)]:
        d = depth_scales(name, sw2, sb2)
        lo, hi = max(d.c_star - h, -1.0), min(d.c_star + h, 1.0)
        fd = (
            correlation_map(name, sw2, sb2, d.q_star, d.q_star, hi)
            - correlation_map(name, sw2, sb2, d.q_star, d.q_star, lo)
        ) / (hi - lo)
        tol = 1e-6 if hi - lo == 2 * h else 2e-4  # one-sided at c* = 1: truncation O(h f'')
        assert d.chi_c == pytest.approx(fd, abs=tol), name
        act = get_activation(name)
        wrong = sw2 * cross_moment(act, d.q_star, d.q_star, 0.0, "dphidphi")
        assert abs(wrong - fd) > 100 * tol, name


def test_decay_of_the_correlation_gives_xi_c() -> None:
    # Iterating the map from c* -+ 1e-4, the gap g_l = |c^l - c*| obeys
    # g_{l+1} = chi_c g_l (1 + O(g_l f''/f')): with g <= 1e-4 and |f''/f'| of order 1 here,
    # the per-layer ratio over layers 10..20 is exp(-1/xi_c) to 1e-3 relative
    # (rounding, 1e-16 / 1e-5, is far smaller).
    for name, sw2, sb2 in [("tanh", 2.5, 0.05), ("tanh", 1.2, 0.05), ("erf", 2.0, 0.1)]:
        d = depth_scales(name, sw2, sb2)
        c = d.c_star - 1e-4 if d.c_star == 1.0 else d.c_star + 1e-4
        gaps = []
        for _ in range(20):
            c = correlation_map(name, sw2, sb2, d.q_star, d.q_star, c)
            gaps.append(abs(c - d.c_star))
        rate = (gaps[19] / gaps[9]) ** (1 / 10)
        assert rate == pytest.approx(math.exp(-1 / d.xi_c), rel=1e-3), name


def test_xi_c_diverges_at_the_critical_line() -> None:
    # tanh at (sigma_w2, sigma_b2) = (1, 0) is the edge of chaos: chi_1 = chi_c = 1, xi = inf.
    d = depth_scales("tanh", 1.0, 0.0)
    assert d.q_star == 0.0 and d.phase == "critical" and d.chi_c == 1.0 and d.xi_c == math.inf
    # Approaching it along sigma_b2 -> 0 (ordered side) and sigma_w2 -> 1+ (chaotic side), xi_c grows without bound.
    xs = [depth_scales("tanh", 1.0, sb2).xi_c for sb2 in (1e-2, 1e-3, 1e-4, 1e-5)]
    assert all(b > 3 * a for a, b in itertools.pairwise(xs)) and xs[-1] > 1e2
    ys = [depth_scales("tanh", sw2, 0.0).xi_c for sw2 in (1.1, 1.01, 1.001)]
    assert all(b > 3 * a for a, b in itertools.pairwise(ys))
    assert depth_scales("tanh", 1.1, 0.0).c_star == 0.0  # odd, no bias: c = 0 is fixed


def test_relu_beyond_sigma_w2_2_is_unbounded() -> None:
    for sw2, sb2 in [(2.5, 0.0), (2.0, 0.1), (3.0, 1.0)]:
        d = depth_scales("relu", sw2, sb2)
        assert not d.bounded and d.q_star == math.inf
        assert all(math.isnan(v) for v in (d.c_star, d.chi_c, d.xi_q, d.xi_c))
        assert d.chi_1 == pytest.approx(sw2 / 2, rel=1e-14)
        assert d.to_dict()["q_star"] == "inf" and d.to_dict()["xi_c"] == "nan"
    # sigma_w2 = 2 without bias is marginal: every q is fixed, both depth scales are infinite.
    d = depth_scales("relu", 2.0, 0.0)
    assert d.bounded and d.xi_q == math.inf and d.xi_c == math.inf and d.phase == "critical"
    assert fixed_point_q("relu", 2.0, 0.0, q0=3.0) == 3.0
    assert not depth_scales("elu", 3.0, 0.0).bounded


def test_fixed_point_c_in_the_chaotic_phase_is_below_one() -> None:
    q = fixed_point_q("tanh", 2.5, 0.05)
    c = fixed_point_c("tanh", 2.5, 0.05, q)
    assert 0.0 < c < 1.0
    assert correlation_slope("tanh", 2.5, 0.05, q, c) < 1.0 < correlation_slope("tanh", 2.5, 0.05, q, 1.0)


# --- predict(..., c0=) -----------------------------------------------------------------
def test_predict_relu_correlation_follows_the_arccos_recursion() -> None:
    # He init, sigma_w2 = 2, sigma_b2 = 0.01; c^1 from the raw input, then the arc-cosine map.
    p = predict("relu", depth=6, width=50, init="he_normal", bias_std=0.1, c0=0.2)
    assert p.correlation is not None
    q_prev, c_prev = 1.0, 0.2
    for l in range(6):
        if l == 0:
            q, cross = 2.0 * q_prev + 0.01, 2.0 * c_prev * q_prev + 0.01
        else:  # E[relu(u)^2] = q/2 and E[relu(u1) relu(u2)] = q arccos_kernel(c)
            q, cross = q_prev + 0.01, 2.0 * q_prev * _arccos(c_prev) + 0.01
        assert p.pre_sq[l] == pytest.approx(q, rel=1e-12)
        assert p.correlation[l] == pytest.approx(cross / q, rel=1e-12)
        q_prev, c_prev = q, cross / q
    # A wrong variant (c instead of the arc-cosine map) is far off by layer 3.
    wrong = (2.0 * p.pre_sq[1] * p.correlation[1] / 2 + 0.01) / p.pre_sq[2]
    assert abs(p.correlation[2] - wrong) > 1e-2


def test_predict_linear_keeps_the_correlation() -> None:
    p = predict("linear", depth=5, width=10, init="xavier_normal", c0=-0.4)
    assert p.correlation is not None
    np.testing.assert_allclose(p.correlation, -0.4, rtol=1e-14)
    assert predict("relu", depth=2, width=8).correlation is None


def test_network_mlp_matches_predict_mlp() -> None:
    sb = 0.2
    net = Network(
        Input(32), *[x for _ in range(4) for x in (Dense(32, init="lecun_normal", gain=1.5, bias_std=sb), Act("tanh"))]
    )
    p = predict(net, c0=0.5)
    m = predict("tanh", depth=4, width=32, init="lecun_normal", gain=1.5, bias_std=sb, c0=0.5)
    assert p.correlation is not None and m.correlation is not None
    np.testing.assert_allclose(p.correlation[0::2], m.correlation, rtol=1e-12)
    assert p.c_star == pytest.approx(m.c_star, rel=1e-12) and p.xi_c == pytest.approx(m.xi_c, rel=1e-12)
    d = depth_scales("tanh", 1.5**2, sb * sb)
    assert p.xi_q == pytest.approx(d.xi_q, rel=1e-12)


def test_residual_covariances_add() -> None:
    # y = x + alpha F(x), F = [Act(relu), Dense] under He init: q doubles with alpha = 1; the
    # cross moment follows q12' = q12 + alpha^2 * 2 * q * arccos_kernel(c) (centred skip).
    net = Network(Input(16), Dense(16), Residual([Act("relu"), Dense(16)], alpha=1.0, repeat=3), LayerNorm())
    p = predict(net, c0=0.3)
    assert p.correlation is not None and p.cross is not None
    q, q12 = 2.0, 0.6
    for k in range(1, 4):
        q12 = q12 + 2.0 * q * _arccos(q12 / q)
        q = 2 * q
        assert p.cross[k] == pytest.approx(q12, rel=1e-12)
    assert p.correlation[4] == pytest.approx(p.correlation[3], rel=1e-12)  # LayerNorm of a centred stream
    assert math.isnan(p.c_star)  # no one-layer map for a residual network


@pytest.mark.parametrize("bad", [1.5, -1.0000001, math.nan, math.inf])
def test_c0_outside_minus_one_one_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match=r"c0 must be .*\[-1, 1\]|c0 must be a finite"):
        predict("relu", depth=2, width=8, c0=bad)
    with pytest.raises(ValueError, match="c0"):
        predict(Network(Input(4), Dense(4)), c0=bad)


def test_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(TypeError, match="c0"):
        predict("relu", depth=2, width=8, c0="0.5")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"c must be .*\[-1, 1\], got 1.5"):
        correlation_map("tanh", 1.0, 0.0, 1.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="q1 must be"):
        correlation_map("tanh", 1.0, 0.0, 0.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="sigma_w2 must be"):
        depth_scales("tanh", 0.0, 0.0)
    with pytest.raises(ValueError, match="sigma_b2 must be"):
        depth_scales("tanh", 1.0, -0.1)
    with pytest.raises(TypeError, match="sigma_w2"):
        depth_scales("tanh", "1", 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="activation"):
        depth_scales("swish", 1.0, 0.0)
