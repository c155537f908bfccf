"""Orthogonal and delta-orthogonal weights in the network theory and Monte Carlo.

An orthogonal ``W`` (gain ``g``) with orthonormal columns (``in <= out``) is an
isometry up to ``g``: ``|W x|^2 = g^2 |x|^2`` for every ``x``; with orthonormal
rows (``in >= out``), ``W^T`` is one, so ``|W^T g|^2 = g^2 |g|^2``.  A
delta-orthogonal kernel is such a matrix at its centre on the channels of
each position.  These identities hold for every draw, so the Monte Carlo
must reproduce them to rounding -- the per-example second moments are kept
exactly, at any depth -- and the theory's factors must be the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from xinit_bench import propagation as xp


@pytest.mark.known_answer
def test_delta_orthogonal_conv_keeps_q_exactly_at_any_depth() -> None:
    depth, c = 50, 16
    net = xp.Network(
        xp.Input((c, 8, 8), second_moment=0.6),
        *[xp.Conv(c, 3, init="delta_orthogonal") for _ in range(depth)],
    )
    p = xp.predict(net)
    np.testing.assert_allclose(p.forward, 0.6, rtol=1e-14)
    np.testing.assert_allclose(p.backward, 1.0, rtol=1e-14)
    sim = xp.simulate(net, batch=8, repeats=2, seed=5, dtype=np.float64)
    # Every layer holds each example's |x|^2 at every position: all columns equal to the first, to rounding.
    f, b = sim.per_repeat_forward, sim.per_repeat_backward
    np.testing.assert_allclose(f, np.repeat(f[:, :1], depth, axis=1), rtol=1e-10)
    np.testing.assert_allclose(b, np.repeat(b[:, -1:], depth, axis=1), rtol=1e-10)


@pytest.mark.known_answer
def test_gaussian_conv_does_not_keep_q_exactly() -> None:
    # The same check on Gaussian He-normal kernels (linear, gain 1) fails: it is a property of the init.
    net = xp.Network(xp.Input((16, 8, 8)), *[xp.Conv(16, 3, init="lecun_normal") for _ in range(10)])
    f = xp.simulate(net, batch=8, repeats=2, seed=5, dtype=np.float64).per_repeat_forward
    assert np.max(np.abs(f / f[:, :1] - 1.0)) > 1e-3


@pytest.mark.known_answer
@pytest.mark.parametrize(("n_in", "n_out", "gain"), [(64, 128, 1.0), (96, 96, 1.3), (128, 64, 0.8)])
def test_orthogonal_dense_is_an_isometry(n_in: int, n_out: int, gain: float) -> None:
    # A linear Act first records the input's statistics (its output is its input).
    net = xp.Network(xp.Input(n_in), xp.Act("linear"), xp.Dense(n_out, init="orthogonal", gain=gain))
    sim = xp.simulate(net, batch=16, repeats=3, seed=2, dtype=np.float64)
    f, b = sim.per_repeat_forward, sim.per_repeat_backward
    p = xp.predict(net)
    if n_in <= n_out:
        # |W x|^2 = g^2 |x|^2 for every example: q_out n_out = g^2 q_in n_in exactly, the theory's factor.
        np.testing.assert_allclose(f[:, 1] * n_out, gain**2 * n_in * f[:, 0], rtol=1e-12)
        assert p.forward[1] / p.forward[0] == pytest.approx(gain**2 * n_in / n_out, rel=1e-14)
    if n_in >= n_out:
        # |W^T g|^2 = g^2 |g|^2: the input gradient's second moment follows exactly from the output's.
        np.testing.assert_allclose(b[:, 0] * n_in, gain**2 * n_out * b[:, 1], rtol=1e-12)
        assert p.backward[0] / p.backward[1] == pytest.approx(gain**2 * n_out / n_in, rel=1e-14)


@pytest.mark.known_answer
def test_delta_orthogonal_and_orthogonal_have_the_second_moments_of_iid_weights() -> None:
    # Var[W] = g^2 / max(rows, cols) gives the same factors (per unit, averaged over the Haar measure).
    c_in, c_out, k, g = 8, 16, 3, 1.4
    delta = xp.predict(xp.Network(xp.Input((c_in, 6, 6)), xp.Conv(c_out, k, init="delta_orthogonal", gain=g)))
    assert delta.forward[0] == pytest.approx(g * g * c_in / c_out, rel=1e-14)
    assert delta.input_backward == pytest.approx(g * g, rel=1e-14)
    ortho = xp.predict(xp.Network(xp.Input(128), xp.Dense(128, init="orthogonal", gain=np.sqrt(2.0)), xp.Act("relu")))
    he = xp.predict(xp.Network(xp.Input(128), xp.Dense(128, init="he_normal"), xp.Act("relu")))
    np.testing.assert_allclose(ortho.forward, he.forward, rtol=1e-14)
    np.testing.assert_allclose(ortho.backward, he.backward, rtol=1e-14)
