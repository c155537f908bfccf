"""Real Hugging Face models: init_module against a torch.nn.init loop, and signal_report's overhead.

Run as ``python -m benchmarks.bench_hf [--runs N] [--figure PATH] [--skip-1b] [--init-only] [--one-thread]``.
Everything is measured interleaved in one process after a warm-up round, and
quoted as medians and ratios of the same run:

- ``init_module(model, "auto")`` on the real ``GPT2LMHeadModel`` (GPT-2-small,
  float32) and ``LlamaForCausalLM`` of the LLaMA-1B shape (d=2048, 16 layers,
  FFN 5632, vocab 32000, bfloat16), against ``torch.nn.init`` drawing the
  same laws in a loop over the parameters, and against the ceiling: one
  ``xinit_bench.normal`` call into a preallocated buffer of the model's
  element count and dtype (every element of the model drawn in one launch,
  with no per-tensor work at all), so that ``torch loop / ceiling`` is the
  most any ``init_module`` could reach on this machine;
- ``signal_report`` against a bare forward and backward of the same loss on
  GPT-2-small's blocks (batch 2, 64 tokens).

``--figure`` also writes the signal propagation plot of GPT-2-small under
``gpt2``, ``gpt2`` without its c_proj scaling, and ``torch_default``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every model is built from a config: never reach the hub


#: The clock of every measurement: wall time, or CPU time of this process with ``--one-thread``.
_TIMER: list[Callable[[], float]] = [time.perf_counter]


def _clock(call: Callable[[], object]) -> float:
    start = _TIMER[0]()
    call()
    return _TIMER[0]() - start


def _one_thread() -> None:
    """torch and Numba on one thread each, clocked by CPU time: the work itself, whatever else the machine runs.

    torch's CPU ``normal_`` and ``uniform_`` draw serially (one generator,
    one thread) whatever ``torch.get_num_threads()`` says, while the kernels
    split a launch over Numba's threads; so on ``T`` free cores the wall
    ratio is at most about ``T`` times this one.
    """
    import numba
    import torch

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    _TIMER[0] = time.process_time


def _torch_loop(model: Any, std: float, n_layer: int | None) -> None:
    """The presets' laws with torch.nn.init, one parameter at a time (torch's RNG)."""
    import torch
    from torch import nn

    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or "ln_" in name):
                nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            elif n_layer is not None and name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * n_layer))
            else:
                nn.init.normal_(p, 0.0, std)


def _models(skip_1b: bool) -> dict[str, Any]:
    _offline()
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    out = {"gpt2-small": transformers.GPT2LMHeadModel(transformers.GPT2Config())}
    if not skip_1b:
        config = transformers.LlamaConfig(
            hidden_size=2048,
            num_hidden_layers=16,
            intermediate_size=5632,
            num_attention_heads=32,
            num_key_value_heads=32,
            vocab_size=32000,
        )
        with torch.device("meta"):
            meta = transformers.LlamaForCausalLM(config)
        meta = meta.to(torch.bfloat16)
        from xinit_bench import torch as xt

        xt.materialize(meta, "auto", seed=0)  # allocated once, without the library's own slow init
        out["llama-1b-bf16"] = meta
    return out


def _ceiling(model: Any) -> Callable[[], object]:
    """One normal draw of the model's element count (tied tensors once) in its dtype, into a buffer made once."""
    import numpy as np

    import xinit_bench as xb
    from xinit_bench.validation import bfloat16

    params = list(model.parameters())  # each tied tensor once
    total = sum(p.numel() for p in params)
    dt = bfloat16() if str(params[0].dtype) == "torch.bfloat16" else np.dtype(np.float32)
    out = np.zeros(total, dt)  # touched now: no page faults in the clock
    return lambda: xb.normal(total, 0.0, 0.02, seed=0, out=out)


def measure_init(runs: int, skip_1b: bool) -> list[dict[str, Any]]:
    from xinit_bench import torch as xt

    rows = []
    for name, model in _models(skip_1b).items():
        n_layer = getattr(model.config, "n_layer", None)
        ways = {
            "torch_loop": lambda m=model, n=n_layer: _torch_loop(m, 0.02, n),
            "init_module": lambda m=model: xt.init_module(m, "auto", seed=0),
            "ceiling": _ceiling(model),
        }
        for call in ways.values():
            call()  # warm-up
        times: dict[str, list[float]] = {k: [] for k in ways}
        for _ in range(runs):
            for k, call in ways.items():
                times[k].append(_clock(call))
        med = {k: statistics.median(v) for k, v in times.items()}
        # The ratio of each round, whose two sides ran back to back: what a noisy neighbour does to one
        # round shows in its pair, not in the medians of the two columns.
        paired = sorted(a / b for a, b in zip(times["torch_loop"], times["init_module"], strict=True))
        rows.append(
            {
                "model": name,
                **med,
                "ratio": med["torch_loop"] / med["init_module"],
                "round_ratios": paired,
                "ceiling_ratio": med["torch_loop"] / med["ceiling"],
                "of_ceiling": med["ceiling"] / med["init_module"],
                "runs": runs,
            }
        )
    return rows


def _gpt2_blocks() -> tuple[Any, dict[str, Any]]:
    _offline()
    import transformers

    from xinit_bench import torch as xt

    transformers.logging.set_verbosity_error()
    model = transformers.GPT2Model(transformers.GPT2Config(vocab_size=512))
    xt.init_module(model, "gpt2", seed=0)
    return model, xt.example_inputs(model, batch=2, length=64, seed=0)


def measure_report(runs: int) -> dict[str, Any]:
    import torch

    from xinit_bench import torch as xt

    model, inputs = _gpt2_blocks()
    model.eval()
    weights = torch.randn(2, 64, 768)

    def bare() -> None:
        y = model(**inputs).last_hidden_state
        (y.float() * weights).sum().backward()
        model.zero_grad(set_to_none=True)

    ways: dict[str, Callable[[], object]] = {"bare": bare, "report": lambda: xt.signal_report(model, inputs)}
    for call in ways.values():
        call()
    times: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(runs):
        for k, call in ways.items():
            times[k].append(_clock(call))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {**med, "overhead": med["report"] / med["bare"], "runs": runs}


def figure(path: str) -> dict[str, float]:
    from xinit_bench import torch as xt

    model, inputs = _gpt2_blocks()
    reports = {}
    for label, preset, rules in (
        ("gpt2", "gpt2", ()),
        ("gpt2, c_proj unscaled", "gpt2", [xt.Rule(xt.Normal(0.0, 0.02), None, "c_proj.weight")]),
        ("torch_default", "torch_default", ()),
    ):
        xt.init_module(model, preset, seed=0, rules=rules)
        reports[label] = xt.signal_report(model, inputs, seed=0)
    xt.plot_reports(reports, path, title="GPT-2-small (12 blocks of 768) at step 0, batch 2 x 64 tokens, seed 0")
    return {label: r.slope() for label, r in reports.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--figure", metavar="PATH")
    parser.add_argument("--skip-1b", action="store_true", help="leave out the 1B LLaMA (about 2 GB)")
    parser.add_argument("--init-only", action="store_true", help="leave out signal_report's overhead")
    parser.add_argument("--one-thread", action="store_true", help="one thread each, clocked by CPU time")
    args = parser.parse_args()
    if args.one_thread:
        _one_thread()
    if args.figure:
        for label, slope in figure(args.figure).items():
            print(f"slope of mean_sq per block, {label}: {slope:.4g}")
    if not args.init_only:
        r = measure_report(args.runs)
        print(
            f"signal_report {r['report']:.3f} s, bare forward+backward {r['bare']:.3f} s: {r['overhead']:.3f}x "
            f"(medians of {r['runs']})"
        )
    clock = "CPU time, one thread each" if args.one_thread else f"wall time, {os.cpu_count()} cores"
    print(f"load average before the init runs: {os.getloadavg()[0]:.2f}; {clock}")
    for row in measure_init(args.runs, args.skip_1b):
        print(
            f"{row['model']}: torch loop {row['torch_loop']:.3f} s, init_module {row['init_module']:.3f} s, "
            f"{row['ratio']:.2f}x; ceiling (one xb.normal of the same size) {row['ceiling']:.3f} s: torch loop / "
            f"ceiling {row['ceiling_ratio']:.2f}x, init_module at {row['of_ceiling']:.0%} of it "
            f"(medians of {row['runs']}); per round {min(row['round_ratios']):.2f}-{max(row['round_ratios']):.2f}x, "
            f"median {statistics.median(row['round_ratios']):.2f}x"
        )


if __name__ == "__main__":
    main()
