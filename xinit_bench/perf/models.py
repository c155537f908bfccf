"""Whole-model init of transformer-shaped PyTorch models: xinit-bench against torch, in one run.

Two model shapes, written out here so that no model library is needed:

- :class:`GPT2`, shaped as Hugging Face's GPT-2 (``wte``, ``wpe``, blocks
  ``h.<i>`` of ``ln_1``, ``attn.c_attn``, ``attn.c_proj``, ``ln_2``,
  ``mlp.c_fc``, ``mlp.c_proj``; ``ln_f``; ``lm_head`` tied to ``wte``), with
  ``nn.Linear`` for HF's ``Conv1D`` (the same parameter count and law);
- :class:`Llama`, shaped as Hugging Face's LLaMA (``embed_tokens``,
  ``layers.<i>`` of ``self_attn.{q,k,v,o}_proj``, ``mlp.{gate,up,down}_proj``,
  two RMSNorms; ``norm``; an untied ``lm_head``; a rotary ``inv_freq`` buffer).

For each model, :func:`measure_model` times, interleaved and in the same
process: torch's default construction (allocation plus each layer's
``reset_parameters``), a loop of ``torch.nn.init`` calls drawing the preset's
distributions into the allocated model, and :func:`xinit_bench.torch.init_module`
with the preset.  :func:`materialize_rss` measures the peak resident-set
growth of :func:`xinit_bench.torch.materialize` against the model's bytes.

Like the rest of this package, it reaches the library under test only through
a lazy ``import xinit_bench`` inside the functions.
"""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .machine import _status_kib

__all__ = [
    "GPT2",
    "MODELS",
    "Llama",
    "ModelSpec",
    "build",
    "materialize_rss",
    "materialize_rss_fresh",
    "measure_model",
    "torch_loop",
]


@dataclass(frozen=True)
class ModelSpec:
    """A model shape: the family (``gpt2`` or ``llama``), its sizes, dtype and preset."""

    family: str
    d: int
    n_layer: int
    ffn: int
    vocab: int
    n_head: int
    positions: int = 1024
    dtype: str = "float32"

    @property
    def preset(self) -> str:
        return self.family

    @property
    def torch_dtype(self) -> torch.dtype:
        dt: torch.dtype = getattr(torch, self.dtype)
        return dt


#: The models of the benchmark, and tiny ones for the smoke test.
MODELS: dict[str, ModelSpec] = {
    "gpt2-small": ModelSpec("gpt2", 768, 12, 3072, 50257, 12),
    "llama-1b-bf16": ModelSpec("llama", 2048, 16, 5632, 32000, 16, dtype="bfloat16"),
    "gpt2-tiny": ModelSpec("gpt2", 64, 2, 256, 500, 4, positions=64),
    "llama-tiny-bf16": ModelSpec("llama", 64, 2, 176, 500, 4, dtype="bfloat16"),
}


class _Attention(nn.Module):
    def __init__(self, d: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d, dtype=dtype)
        self.c_proj = nn.Linear(d, d, dtype=dtype)


class _MLP(nn.Module):
    def __init__(self, d: int, ffn: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, ffn, dtype=dtype)
        self.c_proj = nn.Linear(ffn, d, dtype=dtype)


class _GPT2Block(nn.Module):
    def __init__(self, d: int, ffn: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, dtype=dtype)
        self.attn = _Attention(d, dtype)
        self.ln_2 = nn.LayerNorm(d, dtype=dtype)
        self.mlp = _MLP(d, ffn, dtype)


class GPT2(nn.Module):
    """GPT-2-shaped parameters (no forward pass: only the init is measured)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        dt = spec.torch_dtype
        self.n_layer = spec.n_layer
        self.wte = nn.Embedding(spec.vocab, spec.d, dtype=dt)
        self.wpe = nn.Embedding(spec.positions, spec.d, dtype=dt)
        self.h = nn.ModuleList(_GPT2Block(spec.d, spec.ffn, dt) for _ in range(spec.n_layer))
        self.ln_f = nn.LayerNorm(spec.d, dtype=dt)
        self.lm_head = nn.Linear(spec.d, spec.vocab, bias=False, dtype=dt)
        self.lm_head.weight = self.wte.weight  # tied, as in GPT-2


class _LlamaAttention(nn.Module):
    def __init__(self, d: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.q_proj = nn.Linear(d, d, bias=False, dtype=dtype)
        self.k_proj = nn.Linear(d, d, bias=False, dtype=dtype)
        self.v_proj = nn.Linear(d, d, bias=False, dtype=dtype)
        self.o_proj = nn.Linear(d, d, bias=False, dtype=dtype)


class _LlamaMLP(nn.Module):
    def __init__(self, d: int, ffn: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d, ffn, bias=False, dtype=dtype)
        self.up_proj = nn.Linear(d, ffn, bias=False, dtype=dtype)
        self.down_proj = nn.Linear(ffn, d, bias=False, dtype=dtype)


class _LlamaBlock(nn.Module):
    def __init__(self, d: int, ffn: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.input_layernorm = nn.RMSNorm(d, dtype=dtype)
        self.self_attn = _LlamaAttention(d, dtype)
        self.post_attention_layernorm = nn.RMSNorm(d, dtype=dtype)
        self.mlp = _LlamaMLP(d, ffn, dtype)


class _Rotary(nn.Module):
    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
        self.register_buffer("inv_freq", inv_freq.float(), persistent=False)


class Llama(nn.Module):
    """LLaMA-shaped parameters and the rotary ``inv_freq`` buffer."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        dt = spec.torch_dtype
        self.embed_tokens = nn.Embedding(spec.vocab, spec.d, dtype=dt)
        self.layers = nn.ModuleList(_LlamaBlock(spec.d, spec.ffn, dt) for _ in range(spec.n_layer))
        self.norm = nn.RMSNorm(spec.d, dtype=dt)
        self.rotary_emb = _Rotary(spec.d // spec.n_head)
        self.lm_head = nn.Linear(spec.d, spec.vocab, bias=False, dtype=dt)


def build(spec: ModelSpec) -> nn.Module:
    """The model of ``spec``, built by torch (on the current default device)."""
    return GPT2(spec) if spec.family == "gpt2" else Llama(spec)


def torch_loop(model: nn.Module, spec: ModelSpec) -> None:
    """The preset's distributions drawn with ``torch.nn.init`` in a loop over the parameters (torch's RNG)."""
    init = nn.init
    residual = 0.02 / math.sqrt(2 * spec.n_layer)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("norm.weight", "ln_1.weight", "ln_2.weight", "ln_f.weight")):
                init.ones_(p)
            elif name.endswith(".bias"):
                init.zeros_(p)
            elif spec.family == "gpt2" and name.endswith("c_proj.weight"):
                init.normal_(p, 0.0, residual)
            else:
                init.normal_(p, 0.0, 0.02)


def model_bytes(model: nn.Module) -> int:
    """Bytes of the model's distinct parameters and buffers."""
    seen: dict[int, int] = {}
    for t in [*model.parameters(), *model.buffers()]:
        seen[id(t)] = t.numel() * t.element_size()
    return sum(seen.values())


def _clock(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure_model(spec: ModelSpec, repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    """Median seconds of torch's default construction, the torch ``nn.init`` loop and ``init_module``.

    The three are interleaved, ``repeats`` times each, after one untimed
    warm-up of each (page faults of a first allocation, kernel compilation).
    The loop and ``init_module`` fill the same allocated model.
    """
    from xinit_bench import torch as xt

    load_before = os.getloadavg()[0]
    model = build(spec)
    preset = xt.gpt2(spec.n_layer) if spec.family == "gpt2" else "llama"
    times: dict[str, list[float]] = {"default construction": [], "torch nn.init loop": [], "xinit init_module": []}

    def construct() -> None:
        m = build(spec)
        del m

    for rep in range(repeats + 1):
        gc.collect()
        results = [
            _clock(construct),
            _clock(lambda: torch_loop(model, spec)),
            _clock(lambda: xt.init_module(model, preset, seed)),
        ]
        if rep:  # the first round is the warm-up
            for key, value in zip(times, results, strict=True):
                times[key].append(value)
    medians = {k: statistics.median(v) for k, v in times.items()}
    ours = medians["xinit init_module"]
    return {
        "model": asdict(spec),
        "parameters": sum(p.numel() for p in model.parameters()),
        "bytes": model_bytes(model),
        "repeats": repeats,
        "seconds": times,
        "median_s": medians,
        "speedup_vs_loop": medians["torch nn.init loop"] / ours,
        "speedup_vs_default": medians["default construction"] / ours,
        "torch_threads": torch.get_num_threads(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def materialize_rss_fresh(name: str, seed: int = 0) -> dict[str, Any]:
    """:func:`materialize_rss` of ``MODELS[name]`` in a new Python process, its figure returned.

    In a process that has already built and freed models, ``materialize``
    reuses freed pages without raising the resident set, and the ratio reads
    low (0.37 for GPT-2-small after the timing rounds, measured, against
    1.00 in a fresh process).
    """
    code = (
        "import json, sys\n"
        "from xinit_bench.perf.models import MODELS, materialize_rss\n"
        "print(json.dumps(materialize_rss(MODELS[sys.argv[1]], int(sys.argv[2]))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, name, str(seed)], capture_output=True, text=True, check=False, timeout=1800
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(f"the materialize measurement of {name} failed: {lines[-1] if lines else 'no message'}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def materialize_rss(spec: ModelSpec, seed: int = 0) -> dict[str, Any]:
    """Peak resident-set growth of ``materialize`` on ``spec`` built under ``torch.device("meta")``.

    Linux only (the peak is reset through ``/proc/self/clear_refs``).  Run it
    in a fresh process for a clean figure; the kernels are compiled first, on
    a tiny model, so that compilation is not counted.
    """
    from xinit_bench import torch as xt

    def hooks() -> dict[str, Any]:
        return {"*.inv_freq": xt.rope_inv_freq()}

    preset = xt.gpt2(spec.n_layer) if spec.family == "gpt2" else "llama"
    tiny = MODELS["llama-tiny-bf16" if spec.family == "llama" else "gpt2-tiny"]
    with torch.device("meta"):
        warm = build(ModelSpec(**{**asdict(tiny), "dtype": spec.dtype}))
    xt.materialize(warm, preset, seed, hooks=hooks())
    del warm
    gc.collect()
    with torch.device("meta"):
        model = build(spec)
    status = "/proc/self/status"
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    before = _status_kib(status, "VmRSS")
    start = time.perf_counter()
    xt.materialize(model, preset, seed, hooks=hooks())
    seconds = time.perf_counter() - start
    peak = _status_kib(status, "VmHWM")
    size = model_bytes(model)
    increase = (peak - before) * 1024
    return {
        "model": asdict(spec),
        "bytes": size,
        "rss_before": before * 1024,
        "peak_increase": increase,
        "ratio": increase / size,
        "seconds": seconds,
    }
