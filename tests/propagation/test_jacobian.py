r"""The input-output Jacobian's spectrum: forward mode, Hutchinson moments, and the free-probability prediction.

Tolerance of the moment tests, fixed before the runs.  Each of the ``R = 32``
networks gives its eigenvalues' variance over its own squared mean,
``v_r``; the test compares their mean with the prediction
``v = sum(mu_2/mu_1^2 - 1 + s)``.  Two terms:

* sampling: ``4 SE``, ``SE = std(v_r)/sqrt(R)`` (the ``v_r`` are independent
  networks; 4 standard errors leave a two-sided chance of about 6e-5 per
  case for a normal mean);
* finite width: the prediction is the ``n -> inf`` limit.  Its first
  correction is ``O(L/n)`` relative.  For a linear Gaussian network the exact
  recursion over layers (Wick's theorem on ``W M W^T``, ``W`` i.i.d.
  ``N(0, 1/n)``) is ``E[tau_2'] = tau_1^2 + (1 + 1/n) tau_2`` with
  ``tau_k = tr((JJ^T)^k)/n``, so ``E[tau_2] - 1 = L + L(L+1)/(2n) + O(L^3/n^2)``:
  ``(L+1)/(2n)`` relative; with activations independent of the weights the
  per-layer term becomes ``(2 mu_2/mu_1^2 - 1) tau_2/n``, 1.5 ``L/n`` for ReLU.
  Normalising by each network's own mean subtracts a term of the same order
  (its fluctuation is correlated with ``tau_2``).  So the allowance is
  ``L/n`` relative, 12.5% at ``L = 32, n = 256`` and 3.1% at ``L = 8``.

Checked against measurements (seed 1, ``R = 32``, the cases below plus tanh at
``q* = 1/2``): at ``n = 256`` the deviation from the prediction is at most
``0.83 L/n`` relative at ``L = 8`` (hard-tanh Gaussian, +2.6%, 2.7 SE) and
``0.24 L/n`` at ``L = 32`` (tanh orthogonal, +3.1%); at ``n = 128`` at most
``0.71 L/n`` (ReLU orthogonal, ``L = 8``, +4.4%) and ``0.49 L/n`` (ReLU
Gaussian, ``L = 32``, -12%), so the deviation is a finite-width effect that
halves with ``n``.  At ``n = 256, L = 32`` the orthogonal hard-tanh and tanh
cases sit 3.3 SE above the prediction: the sampling term alone would not
cover them; the finite-width term does, with the largest deviation at 37% of
the whole tolerance.

The wrong theory (``s = 1`` for orthogonal weights, i.e. ``L`` more) must
fall outside the same tolerance.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from xinit_bench import propagation as xp
from xinit_bench.propagation.correlation import fixed_point_q
from xinit_bench.propagation.jacobian import _Tangents, estimate_jacobian_memory, jacobian_spectrum
from xinit_bench.propagation.jactheory import critical_point, fuss_catalan_density, jacobian_theory

WIDTH, REPEATS = 256, 32
HARD_TANH_Q = 0.5


def _mlp(act: str, weights: str, n: int, L: int, q_star: float = HARD_TANH_Q) -> xp.Network:
    if act == "linear":
        sw2, sb2 = 1.0, 0.0
    elif act == "relu":
        sw2, sb2 = 2.0, 0.0
    else:
        sw2, sb2 = critical_point(act, q_star)
    init = "orthogonal" if weights == "orthogonal" else "lecun_normal"
    layers: list[object] = []
    for _ in range(L):
        layers.append(xp.Dense(n, init=init, gain=math.sqrt(sw2), bias_std=math.sqrt(sb2)))
        if act != "linear":
            layers.append(xp.Act(act))
    return xp.Network(xp.Input(n), *layers)


def _tolerance(theory: float, se: float, L: int, n: int) -> float:
    return 4.0 * se + (L / n) * theory


CASES = [
    ("linear", "gaussian"),
    ("relu", "gaussian"),
    ("relu", "orthogonal"),
    ("hard_tanh", "gaussian"),
    ("hard_tanh", "orthogonal"),
]


# --- forward mode against finite differences ------------------------------------------------
def _forward(net: xp.Network, x: np.ndarray, seed: int) -> np.ndarray:
    eng = _Tangents(seed, 0, np.float64, lambda: None)
    y, _ = eng.run(net.nodes, x.reshape(1, *net.input_shape), np.zeros((1, *net.input_shape)))
    return np.asarray(y).ravel()


NETS = {
    "dense tanh with bias": xp.Network(
        xp.Input(6), xp.Dense(5, init="lecun_normal", bias_std=0.3), xp.Act("tanh"), xp.Dense(7, init="orthogonal")
    ),
    "conv 2-d, gelu, dense head": xp.Network(
        xp.Input((2, 3, 4)), xp.Conv(3, (3, 2), init="he_normal", bias_std=0.1), xp.Act("gelu"), xp.Dense(4)
    ),
    "delta-orthogonal conv 1-d": xp.Network(
        xp.Input((3, 5)), xp.Conv(3, 3, init="delta_orthogonal"), xp.Act("tanh"), xp.Conv(4, 3, init="xavier_uniform")
    ),
    "layernorm and residual": xp.Network(
        xp.Input(6),
        xp.Dense(6, init="standard"),
        xp.Residual([xp.Act("tanh"), xp.Dense(6), xp.LayerNorm(eps=1e-3)], alpha=0.7, beta=0.9, repeat=2),
        xp.LayerNorm(),
    ),
}


@pytest.mark.reference
@pytest.mark.parametrize("name", list(NETS))
def test_forward_mode_jacobian_equals_central_differences(name: str) -> None:
    # Central differences of the forward pass (same seed, so the same weights) at h = 1e-6 have error
    # O(h^2 |f'''|) + O(eps/h) ~ 1e-10 here: 1e-7 absolute leaves a wide margin and fails on any wrong rule.
    net = NETS[name]
    n_in = math.prod(net.input_shape)
    x = np.random.default_rng(3).standard_normal(n_in)
    eng = _Tangents(11, 0, np.float64, lambda: None)
    _y, V = eng.run(net.nodes, x.reshape(1, *net.input_shape), None)
    assert V is not None
    J = V.reshape(n_in, -1).T
    h = 1e-6
    fd = np.column_stack(
        [(_forward(net, x + h * e, 11) - _forward(net, x - h * e, 11)) / (2 * h) for e in np.eye(n_in)]
    )
    np.testing.assert_allclose(J, fd, atol=1e-7)


# --- Hutchinson against the exact moments ---------------------------------------------------
@pytest.mark.statistical
def test_hutchinson_moments_are_unbiased_against_the_svd() -> None:
    # Per network the error e_r = estimate - exact has mean 0 (both estimators are unbiased); over
    # 24 networks its mean must lie within 4 standard errors of 0, for both moments.
    net = xp.Network(
        xp.Input((4, 6, 6)),
        *[layer for _ in range(4) for layer in (xp.Conv(4, 3, init="lecun_normal"), xp.Act("tanh"))],
    )
    exact = jacobian_spectrum(net, repeats=24, method="svd", seed=4)
    est = jacobian_spectrum(net, repeats=24, method="hutchinson", probes=32, seed=4)
    assert est.method == "hutchinson" and est.singular_values is None
    for k in range(2):
        e = est.moments[:, k] - exact.moments[:, k]
        se = e.std(ddof=1) / math.sqrt(e.size)
        assert abs(e.mean()) < 4 * se, (k, e.mean(), se)
        assert se < 0.5 * exact.moments[:, k].mean()  # the estimate is informative, not just noisy


@pytest.mark.statistical
def test_hutchinson_is_the_default_for_conv_and_matches_delta_orthogonal_theory() -> None:
    c, L = 16, 6
    sw2, sb2 = critical_point("tanh", 0.05)
    layers = [
        layer
        for _ in range(L)
        for layer in (
            xp.Conv(c, 3, init="delta_orthogonal", gain=math.sqrt(sw2), bias_std=math.sqrt(sb2)),
            xp.Act("tanh"),
        )
    ]
    net = xp.Network(xp.Input((c, 8, 8)), *layers)
    r = jacobian_spectrum(net, repeats=8, probes=8, seed=2, input="fixed_point")
    assert r.method == "hutchinson" and r.theory is not None
    assert r.theory.mean == pytest.approx(1.0, rel=1e-9)
    # tr(JJ^T)/n: the Hutchinson mean's relative sd per network is about sqrt(2 v / (K n)), tiny here;
    # the network-to-network spread dominates. 4 SE of the measured means, plus L/c for finite width.
    m = r.mean
    assert abs(m.mean() - 1.0) < 4 * m.std(ddof=1) / math.sqrt(m.size) + L / c


# --- the free-probability moments ----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.statistical
@pytest.mark.parametrize("L", [8, 32])
@pytest.mark.parametrize(("act", "weights"), CASES)
def test_normalised_variance_matches_free_probability(act: str, weights: str, L: int) -> None:
    net = _mlp(act, weights, WIDTH, L)
    r = jacobian_spectrum(net, repeats=REPEATS, seed=1, input=None if act in ("linear", "relu") else "fixed_point")
    th = r.theory
    assert th is not None
    assert th.mean == pytest.approx(1.0, rel=1e-9)  # criticality: m_1 = prod chi_1 = 1
    s = 1.0 if weights == "gaussian" else 0.0
    if act == "hard_tanh":
        p = math.erf(1.0 / math.sqrt(2.0 * HARD_TANH_Q))  # fraction of units inside (-1, 1)
        expected = L / p if s else L * (1 - p) / p
    else:
        expected = {("linear", 1.0): L, ("relu", 1.0): 2 * L, ("relu", 0.0): L}[(act, s)]
    assert th.normalised_var == pytest.approx(expected, rel=1e-9)
    m, se = r.normalised_var_mean, r.normalised_var_se
    tol = _tolerance(expected, se, L, WIDTH)
    assert abs(m - expected) < tol, (m, expected, se, tol)
    if weights == "orthogonal":
        wrong = expected + L  # s = 1 for orthogonal weights
        assert abs(m - wrong) > _tolerance(wrong, se, L, WIDTH), (m, wrong)


@pytest.mark.known_answer
@pytest.mark.parametrize("L", [8, 32])
def test_orthogonal_linear_network_is_an_isometry_to_rounding(L: int) -> None:
    # Each orthogonal factor has |Q^T Q - I| <= c n eps (Householder QR, Higham 2002, Thm 19.4), each
    # product adds a relative n eps (Sec. 3.5), and the SVD its own backward error: the singular values
    # lie within 20 L n eps of 1 a priori (3.6e-11 at L = 32, n = 256).  The wrong theory s = 1 would
    # give a normalised variance of L.
    net = _mlp("linear", "orthogonal", WIDTH, L)
    r = jacobian_spectrum(net, repeats=4, seed=2)
    bound = 20 * L * WIDTH * np.finfo(np.float64).eps
    assert r.singular_values is not None
    assert np.max(np.abs(r.singular_values - 1.0)) < bound
    assert r.theory_normalised_var == 0.0 and r.theory is not None and r.theory.closed_form == "point_mass"
    assert np.max(r.normalised_var) < bound


@pytest.mark.known_answer
def test_fuss_catalan_density_has_the_fuss_catalan_moments() -> None:
    for s in (1, 2, 5, 16):
        x, rho = fuss_catalan_density(s, 200_000)
        top = (s + 1) ** (s + 1) / s**s
        assert x.max() <= top * (1 + 1e-9)
        # moments C((s+1)k, k)/(sk+1): 1, 1, s+1, (3s+2)(3s+1)/2 ... (trapezoid on the parametric curve)
        # In log x the integrand rho x^(k+1) is smooth and vanishes at both ends (rho ~ x^(-s/(s+1)) at 0).
        for k, want in ((0, 1.0), (1, 1.0), (2, s + 1.0), (3, math.comb(3 * (s + 1), 3) / (3 * s + 1))):
            got = float(np.trapezoid(rho * x ** (k + 1), np.log(x)))
            assert got == pytest.approx(want, rel=2e-3), (s, k, got)


@pytest.mark.statistical
def test_linear_gaussian_histogram_follows_fuss_catalan() -> None:
    # At L = 2, n = 256 the squared singular values of 16 networks (4096 values): the fraction below the
    # density's quartiles must be within 0.02 of 1/4, 1/2, 3/4.  The eigenvalues of one network are not
    # independent (they repel), which only reduces the spread below the binomial sd 0.007.
    r = jacobian_spectrum(_mlp("linear", "gaussian", WIDTH, 2), repeats=16, seed=8)
    dens = r.theory_density(200_000)
    assert dens is not None
    x, rho = dens
    f = rho * x  # the density in log x
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(np.log(x)))])
    lam = r.squared()
    for q in (0.25, 0.5, 0.75):
        assert float(np.mean(lam < np.interp(q, cdf, x))) == pytest.approx(q, abs=0.02)
    dens_h, edges = r.histogram(40)
    assert dens_h.shape == (40,) and edges.shape == (41,)
    assert float(np.sum(dens_h * np.diff(edges))) == pytest.approx(1.0)


@pytest.mark.known_answer
def test_critical_point_is_a_fixed_point_with_unit_chi1() -> None:
    for act in ("tanh", "hard_tanh", "erf"):
        sw2, sb2 = critical_point(act, 0.5)
        q = fixed_point_q(act, sw2, sb2, q0=0.5)
        assert q == pytest.approx(0.5, rel=1e-8)
        a = xp.get_activation(act)
        assert sw2 * xp.expected_dphi_squared(a, 0.5) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.known_answer
def test_theory_says_which_layers_it_does_not_cover() -> None:
    def reason(*layers: object) -> str | None:
        th, why = jacobian_theory(xp.Network(xp.Input(8), *layers))
        assert th is None
        return why

    assert "layer 2 (LayerNorm)" in str(reason(xp.Dense(8), xp.LayerNorm()))
    assert "layer 2 (Residual)" in str(reason(xp.Dense(8), xp.Residual([xp.Act("relu"), xp.Dense(8)])))
    assert "layer 1 (Dense): the prediction covers square layers" in str(reason(xp.Dense(4)))
    assert "layer 3 (Act)" in str(reason(xp.Dense(8), xp.Act("tanh"), xp.Act("tanh")))
    conv, why = jacobian_theory(xp.Network(xp.Input((4, 6)), xp.Conv(4, 3)))
    assert conv is None and "layer 1 (Conv)" in str(why) and "delta-orthogonal" in str(why)
    ok, why = jacobian_theory(xp.Network(xp.Input((4, 6)), xp.Conv(4, 3, init="delta_orthogonal")))
    assert ok is not None and why is None and ok.normalised_var == 0.0
    r = jacobian_spectrum(xp.Network(xp.Input(8), xp.Dense(8), xp.LayerNorm()), repeats=2)
    assert r.theory is None and r.theory_mean is None and "LayerNorm" in str(r.theory_reason)


@pytest.mark.invariance
def test_same_seed_same_bits_and_json() -> None:
    net = _mlp("relu", "gaussian", 32, 3)
    a = jacobian_spectrum(net, repeats=3, seed=5, dtype=np.float32)
    b = jacobian_spectrum(net, repeats=3, seed=5, dtype=np.float32)
    c = jacobian_spectrum(net, repeats=3, seed=6, dtype=np.float32)
    assert a.singular_values is not None and b.singular_values is not None and c.singular_values is not None
    assert a.dtype == "float32"
    np.testing.assert_array_equal(a.singular_values, b.singular_values)
    assert not np.array_equal(a.singular_values, c.singular_values)
    d = json.loads(json.dumps(a.to_dict()))
    assert d["theory"]["normalised_var"] == pytest.approx(6.0) and len(d["singular_values"]) == 3
    ticks: list[tuple[int, int]] = []
    jacobian_spectrum(net, repeats=2, progress=lambda done, total: ticks.append((done, total)))
    assert ticks[-1] == (12, 12)


@pytest.mark.known_answer
def test_given_input_and_fixed_point_input() -> None:
    net = _mlp("tanh", "gaussian", 16, 3, q_star=0.4)
    sw2, sb2 = critical_point("tanh", 0.4)
    r = jacobian_spectrum(net, repeats=2, input="fixed_point")
    assert r.input_second_moment == pytest.approx((0.4 - sb2) / sw2, rel=1e-8)
    x = np.full(16, 0.5)
    g = jacobian_spectrum(net, repeats=2, input=x)
    assert g.input_second_moment == 0.25
    both = jacobian_spectrum(net, repeats=2, input=np.stack([x, x]))
    assert both.singular_values is not None and g.singular_values is not None
    np.testing.assert_array_equal(both.singular_values, g.singular_values)


# --- bad input -----------------------------------------------------------------------------
@pytest.mark.refusal
def test_bad_arguments_are_refused_before_any_work() -> None:
    net = _mlp("relu", "gaussian", 8, 2)
    with pytest.raises(TypeError, match="net must be a Network"):
        jacobian_spectrum("relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="repeats"):
        jacobian_spectrum(net, repeats=0)
    with pytest.raises(TypeError, match="seed"):
        jacobian_spectrum(net, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dtype"):
        jacobian_spectrum(net, dtype=np.float16)
    with pytest.raises(ValueError, match="method must be one of 'auto', 'svd', 'hutchinson'"):
        jacobian_spectrum(net, method="qr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probes"):
        jacobian_spectrum(net, probes=1)
    with pytest.raises(ValueError, match=r"input must have the Input's shape \(8,\)"):
        jacobian_spectrum(net, input=np.ones(7))
    with pytest.raises(ValueError, match="input must be finite"):
        jacobian_spectrum(net, input=np.full(8, np.nan))
    with pytest.raises(ValueError, match="input must be one of 'fixed_point'"):
        jacobian_spectrum(net, input="zeros")
    with pytest.raises(TypeError, match="input must be None, 'fixed_point' or an array"):
        jacobian_spectrum(net, input=3.0)
    with pytest.raises(TypeError, match="progress"):
        jacobian_spectrum(net, progress=3)  # type: ignore[arg-type]


@pytest.mark.refusal
def test_fixed_point_input_of_a_network_without_one_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"input='fixed_point' needs a network with a fixed point: layer 2 \(LayerNorm\)"
    ):
        jacobian_spectrum(xp.Network(xp.Input(8), xp.Dense(8), xp.LayerNorm()), input="fixed_point")
    # tanh without bias at sigma_w = 1: the signal dies out, q* = 0
    with pytest.raises(ValueError, match="no finite, nonzero fixed point"):
        jacobian_spectrum(
            xp.Network(xp.Input(8), xp.Dense(8, init="lecun_normal"), xp.Act("tanh")), input="fixed_point"
        )


@pytest.mark.refusal
def test_a_jacobian_too_large_for_memory_is_refused_with_the_estimate() -> None:
    net = xp.Network(xp.Input((64, 32, 32)), xp.Conv(64, 3), xp.Act("tanh"))
    need = estimate_jacobian_memory(net, "svd", 16, np.float64, 1)
    assert need > 64 * 2**30  # J is 65536 x 65536
    with pytest.raises(ValueError, match=r"the Jacobian must fit in memory: method='svd' needs an estimated .* GiB"):
        jacobian_spectrum(net, method="svd", repeats=1)
    with pytest.raises(ValueError, match="Use fewer probes"):
        jacobian_spectrum(net, repeats=1, max_memory=2**20)


@pytest.mark.known_answer
def test_preset_figure_draws_deep_closed_forms(tmp_path: object) -> None:
    # At depth 64 the Fuss-Catalan density overflows to inf at its smallest x; the figure must skip
    # those points, and draw the orthogonal linear network's point mass as a line.
    pytest.importorskip("matplotlib")
    from pathlib import Path

    from xinit_bench.propagation.jacplot import write_jacobian_plot
    from xinit_bench.propagation.jacpresets import pennington2017

    result = pennington2017(width=8, depths=(2, 64), repeats=2)
    dens = result.runs["linear, gaussian"][64].theory_density()
    assert dens is not None and not np.all(np.isfinite(dens[1]))
    png = Path(str(tmp_path)) / "p.png"
    write_jacobian_plot(result, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
