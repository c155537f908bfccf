"""``xinit_bench/propagation/montecarlo.py``: the Monte Carlo against the mean-field theory.

Tolerance derivation (used by every comparison below).  The statistic is the
per-layer geometric log-ratio rho_l = log(q^_l / q^_{l-1}) of one repeat
(q^ pooled over batch and units), the least noisy statistic because the
common fluctuations of neighbouring layers cancel in it.  Given layer l-1,
q^_l is a quadratic form in i.i.d. weights, so (Gaussian weights; negative
excess kurtosis of uniform weights only lowers it) its relative variance is
at most 2/n, and the activation stage adds at most kappa/n with kappa =
E[phi^4]/E[phi^2]^2 - 1 (5 for ReLU, 2 for linear); the delta method gives
Var[rho_l] <= v = (sqrt(2/n) + sqrt(kappa/n))^2 and a bias |E rho_l - rho*_l|
<= v/2 from the log.  The repeats are independent, so rho_l averaged over R
repeats has sd <= sqrt(v/R), and with z = 5 the chance that any of L layers
exceeds z sd is below L * 6e-7.  The seeds are fixed, so the outcome is
deterministic; a factor-2 error in a variance moves rho_l by log 2 = 0.69,
far outside the tolerance, so the tests can fail.

The thread-count invariance of the Monte Carlo is in ``tests/contract/test_threads.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hostile import Call
from hypothesis import given
from hypothesis import strategies as st
from refusals import refused
from strategies import budget, mostly, net_ints, real_param

from xinit_bench import propagation as prop
from xinit_bench.propagation import (
    critical_gain,
    estimate_memory,
    expected_phi_squared,
    gaussian_expectation,
    get_activation,
    predict,
    simulate,
)

Z = 5.0


def _log_ratios(x: np.ndarray) -> np.ndarray:
    return np.diff(np.log(x), axis=-1)


def _check(
    act: str,
    init: str,
    n: int,
    depth: int,
    kappa: float,
    R: int = 4,
    B: int = 64,
    seed: int = 11,
    gain: float | None = None,
) -> None:
    sim = simulate(act, depth=depth, width=n, init=init, gain=gain, batch=B, repeats=R, seed=seed)
    th = predict(act, depth=depth, width=n, init=init, gain=gain)
    v = (math.sqrt(2.0 / n) + math.sqrt(kappa / n)) ** 2
    tol = Z * math.sqrt(v / R) + v / 2
    for stat in ("pre_sq", "grad_act_sq"):
        rho = _log_ratios(sim.per_repeat[stat]).mean(axis=0)
        rho_th = _log_ratios(getattr(th, stat))
        assert np.all(np.abs(rho - rho_th) <= tol), (stat, np.max(np.abs(rho - rho_th)), tol)
    # Layer 1 against theory directly: only the input and W^1 are random there.
    assert abs(math.log(sim.mean["pre_sq"][0] / th.pre_sq[0])) <= Z * math.sqrt(v / R) + v / 2


@pytest.mark.statistical
def test_linear_xavier_keeps_q() -> None:
    _check("linear", "xavier_uniform", 256, 20, kappa=2.0)


@pytest.mark.statistical
def test_relu_he_keeps_q_and_xavier_halves() -> None:
    _check("relu", "he_normal", 256, 20, kappa=5.0)
    _check("relu", "xavier_normal", 256, 20, kappa=5.0)


@pytest.mark.statistical
@pytest.mark.slow
@pytest.mark.parametrize("gain", [1.0, 5.0 / 3.0])
def test_tanh_depth50_follows_theory(gain: float) -> None:
    # Same tolerance as above per layer (kappa <= 2 for tanh: |tanh x| <= |x|
    # only flattens the tails), plus the O(l/n) finite-width bias of the
    # trajectory: each layer's Jensen bias is at most v/2 relative, and the
    # tanh length map contracts (slope < 1), so the accumulated bias after l
    # layers is at most l v / 2; we test the trajectory q^_l / q_l against
    # z sd_l + l v / 2 with sd_l from the repeats.
    n, depth, R = 512, 50, 4
    sim = simulate("tanh", depth=depth, width=n, init="xavier_normal", gain=gain, batch=128, repeats=R, seed=5)
    th = predict("tanh", depth=depth, width=n, init="xavier_normal", gain=gain)
    v = (math.sqrt(2.0 / n) + math.sqrt(2.0 / n)) ** 2
    d = np.log(sim.per_repeat["pre_sq"] / th.pre_sq)
    sd = d.std(axis=0, ddof=1).mean() / math.sqrt(R)
    bias = np.arange(1, depth + 1) * v / 2
    assert np.all(np.abs(d.mean(axis=0)) <= Z * sd + bias)


@pytest.mark.invariance
def test_reproducible_same_seed() -> None:
    a = simulate("tanh", depth=3, width=32, batch=16, repeats=2, seed=7)
    b = simulate("tanh", depth=3, width=32, batch=16, repeats=2, seed=7)
    for k in a.per_repeat:
        assert np.array_equal(a.per_repeat[k], b.per_repeat[k])


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"activation": "swish", "depth": 2, "width": 4}, ValueError, "activation must be one of"),
        ({"activation": "relu", "depth": 0, "width": 4}, ValueError, "depth must be an int >= 1, got 0"),
        ({"activation": "relu", "depth": 2, "width": 0}, ValueError, "width must be an int >= 1, got 0"),
        ({"activation": "relu", "depth": 2, "width": 4, "bias_std": -1.0}, ValueError, "bias_std"),
        ({"activation": "relu", "depth": 2, "width": 4, "widths": [4, 4]}, ValueError, "not both"),
        ({"activation": "relu", "depth": 2, "width": 4, "batch": 0}, ValueError, "batch must be an int >= 1, got 0"),
        (
            {"activation": "relu", "depth": 2, "width": 4, "dtype": np.int32},
            ValueError,
            "dtype must be one of float32, float64",
        ),
        ({"activation": "relu", "depth": 2, "width": 4, "seed": "x"}, TypeError, "seed must be an int >= 0, got 'x'"),
    ],
)
def test_simulate_rejects_bad_input(kwargs: dict, exc: type, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(exc, match=match):
        simulate(**kwargs)


@pytest.mark.refusal
def test_refuses_batch_that_does_not_fit() -> None:
    need = estimate_memory((1024,) * 51, 10**6)
    with pytest.raises(ValueError, match=r"needs an estimated .* GiB .*batch=1000000"):
        simulate("relu", depth=50, width=1024, batch=10**6, max_memory=2**30)
    assert need > 2**30


# --- the forward-criterion gain at depth 50: tanh holds q, gelu and silu cannot -------------
def _kappa(act: str, q: float) -> float:
    # Relative variance of phi(h)^2 for h ~ N(0, q): E[phi^4] / E[phi^2]^2 - 1.
    a = get_activation(act)
    m2 = gaussian_expectation(lambda x: a.phi(x) ** 2, q, a.kinks)
    return gaussian_expectation(lambda x: a.phi(x) ** 4, q, a.kinks) / m2**2 - 1.0


@pytest.mark.statistical
@pytest.mark.slow
@pytest.mark.parametrize("act", ["tanh", "gelu", "silu"])
def test_forward_gain_depth50(act: str) -> None:
    r"""What the forward-criterion gain really does to q^l over 50 layers of 512 units.

    The gain g solves g^2 F(1) = 1, F(q) = E[phi(sqrt(q) z)^2], so q* = 1 is a
    fixed point of the length map q -> g^2 F(q).  The input has second moment
    1/g^2, so that q^1 = 1 as well (layer 1 sees the raw input, not phi of it).

    1. One step at a time, every activation follows the map.  Per repeat,
       r_l = log q^_l - log(g^2 F(q^_{l-1})).  Given layer l-1, E[q^_l] =
       g^2 mean(a_{l-1}^2) exactly (fresh weights), so r_l is the relative
       noise of the weight stage (variance <= 2/n) plus that of the activation
       stage (<= kappa/n, kappa = E[phi^4]/E[phi^2]^2 - 1, taken at its largest
       over the measured q's): Var[r_l] <= v = (sqrt(2/n) + sqrt(kappa/n))^2,
       |E r_l| <= v/2 (log), as in the module docstring.  These bounds hold even
       when the examples of a batch are fully correlated (a non-zero-mean
       activation makes them so: then the batch does not average the noise
       and only the n units do).  Given the past the r_l are uncorrelated, so
       the mean over R repeats has sd <= sqrt(v/R) and the mean over all L-1
       layers and R repeats sd <= sqrt(v/((L-1)R)); both are tested at z = 5.
    2. Whether q stays near q* depends on the slope s = g^2 F'(1) of the map.
       Linearised, d_l = log q^_l obeys d_l = s d_{l-1} + r_l.
       * tanh: s = 0.461 < 1 (stable).  The stationary sd of d_l is at most
         sqrt(v/(1-s^2)), its bias at most (v/2)/(1-s); averaged over R
         repeats, |mean d_l| <= z sqrt(v/((1-s^2) R)) + (v/2)/(1-s) = 0.29 at
         every layer (kappa = 0.64, v = 0.0096): q holds within a factor 1.33
         (measured: within 1.8%).
       * gelu, silu: s = 1.144 and 1.173 > 1, so q* = 1 is unstable: the noise
         r_l (sd ~ 0.09 per layer) is amplified by s each layer and q leaves any
         band.  Mean-field theory itself says so: started at q^1 = 1.01 instead
         of 1, it predicts q^50 = 15 (gelu) and 971 (silu); at 0.99, 5e-4 and 1e-3.
         No gain fixes this: for gelu and silu F(q)/q increases with q,
         so at any bias-free fixed point s = F'(q*) q*/F(q*) > 1
         (tests/propagation/test_critical.py::test_forward_fixed_point_stability).
         Measured at layer 50 (seed 5): q = 36..350 for gelu, 4e4..3e5 for
         silu; far from 1, q^l grows by g^2/2 per layer (1.18, 1.41), the
         ReLU-like asymptote of g^2 F(q)/q.  The test asserts q leaves the
         tanh band in every repeat, and the one-step agreement of point 1.
    """
    n, depth, R, Z = 512, 50, 4, 5.0
    cg = critical_gain(act, "forward")
    g = cg.gain
    sim = simulate(
        act,
        depth=depth,
        width=n,
        init="lecun_normal",
        gain=g,
        batch=64,
        repeats=R,
        seed=5,
        input_second_moment=1.0 / g**2,
    )
    q = sim.per_repeat["pre_sq"]
    kappa = max(_kappa(act, float(x)) for x in np.unique(np.round(q[:, :-1], 3)))
    v = (math.sqrt(2.0 / n) + math.sqrt(kappa / n)) ** 2
    mapped = np.vectorize(lambda x: g * g * expected_phi_squared(act, float(x)))(q[:, :-1])
    r = np.log(q[:, 1:] / mapped)
    assert np.all(np.abs(r.mean(axis=0)) <= Z * math.sqrt(v / R) + v / 2), np.abs(r.mean(axis=0)).max()
    assert abs(r.mean()) <= Z * math.sqrt(v / r.size) + v / 2, r.mean()

    s = cg.length_slope
    tanh_band = Z * math.sqrt(v / ((1.0 - 0.461**2) * R)) + (v / 2) / (1.0 - 0.461)
    d = np.log(q)
    if act == "tanh":
        assert s < 1.0
        band = Z * math.sqrt(v / ((1.0 - s * s) * R)) + (v / 2) / (1.0 - s)
        assert np.all(np.abs(d.mean(axis=0)) <= band), (np.abs(d.mean(axis=0)).max(), band)
    else:
        assert s > 1.1
        assert np.all(np.abs(d[:, -1]) > tanh_band), q[:, -1]


# --- refusals before anything is allocated ----------------------------------------------------------
@pytest.mark.refusal
def test_simulate_huge_gain_names_gain_before_allocating(monkeypatch) -> None:
    from xinit_bench.propagation import engine

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine allocated its buffers before the gain was refused")

    monkeypatch.setattr("xinit_bench.propagation.montecarlo.Engine", no_engine)
    assert engine.Engine is not no_engine
    for gain in (1e200, 1e30):
        with pytest.raises(ValueError, match=r"^gain\b"):
            prop.simulate("relu", depth=2, width=4, batch=2, repeats=1, gain=gain)


@pytest.mark.refusal
def test_simulate_max_memory_str_names_it() -> None:
    refused(TypeError, "max_memory", prop.simulate, "relu", depth=1, width=4, batch=2, repeats=1, max_memory="x")


@pytest.mark.refusal
def test_estimate_memory_counts_the_results_of_every_repeat() -> None:
    one = prop.estimate_memory((4, 4, 4), 2)
    assert prop.estimate_memory((4, 4, 4), 2, repeats=10**12) - one >= 2 * (10**12 - 1) * 6 * 2 * 8
    with pytest.raises(ValueError, match="repeats=1000000000000"):
        prop.simulate("relu", depth=2, width=4, batch=2, repeats=10**12)


# --- hostile input ----------------------------------------------------------------------------------
@pytest.mark.property
@budget("simulate")
@given(
    activation=mostly(st.sampled_from(["relu", "tanh", "gelu"]), st.just("nope")),
    depth=net_ints,
    width=net_ints,
    gain=st.one_of(st.none(), real_param(st.floats(0.1, 3))),
    bias_std=st.one_of(st.just(0.0), real_param(st.floats(0, 1))),
    batch=net_ints,
    repeats=net_ints,
    dtype=mostly(st.sampled_from(["float32", "float64"]), st.just("int8")),
    max_memory=mostly(st.none(), st.sampled_from([0, "x", -1, 10**9])),
)
def test_simulate(
    activation: Any,
    depth: Any,
    width: Any,
    gain: Any,
    bias_std: Any,
    batch: Any,
    repeats: Any,
    dtype: Any,
    max_memory: Any,
) -> None:
    names = (
        "activation",
        "depth",
        "width",
        "gain",
        "bias_std",
        "batch",
        "repeats",
        "dtype",
        "max_memory",
        "input_second_moment",
        "batch, widths and repeats",
    )
    r = Call(None, None).run(
        prop.simulate,
        activation,
        depth=depth,
        width=width,
        gain=gain,
        bias_std=bias_std,
        batch=batch,
        repeats=repeats,
        dtype=dtype,
        max_memory=max_memory,
        names=names,
    )
    if r is not None:
        assert r.per_repeat["pre_sq"].shape == (int(repeats), int(depth))
        for v in r.per_repeat.values():
            assert np.isfinite(v).all()
