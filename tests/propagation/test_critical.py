"""``xinit_bench/propagation/critical.py``: the critical gains: fixed points, edge of chaos, phases, stability,
refusals, hostile input.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hostile import Call
from hypothesis import given
from hypothesis import strategies as st
from refusals import refused
from strategies import ACTS, budget, moderate_positive, mostly, real_param

from xinit_bench import propagation as prop
from xinit_bench.propagation import (
    critical_gain,
    expected_dphi_squared,
    expected_phi_squared,
)


@pytest.mark.reference
def test_relu_critical_gain_is_sqrt2() -> None:
    for crit in ("forward", "backward", "edge_of_chaos"):
        r = critical_gain("relu", crit)
        assert r.gain == pytest.approx(math.sqrt(2.0), rel=1e-14)
        assert r.bias_std == 0.0 and r.feasible


@pytest.mark.reference
def test_forward_gain_is_fixed_point() -> None:
    for name in ("tanh", "gelu", "silu", "selu"):
        for q in (0.5, 1.0, 2.0):
            g = critical_gain(name, "forward", q).gain
            assert g * g * expected_phi_squared(name, q) == pytest.approx(q, rel=1e-13)
        g = critical_gain(name, "backward").gain
        assert g * g * expected_dphi_squared(name, 1.0) == pytest.approx(1.0, rel=1e-13)


@pytest.mark.reference
def test_edge_of_chaos_reports_infeasible_and_stability() -> None:
    sig = critical_gain("sigmoid", "edge_of_chaos")
    assert not sig.feasible and sig.stable is None and "infeasible" in sig.note
    tanh = critical_gain("tanh", "edge_of_chaos")
    assert tanh.feasible and tanh.stable and tanh.bias_std > 0
    # q* = sigma_w^2 E[phi^2] + sigma_b^2 holds at the reported point.
    q = tanh.gain**2 * expected_phi_squared("tanh", 1.0) + tanh.bias_std**2
    assert q == pytest.approx(1.0, rel=1e-12)


@pytest.mark.reference
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


@pytest.mark.known_answer
def test_forward_gain_rows_report_chi1_and_phase() -> None:
    tanh = prop.critical_gain("tanh", "forward")
    backward = prop.critical_gain("tanh", "backward")
    assert tanh.chi1 == pytest.approx((tanh.gain / backward.gain) ** 2, rel=1e-9)
    assert tanh.chi1 == pytest.approx(1.178, abs=1e-3)
    assert tanh.phase == "chaotic" and "chaotic" in tanh.note
    assert backward.phase == "critical" and prop.critical_gain("sigmoid", "forward").phase == "ordered"
    assert prop.critical_gain("gelu", "forward").phase == "chaotic"
    row = next(r for r in prop.gain_table() if r["activation"] == "tanh")
    assert row["forward"].to_dict()["phase"] == "chaotic" and "chi1" in row["forward"].to_dict()


def test_gain_table_depth_scales_are_those_of_the_forward_network() -> None:
    # The forward gain puts q* = 1 on the length map without bias; where that fixed point is
    # stable, depth_scales (which searches for q* from q0 = 1) finds the same point and scales.
    rows = {r["activation"]: r for r in prop.gain_table()}
    for name in ("tanh", "erf", "sigmoid", "elu(1)"):
        row = rows[name]
        fs, fwd = row["forward_scales"], row["forward"]
        ref = prop.depth_scales(name.split("(")[0], fwd.gain**2, 0.0)
        assert fs.q_star == 1.0 and ref.q_star == pytest.approx(1.0, rel=1e-10)
        assert fs.xi_c == pytest.approx(ref.xi_c, rel=1e-8) and fs.xi_q == pytest.approx(ref.xi_q, rel=1e-8)
        assert fs.chi_1 == pytest.approx(fwd.chi1, rel=1e-12) and fs.phase == fwd.phase
        assert fs.xi_q == pytest.approx(-1 / math.log(fwd.length_slope), rel=1e-12)
    # At the edge of chaos chi_1 = 1 and xi_q comes from the slope; infeasible rows have none.
    eoc = rows["tanh"]["edge_of_chaos"]
    assert rows["tanh"]["eoc_xi_q"] == pytest.approx(-1 / math.log(eoc.length_slope), rel=1e-12)
    assert rows["sigmoid"]["eoc_xi_q"] is None
    assert math.isnan(rows["gelu"]["forward_scales"].xi_q)  # unstable q*


@pytest.mark.structure
def test_readme_tanh_example_is_critical() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "--gain 1.5925" not in readme
    eoc = prop.critical_gain("tanh", "edge_of_chaos")
    assert f"--gain {eoc.gain:.4f} --bias-std {eoc.bias_std:.4f}" in readme
    assert eoc.phase == "critical"


# --- refusals ---------------------------------------------------------------------------------------
@pytest.mark.refusal
def test_critical_gain_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="criterion must be one of 'forward', 'backward', 'edge_of_chaos'"):
        critical_gain("relu", "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"q must be a finite real number > 0, got -1\.0"):
        critical_gain("relu", "forward", -1.0)


@pytest.mark.refusal
def test_critical_gain_huge_leaky_slope_is_refused_not_zero() -> None:
    refused(ValueError, "param", prop.critical_gain, "leaky_relu", "forward", param=1e200)


@pytest.mark.refusal
def test_critical_gain_huge_q_is_a_value_error() -> None:
    refused(ValueError, "q", prop.critical_gain, "tanh", "forward", q=1e308)
    refused(ValueError, "q", prop.critical_gain, "tanh", "backward", q=1e308)


# --- hostile input ----------------------------------------------------------------------------------
@pytest.mark.property
@budget("critical_gain")
@given(
    activation=ACTS,
    criterion=mostly(st.sampled_from(prop.CRITERIA), st.just("sideways")),
    q=real_param(moderate_positive),
    param=st.one_of(st.none(), st.none(), real_param(st.floats(0, 3))),
)
def test_critical_gain(activation: Any, criterion: Any, q: Any, param: Any) -> None:
    names = ("activation", "criterion", "q", "param")
    with np.errstate(all="ignore"):  # quadrature far in a tail; a non-finite moment must be refused, not returned
        r = Call(None, None).run(prop.critical_gain, activation, criterion, q, param=param, names=names)
    if r is not None:
        assert math.isfinite(r.gain) and r.gain > 0 and math.isfinite(r.chi1) and r.chi1 > 0
        assert r.phase in ("ordered", "critical", "chaotic")
        if criterion != "forward":
            assert r.phase == "critical"
