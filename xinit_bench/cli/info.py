"""``xinit-bench info``: versions, threading layer, CPU, thread count and what the kernel cache holds."""

from __future__ import annotations

import argparse
from typing import Any

from ..perf.machine import OPTIONAL, describe
from ..warmup import cache_status
from .common import add_json_option, console, emit_json, json_target, one_line_errors, to_stdout


def setup_arguments(subparsers: Any) -> None:
    """Add ``info`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "info",
        help="versions, threading layer, CPU flags, thread count and the kernel cache",
        description=(
            "Versions (the optional torch, dask and zarr included), Numba's threading layer, the CPU and "
            "its SIMD flags, the thread count, and the kernel cache: its folder and how many of the kernel "
            "signatures that `xinit-bench compile` compiles it holds (read from Numba's index; nothing is "
            "compiled)."
        ),
    )
    add_json_option(p, "the information")
    p.set_defaults(func=run)
    one_line_errors(p)


def _cell(key: str, value: Any) -> str:
    if value is None and key in OPTIONAL:
        return "not installed"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench info``."""
    json_to = json_target(args.json)  # a bad path raises UsageError: one line and exit 2, from main()
    data = describe()
    status = cache_status()
    data["kernel_cache"] = status.to_dict()
    if not to_stdout(json_to):
        from rich.table import Table

        table = Table(title="xinit-bench info", title_justify="left", show_header=False)
        table.add_column("what", no_wrap=True)
        table.add_column("value", overflow="fold")
        for k, v in data.items():
            if k != "kernel_cache":
                table.add_row(k, _cell(k, v))
        if status.enabled:
            table.add_row("kernel cache", f"{status.warm} of {status.total} kernel signatures warm")
            table.add_row("cache folder", ", ".join(status.folders) or "-")
        else:
            table.add_row("kernel cache", "off: Numba found no writable location (set NUMBA_CACHE_DIR)")
        console().print(table)
    if json_to is not None:
        emit_json(data, json_to)
    return 0
