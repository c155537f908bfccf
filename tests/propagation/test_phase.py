"""``xinit_bench/propagation/phase.py`` and ``phasemc.py``: the phase diagram, its critical line, the preset.

The critical line is checked against facts derived independently of the grid:
tanh without bias is critical at sigma_w^2 = 1 (phi'(0) = 1, and q* = 0 below
it), the edge of chaos of ``critical_gain`` lies on the line, and a grid cell
that is the network of a ``critical_gain`` result has that result's chi_1.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from refusals import refused

from xinit_bench.activations import ACTIVATIONS
from xinit_bench.gauss import moment
from xinit_bench.propagation import critical_gain, get_activation
from xinit_bench.propagation.correlation import depth_scales
from xinit_bench.propagation.critical import phase as phase_of
from xinit_bench.propagation.phase import LINE_RTOL, LINE_XTOL, PhaseDiagram, critical_line, phase_diagram
from xinit_bench.propagation.phasemc import measure_xi_c, schoenholz2017

#: How close the tanh line must come to (1, 0).  Below sigma_w^2 = 1, q* = 0 and chi_1 = sigma_w^2
#: exactly; above, chi_1 - 1 = eps^2 / 3 + O(eps^3) at sigma_w^2 = 1 + eps (measured: 3.33e-13 at
#: eps = 1e-6).  chi_1 is a float64 near 1 with a rounding error delta <= 1e-15, so the computed sign of
#: chi_1 - 1 is reliable only for eps >= sqrt(3 delta) = 5.5e-8; Brent's method adds its own
#: LINE_XTOL + LINE_RTOL.  Hence 1e-7.
TANH_ORIGIN_TOL = math.sqrt(3.0 * 1e-15) + LINE_XTOL + LINE_RTOL + 4e-8


def _through_origin(line_at_zero: float) -> bool:
    return abs(line_at_zero - 1.0) <= TANH_ORIGIN_TOL


@pytest.mark.known_answer
def test_tanh_critical_line_passes_through_1_0() -> None:
    root = float(critical_line("tanh", [0.0], (0.5, 2.0))[0])
    assert _through_origin(root), root
    d = phase_diagram("tanh", sigma_w2=(0.5, 2.0, 4), sigma_b2=(0.0, 0.0, 1))
    assert _through_origin(float(d.line_sigma_w2[0]))
    assert d.phase.tolist() == [["ordered", "critical", "chaotic", "chaotic"]]


@pytest.mark.known_answer
def test_wrong_lines_miss_the_origin_and_chi1() -> None:
    """Two plausible wrong lines fail the checks the right one passes.

    The forward criterion at q* = 1 (sigma_w^2 E[phi^2] + sigma_b^2 = 1) and chi_1 = 1 evaluated at q = 1
    instead of q* both go through the edge-of-chaos point, but neither through (1, 0), and along
    neither is chi_1 at the fixed point 1.
    """
    tanh = get_activation("tanh")
    b2s = [0.0, 0.05, 0.2]
    right = critical_line(tanh, b2s, (0.5, 4.0))
    forward = [(1.0 - b) / moment(tanh, 1.0, "phi2") for b in b2s]
    at_q1 = [1.0 / moment(tanh, 1.0, "dphi2")] * len(b2s)
    assert _through_origin(float(right[0]))
    for wrong in (forward, at_q1):
        assert not _through_origin(wrong[0])
        assert max(abs(depth_scales(tanh, w, b).chi_1 - 1.0) for w, b in zip(wrong, b2s, strict=True)) > 0.05
    # chi_1 - 1 at the found root: Brent stops within LINE_XTOL + LINE_RTOL * w of the root, and
    # |d chi_1 / d sigma_w^2| < 1 here, so |chi_1 - 1| <= 2e-10 (the rounding of chi_1 is far below).
    for w, b in zip(right, b2s, strict=True):
        assert abs(depth_scales(tanh, float(w), b).chi_1 - 1.0) <= LINE_XTOL + LINE_RTOL * 4.0 + 1e-10


@pytest.mark.known_answer
def test_edge_of_chaos_lies_on_the_line() -> None:
    eoc = critical_gain("tanh", "edge_of_chaos")
    w2, b2 = eoc.gain**2, eoc.bias_std**2
    root = float(critical_line("tanh", [b2], (1.0, 3.0))[0])
    # The root is Brent's to LINE_XTOL + LINE_RTOL * w2; the edge-of-chaos point solves chi_1 = 1 at
    # q* = 1 to the quadrature's 1e-12, which moves the root by that over d chi_1 / d sigma_w^2 (~0.4).
    assert abs(root - w2) <= LINE_XTOL + LINE_RTOL * w2 + 1e-11
    d = phase_diagram("tanh", sigma_w2=(1.5, 2.5, 3), sigma_b2=(b2, b2, 1))
    assert d.edge_of_chaos == pytest.approx((w2, b2), rel=1e-15)
    assert float(d.line_sigma_w2[0]) == pytest.approx(w2, abs=LINE_XTOL + LINE_RTOL * w2 + 1e-11)


@pytest.mark.known_answer
@pytest.mark.parametrize("name", ["tanh", "erf", "relu"])
def test_chi1_on_the_grid_equals_critical_gain_where_they_coincide(name: str) -> None:
    """A cell (sigma_w^2, 0) with q* > 0 is the network of ``critical_gain(act, "forward", q=q*)``.

    Both sides evaluate E[phi'^2] with the same quadrature at q*, so they agree to the accuracy of q*
    itself: Brent's rtol of 1e-15 on the fixed point, amplified by at most 1 / (1 - slope) <= 1e3 for
    these cells, and |d ln chi_1 / d ln q| <= 1, so 1e-11 relative.
    """
    grid = (2.0, 2.0, 1) if name == "relu" else (1.5, 3.0, 4)
    d = phase_diagram(name, sigma_w2=grid, sigma_b2=(0.0, 0.0, 1))
    for i, w2 in enumerate(d.sigma_w2):
        q = float(d.q_star[0, i])
        assert q > 0
        cg = critical_gain(name, "forward", q=q)
        assert cg.gain**2 == pytest.approx(w2, rel=1e-11)
        assert float(d.chi_1[0, i]) == pytest.approx(cg.chi1, rel=1e-11)


@pytest.mark.known_answer
def test_edge_of_chaos_cells_have_critical_gains_chi1() -> None:
    """A 1 x 1 grid at each feasible, stable edge of chaos: q* = 1 and chi_1 = critical_gain's chi1 = 1."""
    checked = 0
    for name in ACTIVATIONS:
        eoc = critical_gain(name, "edge_of_chaos")
        if not (eoc.feasible and eoc.stable) or name in ("linear", "relu", "leaky_relu"):
            continue  # homogeneous activations: every q is a fixed point at the edge of chaos
        w2, b2 = eoc.gain**2, eoc.bias_std**2
        d = phase_diagram(name, sigma_w2=(w2, w2, 1), sigma_b2=(b2, b2, 1))
        assert float(d.q_star[0, 0]) == pytest.approx(1.0, rel=1e-9), name
        assert float(d.chi_1[0, 0]) == pytest.approx(eoc.chi1, rel=1e-9), name
        checked += 1
    assert checked >= 2


@pytest.mark.known_answer
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_runs_on_a_small_grid(name: str) -> None:
    d = phase_diagram(name, sigma_w2=(0.5, 1.0, 2), sigma_b2=(0.0, 0.1, 2))
    assert d.shape == (2, 2) and d.chi_1.shape == (2, 2)
    for j, b2 in enumerate(d.sigma_b2):
        for i, w2 in enumerate(d.sigma_w2):
            ds = depth_scales(name, float(w2), float(b2))
            assert bool(d.bounded[j, i]) == ds.bounded
            if ds.bounded:
                assert float(d.chi_1[j, i]) == ds.chi_1 and d.phase[j, i] == phase_of(ds.chi_1)
            else:
                assert d.phase[j, i] == "unbounded" and np.isnan(d.chi_1[j, i])
    json.dumps(d.to_dict(), allow_nan=False)


@pytest.mark.known_answer
def test_unbounded_cells_are_marked_and_relu_line_is_two() -> None:
    d = phase_diagram("relu", sigma_w2=(1.0, 3.0, 5), sigma_b2=(0.1, 0.1, 1))
    assert d.bounded.tolist() == [[True, True, False, False, False]]
    assert d.phase[0, 2:].tolist() == ["unbounded"] * 3
    for name in ("chi_1", "xi_c", "xi_q", "q_star", "c_star"):
        assert np.isnan(getattr(d, name)[0, 2:]).all(), name
    assert d.chi_1[0, :2].tolist() == [0.5, 0.75]  # chi_1 = sigma_w^2 / 2 for ReLU
    assert d.line_sigma_w2.tolist() == [2.0]


@pytest.mark.known_answer
def test_json_round_trip_keeps_nan_and_inf() -> None:
    d = phase_diagram("tanh", sigma_w2=(0.5, 1.5, 3), sigma_b2=(0.0, 0.1, 2))
    assert math.isinf(float(d.xi_c[0, 1]))  # (1, 0) is critical: an infinite depth scale
    back = PhaseDiagram.from_dict(json.loads(json.dumps(d.to_dict(), allow_nan=False)))
    for name in ("sigma_w2", "sigma_b2", "chi_1", "chi_c", "xi_c", "xi_q", "q_star", "c_star", "line_sigma_w2"):
        np.testing.assert_array_equal(getattr(back, name), getattr(d, name), err_msg=name)
    assert back.phase.tolist() == d.phase.tolist() and back.bounded.tolist() == d.bounded.tolist()
    assert back.edge_of_chaos == d.edge_of_chaos and back.activation == d.activation


@pytest.mark.refusal
def test_grid_too_large_is_refused_with_an_estimate_before_computing() -> None:
    msg = refused(
        ValueError, "sigma_w2 and sigma_b2", phase_diagram, "tanh", sigma_w2=(0.5, 4.0, 10**5), sigma_b2=(0, 1, 10**5)
    )
    assert "fits in memory" in msg and "10000000000 cells" in msg and "GiB" in msg
    msg = refused(
        ValueError,
        "sigma_w2 and sigma_b2",
        phase_diagram,
        "tanh",
        sigma_w2=(0.5, 0.9, 50),
        sigma_b2=(0.0, 0.1, 50),
        max_seconds=1e-6,
    )
    assert "2500 cells take an estimated" in msg and "ms per cell" in msg

    calls = []
    with pytest.raises(ValueError):
        phase_diagram("tanh", sigma_w2=(0.5, 0.9, 50), sigma_b2=(0.0, 0.1, 50), max_seconds=1e-6, progress=calls.append)
    assert calls == []  # no cell was computed past the three the estimate timed


@pytest.mark.refusal
def test_bad_axes_and_activation_are_refused() -> None:
    refused(ValueError, "sigma_w2", phase_diagram, "tanh", sigma_w2=(2.0, 1.0, 3))
    refused(ValueError, "sigma_w2", phase_diagram, "tanh", sigma_w2=(1.0, 2.0, 1))
    refused(ValueError, "sigma_w2[0]", phase_diagram, "tanh", sigma_w2=(0.0, 2.0, 3))
    refused(ValueError, "sigma_b2[0]", phase_diagram, "tanh", sigma_b2=(-0.1, 0.2, 3))
    refused(ValueError, "sigma_b2[1]", phase_diagram, "tanh", sigma_b2=(0.0, math.nan, 3))
    refused(ValueError, "sigma_w2[2]", phase_diagram, "tanh", sigma_w2=(1.0, 2.0, 0))
    refused(TypeError, "sigma_w2[2]", phase_diagram, "tanh", sigma_w2=(1.0, 2.0, 3.0))
    refused(TypeError, "sigma_w2", phase_diagram, "tanh", sigma_w2=[1.0, 2.0])
    refused(ValueError, "activation", phase_diagram, "swish")
    refused(TypeError, "activation", phase_diagram, 3)
    refused(ValueError, "max_seconds", phase_diagram, "tanh", max_seconds=0.0)
    refused(ValueError, "monte_carlo[0]", phase_diagram, "relu", sigma_w2=(1, 2, 2), monte_carlo=[(2.5, 0.1)])
    refused(TypeError, "monte_carlo[0]", phase_diagram, "tanh", monte_carlo=[1.5])
    refused(ValueError, "batch", phase_diagram, "tanh", monte_carlo=[(1.5, 0.1)], monte_carlo_options={"batch": 7})
    refused(ValueError, "c0", phase_diagram, "tanh", monte_carlo=[(1.5, 0.1)], monte_carlo_options={"c0": 1.5})
    refused(ValueError, "monte_carlo_options", phase_diagram, "tanh", monte_carlo_options={"layers": 3})
    refused(ValueError, "sigma_w2_range", critical_line, "tanh", [0.0], (2.0, 1.0))


@pytest.mark.statistical
@pytest.mark.slow
def test_monte_carlo_cell_matches_theory() -> None:
    """c^L of 8 networks against the theory: |z| <= 4 (t with 7 degrees of freedom: P(|t| > 4) = 0.5%)."""
    d = phase_diagram(
        "tanh",
        sigma_w2=(1.5, 1.5, 1),
        sigma_b2=(0.05, 0.05, 1),
        monte_carlo=[(1.5, 0.05)],
        monte_carlo_options={"depth": 8, "width": 128, "batch": 64, "repeats": 8},
    )
    (m,) = d.monte_carlo
    assert m["depth"] == 8 and 0.5 < m["c_theory"] < 1.0
    assert abs(m["z"]) <= 4.0, m


@pytest.mark.statistical
@pytest.mark.slow
def test_measured_xi_c_in_the_ordered_phase_is_within_ten_percent() -> None:
    """xi_c from the decay of 1 - c^l over 8 networks at an ordered cell (theory xi_c = 2.3).

    The spread over networks is 2.5% of xi_c at width 256 (standard error 0.057 of 2.33 measured with
    this seed), so 10% is 4 standard errors.
    """
    m = measure_xi_c("tanh", 0.8, 0.05, repeats=8)
    assert m["phase"] == "ordered" and m["layers_fitted"] >= 3
    assert m["xi_c"] == pytest.approx(m["xi_c_theory"], rel=0.10)


@pytest.mark.known_answer
def test_schoenholz2017_theory_diverges_at_the_critical_line() -> None:
    c = schoenholz2017(sigma_w2=(0.5, 2.5, 9), sigma_b2=(0.05,), monte_carlo=False)
    crit = float(c.critical_sigma_w2[0])
    assert abs(depth_scales("tanh", crit, 0.05).chi_1 - 1.0) <= 1e-9
    ordered = c.sigma_w2 < crit
    xi = c.xi_c[0]
    assert np.all(np.diff(xi[ordered]) > 0) and np.all(np.diff(xi[~ordered]) < 0)  # rising to the line, then falling
    near = depth_scales("tanh", crit * (1 - 1e-4), 0.05).xi_c
    assert near > 10 * xi.max()  # ~ 1 / |ln chi_1| blows up as chi_1 -> 1
    json.dumps(c.to_dict(), allow_nan=False)


@pytest.mark.known_answer
def test_progress_counts_every_cell_once() -> None:
    calls: list[tuple[int, int]] = []
    phase_diagram("tanh", sigma_w2=(0.5, 0.9, 3), sigma_b2=(0.0, 0.1, 2), progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k, 6) for k in range(1, 7)]


@pytest.mark.structure
def test_figures_draw_degenerate_grids(tmp_path) -> None:
    """All-unbounded, one-cell and partly unbounded grids draw without a warning (warnings are errors here)."""
    pytest.importorskip("matplotlib")
    from xinit_bench.propagation.phaseplot import write_phase_plot, write_xi_plot

    grids = [
        ("relu", (2.5, 3.0, 2), (0.1, 0.2, 2)),
        ("tanh", (1.5, 1.5, 1), (0.1, 0.1, 1)),
        ("linear", (0.5, 1.5, 3), (0.0, 0.2, 3)),
    ]
    for k, (name, w, b) in enumerate(grids):
        path = tmp_path / f"{k}.png"
        write_phase_plot(phase_diagram(name, sigma_w2=w, sigma_b2=b), path)
        assert path.read_bytes()[:4] == b"\x89PNG"
    path = tmp_path / "xi.png"
    write_xi_plot(schoenholz2017(sigma_w2=(0.5, 1.0, 3), sigma_b2=(0.05,), monte_carlo=False), path)
    assert path.read_bytes()[:4] == b"\x89PNG"
