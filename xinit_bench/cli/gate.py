"""``xinit-bench gate``: the CI regression gate (see :mod:`xinit_bench.perf.figures` for what it gates).

Two modes, each with its own options: ``--against REF`` builds a
:class:`~xinit_bench.perf.gate_ab.ABOptions`, anything else a
:class:`~xinit_bench.perf.gate_baseline.BaselineOptions`.  An option of the
other mode is refused, naming both options.  Every bad input is a one-line
message on stderr and a distinct exit code
(:class:`~xinit_bench.perf.errors.ExitCode`), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..perf import ab
from ..perf.baseline import BASELINE_DIR
from ..perf.cases import XinitFactory
from ..perf.errors import ExitCode, GateError
from ..perf.figures import GATE_THREADS
from ..perf.gate import Outcome, Row
from ..perf.gate_ab import ABOptions, run_against
from ..perf.gate_baseline import BaselineOptions, run_baseline
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

#: The options of each mode, by ``argparse`` destination and flag.  They have
#: no ``argparse`` default (``None`` or ``False`` means "not given"), so that
#: the other mode can refuse them; each mode's own defaults are those of its
#: options type.
AB_FLAGS = {
    "repo": "--repo",
    "threshold": "--threshold",
    "confidence": "--confidence",
    "rounds": "--rounds",
    "pairs": "--pairs",
}
BASELINE_FLAGS = {
    "from_json": "--from-json",
    "baseline": "--baseline",
    "baseline_dir": "--baseline-dir",
    "update_baseline": "--update-baseline",
    "quick": "--quick",
    "repeats": "--repeats",
    "threads": "--threads",
}


def setup_arguments(subparsers: Any) -> None:
    """Add ``gate`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser = subparsers.add_parser(
        "gate",
        help="CI regression gate: A/B against a git commit (--against), or a committed per-CPU baseline",
        description=(
            "CI regression gate. With --against REF: REF's library and this one, measured interleaved in the same "
            "run; a benchmark fails when it is slower than --threshold with --confidence (one-sided, family-wise). "
            "Without: kernel times normalised by NumPy and the bandwidth fill, against "
            "benchmarks/baseline/<cpu>.json."
        ),
        epilog="exit codes: " + ", ".join(f"{int(c)} {c.name.lower()}" for c in ExitCode),
    )
    parser.add_argument(
        "--against",
        metavar="REF",
        help="A/B gate against this git revision (branch, tag, commit, HEAD~1), installed into a cache",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        metavar="DIR",
        help="--against: the git repository in which REF is resolved (default: the current folder)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="RATIO",
        help=f"--against: fail when slower than this ratio (default {ab.DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        help=f"--against: one-sided family-wise confidence of a failure (default {ab.DEFAULT_CONFIDENCE})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"--against: fresh pairs of worker processes (default {ab.DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        help=f"--against: interleaved sample pairs per benchmark and round (default {ab.DEFAULT_PAIRS})",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="FILE",
        help="gate the figures of a pytest-benchmark JSON written by tests/perf/bench instead of measuring",
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
        metavar="DIR",
        help=f"folder of per-CPU baselines (default: {BASELINE_DIR})",
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
    parser.add_argument("--repeats", type=int, help="interleaved repetitions per benchmark")
    parser.add_argument(
        "--threads",
        type=int,
        help=(
            f"Numba threads while measuring (default {GATE_THREADS}; "
            "see `pydoc xinit_bench.perf.figures` before changing it)"
        ),
    )
    add_json_option(parser, "the result")
    parser.set_defaults(func=run)
    one_line_errors(parser)


def options_from_args(args: argparse.Namespace) -> ABOptions | BaselineOptions:
    """The options of the mode ``args`` ask for: :class:`ABOptions` with ``--against``, else :class:`BaselineOptions`.

    Raises
    ------
    GateError
        ``BAD_INPUT`` for an option of the other mode (naming both options),
        or options that the mode's type refuses.
    """
    given = {dest for dest in (*AB_FLAGS, *BASELINE_FLAGS) if getattr(args, dest) is not None}
    given -= {dest for dest in ("update_baseline", "quick") if getattr(args, dest) is False}
    if args.against is not None:
        clashes = [BASELINE_FLAGS[dest] for dest in BASELINE_FLAGS if dest in given]
        if clashes == ["--threads"]:
            raise GateError(ExitCode.BAD_INPUT, "--against measures on one thread; it does not take --threads")
        if clashes:
            raise GateError(
                ExitCode.BAD_INPUT, f"--against measures both sides itself; it does not take {', '.join(clashes)}"
            )
        mine = {dest: getattr(args, dest) for dest in AB_FLAGS if dest in given}
        return ABOptions(args.against, only=tuple(args.only), **mine)
    clashes = [AB_FLAGS[dest] for dest in AB_FLAGS if dest in given]
    if clashes:
        raise GateError(
            ExitCode.BAD_INPUT,
            f"{', '.join(clashes)} {'belongs' if len(clashes) == 1 else 'belong'} to the A/B gate; "
            f"add --against REF, or leave {'it' if len(clashes) == 1 else 'them'} out",
        )
    mine = {dest: getattr(args, dest) for dest in BASELINE_FLAGS if dest in given}
    return BaselineOptions(only=tuple(args.only), **mine)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench gate``."""
    with progress(
        "gate" if args.against is None else f"gate against {args.against}", enabled=args.from_json is None
    ) as bar:
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
    try:
        options = options_from_args(args)
        json_to = json_target(args.json)
        if isinstance(options, ABOptions):
            outcome = run_against(options, progress=progress, total=total)
        else:
            outcome = run_baseline(options, xinit_factory=xinit_factory, progress=progress, total=total)
    except GateError as exc:
        err.write(f"{PROG}: error: {exc.message}\n")
        return int(exc.code)
    except (UsageError, ValueError, TypeError) as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return int(ExitCode.BAD_INPUT)
    return report(outcome, json_to, out, err)


def report(outcome: Outcome, json_to: Path | None, out: TextIO, err: TextIO) -> int:
    """Print ``outcome`` (table and/or JSON) and its messages; return its exit code."""
    if outcome.ab_result is not None:
        if not to_stdout(json_to):
            render_ab(outcome.ab_result, out)
    elif not to_stdout(json_to):
        plural = "" if outcome.threads == 1 else "s"
        title = f"xinit-bench gate: time / sqrt(NumPy time * fill time), process_time, {outcome.threads} thread{plural}"
        render_rows(outcome.rows, out, title)
    if json_to is not None:
        emit_json(outcome.to_dict(), json_to, out=out, err=err)
    for message in outcome.messages:
        err.write(f"{PROG}: {message}\n")
    verdict = "FAILED" if outcome.code == ExitCode.REGRESSION else "passed"
    err.write(f"{PROG}: {verdict}\n")
    return int(outcome.code)


def render_rows(rows: Sequence[Row], out: TextIO, title: str) -> None:
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


def render_ab(result: ab.ABResult, out: TextIO) -> None:
    """Print the A/B rows: regressions first, then improvements, then the rest."""
    from rich.table import Table

    title = (
        f"xinit-bench gate --against {result.ref} ({result.commit[:12]}): t_tree / t_ref, process_time, 1 thread; "
        f"fail if the lower bound > {result.threshold:.2f}x ({result.confidence:.0%} family-wise, "
        f"{result.level:.5f} per row; {result.rounds} rounds x {result.pairs} pairs; {result.seconds:.0f} s)"
    )
    order = {"REGRESSION": 0, "improved": 1, "ok": 2, "new": 3, "not in tree": 4}
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("benchmark", "left"),
        ("status", "left"),
        ("ratio", "right"),
        ("lower", "right"),
        ("upper", "right"),
        ("wall ratio", "right"),
        ("ref us", "right"),
        ("tree us", "right"),
        ("n", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    styles = {"REGRESSION": "bold red", "improved": "green"}
    for row in sorted(result.rows, key=lambda r: (order.get(r.status, 9), r.name)):
        table.add_row(
            row.name,
            row.status,
            fmt(row.ratio, "{:.3f}"),
            fmt(row.lower, "{:.3f}"),
            fmt(row.upper, "{:.3f}"),
            fmt(row.wall_ratio, "{:.3f}"),
            fmt(None if row.ref_seconds is None else row.ref_seconds * 1e6, "{:.1f}"),
            fmt(None if row.tree_seconds is None else row.tree_seconds * 1e6, "{:.1f}"),
            str(row.n),
            style=styles.get(row.status),
        )
    console(out, width=140).print(table)
