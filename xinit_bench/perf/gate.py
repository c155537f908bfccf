"""The machine-independent CI regression gate, as a function of plain values.

:func:`run` measures (or reads from a pytest-benchmark JSON) the figures of
:mod:`.figures`, compares them with the committed baseline of this CPU
(:mod:`.baseline`) and returns an :class:`Outcome`; ``xinit-bench gate``
renders it.  A figure regresses when it exceeds ``baseline * (1 + tolerance)``.

Exit codes
----------
:class:`ExitCode`: 0 pass (also: no baseline for this CPU, with a warning),
1 regression, 2 usage, 3 baseline file missing, 4 baseline corrupt,
5 input JSON unreadable, 6 input JSON with no benchmarks, 7 unknown benchmark
name.  Every bad input raises :class:`GateError`, which carries its code and a
one-paragraph message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..runtime import check_thread_count
from .baseline import (
    BASELINE_DIR,
    BASELINE_FORMAT,
    DEFAULT_TOLERANCE,
    SMALL_SIZE,
    SMALL_SIZE_TOLERANCE,
    Baseline,
    Entry,
    baseline_path,
    default_tolerance,
    load_baseline,
    write_baseline,
)
from .cases import Case, XinitFactory
from .figures import (
    FULL_REPEATS,
    FULL_SIZES,
    GATE_THREADS,
    GATE_TIMER,
    MIN_SAMPLE_TIME,
    QUICK_REPEATS,
    QUICK_SIZES,
    ExitCode,
    Figure,
    GateError,
    default_cases,
    figure_from_result,
    figures_from_pytest_json,
    measure_figures,
)
from .machine import cpu_key

__all__ = [
    "BASELINE_DIR",
    "BASELINE_FORMAT",
    "DEFAULT_TOLERANCE",
    "FULL_REPEATS",
    "FULL_SIZES",
    "GATE_THREADS",
    "GATE_TIMER",
    "MIN_SAMPLE_TIME",
    "QUICK_REPEATS",
    "QUICK_SIZES",
    "SMALL_SIZE",
    "SMALL_SIZE_TOLERANCE",
    "Baseline",
    "Entry",
    "ExitCode",
    "Figure",
    "GateError",
    "GateOptions",
    "Outcome",
    "Row",
    "baseline_path",
    "compare",
    "default_cases",
    "default_tolerance",
    "figure_from_result",
    "figures_from_pytest_json",
    "load_baseline",
    "measure_figures",
    "run",
    "selected_cases",
    "write_baseline",
]


@dataclass
class Row:
    """One benchmark's line in the gate's result."""

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
    """Classify each benchmark as ``ok``, ``REGRESSION``, ``improved``, ``new`` or ``not measured``.

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


@dataclass(frozen=True)
class GateOptions:
    """What one gate run does (the options of ``xinit-bench gate``).

    Attributes
    ----------
    from_json
        Gate the figures of this pytest-benchmark JSON instead of measuring.
    baseline
        Explicit baseline file; it is an error if it is missing (unless updating).
    baseline_dir
        Folder of per-CPU baselines, used when ``baseline`` is ``None``.
    update_baseline
        Write the figures into the baseline.
    quick
        Measure only the quick sizes, with fewer repetitions.
    only
        Measure only these benchmark names.
    repeats
        Interleaved repetitions per benchmark (``None``: the mode's default).
    threads
        Numba threads while measuring.
    """

    from_json: Path | None = None
    baseline: Path | None = None
    baseline_dir: Path = BASELINE_DIR
    update_baseline: bool = False
    quick: bool = False
    only: Sequence[str] = ()
    repeats: int | None = None
    threads: int = GATE_THREADS


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


def selected_cases(options: GateOptions, baseline: Baseline | None) -> list[Case]:
    """The cases a run measures: ``options.only``, or every default case of the mode.

    Raises
    ------
    GateError
        ``UNKNOWN_BENCHMARK`` for a name that is not a case, or that is not in
        ``baseline`` (unless the run updates it).
    """
    if not options.only:
        return default_cases(QUICK_SIZES if options.quick else FULL_SIZES)
    cases = []
    for name in options.only:
        try:
            cases.append(Case.from_name(name))
        except ValueError as exc:
            raise GateError(ExitCode.UNKNOWN_BENCHMARK, f"unknown benchmark name: {exc}") from None
        if baseline is not None and not options.update_baseline and name not in baseline.entries:
            raise GateError(
                ExitCode.UNKNOWN_BENCHMARK,
                f"unknown benchmark name {name!r}: not in the baseline; known: {', '.join(sorted(baseline.entries))}",
            )
    return cases


def run(
    options: GateOptions,
    *,
    xinit_factory: XinitFactory | None = None,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> Outcome:
    """Carry out one gate run.

    Parameters
    ----------
    options
        What to gate.
    xinit_factory
        Replaces the xinit-bench call while measuring (the tests slow it down).
    progress
        Called with each measured benchmark's name.
    total
        Called once, before measuring, with the number of benchmarks.

    Raises
    ------
    GateError
        For every bad input (the caller turns it into a message and exit code).
    ValueError
        For a thread count outside Numba's pool, before any measurement.
    """
    explicit = options.baseline is not None
    path = options.baseline if options.baseline is not None else baseline_path(options.baseline_dir)
    messages: list[str] = []
    baseline: Baseline | None = None
    if path.exists() or (explicit and not options.update_baseline):
        baseline = load_baseline(path)
        if baseline.cpu != cpu_key():
            messages.append(f"warning: baseline {path} was made on CPU {baseline.cpu!r}, this is {cpu_key()!r}")
    selected = selected_cases(options, baseline)

    threads = GATE_THREADS if options.from_json is not None else options.threads
    if baseline is not None and baseline.meta.get("threads") != threads:
        measured_on = baseline.meta.get("threads")
        messages.append(f"warning: baseline {path} was measured on {measured_on} thread(s), these figures on {threads}")
    if options.from_json is not None:
        figures = figures_from_pytest_json(options.from_json)
        source = f"pytest-benchmark JSON {options.from_json.name}"
    else:
        check_thread_count("threads", options.threads)
        if options.threads != GATE_THREADS:
            messages.append(f"warning: measuring on {options.threads} threads; process time then includes spin-waiting")
        if total is not None:
            total(len(selected))
        repeats = options.repeats or (QUICK_REPEATS if options.quick else FULL_REPEATS)
        figures = measure_figures(
            selected, repeats=repeats, threads=options.threads, xinit_factory=xinit_factory, progress=progress
        )
        source = f"xinit-bench gate ({'quick' if options.quick else 'full'}, {repeats} repetitions)"

    if options.update_baseline:
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
