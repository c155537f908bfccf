"""``xinit-bench info``: versions, threading layer, CPU model, SIMD flags and thread count."""

from __future__ import annotations

import argparse
from typing import Any

from ..perf.machine import describe
from .common import add_json_option, console, emit_json, json_target, one_line_errors, to_stdout


def setup_arguments(subparsers: Any) -> None:
    """Add ``info`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser("info", help="versions, threading layer, CPU flags and thread count")
    add_json_option(p, "the information")
    p.set_defaults(func=run)
    one_line_errors(p)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench info``."""
    json_to = json_target(args.json)  # a bad path raises UsageError: one line and exit 2, from main()
    data = describe()
    if not to_stdout(json_to):
        from rich.table import Table

        table = Table(title="xinit-bench info", show_header=False)
        for k, v in data.items():
            table.add_row(k, ", ".join(v) if isinstance(v, list) else str(v))
        console().print(table)
    if json_to is not None:
        emit_json(data, json_to)
    return 0
