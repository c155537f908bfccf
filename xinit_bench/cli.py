"""The ``xinit-bench`` command line.

Subcommands: ``bench`` (the main job: throughput against NumPy and the
memory-bandwidth limit), ``gate`` (CI regression gate), ``propagate`` and
``gains`` (variance propagation study), ``info`` (versions, threading layer,
CPU, threads).  Tables by default, ``--json`` on request.  The CLI, unlike the
library, may set the thread count (``--threads``) and records what it used.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Any, Sequence

from . import _cli_bench, _cli_propagate


def _cpu_model_and_flags() -> tuple[str, list[str]]:
    model: str = platform.processor() or platform.machine()
    flags: list[str] = []
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith(("flags", "Features")) and not flags:
                    flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    return model, flags


#: The CPU flags that decide which code LLVM emits for the kernels.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "asimd", "sve")


def info() -> dict[str, Any]:
    """Versions, the Numba threading layer (after one parallel launch), CPU and threads."""
    import numpy as np

    from .bench import environment
    from .kernels.fill import fill_constant

    fill_constant(np.empty(1 << 17, np.float32), np.float32(0))  # initialise the threading layer
    env = environment()
    model, flags = _cpu_model_and_flags()
    env["cpu_model"] = model
    env["simd_flags"] = [f for f in SIMD_FLAGS if f in flags]
    return env


def _run_info(args: argparse.Namespace) -> int:
    data = info()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="xinit-bench info", show_header=False)
    for k, v in data.items():
        table.add_row(k, ", ".join(v) if isinstance(v, list) else str(v))
    Console().print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xinit-bench",
        description="Fast, bit-reproducible weight initialisation: benchmarks, CI gate, variance propagation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _cli_bench.register(sub)
    _cli_propagate.register(sub)
    p = sub.add_parser("info", help="versions, threading layer, CPU flags and thread count")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_run_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
