"""The ``bench`` and ``gate`` subcommands of ``xinit-bench``.

:func:`register` adds both to the CLI's subparsers; each sets
``func=<handler>``, a callable ``(args) -> int`` returning the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import bench, gate


def register(subparsers: Any) -> None:
    """Add ``bench`` and ``gate`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "bench",
        help="throughput of every scheme against NumPy and the memory-bandwidth limit",
        description=(
            "Measure M samples/s of xinit-bench, of NumPy's fastest path and of a parallel constant "
            "fill (the memory-bandwidth limit) on the same pre-faulted buffer, interleaved, after a "
            "warm-up call; each figure is the median of --repeats runs. Also 1-vs-all-threads "
            "scaling at the largest size, a 1K-element call against the NumPy reference, and "
            "issue 2's speed targets."
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
        type=_choices(bench.ALL_SCHEMES),
        default=bench.SCHEMES,
        help=f"comma-separated schemes (default: {','.join(bench.SCHEMES)}; also {','.join(bench.EXTRA_SCHEMES)})",
    )
    p.add_argument("--dtypes", type=_choices(bench.DTYPES), default=bench.DTYPES, help="comma-separated dtypes")
    p.add_argument("--repeats", type=int, default=bench.DEFAULT_REPEATS, help="interleaved runs per figure (>= 5)")
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument("--no-scaling", action="store_true", help="skip the 1-vs-all-threads measurement")
    p.add_argument("--no-small-call", action="store_true", help="skip the 1K-element call measurement")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout instead of tables")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="also write the JSON results to FILE")
    p.set_defaults(func=run_bench)

    g = subparsers.add_parser(
        "gate",
        help="CI regression gate against benchmarks/baseline/<cpu>.json",
        description=(gate.__doc__ or "").split("\n\n")[0],
        epilog="exit codes: " + ", ".join(f"{int(c)} {c.name.lower()}" for c in gate.ExitCode),
    )
    gate.add_arguments(g)
    g.set_defaults(func=run_gate)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(bench.parse_size(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _choices(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(part.strip() for part in text.split(",") if part.strip())
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"{text!r}: allowed values are {', '.join(allowed)}")
        return values

    return parse


@contextlib.contextmanager
def _progress(description: str, enabled: bool = True) -> Iterator[tuple[Callable[[str], None], Callable[[int], None]]]:
    """A rich progress bar on stderr; yields ``(advance(label), set_total(n))``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield (lambda _label: None), (lambda _n: None)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None, label="")

        def advance(label: str) -> None:
            bar.update(task, advance=1, label=label)

        def set_total(n: int) -> None:
            bar.update(task, total=n)

        yield advance, set_total


def run_bench(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench bench``."""
    try:
        config = bench.BenchConfig(
            sizes=args.sizes,
            schemes=args.schemes,
            dtypes=args.dtypes,
            repeats=args.repeats,
            scaling=not args.no_scaling,
            small_call_size=None if args.no_small_call else 1 << 10,
        )
        with bench.threads(args.threads), _progress("bench") as (advance, set_total):
            set_total(config.steps())
            report = bench.run_bench(config, advance)
    except ValueError as exc:
        sys.stderr.write(f"xinit-bench bench: error: {exc}\n")
        return 2
    data = report.to_dict()
    if args.output is not None:
        args.output.write_text(json.dumps(data, indent=2) + "\n")
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        print_report(report)
    return 0


def run_gate(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench gate``."""
    measuring = args.from_json is None
    with _progress("gate", enabled=measuring) as (advance, set_total):
        return gate.execute(args, progress=advance, total=set_total)


def _rate(value: float) -> str:
    """Throughput with three significant digits at most, thousands separated."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def print_report(report: bench.BenchReport) -> None:
    """Print a :class:`~xinit_bench.bench.BenchReport` as rich tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 132)
    env = report.environment
    repeats = report.config["repeats"]
    console.print(
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
            bench.size_label(r.case.size),
            _rate(r.msps("xinit")),
            _rate(r.msps("numpy")),
            _rate(r.msps("fill")),
            f"{r.ratio('xinit', 'numpy'):.2f}",
            f"{r.ratio('xinit', 'fill'):.3f}",
            f"{r.seconds('xinit', 'cpu') / r.seconds('xinit', 'wall'):.2f}" + ("!" if loaded else ""),
        )
    console.print(table)

    if report.scaling:
        scal = Table(title="thread scaling of the xinit fill (wall medians, interleaved)", title_justify="left")
        for column in ("case", "1 thread ms", "threads", "n threads ms", "speed-up"):
            scal.add_column(column, justify="left" if column == "case" else "right")
        for s in report.scaling:
            scal.add_row(
                s.case.name, f"{s.wall_1 * 1e3:.1f}", str(s.threads), f"{s.wall_n * 1e3:.1f}", f"{s.speedup:.2f}"
            )
        console.print(scal)

    if report.small_calls:
        small = Table(title="one allocating call against the NumPy reference call", title_justify="left")
        for column in ("case", "xinit us", "numpy us", "xinit/numpy time"):
            small.add_column(column, justify="left" if column == "case" else "right")
        for c in report.small_calls:
            small.add_row(c.case.name, f"{c.xinit_seconds * 1e6:.1f}", f"{c.numpy_seconds * 1e6:.1f}", f"{c.ratio:.2f}")
        console.print(small)

    targets = Table(title="issue 2 speed targets (at the largest measured size)", title_justify="left")
    for column in ("target", "size", "measured", "status"):
        targets.add_column(column, justify="left" if column in ("target", "status") else "right")
    for t in report.targets:
        targets.add_row(
            t.target.label,
            "-" if t.size is None else bench.size_label(t.size),
            "-" if t.value is None else f"{t.value:.2f}",
            t.status,
            style={"MISS": "bold red", "pass": "green"}.get(t.status),
        )
    console.print(targets)
