"""The study's initialisations: step-0 weights are the NumPy samplers' bits, layer by layer and init by init."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xinit_bench as xb  # noqa: E402
from xinit_bench.propagation.critical import critical_gain  # noqa: E402
from xinit_bench.training.data import load_dataset  # noqa: E402
from xinit_bench.training.inits import TRAIN_INITS, GaussianInit, apply_init, critical_params  # noqa: E402
from xinit_bench.training.models import MLPSpec, build_model  # noqa: E402

DATA = load_dataset("teacher", n_train=16, n_test=8, dim=6, hidden=5, n_classes=3)
#: Two hidden layers of different widths, so every weight has its own shape (6 -> 12 -> 7 -> 3).
SPEC = MLPSpec((12, 7), "tanh")
SEED = 11


def numpy_twin(init: str, shape: tuple[int, int], g: xb.Generator, activation: str) -> np.ndarray:
    """The weight the NumPy API draws for ``init`` (the table of docs/training.md), written out independently."""
    fan_in = shape[1]
    if init == "glorot_uniform":
        return xb.glorot_uniform(shape, generator=g)
    if init == "zeros":
        return np.zeros(shape, np.float32)
    if init == "normal1":
        return xb.normal(shape, 0.0, 1.0, generator=g)
    if init == "normal_small":
        return xb.normal(shape, 0.0, 0.01, generator=g)
    if init == "he_normal":
        return xb.he_normal(shape, generator=g)
    if init == "he_uniform":
        return xb.he_uniform(shape, generator=g)
    if init == "lecun_normal":
        return xb.lecun_normal(shape, generator=g)
    if init == "orthogonal":
        return xb.orthogonal(shape, generator=g)
    if init == "standard":
        a = 1.0 / math.sqrt(fan_in)
        return xb.uniform(shape, -a, a, generator=g)
    assert init == "critical"
    edge = critical_gain(activation, "edge_of_chaos")
    return xb.normal(shape, 0.0, edge.gain / math.sqrt(fan_in), generator=g)


@pytest.mark.known_answer
@pytest.mark.parametrize("init", TRAIN_INITS)
def test_step_zero_weights_are_the_numpy_samplers_bits(init: str) -> None:
    model = build_model(SPEC, DATA)
    apply_init(model, init, SEED, activation=SPEC.activation)
    edge = critical_gain(SPEC.activation, "edge_of_chaos")
    for l, layer in enumerate(model.linears()):
        name = f"layers.{l}"
        w = layer.weight.detach().numpy()
        want = numpy_twin(init, tuple(w.shape), xb.key_for_name(SEED, f"{name}.weight"), SPEC.activation)
        assert w.dtype == want.dtype == np.float32
        assert w.tobytes() == want.tobytes(), (init, name)
        b = layer.bias.detach().numpy()
        if init == "critical":  # tanh's edge of chaos has sigma_b > 0
            assert edge.bias_std > 0
            want_b = xb.normal(b.shape, 0.0, edge.bias_std, generator=xb.key_for_name(SEED, f"{name}.bias"))
            assert b.tobytes() == want_b.tobytes()
        else:
            assert not b.any(), (init, name)


@pytest.mark.known_answer
def test_the_comparison_can_fail() -> None:
    # A wrong twin is told apart: the truncated He normal, another layer's key, another seed.
    model = build_model(SPEC, DATA)
    apply_init(model, "he_normal", SEED, activation="tanh")
    w = model.layers[0].weight.detach().numpy()
    g = xb.key_for_name
    assert w.tobytes() != xb.he_truncated_normal(w.shape, generator=g(SEED, "layers.0.weight")).tobytes()
    assert w.tobytes() != xb.he_normal(w.shape, generator=g(SEED, "layers.1.weight")).tobytes()
    assert w.tobytes() != xb.he_normal(w.shape, generator=g(SEED + 1, "layers.0.weight")).tobytes()


@pytest.mark.known_answer
def test_gaussian_init_draws_the_variances_given() -> None:
    model = build_model(SPEC, DATA)
    cell = GaussianInit(sigma_w2=2.5, sigma_b2=0.05)
    apply_init(model, cell, 4, activation="tanh")
    for l, layer in enumerate(model.linears()):
        w = layer.weight.detach().numpy()
        g = xb.key_for_name(4, f"layers.{l}.weight")
        assert w.tobytes() == xb.normal(w.shape, 0.0, math.sqrt(2.5 / w.shape[1]), generator=g).tobytes()
        want_b = xb.normal(layer.bias.shape, 0.0, math.sqrt(0.05), generator=xb.key_for_name(4, f"layers.{l}.bias"))
        assert layer.bias.detach().numpy().tobytes() == want_b.tobytes()
    assert cell.name == "gaussian(sigma_w2=2.5, sigma_b2=0.05)"


@pytest.mark.reference
def test_critical_params_against_gauss_hermite() -> None:
    # sigma_w^2 = 1 / E[phi'(z)^2] and sigma_b^2 = 1 - sigma_w^2 E[phi(z)^2] at q* = 1, the expectations by a
    # 200-node Gauss-Hermite rule (exact to ~1e-15 for these smooth integrands), independent of xinit_bench.gauss.
    x, wts = np.polynomial.hermite.hermgauss(200)
    z, wts = np.sqrt(2.0) * x, wts / np.sqrt(np.pi)
    sw, sb, how = critical_params("tanh")
    sw2 = 1.0 / np.sum(wts * (1 - np.tanh(z) ** 2) ** 2)
    assert how == "edge_of_chaos"
    assert sw**2 == pytest.approx(sw2, rel=1e-9)
    assert sb**2 == pytest.approx(1.0 - sw2 * np.sum(wts * np.tanh(z) ** 2), rel=1e-8)
    # sigmoid: the edge of chaos needs sigma_b^2 < 0, so the backward criterion chi_1 = 1 with sigma_b = 0.
    s = 1.0 / (1.0 + np.exp(-z))
    sw, sb, how = critical_params("sigmoid")
    assert (how, sb) == ("backward", 0.0)
    assert sw**2 * np.sum(wts * (s * (1 - s)) ** 2) == pytest.approx(1.0, rel=1e-9)
    # ReLU: sigma_w^2 = 2, sigma_b^2 = 0, He's law
    assert critical_params("relu")[:2] == (pytest.approx(math.sqrt(2.0), rel=1e-12), 0.0)


@pytest.mark.invariance
def test_building_and_initialising_leave_torch_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    model = build_model(SPEC, DATA)
    apply_init(model, "glorot_uniform", 0, activation="tanh")
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.refusal
def test_bad_input_is_refused_before_anything_is_written() -> None:
    model = build_model(SPEC, DATA)
    apply_init(model, "zeros", 0, activation="tanh")
    with pytest.raises(ValueError, match=r"init must be one of .* got 'he_norml' \(did you mean 'he_normal'\?\)"):
        apply_init(model, "he_norml", 0, activation="tanh")
    with pytest.raises(ValueError, match=r"activation must be one of .* got 'tahn' \(did you mean 'tanh'\?\)"):
        apply_init(model, "he_normal", 0, activation="tahn")
    with pytest.raises(TypeError, match="init must be a str"):
        apply_init(model, 3, 0, activation="tanh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed must be"):
        apply_init(model, "he_normal", -1, activation="tanh")
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        apply_init("model", "he_normal", 0, activation="tanh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"model must contain nn\.Linear layers"):
        apply_init(torch.nn.ReLU(), "he_normal", 0, activation="relu")
    with pytest.raises(ValueError, match="sigma_w2 must be"):
        GaussianInit(0.0)
    with pytest.raises(ValueError, match="sigma_b2 must be"):
        GaussianInit(1.0, -0.1)
    assert all(not layer.weight.detach().any() for layer in model.linears())  # nothing written by the refusals
