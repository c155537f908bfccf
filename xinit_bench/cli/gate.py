"""``xinit-bench gate``: the CI regression gate (see :mod:`xinit_bench.perf.figures` for what it gates).

Every bad input is a one-line message on stderr and a distinct exit code
(:class:`~xinit_bench.perf.gate.ExitCode`), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..perf import gate
from ..perf.cases import XinitFactory
from .common import (
    UsageError,
    add_json_option,
    console,
    emit_json,
    fmt,
    json_target,
    one_line_errors,
    progress,
    to_stdout,
)

PROG = "xinit-bench gate"


def setup_arguments(subparsers: Any) -> None:
    """Add ``gate`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser = subparsers.add_parser(
        "gate",
        help="CI regression gate against benchmarks/baseline/<cpu>.json",
        description="CI regression gate: kernel times normalised by NumPy and the bandwidth fill of the same run.",
        epilog="exit codes: " + ", ".join(f"{int(c)} {c.name.lower()}" for c in gate.ExitCode),
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="FILE",
        help="gate the figures of a pytest-benchmark JSON written by tests/perf instead of measuring",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="baseline file (default: <baseline-dir>/<cpu key>.json; it is an error if an explicit file is missing)",
    )
    parser.add_argument(
        "--baseline-dir",
        type=Path,
        default=gate.BASELINE_DIR,
        metavar="DIR",
        help=f"folder of per-CPU baselines (default: {gate.BASELINE_DIR})",
    )
    parser.add_argument("--update-baseline", action="store_true", help="write the measured figures into the baseline")
    parser.add_argument("--quick", action="store_true", help="measure only 1M elements, 7 repetitions (CI mode)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="measure only this benchmark, e.g. normal-float32-1M",
    )
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repetitions per benchmark")
    parser.add_argument(
        "--threads",
        type=int,
        default=gate.GATE_THREADS,
        help="Numba threads while measuring (default 1; see `pydoc xinit_bench.perf.figures` before changing it)",
    )
    add_json_option(parser, "the result")
    parser.set_defaults(func=run)
    one_line_errors(parser)


def options_from_args(args: argparse.Namespace) -> gate.GateOptions:
    """The :class:`~xinit_bench.perf.gate.GateOptions` that parsed ``args`` describe."""
    return gate.GateOptions(
        from_json=args.from_json,
        baseline=args.baseline,
        baseline_dir=args.baseline_dir,
        update_baseline=args.update_baseline,
        quick=args.quick,
        only=tuple(args.only),
        repeats=args.repeats,
        threads=args.threads,
    )


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench gate``."""
    with progress("gate", enabled=args.from_json is None) as bar:
        return execute(args, progress=bar.advance, total=bar.set_total)


def execute(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    xinit_factory: XinitFactory | None = None,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> int:
    """Run the gate and report; every bad input becomes a message and a distinct exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if args.repeats is not None and args.repeats < 3:
        err.write(f"{PROG}: error: --repeats must be at least 3, got {args.repeats}\n")
        return int(gate.ExitCode.USAGE)
    try:
        json_to = json_target(args.json)
        outcome = gate.run(options_from_args(args), xinit_factory=xinit_factory, progress=progress, total=total)
    except gate.GateError as exc:
        err.write(f"{PROG}: error: {exc.message}\n")
        return int(exc.code)
    except (UsageError, ValueError, TypeError) as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return int(gate.ExitCode.USAGE)
    return report(outcome, json_to, out, err)


def report(outcome: gate.Outcome, json_to: Path | None, out: TextIO, err: TextIO) -> int:
    """Print ``outcome`` (table and/or JSON) and its messages; return its exit code."""
    if not to_stdout(json_to):
        plural = "" if outcome.threads == 1 else "s"
        title = f"xinit-bench gate: time / sqrt(NumPy time * fill time), process_time, {outcome.threads} thread{plural}"
        render_rows(outcome.rows, out, title)
    if json_to is not None:
        emit_json(outcome.to_dict(), json_to, out=out, err=err)
    for message in outcome.messages:
        err.write(f"{PROG}: {message}\n")
    verdict = "FAILED" if outcome.code == gate.ExitCode.REGRESSION else "passed"
    err.write(f"{PROG}: {verdict}\n")
    return int(outcome.code)


def render_rows(rows: Sequence[gate.Row], out: TextIO, title: str) -> None:
    """Print ``rows`` as a table, regressions first, then improvements."""
    from rich.table import Table

    order = {"REGRESSION": 0, "improved": 1, "new": 2, "ok": 3, "not measured": 4}
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("benchmark", "left"),
        ("status", "left"),
        ("change", "right"),
        ("allowed", "right"),
        ("figure", "right"),
        ("baseline", "right"),
        ("xinit/numpy", "right"),
        ("xinit/fill", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    styles = {"REGRESSION": "bold red", "improved": "green"}
    for row in sorted(rows, key=lambda r: (order.get(r.status, 9), r.name)):
        table.add_row(
            row.name,
            row.status,
            fmt(row.change, "{:.2f}x"),
            fmt(None if row.tolerance is None else 1.0 + row.tolerance, "{:.2f}x"),
            fmt(row.current, "{:.3f}"),
            fmt(row.baseline, "{:.3f}"),
            fmt(row.vs_numpy, "{:.3f}"),
            fmt(row.vs_fill, "{:.3f}"),
            style=styles.get(row.status),
        )
    console(out, width=120).print(table)
