"""``xinit_bench/gauss.py``: the Gaussian expectations of the activations against scipy and mpmath quadrature."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from xinit_bench.propagation import (
    ACTIVATIONS,
    expected_dphi_squared,
    expected_phi,
    expected_phi_squared,
    get_activation,
)

pytestmark = pytest.mark.reference


Q_GRID = (1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0)


MOMENTS = {"phi2": expected_phi_squared, "dphi2": expected_dphi_squared, "phi": expected_phi}


def _quad(f, q, kinks=()):  # type: ignore[no-untyped-def]
    # scipy reference in z-space, split at the kink z = 0, at |z| = 1, 4 and at the
    # activation's kinks moved to z-space (hard_tanh's at +-1/sqrt(q));
    # |z| <= 40 leaves out < 1e-300 of the mass.
    s = math.sqrt(q)

    def g(z: float) -> float:
        return f(s * z) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    inner = {-4.0, -1.0, 0.0, 1.0, 4.0} | {k / s for k in kinks if abs(k / s) < 40.0}
    edges = (-40.0, *sorted(inner), 40.0)
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
            ref = _quad(fn, q, act.kinks)
            got = MOMENTS[mom](act, q)
            scale = abs(ref) if mom != "phi" else max(abs(ref), math.sqrt(q))
            assert abs(got - ref) <= 1e-10 * scale, (name, q, mom, got, ref)


def test_closed_forms() -> None:
    assert expected_phi_squared("relu", 3.0) == 1.5
    assert expected_dphi_squared("relu", 3.0) == 0.5
    assert expected_phi_squared("leaky_relu", 2.0, 0.5) == pytest.approx(1.25, rel=1e-15)
    assert expected_phi_squared("linear", 0.7) == 0.7
    assert expected_phi("tanh", 4.0) == 0.0


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
