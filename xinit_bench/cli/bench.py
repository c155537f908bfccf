"""``xinit-bench bench``: throughput against NumPy and the memory-bandwidth limit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ..perf import bench, cases
from ..perf.timing import DEFAULT_REPEATS
from ..runtime import threads
from .common import (
    USAGE,
    UsageError,
    add_json_option,
    check_writable,
    comma_choices,
    console,
    emit_json,
    fail,
    json_target,
    one_line_errors,
    progress,
    to_stdout,
)

PROG = "xinit-bench bench"


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return cases.parse_sizes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def setup_arguments(subparsers: Any) -> None:
    """Add ``bench`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "bench",
        help="throughput of every scheme against NumPy and the memory-bandwidth limit",
        description=(
            "Measure M samples/s of xinit-bench, of NumPy's fastest path and of a parallel constant "
            "fill (the memory-bandwidth limit) on the same pre-faulted buffer, interleaved, after a "
            "warm-up call; each figure is the median of --repeats runs. Also 1-vs-all-threads "
            "scaling at the largest size, a 1K-element call against the NumPy reference, and "
            "the speed targets."
        ),
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=bench.DEFAULT_SIZES,
        help="comma-separated element counts, e.g. 1K,1M,64M (default: 1K,64K,1M,16M,64M)",
    )
    p.add_argument(
        "--schemes",
        type=comma_choices(cases.ALL_SCHEMES),
        default=cases.SCHEMES,
        help=f"comma-separated schemes (default: {','.join(cases.SCHEMES)}; also {','.join(cases.EXTRA_SCHEMES)})",
    )
    p.add_argument("--dtypes", type=comma_choices(cases.DTYPES), default=cases.DTYPES, help="comma-separated dtypes")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="interleaved runs per figure (>= 5)")
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument("--no-scaling", action="store_true", help="skip the 1-vs-all-threads measurement")
    p.add_argument("--no-small-call", action="store_true", help="skip the 1K-element call measurement")
    add_json_option(p)
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="also write the JSON results to FILE")
    p.set_defaults(func=run)
    one_line_errors(p)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench bench``."""
    try:
        json_to = json_target(args.json)
        if args.output is not None:
            check_writable(args.output, "-o/--output")
        config = bench.BenchConfig(
            sizes=args.sizes,
            schemes=args.schemes,
            dtypes=args.dtypes,
            repeats=args.repeats,
            scaling=not args.no_scaling,
            small_call_size=None if args.no_small_call else bench.SMALL_CALL_SIZE,
        )
        config.check_memory()
        with threads(args.threads), progress("bench") as bar:
            bar.set_total(config.steps())
            report = bench.run_bench(config, bar.advance)
    except (UsageError, ValueError, TypeError) as exc:
        return fail(PROG, str(exc), USAGE)
    data = report.to_dict()
    if not to_stdout(json_to):
        print_report(report)
    for target in (json_to, args.output):
        if target is not None:
            emit_json(data, target)
    return 0


def _rate(value: float) -> str:
    """Throughput with three significant digits at most, thousands separated."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def print_report(report: bench.BenchReport, out: TextIO | None = None) -> None:
    """Print a :class:`~xinit_bench.perf.bench.BenchReport` as rich tables on ``out`` (default stdout)."""
    from rich.table import Table

    con = console(sys.stdout if out is None else out)
    env = report.environment
    repeats = report.config["repeats"]
    con.print(
        f"[bold]xinit-bench bench[/bold]  {env['cpu_key']}  threads={env['threads']} "
        f"({env['threading_layer']})  numpy {env['numpy']}  numba {env['numba']}  "
        f"{report.elapsed:.0f} s"
    )
    table = Table(
        title=f"M samples/s, wall-clock medians of {repeats} interleaved runs on one buffer",
        title_justify="left",
        caption="cpu/wall: process_time over perf_counter of the xinit call (busy threads); "
        "'!' marks a row where NumPy got under 90% of a core (machine loaded)",
        caption_justify="left",
    )
    for column in ("scheme", "dtype", "size", "xinit", "numpy", "fill", "xinit/numpy", "xinit/fill", "cpu/wall"):
        table.add_column(column, justify="left" if column in ("scheme", "dtype") else "right")
    for r in report.results:
        loaded = r.seconds("numpy", "cpu") < 0.9 * r.seconds("numpy", "wall")
        table.add_row(
            r.case.scheme,
            r.case.dtype,
            cases.size_label(r.case.size),
            _rate(r.msps("xinit")),
            _rate(r.msps("numpy")),
            _rate(r.msps("fill")),
            f"{r.ratio('xinit', 'numpy'):.2f}",
            f"{r.ratio('xinit', 'fill'):.3f}",
            f"{r.seconds('xinit', 'cpu') / r.seconds('xinit', 'wall'):.2f}" + ("!" if loaded else ""),
        )
    con.print(table)

    if report.scaling:
        scal = Table(title="thread scaling of the xinit fill (wall medians, interleaved)", title_justify="left")
        for column in ("case", "1 thread ms", "threads", "n threads ms", "speed-up"):
            scal.add_column(column, justify="left" if column == "case" else "right")
        for s in report.scaling:
            scal.add_row(
                s.case.name, f"{s.wall_1 * 1e3:.1f}", str(s.threads), f"{s.wall_n * 1e3:.1f}", f"{s.speedup:.2f}"
            )
        con.print(scal)

    if report.small_calls:
        small = Table(title="one allocating call against the NumPy reference call", title_justify="left")
        for column in ("case", "xinit us", "numpy us", "xinit/numpy time"):
            small.add_column(column, justify="left" if column == "case" else "right")
        for c in report.small_calls:
            small.add_row(c.case.name, f"{c.xinit_seconds * 1e6:.1f}", f"{c.numpy_seconds * 1e6:.1f}", f"{c.ratio:.2f}")
        con.print(small)

    targets = Table(title="speed targets (at the largest measured size)", title_justify="left")
    for column in ("target", "size", "measured", "status"):
        targets.add_column(column, justify="left" if column in ("target", "status") else "right")
    for t in report.targets:
        targets.add_row(
            t.label,
            "-" if t.size is None else cases.size_label(t.size),
            "-" if t.value is None else f"{t.value:.2f}",
            t.status,
            style={"MISS": "bold red", "pass": "green"}.get(t.status),
        )
    con.print(targets)
