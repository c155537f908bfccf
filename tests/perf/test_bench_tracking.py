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

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def bench_stats(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.bench_stats")


def track(module: ModuleType, sampler: str, dtype: str = "float32") -> dict[str, float]:
    """Run the statistical track_ benchmarks of ``sampler`` as asv does; ``var`` is the signed error."""
    bench = module.Statistics()
    bench.setup(sampler, dtype)
    signed = module.variance_error_se(bench.x, bench.distribution)
    tracked = {
        "ks": bench.track_ks_sqrt_n(sampler, dtype),
        "abs_var": bench.track_abs_variance_error_se(sampler, dtype),
        "abs_mean": bench.track_abs_mean_error_se(sampler, dtype),
    }
    # asv tracks magnitudes (lower is better); the sign stays with the module's functions
    assert tracked["abs_var"] == abs(signed)
    assert tracked["abs_mean"] == abs(module.mean_error_se(bench.x, bench.distribution))
    return {**tracked, "var": signed}


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
    assert bent["abs_var"] > 8.0 > 4.0 > honest["abs_var"]  # asv sees the bias as a higher (worse) value


#: Every track_ benchmark of the suite, each one a figure where lower is better
#: (asv compare and asv continuous assume that direction for every benchmark).
LOWER_IS_BETTER = {
    "bench_samplers.Throughput.track_ns_per_sample",
    "bench_samplers.Throughput.track_time_over_numpy",
    "bench_samplers.Throughput.track_time_over_fill",
    "bench_stats.Statistics.track_ks_sqrt_n",
    "bench_stats.Statistics.track_abs_variance_error_se",
    "bench_stats.Statistics.track_abs_mean_error_se",
    "bench_memory.Memory.track_rss_bytes_beyond_output",
    "bench_memory.Memory.track_traced_bytes_beyond_output",
    "bench_coldstart.ColdStart.track_import_and_first_call",
    "bench_coldstart.ColdStart.track_import",
    "bench_models.MaterializeMemory.track_peak_rss_over_model_bytes",  # peak RSS growth / model bytes
}


def test_every_track_benchmark_is_lower_is_better(monkeypatch: pytest.MonkeyPatch) -> None:
    # A new track_ must be added here on purpose, after checking its direction.
    monkeypatch.syspath_prepend(str(ROOT))
    found = set()
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        module = importlib.import_module(f"benchmarks.{path.stem}")
        for cls_name, cls in vars(module).items():
            if isinstance(cls, type) and not cls_name.startswith("_") and cls.__module__ == module.__name__:
                found |= {f"{path.stem}.{cls_name}.{m}" for m in dir(cls) if m.startswith("track_")}
    assert found == LOWER_IS_BETTER


def test_time_benchmarks_allow_interleaved_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    # asv continuous --interleave-rounds alternates commits between rounds, timed with process time
    # (another job on the other core does not inflate it). Eight rounds, not two: with two or four,
    # the host's slow spells could cover most of one commit's rounds (see bench_samplers._CpuTimed).
    import time

    monkeypatch.syspath_prepend(str(ROOT))
    samplers = importlib.import_module("benchmarks.bench_samplers")
    for cls in (samplers.Normal, samplers.TorchTruncatedNormal, samplers.NamedSchemes):
        assert cls.rounds >= 8
        assert cls.timer is time.process_time


def test_every_time_fill_sample_fills_at_least_a_million_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    # asv_runner times each sample of a class with a setup as one call of time_fill, so a 1K row
    # must loop: 1024 calls into the same buffer; from 2**20 up, one call.
    monkeypatch.syspath_prepend(str(ROOT))
    samplers = importlib.import_module("benchmarks.bench_samplers")
    calls: list[int] = []
    monkeypatch.setattr(samplers, "make_call", lambda cases, impl, case, out: lambda: calls.append(out.size))
    monkeypatch.setattr(samplers, "_WARM", {("xinit", "normal", "float32")})  # no warm-up call counted
    bench = samplers.Normal()
    for size in samplers.SIZES:
        calls.clear()
        bench.setup("xinit", "float32", size)
        try:
            bench.time_fill("xinit", "float32", size)
        finally:
            bench.teardown("xinit", "float32", size)
        assert sum(calls) >= samplers.SAMPLE_ELEMENTS
        assert len(calls) == max(1, samplers.SAMPLE_ELEMENTS // size)
