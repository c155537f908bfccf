"""Each JAX factory against ``jax.nn.initializers``' own of the same name: the same law, by two-sample KS.

Tolerance, from the sample size (as in ``tests/keras/test_laws.py``): two
samples of ``n = m = 2**18`` values, ``p > ALPHA = 1e-4`` under the null with
fixed keys, i.e. a critical distance ``D = 2.22 * sqrt(2 / 2**18) = 0.0061``.
The wrong law, an untruncated normal of the same variance where JAX
truncates, is about 0.03 away and must fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

jax = pytest.importorskip("jax")
xj = pytest.importorskip("xinit_bench.jax")
jinit = pytest.importorskip("jax.nn.initializers")

pytestmark = pytest.mark.statistical

ALPHA = 1e-4
SHAPE = (512, 512)

PAIRS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    **{
        name: (getattr(xj, name), getattr(jinit, name))
        for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal")
    },
    "variance_scaling-normal": (
        lambda: xj.variance_scaling(3.0, "fan_out", "normal"),
        lambda: jinit.variance_scaling(3.0, "fan_out", "normal"),
    ),
    "variance_scaling-geo": (
        lambda: xj.variance_scaling(0.5, "fan_geo_avg", "truncated_normal"),
        lambda: jinit.variance_scaling(0.5, "fan_geo_avg", "truncated_normal"),
    ),
    "orthogonal": (lambda: xj.orthogonal(2.0), lambda: jinit.orthogonal(2.0)),
    "uniform": (lambda: xj.uniform(0.3), lambda: jinit.uniform(0.3)),
    "normal": (lambda: xj.normal(0.2), lambda: jinit.normal(0.2)),
    "truncated_normal": (
        lambda: xj.truncated_normal(0.2, lower=-1.0, upper=3.0),
        lambda: jinit.truncated_normal(0.2, lower=-1.0, upper=3.0),
    ),
}


def ks(ours: Any, theirs: Any) -> float:
    a = np.asarray(ours(jax.random.key(1), SHAPE), np.float64).ravel()
    b = np.asarray(theirs(jax.random.key(2), SHAPE), np.float64).ravel()
    return float(stats.ks_2samp(a, b).pvalue)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_the_same_law_as_jax(name: str) -> None:
    ours, theirs = PAIRS[name]
    assert ks(ours(), theirs()) > ALPHA


def test_an_untruncated_normal_where_jax_truncates_is_caught() -> None:
    wrong = xj.variance_scaling(2.0, "fan_in", "normal")
    assert ks(wrong, jinit.he_normal()) < ALPHA
    assert ks(xj.he_normal(), jinit.variance_scaling(2.0, "fan_in", "normal")) < ALPHA
