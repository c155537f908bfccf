"""Mean-field theory of xinit_bench.propagation: quadrature, closed forms, gains, validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from xinit_bench.propagation import (
    ACTIVATIONS,
    critical_gain,
    expected_dphi_squared,
    expected_phi,
    expected_phi_squared,
    get_activation,
    predict,
)

Q_GRID = (1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0)
MOMENTS = {"phi2": expected_phi_squared, "dphi2": expected_dphi_squared, "phi": expected_phi}


def _quad(f, q):  # type: ignore[no-untyped-def]
    # scipy reference in z-space, split at the kink z = 0 and at |z| = 1, 4;
    # |z| <= 40 leaves out < 1e-300 of the mass.
    s = math.sqrt(q)

    def g(z: float) -> float:
        return f(s * z) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    edges = (-40.0, -4.0, -1.0, 0.0, 1.0, 4.0, 40.0)
    return sum(integrate.quad(g, a, b, epsabs=0.0, epsrel=1e-13, limit=400)[0] for a, b in itertools.pairwise(edges))


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_expectations_match_quad(name: str) -> None:
    # Requirement: 1e-10 relative to scipy.integrate.quad for q in [1e-3, 1e2].
    # E[phi] of an odd activation is 0; it is compared in absolute terms
    # against the scale sqrt(q) of phi instead.
    act = get_activation(name)
    fns = {
        "phi2": lambda x: float(act.phi(np.array([x]))[0]) ** 2,
        "dphi2": lambda x: float(act.dphi(np.array([x]))[0]) ** 2,
        "phi": lambda x: float(act.phi(np.array([x]))[0]),
    }
    for q in Q_GRID:
        for mom, fn in fns.items():
            ref = _quad(fn, q)
            got = MOMENTS[mom](act, q)
            scale = abs(ref) if mom != "phi" else max(abs(ref), math.sqrt(q))
            assert abs(got - ref) <= 1e-10 * scale, (name, q, mom, got, ref)


def test_closed_forms() -> None:
    assert expected_phi_squared("relu", 3.0) == 1.5
    assert expected_dphi_squared("relu", 3.0) == 0.5
    assert expected_phi_squared("leaky_relu", 2.0, 0.5) == pytest.approx(1.25, rel=1e-15)
    assert expected_phi_squared("linear", 0.7) == 0.7
    assert expected_phi("tanh", 4.0) == 0.0


def test_relu_critical_gain_is_sqrt2() -> None:
    for crit in ("forward", "backward", "edge_of_chaos"):
        r = critical_gain("relu", crit)
        assert r.gain == pytest.approx(math.sqrt(2.0), rel=1e-14)
        assert r.bias_std == 0.0 and r.feasible


def test_forward_gain_is_fixed_point() -> None:
    for name in ("tanh", "gelu", "silu", "selu"):
        for q in (0.5, 1.0, 2.0):
            g = critical_gain(name, "forward", q).gain
            assert g * g * expected_phi_squared(name, q) == pytest.approx(q, rel=1e-13)
        g = critical_gain(name, "backward").gain
        assert g * g * expected_dphi_squared(name, 1.0) == pytest.approx(1.0, rel=1e-13)


def test_edge_of_chaos_reports_infeasible_and_stability() -> None:
    sig = critical_gain("sigmoid", "edge_of_chaos")
    assert not sig.feasible and sig.stable is None and "infeasible" in sig.note
    tanh = critical_gain("tanh", "edge_of_chaos")
    assert tanh.feasible and tanh.stable and tanh.bias_std > 0
    # q* = sigma_w^2 E[phi^2] + sigma_b^2 holds at the reported point.
    q = tanh.gain**2 * expected_phi_squared("tanh", 1.0) + tanh.bias_std**2
    assert q == pytest.approx(1.0, rel=1e-12)


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


def test_critical_gain_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="criterion must be one of 'forward', 'backward', 'edge_of_chaos'"):
        critical_gain("relu", "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"q must be a finite real number > 0, got -1\.0"):
        critical_gain("relu", "forward", -1.0)


@pytest.mark.parametrize(
    ("name", "stable"), [("tanh", True), ("selu", True), ("gelu", False), ("silu", False), ("mish", False)]
)
def test_forward_fixed_point_stability(name: str, stable: bool) -> None:
    # The bias-free length map q -> g^2 F(q), F(q) = E[phi(sqrt(q) z)^2], has slope
    # s = g^2 F'(q*) = F'(q*) q* / F(q*) at its fixed point q* = g^2 F(q*).  Where
    # F(q)/q increases with q (gelu, silu, mish: gates that open with |x|), F' > F/q
    # and s > 1 at every q*, so no gain gives a stable bias-free fixed point; where
    # it decreases (tanh, which saturates), s < 1 at every q*.  Checked on a grid of
    # q*, with F(q)/q itself checked monotone.
    grid = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0)
    ratios = [expected_phi_squared(name, q) / q for q in grid]
    if name in ("gelu", "silu", "mish"):
        assert all(a < b for a, b in itertools.pairwise(ratios))
    elif name == "tanh":
        assert all(a > b for a, b in itertools.pairwise(ratios))
    for q in grid:
        cg = critical_gain(name, "forward", q)
        assert cg.stable is stable and (cg.length_slope < 1.0) is stable, (q, cg)
    slopes = {"gelu": 1.144063, "silu": 1.172594, "tanh": 0.461071}
    if name in slopes:
        assert critical_gain(name, "forward").length_slope == pytest.approx(slopes[name], abs=1e-6)


def test_expectations_match_mpmath_at_30_digits() -> None:
    # An independent, higher-precision reference for the smooth activations (scipy's
    # quad works in float64): mpmath.quad in z-space at 30 digits, split at 0 and
    # +-1, +-4, +-8, truncated at |z| = 40.  Agreement to 1e-12 relative shows that the
    # 40-point panels and the 13-sd truncation of gaussian_expectation are ample.
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    phis = {
        "tanh": mpmath.tanh,
        "gelu": lambda x: x * mpmath.ncdf(x),
        "silu": lambda x: x / (1 + mpmath.exp(-x)),
        "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
        "mish": lambda x: x * mpmath.tanh(mpmath.log1p(mpmath.exp(x))),
    }
    edges = [-40, -8, -4, -1, 0, 1, 4, 8, 40]
    for name, phi in phis.items():
        for q in (1e-3, 1.0, 100.0):
            s = mpmath.sqrt(mpmath.mpf(q))
            ref = mpmath.quad(lambda z, phi=phi, s=s: phi(s * z) ** 2 * mpmath.npdf(z), edges)
            got = expected_phi_squared(name, q)
            assert abs(got - float(ref)) <= 1e-12 * float(ref), (name, q, got, ref)
