"""xinit_bench.perf.models: the whole-model benchmark code on tiny models (the CLI's models subcommand, asv)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats
from torchnets import (
    P_MIN,
    values,
)

from xinit_bench import torch as xt
from xinit_bench.perf import models


# --- the benchmark code, on a tiny model --------------------------------------------
def test_the_model_benchmark_runs_on_tiny_models() -> None:
    for name in ("gpt2-tiny", "llama-tiny-bf16"):
        r = models.measure_model(models.MODELS[name], repeats=1)
        assert set(r["median_s"]) == {"default construction", "torch nn.init loop", "xinit init_module"}
        assert r["speedup_vs_loop"] > 0 and r["parameters"] > 0


def test_the_torch_loop_draws_the_presets_distributions() -> None:
    spec = models.ModelSpec("gpt2", 64, 2, 256, 2000, 4, positions=64)
    ref, ours = models.build(spec), models.build(spec)
    torch.manual_seed(0)
    models.torch_loop(ref, spec)
    xt.init_module(ours, "gpt2", seed=0)
    for k, w in values(ref).items():
        g = values(ours)[k]
        if np.all(w == w.flat[0]):
            assert np.array_equal(g, w), k
        else:
            assert stats.ks_2samp(w.ravel(), g.ravel()).pvalue > P_MIN, k


def test_the_models_subcommand_prints_json_for_a_tiny_model(capsys: pytest.CaptureFixture[str]) -> None:
    from xinit_bench.cli import main
    from xinit_bench.cli.models import MODEL_NAMES

    assert tuple(models.MODELS) == MODEL_NAMES
    assert main(["models", "--models", "gpt2-tiny", "--repeats", "1", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "gpt2-tiny" and row["repeats"] == 1


@pytest.mark.parametrize("impl", ["default", "torch_loop", "xinit"])
def test_the_asv_model_benchmark_runs_on_a_tiny_model(impl: str) -> None:
    import importlib

    bench = importlib.import_module("benchmarks.bench_models")
    case = bench.ModelInit()
    case.setup("gpt2-tiny", impl)
    case.time_init("gpt2-tiny", impl)
