"""``xinit-bench compile``: fill Numba's on-disk cache with every kernel, ahead of the first call."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..warmup import DTYPES, GROUPS, CacheStatus, cache_status, compile_all
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
            "propagation study's activation kernels and the Householder QR of orthogonal (about 25 s of its own) "
            "into Numba's on-disk cache. A fresh process with an empty "
            "cache otherwise spends a few seconds of CPU compiling each kernel on its first call. Kernels "
            "already in the cache load in milliseconds. Ends with how many signatures the cache holds."
        ),
    )
    p.add_argument(
        "--groups",
        type=comma_choices(GROUPS),
        default=GROUPS,
        help=f"comma-separated groups of kernels (default: {','.join(GROUPS)})",
    )
    p.add_argument("--dtypes", type=comma_choices(DTYPES), default=DTYPES, help="comma-separated output dtypes")
    add_json_option(p, "the CPU seconds of every signature and what the cache holds")
    p.set_defaults(func=run)
    one_line_errors(p)


def cache_line(status: CacheStatus) -> str:
    """``kernel cache: 88 of 88 signatures warm in <folder>``, or why there is no cache."""
    if not status.enabled:
        return (
            f"kernel cache: off, Numba found no writable cache location ({status.warm} of {status.total} "
            "signatures warm); set NUMBA_CACHE_DIR to a writable folder"
        )
    where = ", ".join(status.folders) or "-"
    return f"kernel cache: {status.warm} of {status.total} signatures warm in {where}"


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench compile``."""
    json_to = json_target(args.json)  # a bad path raises UsageError: one line and exit 2, from main()
    started = time.process_time()
    with progress("compile", unit="signatures") as bar:
        records = compile_all(args.groups, args.dtypes, progress=bar.advance, total=bar.set_total)
    spent = time.process_time() - started
    status = cache_status(args.groups, args.dtypes)
    compiled = sum(r.compiled for r in records)
    if not to_stdout(json_to):
        con = console()
        con.print(
            f"xinit-bench compile: {len(records)} kernel signatures ready, {compiled} compiled and "
            f"{len(records) - compiled} loaded from the cache, {spent:.1f} s of CPU",
            highlight=False,
        )
        con.print(cache_line(status), highlight=False, soft_wrap=True)
    if json_to is not None:
        emit_json(
            {
                "cpu_seconds": spent,
                "compiled": compiled,
                "loaded": len(records) - compiled,
                "cache": status.to_dict(),
                "signatures": [r.to_dict() for r in records],
            },
            json_to,
        )
    return 0
