r"""The Monte Carlo correlation map (``simulate(..., c0=)``, ``pairs.py``) against closed forms.

Estimator.  A run with ``c0`` makes its batch ``B / 2`` pairs of inputs of
second moment ``q^0`` and correlation ``c0``; per network and layer it records
the pooled ``c^ = sum_p <h_a, h_b> / sqrt(sum_p |h_a|^2 sum_p |h_b|^2)`` (the
MLP's pre-activations ``h^l``; a network's entry outputs), and the result
is the mean over ``R`` independent networks with the standard error
``se = std(ddof=1) / sqrt(R)``.

Tolerance: 4 standard errors at every layer.  Each network's ``c^`` is an
average over ``n`` units (and the pairs), close to normal, and the ``R``
networks are independent, so ``(mean - c) / se`` is Student-t with ``R - 1``
degrees of freedom; ``P(|t_31| > 4) = 3.6e-4``, and by a union bound over the
``L`` layers of a check the chance that any layer leaves 4 se is below
``L * 3.6e-4`` (0.7% at L = 20).  The finite-width bias of ``c^`` (the map is
applied to an empirical kernel that fluctuates by ``O(n^-1/2)``, so the bias
is ``O(1/n)`` per layer, against an se of order ``(n R)^-1/2``) is a fraction
``O(sqrt(R / n))`` of an se, a quarter at n = 512, R = 32, where the map
contracts towards its fixed point (slope < 1 there), so that the bias of
each layer is damped by the next ones.  At the critical point of ReLU (He
init, the map has slope 1 at c* = 1) it is not damped and grows with depth:
measured at c0 = 0.2 (32 repeats, 20 layers, float64), the mean fell below
the map by 0.044 at n = 128, 0.0076 at n = 512 and 0.0003 (noise) at n = 2048,
the 1/n scaling of a finite-width correction, 3 to 5 se at layer 20 for
n = 512; so the critical ReLU checks stop at 8 layers at that width.  The seeds are
fixed, so the outcome is deterministic.  The references are written here,
not taken from the library: the arc-cosine kernel of degree 1 (Cho & Saul
2009) for ReLU, the bilinear map for linear layers.  A wrong reference (the
ReLU map one layer off, or a bias left out of the cross term) is shown to
fail the same check.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from xinit_bench import propagation as xp
from xinit_bench.propagation.pairs import pair_inputs

Z = 4.0


def _arccos1(c: float) -> float:
    """``E[relu(u_a) relu(u_b)] / (sqrt(q_a q_b) / 2)`` for unit-correlation ``c``: Cho & Saul's J_1 / pi."""
    c = min(1.0, max(-1.0, c))
    t = math.acos(c)
    return (math.sin(t) + (math.pi - t) * c) / math.pi


def _relu_mlp(depth: int, sw2: float, sb2: float, q0: float, c0: float) -> tuple[np.ndarray, np.ndarray]:
    """(q^l, c^l) of the pre-activations of a ReLU MLP, l = 1..depth (Poole et al. 2016, eqs. (3)-(4))."""
    q = sw2 * q0 + sb2
    qab = sw2 * q0 * c0 + sb2
    qs, cs = [q], [qab / q]
    for _ in range(depth - 1):
        # E[relu(u)^2] = q / 2, and the cross moment is (q / 2) * J_1(c) / pi.
        qab = sw2 * 0.5 * q * _arccos1(qab / q) + sb2
        q = sw2 * 0.5 * q + sb2
        qs.append(q)
        cs.append(qab / q)
    return np.array(qs), np.array(cs)


def _within(mean: np.ndarray, se: np.ndarray, ref: np.ndarray) -> np.ndarray:
    assert np.all(se > 0)
    return np.abs(mean - ref) <= Z * se


# --- the inputs ---------------------------------------------------------------------------
@pytest.mark.known_answer
@pytest.mark.parametrize("c0", [-1.0, -0.3, 0.0, 0.6, 1.0])
def test_pairs_have_the_second_moment_and_correlation_exactly(c0: float) -> None:
    gen = np.random.default_rng(0)
    x = gen.standard_normal((10, 7))
    pair_inputs(x, c0, 2.5)
    a, b = x[:5], x[5:]
    assert np.allclose((a * a).mean(axis=1), 2.5, rtol=1e-13)
    assert np.allclose((b * b).mean(axis=1), 2.5, rtol=1e-13)
    assert np.allclose((a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1)), c0, atol=1e-13)


@pytest.mark.known_answer
def test_identical_and_opposite_inputs() -> None:
    # c0 = 1: the two inputs are the same vector, so every layer sees two copies of one row.
    r = xp.simulate("tanh", depth=5, width=64, init="xavier_normal", bias_std=0.3, batch=8, repeats=2, seed=1, c0=1.0)
    assert r.per_repeat_correlation is not None
    assert np.allclose(r.per_repeat_correlation, 1.0, atol=1e-6)
    # c0 = -1 through ReLU: the dense output has c = -1, and relu(h), relu(-h) have disjoint supports,
    # so the activations' correlation is 0 exactly.
    net = xp.Network(xp.Input(64), xp.Dense(64), xp.Act("relu"))
    s = xp.simulate(net, batch=8, repeats=2, seed=1, c0=-1.0)
    assert s.per_repeat_correlation is not None
    assert np.allclose(s.per_repeat_correlation[:, 0], -1.0, atol=1e-6)
    assert np.all(s.per_repeat_correlation[:, 1] == 0.0)


# --- the MLP against closed forms ---------------------------------------------------------
@pytest.mark.statistical
@pytest.mark.parametrize(
    ("init", "bias_std", "c0", "depth"),
    [("he_normal", 0.0, 0.2, 8), ("he_normal", 0.3, -0.4, 8), ("xavier_normal", 0.5, 0.5, 20)],
)
def test_relu_mlp_follows_the_arc_cosine_map(init: str, bias_std: float, c0: float, depth: int) -> None:
    # He init is ReLU's critical point (see the module docstring for the depth); Xavier with a bias
    # is in the ordered phase (q* = sb2 / (1 - 1/2), c* = 1 approached with slope < 1).
    n, R = 512, 32
    r = xp.simulate("relu", depth=depth, width=n, init=init, bias_std=bias_std, batch=16, repeats=R, seed=4, c0=c0)
    assert r.correlation is not None and r.correlation_se is not None
    sw2 = 2.0 if init == "he_normal" else 2.0 * n / (n + n)
    q, c = _relu_mlp(depth, sw2, bias_std**2, 1.0, c0)
    assert np.allclose(r.mean["pre_sq"], q, rtol=0.1)
    ok = _within(r.correlation, r.correlation_se, c)
    assert ok.all(), (np.flatnonzero(~ok), r.correlation, c)
    # The same check catches the map indexed one layer late (c^l taken as c^{l-1}).
    late = np.concatenate([[c0], c[:-1]])
    assert not _within(r.correlation, r.correlation_se, late).all()


@pytest.mark.statistical
def test_linear_mlp_follows_the_bilinear_map() -> None:
    # Linear layers: q^{l+1} = sw2 q^l + sb2 and q_ab^{l+1} = sw2 q_ab^l + sb2, so c^l -> 1 from c0.
    n, depth, R, sb, c0 = 512, 20, 32, 0.4, -0.5
    r = xp.simulate(
        "linear", depth=depth, width=n, init="lecun_normal", bias_std=sb, batch=16, repeats=R, seed=2, c0=c0
    )
    assert r.correlation is not None and r.correlation_se is not None
    q, qab = 1.0 + sb**2, c0 + sb**2
    c = []
    for _ in range(depth):
        c.append(qab / q)
        q, qab = q + sb**2, qab + sb**2
    ok = _within(r.correlation, r.correlation_se, np.array(c))
    assert ok.all(), (np.flatnonzero(~ok), r.correlation, c)
    # Leaving the bias out of the cross term (q_ab^l = c0 q^0 for every l) is caught.
    wrong = np.array([c0 / (1.0 + (l + 1) * sb**2) for l in range(depth)])
    assert not _within(r.correlation, r.correlation_se, wrong).any()


# --- networks -----------------------------------------------------------------------------
@pytest.mark.statistical
def test_network_entries_follow_the_arc_cosine_map() -> None:
    # Dense -> ReLU -> Dense -> ... : the Dense outputs carry the pre-activation map, the ReLU
    # outputs the activation correlation J_1(c) / pi; a residual ReLU block adds alpha^2 times
    # the branch's cross moment to the stream's: q_ab' = beta^2 q_ab + alpha^2 sw2 q J_1(c) / (2 pi).
    n, R, c0, alpha = 512, 32, 0.1, 0.5
    layers: list = [xp.Dense(n)]
    for _ in range(4):
        layers += [xp.Act("relu"), xp.Dense(n)]
    layers.append(xp.Residual([xp.Act("relu"), xp.Dense(n)], alpha=alpha, repeat=6))
    net = xp.Network(xp.Input(n), *layers)
    r = xp.simulate(net, batch=16, repeats=R, seed=8, c0=c0)
    assert r.correlation is not None and r.correlation_se is not None
    ref, c, q = [c0], c0, 2.0  # the first Dense: c^1 = c0, q^1 = 2 (He init)
    for _ in range(4):
        ref += [_arccos1(c)]
        c = _arccos1(c)
        ref += [c]
    for _ in range(6):
        qab = q * c + alpha**2 * q * _arccos1(c)
        q = q * (1.0 + alpha**2)
        c = qab / q
        ref.append(c)
    ok = _within(r.correlation, r.correlation_se, np.array(ref))
    assert ok.all(), [(net.labels[k], r.correlation[k], ref[k]) for k in np.flatnonzero(~ok)]


@pytest.mark.statistical
def test_circular_conv_has_the_dense_map() -> None:
    # Same-position covariances are all a circular conv mixes, and the inputs' are q0 c0 at every
    # position, so a conv stack follows the dense map position by position.
    c0, R = 0.3, 32
    net = xp.Network(
        xp.Input((64, 6, 6)), xp.Conv(64, 3), xp.Act("relu"), xp.Conv(64, 3), xp.Act("relu"), xp.Conv(64, 3)
    )
    r = xp.simulate(net, batch=8, repeats=R, seed=5, c0=c0)
    assert r.correlation is not None and r.correlation_se is not None
    ref = [c0, _arccos1(c0), _arccos1(c0), _arccos1(_arccos1(c0)), _arccos1(_arccos1(c0))]
    ok = _within(r.correlation, r.correlation_se, np.array(ref))
    assert ok.all(), (r.correlation, ref)


# --- results and refusals -----------------------------------------------------------------
@pytest.mark.known_answer
def test_to_dict_carries_the_correlation() -> None:
    r = xp.simulate("relu", depth=3, width=32, batch=8, repeats=2, seed=0, c0=0.5)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["c0"] == 0.5
    assert np.allclose(d["correlation"]["mean"], r.correlation)
    assert np.allclose(d["correlation"]["se"], r.correlation_se)
    assert np.array(d["correlation"]["per_repeat"]).shape == (2, 3)
    plain = xp.simulate("relu", depth=3, width=32, batch=8, repeats=2, seed=0)
    assert plain.correlation is None and plain.correlation_se is None and plain.to_dict()["correlation"] is None
    net = xp.Network(xp.Input(32), xp.Dense(32), xp.Act("tanh"))
    s = xp.simulate(net, batch=8, repeats=1, seed=0, c0=-0.2)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["c0"] == -0.2 and d["correlation"]["se"] is None and len(d["correlation"]["mean"]) == 2
    assert xp.simulate(net, batch=8, repeats=1, seed=0).to_dict()["correlation"] is None


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("c0", "exc", "match"),
    [
        (1.5, ValueError, r"c0 must be a finite real number in \[-1, 1\], got 1.5"),
        (-1.01, ValueError, r"c0 must be .*>= -1.0, got -1.01"),
        (math.nan, ValueError, "c0 must be"),
        (math.inf, ValueError, "c0 must be"),
        ("0.5", TypeError, "c0 must be"),
        (True, TypeError, "c0 must be"),
    ],
)
def test_bad_c0_is_refused(c0: object, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        xp.simulate("relu", depth=2, width=8, batch=4, repeats=1, c0=c0)  # type: ignore[arg-type]
    with pytest.raises(exc, match=match):
        xp.simulate(xp.Network(xp.Input(8), xp.Dense(8)), batch=4, repeats=1, c0=c0)  # type: ignore[arg-type]


@pytest.mark.refusal
def test_inputs_that_cannot_be_paired_are_refused() -> None:
    with pytest.raises(ValueError, match=r"batch must be even when c0 is given .* got batch=5"):
        xp.simulate("relu", depth=2, width=8, batch=5, repeats=1, c0=0.5)
    with pytest.raises(ValueError, match=r"batch must be even when c0 is given .* got batch=1"):
        xp.simulate(xp.Network(xp.Input(8), xp.Dense(8)), batch=1, repeats=1, c0=0.5)
    with pytest.raises(ValueError, match="c0 must be -1 or 1 for inputs of one entry per example"):
        xp.simulate("relu", widths=[1, 8, 8], batch=4, repeats=1, c0=0.5)
    with pytest.raises(ValueError, match="c0 must be -1 or 1 for inputs of one entry per example"):
        xp.simulate(xp.Network(xp.Input(1), xp.Dense(8)), batch=4, repeats=1, c0=0.0)
    # one entry per example pairs at c0 = +-1
    r = xp.simulate("linear", widths=[1, 8], init="lecun_normal", batch=4, repeats=1, c0=-1.0)
    assert r.per_repeat_correlation is not None and np.allclose(r.per_repeat_correlation, -1.0)


# --- tanh and erf against the library's theory, both phases, 50 layers -------------------------
# (activation, sigma_w^2, sigma_b^2): two ordered cells (c* = 1, xi_c = 15.8 and 8.0) and two
# chaotic ones (c* = 0.17 and 0.19).  The input second moment is q*, so q stays at its fixed point
# and c^l follows the map at fixed q; c0 = 0.9 starts 1 - c in the map's linear regime near 1.
PHASE_CELLS = [("tanh", 1.5, 0.05), ("erf", 1.2, 0.1), ("tanh", 4.0, 0.05), ("erf", 3.0, 0.05)]
C0, DEPTH, WIDTH, REPEATS = 0.9, 50, 256, 32


@functools.cache
def _phase_run(act: str, sw2: float, sb2: float) -> tuple[xp.SimulationResult, xp.Prediction]:
    kw = {
        "depth": DEPTH,
        "width": WIDTH,
        "init": "lecun_normal",
        "gain": math.sqrt(sw2),
        "bias_std": math.sqrt(sb2),
        "input_second_moment": xp.depth_scales(act, sw2, sb2).q_star,
    }
    sim = xp.simulate(act, batch=16, repeats=REPEATS, seed=3, c0=C0, dtype=np.float64, **kw)  # type: ignore[arg-type]
    return sim, xp.predict(act, c0=C0, **kw)  # type: ignore[arg-type]


@pytest.mark.statistical
@pytest.mark.slow
@pytest.mark.parametrize("cell", PHASE_CELLS, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_correlation_follows_the_theory_over_50_layers(cell: tuple[str, float, float]) -> None:
    # 4 se per layer, 50 layers, t_31: the union bound of the module docstring gives < 50 * 3.6e-4 = 1.8%.
    sim, th = _phase_run(*cell)
    assert sim.correlation is not None and sim.correlation_se is not None and th.correlation is not None
    ds = xp.depth_scales(*cell)
    assert ds.phase == ("ordered" if cell[1] < 2.0 else "chaotic")
    ok = _within(sim.correlation, sim.correlation_se, th.correlation)
    assert ok.all(), [
        (l + 1, sim.correlation[l], th.correlation[l], sim.correlation_se[l]) for l in np.flatnonzero(~ok)
    ]
    # Where it ends: the ordered cells near c* = 1, the chaotic ones at their c* < 1.
    assert abs(float(th.correlation[-1]) - ds.c_star) < (0.05 if ds.phase == "ordered" else 0.01)


def _fit_xi(sim: xp.SimulationResult, c_star: float) -> tuple[float, int]:
    r"""-1 / slope of the weighted least-squares line through ln(c* - c^l) against l.

    The layers used are those where ``c* - c^l`` stands above 4 se (resolved); each gets weight
    ``1 / var(ln(c* - c^l)) = ((c* - c^l) / se_l)^2`` (delta method).
    """
    assert sim.correlation is not None and sim.correlation_se is not None
    gap, se = c_star - sim.correlation, sim.correlation_se
    keep = gap > Z * se
    l = np.arange(1, len(gap) + 1)[keep]
    y, w = np.log(gap[keep]), (gap[keep] / se[keep]) ** 2
    lm, ym = np.average(l, weights=w), np.average(y, weights=w)
    slope = float(np.sum(w * (l - lm) * (y - ym)) / np.sum(w * (l - lm) ** 2))
    return -1.0 / slope, int(keep.sum())


@pytest.mark.statistical
@pytest.mark.slow
@pytest.mark.parametrize("cell", PHASE_CELLS[:2], ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_the_decay_of_one_minus_c_gives_xi_c(cell: tuple[str, float, float]) -> None:
    r"""In the ordered phase ``1 - c^{l+1} = chi_c (1 - c^l) (1 + O(1 - c^l))``, so ``ln(1 - c^l)`` falls
    with slope ``ln chi_c = -1 / xi_c``.  Started at ``1 - c0 = 0.1``, the second-order term moves the
    local slope by a few per cent at the first layers only (the theory's own curve, fitted the same
    way, is checked below to be within 3% of xi_c).  The acceptance asks 10%.  A depth scale read off
    the wrong map, the length map's xi_q (1.7 and 2.6 here), is outside it.
    """
    sim, th = _phase_run(*cell)
    ds = xp.depth_scales(*cell)
    assert ds.phase == "ordered" and ds.xi_c <= 20.0
    xi, used = _fit_xi(sim, 1.0)
    assert used >= 20, used
    assert abs(xi / ds.xi_c - 1.0) <= 0.10, (xi, ds.xi_c)
    assert abs(ds.xi_q / xi - 1.0) > 0.10, (xi, ds.xi_q)
    # The theory's curve through the same fit (se of 1 everywhere weights by the gap^2 alone).
    assert th.correlation is not None
    gap = 1.0 - th.correlation
    l = np.arange(1, DEPTH + 1)
    slope = np.polyfit(l, np.log(gap), 1, w=gap)[0]
    assert abs(-1.0 / slope / ds.xi_c - 1.0) <= 0.03, (-1.0 / slope, ds.xi_c)
