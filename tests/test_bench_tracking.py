"""The statistical ``track_`` benchmarks of the asv suite bite: a 1 % variance bias moves them.

The asv class ``benchmarks.bench_stats.Statistics`` is driven exactly as asv
drives it (``setup`` then ``track_*``), once with the real sampler and once
with the same sampler made 1 % too wide or too narrow in variance (every value
times ``sqrt(1 +- 0.01)``).  With ``STAT_SIZE = 2**21`` samples the standard
error of the variance is ``sqrt((kappa - 1) / n)``: 0.098 % for a normal
(kappa = 3), 0.081 % for the +-2 sigma truncated normal (kappa = 2.366) and
0.062 % for a uniform (kappa = 1.8), so a 1 % bias is 10 to 16 standard
errors, while the real samplers stay within 4 (fixed seeds: these numbers
cannot flake, they only change when the stream does).
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def bench_stats(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.bench_stats")


def track(module: ModuleType, sampler: str, dtype: str = "float32") -> dict[str, float]:
    """Run the statistical track_ benchmarks of ``sampler`` as asv does."""
    bench = module.Statistics()
    bench.setup(sampler, dtype)
    return {
        "ks": bench.track_ks_sqrt_n(sampler, dtype),
        "var": bench.track_variance_error_se(sampler, dtype),
        "mean": bench.track_mean_error_se(sampler, dtype),
    }


def biased(module: ModuleType, sampler: str, variance_factor: float) -> Any:
    """``sampler`` with every value scaled so that its variance is ``variance_factor`` times too large."""
    real = module.STAT_SAMPLERS[sampler]
    scale = math.sqrt(variance_factor)

    def draw(n: int, dtype: str, seed: int) -> np.ndarray:
        x = real.draw(n, dtype, seed)
        return (x * x.dtype.type(scale)).astype(x.dtype)

    return module.StatSampler(draw, real.distribution)


@pytest.mark.parametrize("sampler", ["normal", "truncated_normal", "symmetric_uniform"])
@pytest.mark.parametrize("variance_factor", [1.01, 0.99])
def test_one_percent_variance_bias_moves_the_tracking(
    bench_stats: ModuleType, monkeypatch: pytest.MonkeyPatch, sampler: str, variance_factor: float
) -> None:
    honest = track(bench_stats, sampler)
    assert abs(honest["var"]) < 4.0, honest
    assert honest["ks"] < 1.63, honest  # the 99 % point of the Kolmogorov distribution

    monkeypatch.setitem(bench_stats.STAT_SAMPLERS, sampler, biased(bench_stats, sampler, variance_factor))
    bent = track(bench_stats, sampler)
    direction = 1.0 if variance_factor > 1 else -1.0
    assert direction * bent["var"] > 8.0, bent
    assert direction * (bent["var"] - honest["var"]) > 8.0
    assert bent["ks"] > honest["ks"]
