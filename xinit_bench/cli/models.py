"""``xinit-bench models``: whole-model init of PyTorch models against torch, in one run.

For each model (``--models gpt2-small,llama-1b-bf16`` by default) it times
torch's default construction, a ``torch.nn.init`` loop drawing the preset's
distributions, and :func:`xinit_bench.torch.init_module`, interleaved, and
prints the medians and ratios with the load average before and after
(:func:`xinit_bench.perf.models.measure_model`).  ``--materialize`` adds the
peak resident-set growth of :func:`xinit_bench.torch.materialize` against the
model's bytes (:func:`xinit_bench.perf.models.materialize_rss`; Linux).  The
big models need about 2 GB (GPT-2-small) and 4 GB (the 1B bf16 model) and a
few minutes; the tiny ones are for smoke tests.
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_json_option, comma_choices, console, emit_json, fmt, json_target, one_line_errors, to_stdout

_DEFAULT = ("gpt2-small", "llama-1b-bf16")
#: The names of ``xinit_bench.perf.models.MODELS``, here so that the CLI starts without importing torch.
MODEL_NAMES = ("gpt2-small", "llama-1b-bf16", "gpt2-tiny", "llama-tiny-bf16")


def setup_arguments(subparsers: Any) -> None:
    """Add ``models`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser("models", help="whole-model init of PyTorch models: xinit-bench against torch")
    p.add_argument(
        "--models",
        type=comma_choices(MODEL_NAMES),
        default=_DEFAULT,
        help=f"comma-separated models, from {', '.join(MODEL_NAMES)} (default {','.join(_DEFAULT)})",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed rounds per model, after one warm-up (default 3)")
    p.add_argument("--materialize", action="store_true", help="also measure materialize's peak RSS growth")
    add_json_option(p, "the measurements")
    p.set_defaults(func=run)
    one_line_errors(p)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench models``."""
    json_to = json_target(args.json)
    if args.repeats < 1:
        from .common import fail

        return fail("xinit-bench models", f"--repeats must be an int >= 1, got {args.repeats}")
    from ..perf.models import MODELS, materialize_rss_fresh, measure_model  # torch is imported only here

    results = []
    for name in args.models:
        row: dict[str, Any] = {"name": name, **measure_model(MODELS[name], args.repeats)}
        if args.materialize:
            row["materialize"] = materialize_rss_fresh(name)
        results.append(row)
    if not to_stdout(json_to):
        from rich import box
        from rich.table import Table

        table = Table(
            title=f"whole-model init, seconds, medians of {args.repeats}; vs: speed-up, torch's time / xinit's",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        for col in ("model", "params", "default", "torch loop", "xinit", "vs loop", "vs default", "load", "RSS/bytes"):
            table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
        for r in results:
            med = r["median_s"]
            table.add_row(
                r["name"],
                f"{r['parameters'] / 1e6:.0f} M",
                fmt(med["default construction"], "{:.3f}"),
                fmt(med["torch nn.init loop"], "{:.3f}"),
                fmt(med["xinit init_module"], "{:.3f}"),
                fmt(r["speedup_vs_loop"], "{:.2f}x"),
                fmt(r["speedup_vs_default"], "{:.2f}x"),
                f"{r['load_before']:.1f} -> {r['load_after']:.1f}",
                fmt(r["materialize"]["ratio"] if "materialize" in r else None, "{:.3f}"),
            )
        console().print(table)
    if json_to is not None:
        emit_json(results, json_to)
    return 0
