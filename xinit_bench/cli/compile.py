"""``xinit-bench compile``: fill Numba's on-disk cache with every kernel, ahead of the first call."""

from __future__ import annotations

import argparse
from typing import Any

from ..warmup import DTYPES, GROUPS, compile_all
from .common import (
    add_json_option,
    comma_choices,
    console,
    emit_json,
    json_target,
    one_line_errors,
    progress,
    to_stdout,
)


def setup_arguments(subparsers: Any) -> None:
    """Add ``compile`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "compile",
        help="compile every kernel into the on-disk cache, so later processes start in about a second",
        description=(
            "Compile every fill kernel (each sampler kind, float32 and float64, serial and parallel) and the "
            "propagation study's activation kernels into Numba's on-disk cache. A fresh process with an empty "
            "cache otherwise spends a few seconds of CPU compiling each kernel on its first call. Kernels "
            "already in the cache load in milliseconds."
        ),
    )
    p.add_argument(
        "--groups",
        type=comma_choices(GROUPS),
        default=GROUPS,
        help=f"comma-separated groups of kernels (default: {','.join(GROUPS)})",
    )
    p.add_argument("--dtypes", type=comma_choices(DTYPES), default=DTYPES, help="comma-separated output dtypes")
    add_json_option(p, "the CPU seconds of every signature")
    p.set_defaults(func=run)
    one_line_errors(p)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench compile``."""
    json_to = json_target(args.json)  # a bad path raises UsageError: one line and exit 2, from main()
    with progress("compile", unit="signatures") as bar:
        records = compile_all(args.groups, args.dtypes, progress=bar.advance, total=bar.set_total)
    spent = sum(r.cpu_seconds for r in records)
    if not to_stdout(json_to):
        console().print(
            f"xinit-bench compile: {len(records)} kernel signatures ready in the cache, "
            f"{spent:.1f} s of CPU ({sum(r.cpu_seconds > 0.05 for r in records)} compiled, the rest cached)"
        )
    if json_to is not None:
        emit_json({"cpu_seconds": spent, "signatures": [r.to_dict() for r in records]}, json_to)
    return 0
