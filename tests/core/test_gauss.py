"""``xinit_bench/gauss.py`` and ``bivariate.py``: the Gaussian expectations of the activations against references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from xinit_bench.bivariate import cross_moment
from xinit_bench.propagation import (
    ACTIVATIONS,
    bivariate_expectation,
    expected_dphi_dphi,
    expected_dphi_squared,
    expected_phi,
    expected_phi_phi,
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


# --- bivariate expectations: the correlation map ---------------------------------------
PAIRS = [(1.0, 1.0, 0.3), (0.5, 2.0, 0.99), (3.0, 3.0, -0.7), (1.0, 1.0, 1 - 1e-9), (2.0, 0.5, -1 + 1e-9)]
PAIRS += [(1e-2, 1e-2, 0.5), (30.0, 30.0, 0.9), (1.0, 4.0, 1.0), (4.0, 1.0, -1.0), (1.0, 1.0, 0.0)]


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "erf"])
def test_cross_closed_forms_match_the_quadrature(name: str) -> None:
    # The arc-cosine (Cho & Saul 2009) and erf (Williams 1997) kernels against the nested panel
    # rule, which knows nothing of them.  Both are accurate to rounding, so 1e-13 of the scale
    # (sqrt(q1 q2) for phi phi of the homogeneous activations, 1 otherwise) separates them from
    # any wrong constant; the pairs reach c = +-1 and c within 1e-9 of it.
    act = get_activation(name, 0.2 if name == "leaky_relu" else None)
    for q1, q2, c in PAIRS:
        for which, fn in (("phiphi", act.phi), ("dphidphi", act.dphi)):
            exact = cross_moment(act, q1, q2, c, which)  # type: ignore[arg-type]
            quad = bivariate_expectation(fn, fn, q1, q2, c, act.kinks, act.kinks)
            scale = math.sqrt(q1 * q2) if which == "phiphi" and name != "erf" else 1.0
            assert abs(exact - quad) <= 1e-13 * scale, (name, q1, q2, c, which, exact, quad)


def test_cross_moment_at_c_one_is_the_second_moment() -> None:
    for name in ACTIVATIONS:
        act = get_activation(name)
        for q in (0.1, 1.0, 7.0):
            assert cross_moment(act, q, q, 1.0, "phiphi") == pytest.approx(expected_phi_squared(act, q), rel=1e-12)
            assert cross_moment(act, q, q, 1.0, "dphidphi") == pytest.approx(expected_dphi_squared(act, q), rel=1e-12)


def _hard_tanh_reference(q1: float, q2: float, c: float, which: str) -> float:
    # Semi-analytic: given u1, u2 = mu + s z with mu = c sqrt(q2/q1) u1, s = sqrt(q2 (1 - c^2)), and
    # E[clip(mu + s z)] and P(|mu + s z| < 1) are closed forms in Phi and the normal pdf; the outer
    # integral is scipy's quad, split at the kinks u1 = +-1.
    from scipy import special

    r, s = c * math.sqrt(q2 / q1), math.sqrt(q2 * (1 - c * c))

    def inner(u: float) -> float:
        mu = r * u
        a, b = (-1 - mu) / s, (1 - mu) / s
        pa, pb = special.ndtr(a), special.ndtr(b)
        if which == "dphidphi":
            return float(pb - pa) * (abs(u) < 1)
        da, db = math.exp(-a * a / 2) / math.sqrt(2 * math.pi), math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
        return float(-pa + (1 - pb) + mu * (pb - pa) + s * (da - db)) * max(-1.0, min(1.0, u))

    sd = math.sqrt(q1)

    def g(u: float) -> float:
        return inner(u) * math.exp(-0.5 * u * u / q1) / (sd * math.sqrt(2 * math.pi))

    edges = sorted({-12 * sd, -1.0, 0.0, 1.0, 12 * sd} | {k * sd for k in (-4, -1, 1, 4)})
    edges = [e for e in edges if -12 * sd <= e <= 12 * sd]
    return sum(integrate.quad(g, a, b, epsabs=0.0, epsrel=1e-13, limit=400)[0] for a, b in itertools.pairwise(edges))


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_bivariate_quadrature_matches_references_for_kinked_and_smooth_activations() -> None:
    # hard_tanh (kinks at +-1, where no closed form is used) against the semi-analytic reference
    # above, to 1e-10 absolute (scipy's quad is good to ~1e-12 here); tanh against nested
    # scipy quad in z-space, to 1e-10.
    act = get_activation("hard_tanh")
    for q1, q2, c in [(1.0, 1.0, 0.3), (0.5, 2.0, 0.99), (3.0, 3.0, -0.7), (1.0, 1.0, 1 - 1e-4), (0.2, 5.0, 0.6)]:
        for which, fn in (("phiphi", act.phi), ("dphidphi", act.dphi)):
            got = bivariate_expectation(fn, fn, q1, q2, c, act.kinks, act.kinks)
            ref = _hard_tanh_reference(q1, q2, c, which)
            assert abs(got - ref) <= 1e-10, (q1, q2, c, which, got, ref)
    for q1, q2, c in [(1.0, 1.0, 0.5), (4.0, 0.25, -0.8)]:
        s1, s2, w = math.sqrt(q1), math.sqrt(q2), math.sqrt(1 - c * c)

        def outer(z1: float, s1: float = s1, s2: float = s2, w: float = w, c: float = c) -> float:
            f = lambda z2: math.tanh(s2 * (c * z1 + w * z2)) * math.exp(-z2 * z2 / 2)  # noqa: E731
            inner = integrate.quad(f, -12, 12, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
            return math.tanh(s1 * z1) * inner * math.exp(-z1 * z1 / 2) / (2 * math.pi)

        ref = integrate.quad(outer, -12, 12, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        assert expected_phi_phi("tanh", q1, q2, c) == pytest.approx(ref, abs=1e-10)


def test_bivariate_quadrature_near_c_one_follows_the_taylor_expansion() -> None:
    # Close to c = 1 scipy's quad misses the sharp inner integral (it is off by 5e-8 at
    # 1 - c = 1e-7), so the reference there is the expansion in e = 1 - c: by Price's theorem
    # d/dc E[phi phi] = q E[phi' phi'], and E[phi' phi'] = E[phi'^2] - O(sqrt(e)) for a kinked phi
    # (the chance that u1, u2 straddle a kink), so
    # E[phi phi](1 - e) = E[phi^2] - e q E[phi'^2] + O(e^1.5); the test allows 10 e^1.5.
    for name in ("hard_tanh", "relu", "elu"):
        act = get_activation(name)
        for q in (0.5, 2.0):
            for e in (1e-7, 1e-9, 1e-11):
                got = bivariate_expectation(act.phi, act.phi, q, q, 1 - e, act.kinks, act.kinks)
                taylor = expected_phi_squared(act, q) - e * q * expected_dphi_squared(act, q)
                assert abs(got - taylor) <= 10 * e**1.5, (name, q, e, got, taylor)


def test_bivariate_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"c must be a finite real number in \[-1, 1\], got 1.5"):
        expected_phi_phi("tanh", 1.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="c must be"):
        expected_dphi_dphi("tanh", 1.0, 1.0, -1.01)
    with pytest.raises(ValueError, match="q1 must be"):
        expected_phi_phi("tanh", 0.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="q2 must be"):
        expected_phi_phi("tanh", 1.0, math.nan, 0.5)
    with pytest.raises(TypeError, match="c must be"):
        expected_phi_phi("tanh", 1.0, 1.0, "0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="g must be"):
        bivariate_expectation(np.tanh, 3, 1.0, 1.0, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="which must be"):
        cross_moment(get_activation("relu"), 1.0, 1.0, 0.5, "phi2")  # type: ignore[arg-type]


def test_mehler_series_of_the_hermite_coefficients_is_the_cross_moment() -> None:
    # Mehler: E[f(u1) f(u2)] = sum_k a_k^2 c^k at q1 = q2 = q.  Against the erf kernel of Williams
    # (1997) and the relu arc-cosine kernel: 160 terms at |c| <= 0.8 leave at most
    # 0.8^161 E[f^2] ~ 1e-16 for erf (smooth), and for relu, whose a_k^2 decay only as k^-2.5,
    # a tail below 1e-9; the missing mass E[f^2] - sum a_k^2 bounds it from above.
    from xinit_bench.bivariate import hermite_coefficients

    for name, tol in (("erf", 1e-13), ("relu", 1e-9)):
        act = get_activation(name)
        for q in (0.3, 2.0):
            a2 = hermite_coefficients(act.phi, q, 160, act.kinks) ** 2
            missing = expected_phi_squared(act, q) - a2.sum()
            assert -1e-13 <= missing <= (1e-13 if name == "erf" else 1e-3)
            for c in (-0.8, 0.0, 0.5, 0.8):
                series = float(np.polynomial.polynomial.polyval(c, a2))
                assert abs(series - cross_moment(act, q, q, c, "phiphi")) <= tol * q, (name, q, c)


def test_closed_forms_hold_at_extreme_variances() -> None:
    # erf: the determinant of I + 2 Sigma is expanded so that it neither overflows nor gives inf * 0;
    # hard_tanh: E[x^2 1{|x|<1}] by its Taylor series where the closed form cancels (q > 4).
    for q in (1e-300, 1e-8, 1e8, 1e300):
        assert expected_dphi_squared("erf", q) == pytest.approx(4 / math.pi / math.sqrt(1 + 4 * q), rel=1e-14)
        assert expected_dphi_dphi("erf", q, q, 0.5) == pytest.approx(
            4 / math.pi / math.sqrt(1 + 4 * q + 3 * q * q), rel=1e-14
        )
        assert 0.0 <= expected_phi_squared("hard_tanh", q) <= min(q, 1.0)
    # P(|x| < 1) = 2 / (s sqrt(2 pi)) (1 + O(1/q)); E[clip^2] = 1 - P + (2/3) / (s sqrt(2 pi)) (1 + O(1/q)).
    s = 1e4
    p_in = 2 / (s * math.sqrt(2 * math.pi))
    assert expected_phi_squared("hard_tanh", s * s) == pytest.approx(1 - p_in + p_in / 3, rel=1e-12)
    with np.errstate(all="raise"):
        from xinit_bench.propagation import correlation_map

        assert correlation_map("tanh", 1.0, 0.0, 1e-200, 1e-200, 0.5) == pytest.approx(0.5, rel=1e-12)
