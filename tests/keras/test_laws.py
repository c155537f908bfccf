"""Each Keras class against Keras's own initialiser of the same name: the same law, by two-sample KS.

Tolerance, from the sample size: both samples have ``n = m = 2**18`` values
(one 512x512 kernel each).  Under the null hypothesis (the same law) the
two-sample KS p-value is uniform, and the test asks ``p > ALPHA = 1e-4``; the
seeds are fixed, so the outcome is deterministic, and a correct class fails
only if these fixed draws are a 1-in-10^4 event.  At that level the critical
distance is ``c * sqrt((n + m) / (n m))`` with ``c = sqrt(-ln(ALPHA / 2) / 2)
= 2.22``, i.e. ``D = 0.0061``, far above the float32 grid's 2**-24, so the
grids do not matter.  A deliberately wrong law, the untruncated normal of the
same variance where Keras truncates, differs from the truncated one by a CDF
distance of about 0.03, five times the critical distance: it must fail.
The entries of one orthogonal matrix are not independent (each column has
unit norm), but their dependence is of order 1/512 and the test compares
their marginal law, which is the same for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

keras = pytest.importorskip("keras")
xk = pytest.importorskip("xinit_bench.keras")

pytestmark = pytest.mark.statistical

ALPHA = 1e-4
SHAPE = (512, 512)

#: Our class and Keras's own, built with the same arguments.
PAIRS: dict[str, tuple[Callable[[int], Any], Callable[[int], Any]]] = {
    "GlorotUniform": (lambda s: xk.GlorotUniform(seed=s), lambda s: keras.initializers.GlorotUniform(seed=s)),
    "GlorotNormal": (lambda s: xk.GlorotNormal(seed=s), lambda s: keras.initializers.GlorotNormal(seed=s)),
    "HeUniform": (lambda s: xk.HeUniform(seed=s), lambda s: keras.initializers.HeUniform(seed=s)),
    "HeNormal": (lambda s: xk.HeNormal(seed=s), lambda s: keras.initializers.HeNormal(seed=s)),
    "LecunUniform": (lambda s: xk.LecunUniform(seed=s), lambda s: keras.initializers.LecunUniform(seed=s)),
    "LecunNormal": (lambda s: xk.LecunNormal(seed=s), lambda s: keras.initializers.LecunNormal(seed=s)),
    "VarianceScaling-untruncated": (
        lambda s: xk.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=s),
        lambda s: keras.initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=s),
    ),
    "VarianceScaling-normal": (
        lambda s: xk.VarianceScaling(0.5, "fan_avg", "normal", seed=s),
        lambda s: keras.initializers.VarianceScaling(0.5, "fan_avg", "normal", seed=s),
    ),
    "Orthogonal": (lambda s: xk.Orthogonal(2.0, seed=s), lambda s: keras.initializers.Orthogonal(2.0, seed=s)),
    "RandomUniform": (
        lambda s: xk.RandomUniform(-0.2, 0.1, seed=s),
        lambda s: keras.initializers.RandomUniform(-0.2, 0.1, seed=s),
    ),
    "RandomNormal": (
        lambda s: xk.RandomNormal(0.1, 0.3, seed=s),
        lambda s: keras.initializers.RandomNormal(0.1, 0.3, seed=s),
    ),
    "TruncatedNormal": (
        lambda s: xk.TruncatedNormal(0.1, 0.3, seed=s),
        lambda s: keras.initializers.TruncatedNormal(0.1, 0.3, seed=s),
    ),
}


def ks(ours: Any, theirs: Any, host: Callable[[Any], np.ndarray]) -> float:
    a = host(ours(SHAPE)).astype(np.float64).ravel()
    b = host(theirs(SHAPE)).astype(np.float64).ravel()
    return float(stats.ks_2samp(a, b).pvalue)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_the_same_law_as_keras(name: str, host: Callable[[Any], np.ndarray]) -> None:
    ours, theirs = PAIRS[name]
    assert ks(ours(1), theirs(2), host) > ALPHA


def test_an_untruncated_normal_where_keras_truncates_is_caught(host: Callable[[Any], np.ndarray]) -> None:
    # Same variance 2 / fan_in, the wrong law: the check must be able to fail.
    wrong = xk.VarianceScaling(xk.HeNormal.law[0], "fan_in", "untruncated_normal", seed=1)
    assert ks(wrong, keras.initializers.HeNormal(seed=2), host) < ALPHA
    # And the other way round: Keras's untruncated law against our truncated HeNormal.
    keras_untruncated = keras.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=2)
    assert ks(xk.HeNormal(seed=1), keras_untruncated, host) < ALPHA


def test_the_truncated_law_against_scipy(host: Callable[[Any], np.ndarray]) -> None:
    # An independent reference for Keras's truncation: N(0, s^2) cut at +-2 s, s = sqrt(2 / 512) / 0.8796...
    x = host(xk.HeNormal(seed=4)(SHAPE)).astype(np.float64).ravel()
    s = np.sqrt(2.0 / 512) / 0.87962566103423978
    assert stats.kstest(x, stats.truncnorm(-2.0, 2.0, scale=s).cdf).pvalue > ALPHA
    assert stats.kstest(x, stats.norm(scale=np.sqrt(2.0 / 512)).cdf).pvalue < ALPHA
