"""``xinit-bench gate``: the machine-independent CI regression gate.

What it compares
----------------
Absolute times mean nothing across CI machines, so each kernel time is divided
by two references measured **in the same run, on the same buffer,
interleaved** with it (:func:`xinit_bench.bench.time_interleaved`): NumPy's
fastest path for the same distribution and the parallel constant fill (the
memory-bandwidth limit).  The gated figure of a benchmark is

.. math::

    g = \\operatorname{median}_r \\frac{t^{\\mathrm{xinit}}_r}
        {\\sqrt{t^{\\mathrm{numpy}}_r \\, t^{\\mathrm{fill}}_r}}

over repetitions ``r`` (each repetition times the three back to back): one
number that is about 1 on any machine where the kernel keeps its speed
relative to NumPy and to memory, and that doubles when the kernel becomes
twice as slow.  The two separate ratios are stored and printed as well.

Which timer, and why
--------------------
``time.process_time`` with Numba on **one thread**.  ``process_time`` counts
the CPU time this process was actually given, so it keeps its meaning while
other processes load the machine (``perf_counter`` of a kernel whose core is
shared with a busy loop doubles).  It sums CPU over all threads, which is why
the gate does not let the kernels run on several threads: threading runtimes
spin-wait at the end-of-loop barrier for a sibling that the OS descheduled
(GNU OpenMP spins ``GOMP_SPINCOUNT`` times before sleeping), and that spinning
is counted as CPU time.  Measured on the 2-core development machine: a 1M
element ``fill_constant`` on 2 threads took 0.15 ms of CPU when idle and 7.2 ms
while other processes kept the second core busy; on 1 thread 0.15 ms either
way.  The gate's stability check on 2 threads with a busy loop on the other
core failed one run in three (a figure moved by +76 %), on 1 thread none of 10.  The
thread-scaling of the kernels is reported by ``xinit-bench bench``, not gated.

Exit codes
----------
:class:`ExitCode`: 0 pass (also: no baseline for this CPU, with a warning),
1 regression, 2 usage, 3 baseline file missing, 4 baseline corrupt,
5 input JSON unreadable, 6 input JSON with no benchmarks, 7 unknown benchmark
name.  Every failure is a one-paragraph message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import enum
import json
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from . import bench

BASELINE_FORMAT = "xinit-bench-gate-baseline/1"
#: Default baseline folder, relative to the working directory (the repository root in CI).
BASELINE_DIR = Path("benchmarks") / "baseline"
#: A figure may grow by this fraction before it counts as a regression.  A 2x
#: slowdown is +100 %.  On the shared 2-core development machine with the
#: other core busy (``benchmarks/gate_stability.py``), the largest change of
#: any figure over 10 quick runs was +4.9 %, over 5 full runs +6.2 %; the same
#: check measuring on 2 threads reached +76 % and failed one run in three.
DEFAULT_TOLERANCE = 0.40
#: Small outputs are dominated by call overhead, which varies more.
SMALL_SIZE_TOLERANCE = 0.60
SMALL_SIZE = 1 << 16
GATE_THREADS = 1
GATE_TIMER: bench.Timer = "cpu"
#: Sizes and repetitions of the gate's own measurement.
FULL_SIZES: tuple[int, ...] = (1 << 20, 1 << 22)
QUICK_SIZES: tuple[int, ...] = (1 << 20,)
FULL_REPEATS = 9
QUICK_REPEATS = 7
MIN_SAMPLE_TIME = 0.02


class ExitCode(enum.IntEnum):
    """Distinct exit codes of the gate, so CI logs and scripts can tell failures apart."""

    OK = 0
    REGRESSION = 1
    USAGE = 2
    BASELINE_MISSING = 3
    BASELINE_CORRUPT = 4
    INPUT_UNREADABLE = 5
    NO_BENCHMARKS = 6
    UNKNOWN_BENCHMARK = 7


class GateError(Exception):
    """A bad input: carries the exit code and the message for the user."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Figure:
    """The normalised figures of one benchmark (all are time ratios: lower is faster)."""

    name: str
    norm: float
    vs_numpy: float
    vs_fill: float

    def to_dict(self) -> dict[str, float | str]:
        """JSON-ready form."""
        return asdict(self)


def figure_from_result(result: bench.CaseResult, timer: bench.Timer = GATE_TIMER) -> Figure:
    """The gated figure of one interleaved measurement (see the module docstring)."""
    t = {impl: (result.timings[impl].cpu if timer == "cpu" else result.timings[impl].wall) for impl in bench.IMPLS}
    norm = statistics.median(x / math.sqrt(n * f) for x, n, f in zip(t["xinit"], t["numpy"], t["fill"]))
    return Figure(
        result.case.name,
        norm,
        result.paired_ratio("xinit", "numpy", timer),
        result.paired_ratio("xinit", "fill", timer),
    )


def default_cases(sizes: Sequence[int]) -> list[bench.Case]:
    """Every scheme and dtype at ``sizes``."""
    return [bench.Case(s, d, n) for n in sizes for d in bench.DTYPES for s in bench.SCHEMES]


def measure_figures(
    cases: Sequence[bench.Case],
    *,
    repeats: int = QUICK_REPEATS,
    min_sample_time: float = MIN_SAMPLE_TIME,
    threads: int | None = GATE_THREADS,
    xinit_factory: bench.XinitFactory | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Figure]:
    """Measure the gated figures of ``cases`` in this process.

    Parameters
    ----------
    cases
        What to measure.
    repeats
        Interleaved repetitions per case (the figure is their median).
    min_sample_time
        Minimum seconds per timed sample (small calls are repeated).
    threads
        Numba threads during the measurement; the gate's choice is 1 (see the
        module docstring), ``None`` leaves the current setting.
    xinit_factory
        Replaces the xinit-bench call, ``(case, out) -> callable``; the tests
        use it to inject a deliberately slowed kernel.
    progress
        Called with each case's name when it is done.
    """
    figures: dict[str, Figure] = {}
    with bench.threads(threads):
        for case in cases:
            result = bench.measure_case(
                case, repeats=repeats, min_sample_time=min_sample_time, xinit_factory=xinit_factory
            )
            figures[case.name] = figure_from_result(result)
            if progress is not None:
                progress(case.name)
    return figures


def figures_from_pytest_json(path: Path) -> dict[str, Figure]:
    """Read the gate figures that ``tests/perf`` stores in a ``--benchmark-json`` file.

    Each xinit-bench member of the suite records, in ``extra_info["gate"]``,
    the figures of an interleaved process-time measurement made with
    :func:`measure_figures`; pytest-benchmark's own (wall-clock, sequential)
    statistics are not used for gating.

    Raises
    ------
    GateError
        ``INPUT_UNREADABLE`` if the file is missing or is not pytest-benchmark
        JSON; ``NO_BENCHMARKS`` if it holds no benchmark with gate figures.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GateError(ExitCode.INPUT_UNREADABLE, f"benchmark JSON {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GateError(ExitCode.INPUT_UNREADABLE, f"benchmark JSON {path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise GateError(
            ExitCode.INPUT_UNREADABLE,
            f'{path} is not pytest-benchmark output: expected an object with a "benchmarks" list '
            "(write it with `pytest tests/perf --benchmark-enable --benchmark-json=FILE`)",
        )
    entries = data["benchmarks"]
    if not entries:
        raise GateError(
            ExitCode.NO_BENCHMARKS,
            f"{path} contains no benchmarks; was the suite run with --benchmark-disable, "
            "or did every benchmark get deselected?",
        )
    figures: dict[str, Figure] = {}
    for entry in entries:
        gate = entry.get("extra_info", {}).get("gate") if isinstance(entry, dict) else None
        if not isinstance(gate, dict):
            continue
        try:
            fig = Figure(str(gate["name"]), float(gate["norm"]), float(gate["vs_numpy"]), float(gate["vs_fill"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise GateError(
                ExitCode.INPUT_UNREADABLE, f"{path}: benchmark {entry.get('name')!r} has malformed gate figures ({exc})"
            ) from None
        figures[fig.name] = fig
    if not figures:
        raise GateError(
            ExitCode.NO_BENCHMARKS,
            f"none of the {len(entries)} benchmarks in {path} carries gate figures "
            '(extra_info["gate"]); only the xinit-bench members of tests/perf do',
        )
    return figures


@dataclass
class Entry:
    """A baseline figure and the fraction by which it may grow before failing."""

    norm: float
    vs_numpy: float
    vs_fill: float
    tolerance: float


@dataclass
class Baseline:
    """A committed baseline: ``benchmarks/baseline/<cpu key>.json``."""

    cpu: str
    entries: dict[str, Entry]
    meta: dict[str, Any]


def baseline_path(directory: Path, cpu: str | None = None) -> Path:
    """``<directory>/<cpu key>.json`` for this machine (or for ``cpu``)."""
    return directory / f"{cpu or bench.cpu_key()}.json"


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file.

    Raises
    ------
    GateError
        ``BASELINE_MISSING`` if ``path`` does not exist, ``BASELINE_CORRUPT`` if
        it is not a valid baseline.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GateError(
            ExitCode.BASELINE_MISSING,
            f"baseline {path} does not exist; create it with `xinit-bench gate --update-baseline`",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GateError(ExitCode.BASELINE_CORRUPT, f"baseline {path} is not valid JSON: {exc}") from None
    problem = _baseline_problem(data)
    if problem:
        raise GateError(
            ExitCode.BASELINE_CORRUPT,
            f"baseline {path} is corrupt: {problem}; regenerate it with `xinit-bench gate --update-baseline`",
        )
    entries = {
        name: Entry(float(e["norm"]), float(e["vs_numpy"]), float(e["vs_fill"]), float(e["tolerance"]))
        for name, e in data["benchmarks"].items()
    }
    meta = {k: v for k, v in data.items() if k != "benchmarks"}
    return Baseline(str(data["cpu"]), entries, meta)


def _baseline_problem(data: object) -> str | None:
    if not isinstance(data, dict):
        return "the top level is not an object"
    if data.get("format") != BASELINE_FORMAT:
        return f'"format" is {data.get("format")!r}, expected {BASELINE_FORMAT!r}'
    if not isinstance(data.get("cpu"), str):
        return '"cpu" is missing'
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, dict) or not benchmarks:
        return '"benchmarks" is missing or empty'
    for name, entry in benchmarks.items():
        if not isinstance(entry, dict):
            return f"entry {name!r} is not an object"
        for key in ("norm", "vs_numpy", "vs_fill", "tolerance"):
            value = entry.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                return f"entry {name!r} has no positive finite {key!r}"
    return None


def write_baseline(
    path: Path, figures: dict[str, Figure], previous: Baseline | None, source: str, threads: int = GATE_THREADS
) -> None:
    """Write ``figures`` into the baseline at ``path``, keeping entries that were not re-measured.

    A benchmark's hand-edited tolerance survives an update.
    """
    entries: dict[str, dict[str, float]] = {}
    if previous is not None:
        entries = {name: asdict(e) for name, e in previous.entries.items()}
    for name, fig in figures.items():
        old_tol = entries.get(name, {}).get("tolerance")
        entries[name] = {
            "norm": fig.norm,
            "vs_numpy": fig.vs_numpy,
            "vs_fill": fig.vs_fill,
            "tolerance": old_tol if old_tol is not None else default_tolerance(name),
        }
    data = {
        "format": BASELINE_FORMAT,
        "cpu": bench.cpu_key(),
        "timer": "time.process_time",
        "threads": threads,
        "figure": "median over repetitions of t_xinit / sqrt(t_numpy * t_fill)",
        "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "environment": {k: v for k, v in bench.environment().items() if k != "threading_layer"},
        "benchmarks": dict(sorted(entries.items())),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def default_tolerance(name: str) -> float:
    """The tolerance a new baseline entry gets: looser for outputs of at most 64K elements."""
    try:
        size = bench.Case.from_name(name).size
    except ValueError:
        return DEFAULT_TOLERANCE
    return SMALL_SIZE_TOLERANCE if size <= SMALL_SIZE else DEFAULT_TOLERANCE


@dataclass
class Row:
    """One line of the gate's table."""

    name: str
    baseline: float | None
    current: float | None
    tolerance: float | None
    vs_numpy: float | None
    vs_fill: float | None
    status: str

    @property
    def change(self) -> float | None:
        """``current / baseline``: 2.0 means twice as slow, relative to the references."""
        if self.baseline is None or self.current is None:
            return None
        return self.current / self.baseline


def compare(figures: dict[str, Figure], baseline: Baseline) -> list[Row]:
    """Classify each benchmark as ``ok``, ``REGRESSION``, ``improved`` or ``not measured``.

    A regression is ``current > baseline * (1 + tolerance)``; an improvement is
    ``current < baseline / (1 + tolerance)``.
    """
    rows = []
    for name in sorted(set(figures) | set(baseline.entries)):
        fig = figures.get(name)
        ent = baseline.entries.get(name)
        if ent is None or fig is None:
            rows.append(
                Row(
                    name,
                    None if ent is None else ent.norm,
                    None if fig is None else fig.norm,
                    None if ent is None else ent.tolerance,
                    None if fig is None else fig.vs_numpy,
                    None if fig is None else fig.vs_fill,
                    "not measured" if fig is None else "new",
                )
            )
            continue
        limit = 1.0 + ent.tolerance
        change = fig.norm / ent.norm
        status = "REGRESSION" if change > limit else ("improved" if change < 1.0 / limit else "ok")
        rows.append(Row(name, ent.norm, fig.norm, ent.tolerance, fig.vs_numpy, fig.vs_fill, status))
    return rows


def render_rows(rows: Sequence[Row], out: TextIO, title: str) -> None:
    """Print ``rows`` as a table, regressions first, then improvements."""
    from rich.console import Console
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
            _fmt(row.change, "{:.2f}x"),
            _fmt(None if row.tolerance is None else 1.0 + row.tolerance, "{:.2f}x"),
            _fmt(row.current, "{:.3f}"),
            _fmt(row.baseline, "{:.3f}"),
            _fmt(row.vs_numpy, "{:.3f}"),
            _fmt(row.vs_fill, "{:.3f}"),
            style=styles.get(row.status),
        )
    console = Console(file=out, width=None if out.isatty() else 120)
    console.print(table)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The gate's options (shared by ``xinit-bench gate`` and ``python -m xinit_bench.gate``)."""
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
        default=BASELINE_DIR,
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
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repetitions per benchmark")
    parser.add_argument(
        "--threads",
        type=int,
        default=GATE_THREADS,
        help="Numba threads while measuring (default 1; see `pydoc xinit_bench.gate` before changing it)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")


@dataclass
class Outcome:
    """The result of one gate run."""

    code: ExitCode
    rows: list[Row]
    baseline: Path | None
    messages: list[str]
    threads: int = GATE_THREADS

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "exit_code": int(self.code),
            "status": self.code.name.lower(),
            "baseline": None if self.baseline is None else str(self.baseline),
            "timer": "time.process_time",
            "threads": self.threads,
            "messages": self.messages,
            "benchmarks": [{**asdict(r), "change": r.change} for r in self.rows],
        }


def run(
    args: argparse.Namespace,
    *,
    xinit_factory: bench.XinitFactory | None = None,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> Outcome:
    """Carry out one gate run described by parsed ``args``.

    Raises
    ------
    GateError
        For every bad input (the caller turns it into a message and exit code).
    """
    explicit = args.baseline is not None
    path = args.baseline if explicit else baseline_path(args.baseline_dir)
    messages: list[str] = []
    baseline: Baseline | None = None
    if path.exists() or (explicit and not args.update_baseline):
        baseline = load_baseline(path)
        if baseline.cpu != bench.cpu_key():
            messages.append(f"warning: baseline {path} was made on CPU {baseline.cpu!r}, this is {bench.cpu_key()!r}")
    selected = _selected_cases(args, baseline)

    threads = GATE_THREADS if args.from_json is not None else args.threads
    if baseline is not None and baseline.meta.get("threads") != threads:
        messages.append(
            f"warning: baseline {path} was measured on {baseline.meta.get('threads')} thread(s), these figures on {threads}"
        )
    if args.from_json is not None:
        figures = figures_from_pytest_json(args.from_json)
        source = f"pytest-benchmark JSON {args.from_json.name}"
    else:
        if args.threads != GATE_THREADS:
            messages.append(f"warning: measuring on {args.threads} threads; process time then includes spin-waiting")
        if total is not None:
            total(len(selected))
        repeats = args.repeats or (QUICK_REPEATS if args.quick else FULL_REPEATS)
        figures = measure_figures(
            selected, repeats=repeats, threads=args.threads, xinit_factory=xinit_factory, progress=progress
        )
        source = f"xinit-bench gate ({'quick' if args.quick else 'full'}, {repeats} repetitions)"

    if args.update_baseline:
        write_baseline(path, figures, baseline, source, threads)
        rows = (
            compare(figures, baseline)
            if baseline is not None
            else [Row(n, None, f.norm, default_tolerance(n), f.vs_numpy, f.vs_fill, "new") for n, f in figures.items()]
        )
        messages.append(f"baseline {path} updated with {len(figures)} benchmarks")
        return Outcome(ExitCode.OK, rows, path, messages, threads)

    if baseline is None:
        messages.append(
            f"warning: no baseline for this CPU ({path} does not exist); nothing to compare, the gate passes. "
            "Create one with `xinit-bench gate --update-baseline` and commit it."
        )
        rows = [Row(n, None, f.norm, None, f.vs_numpy, f.vs_fill, "new") for n, f in sorted(figures.items())]
        return Outcome(ExitCode.OK, rows, None, messages, threads)

    unknown = sorted(set(figures) - set(baseline.entries))
    if unknown:
        raise GateError(
            ExitCode.UNKNOWN_BENCHMARK,
            f"unknown benchmark name(s) {', '.join(unknown)}: not in baseline {path}. "
            "Add them with --update-baseline (and commit the baseline), or leave them out.",
        )
    rows = compare(figures, baseline)
    regressions = [r for r in rows if r.status == "REGRESSION"]
    for r in regressions:
        messages.append(
            f"regression: {r.name} is {r.change:.2f}x its baseline figure (allowed {1 + (r.tolerance or 0):.2f}x)"
        )
    for r in rows:
        if r.status == "improved":
            messages.append(f"improved: {r.name} is {r.change:.2f}x its baseline figure; consider --update-baseline")
    return Outcome(ExitCode.REGRESSION if regressions else ExitCode.OK, rows, path, messages, threads)


def _selected_cases(args: argparse.Namespace, baseline: Baseline | None) -> list[bench.Case]:
    if not args.only:
        return default_cases(QUICK_SIZES if args.quick else FULL_SIZES)
    cases = []
    for name in args.only:
        try:
            cases.append(bench.Case.from_name(name))
        except ValueError as exc:
            raise GateError(ExitCode.UNKNOWN_BENCHMARK, f"unknown benchmark name: {exc}") from None
        if baseline is not None and not args.update_baseline and name not in baseline.entries:
            raise GateError(
                ExitCode.UNKNOWN_BENCHMARK,
                f"unknown benchmark name {name!r}: not in the baseline; known: {', '.join(sorted(baseline.entries))}",
            )
    return cases


def report(outcome: Outcome, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print ``outcome`` (table or JSON) and return its exit code."""
    if args.json:
        out.write(json.dumps(outcome.to_dict(), indent=2) + "\n")
    else:
        plural = "" if outcome.threads == 1 else "s"
        title = f"xinit-bench gate: time / sqrt(NumPy time * fill time), process_time, {outcome.threads} thread{plural}"
        render_rows(outcome.rows, out, title)
    for message in outcome.messages:
        err.write(f"xinit-bench gate: {message}\n")
    verdict = "FAILED" if outcome.code == ExitCode.REGRESSION else "passed"
    err.write(f"xinit-bench gate: {verdict}\n")
    return int(outcome.code)


def execute(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    xinit_factory: bench.XinitFactory | None = None,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> int:
    """Run the gate and report; every bad input becomes a message and a distinct exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if args.repeats is not None and args.repeats < 3:
        err.write(f"xinit-bench gate: error: --repeats must be at least 3, got {args.repeats}\n")
        return int(ExitCode.USAGE)
    try:
        outcome = run(args, xinit_factory=xinit_factory, progress=progress, total=total)
    except GateError as exc:
        err.write(f"xinit-bench gate: error: {exc.message}\n")
        return int(exc.code)
    except ValueError as exc:
        err.write(f"xinit-bench gate: error: {exc}\n")
        return int(ExitCode.USAGE)
    return report(outcome, args, out, err)


def build_parser() -> argparse.ArgumentParser:
    """Parser of ``python -m xinit_bench.gate``."""
    parser = argparse.ArgumentParser(
        prog="xinit-bench gate",
        description="CI regression gate: kernel times normalised by NumPy and the bandwidth fill of the same run.",
        epilog="exit codes: " + ", ".join(f"{int(c)} {c.name.lower()}" for c in ExitCode),
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m xinit_bench.gate``; returns the exit code."""
    args = build_parser().parse_args(argv)
    return execute(args)


if __name__ == "__main__":
    raise SystemExit(main())
