"""Whole-model init of PyTorch models: xinit-bench's init_module against torch, and materialize's memory.

The models and the two torch baselines are the working tree's
``xinit_bench/perf/models.py`` (the same ones ``xinit-bench models`` times):
a GPT-2-small-shaped model in float32 and a 1B-parameter LLaMA-shaped model
(d=2048, 16 layers, FFN 5632, vocab 32000) in bfloat16.  ``time_init``
compares, per model, torch's default construction (allocation plus
``reset_parameters``), a ``torch.nn.init`` loop drawing the preset's
distributions into the allocated model, and ``init_module`` with the preset.
A commit without ``xinit_bench.torch`` is skipped (``NotImplementedError``).
These are heavy (seconds per sample, 2-4 GB), so asv takes 3 samples of one
call each; ``make test`` runs only a tiny-model smoke test of the same code.
"""

from __future__ import annotations

from typing import Any

from . import tree

#: asv names are history: append, never rename.
MODELS = ("gpt2-small", "llama-1b-bf16")
IMPLS = ("default", "torch_loop", "xinit")


def _models() -> Any:
    try:
        return tree.load("models")
    except Exception as exc:  # torch missing, or a tree without the models module
        raise NotImplementedError(f"whole-model benchmarks need torch: {exc}") from None


class ModelInit:
    """Seconds to initialise a whole model, three ways."""

    params = (list(MODELS), list(IMPLS))
    param_names = ["model", "impl"]
    number = 1
    repeat = 3
    warmup_time = 0
    timeout = 900

    def setup(self, model: str, impl: str) -> None:
        models = _models()
        try:
            from xinit_bench import torch as xt
        except ImportError as exc:
            raise NotImplementedError(f"this commit has no xinit_bench.torch: {exc}") from None
        self.spec = models.MODELS[model]
        self.models = models
        if impl == "default":
            self.call = lambda: models.build(self.spec)
            return
        self.model = models.build(self.spec)
        if impl == "torch_loop":
            self.call = lambda: models.torch_loop(self.model, self.spec)
        else:
            preset = xt.gpt2(self.spec.n_layer) if self.spec.family == "gpt2" else "llama"
            self.call = lambda: xt.init_module(self.model, preset, 0)
        self.call()  # compile and fault in the pages outside the clock

    def time_init(self, model: str, impl: str) -> None:
        self.call()


class MaterializeMemory:
    """Peak resident-set growth of ``materialize`` over the model's bytes (a ratio; 1.0 is the floor)."""

    params = (list(MODELS),)
    param_names = ["model"]
    number = 1
    repeat = 1
    timeout = 900

    def track_peak_rss_over_model_bytes(self, model: str) -> float:
        models = _models()
        return float(models.materialize_rss(models.MODELS[model])["ratio"])

    track_peak_rss_over_model_bytes.unit = "ratio"  # type: ignore[attr-defined]
