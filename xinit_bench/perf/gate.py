"""The CI regression gate, as a function of plain values.

Two modes, both returning an :class:`Outcome` that ``xinit-bench gate`` renders:

* **A/B against a commit** (``GateOptions.against``): the reference commit's
  library and the working tree's are measured interleaved in one run
  (:mod:`.ab`, :mod:`.refenv`); a case fails when the tree is slower than the
  threshold with the stated family-wise confidence.  No stored figure is
  involved, so it gates any machine, a hosted runner's included.
* **Against a committed baseline**: the figures of :mod:`.figures` (or of a
  pytest-benchmark JSON), compared with ``benchmarks/baseline/<cpu key>.json``
  (:mod:`.baseline`); a figure regresses when it exceeds
  ``baseline * (1 + tolerance)``.  It gates only the CPUs that have a baseline.

Exit codes
----------
:class:`ExitCode`: 0 pass (also: no baseline for this CPU, with a warning),
1 regression, 2 bad input (options, baseline or benchmark JSON, benchmark
names, output paths), 3 environment (git missing, a reference commit that
cannot be built or run).  Every bad input raises :class:`GateError`, which
carries its code and a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..runtime import check_thread_count
from ..validation import writable_problem
from . import ab, refenv
from .ab import ABResult
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
from .errors import ExitCode, GateError
from .figures import (
    FULL_REPEATS,
    FULL_SIZES,
    GATE_THREADS,
    GATE_TIMER,
    MIN_SAMPLE_TIME,
    QUICK_REPEATS,
    QUICK_SIZES,
    Figure,
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
    against
        A git revision: run the A/B gate against that commit's library instead
        of comparing with a baseline.
    repo
        The git repository in which ``against`` is resolved.
    threshold, confidence
        The A/B gate fails a case when ``t_tree / t_ref`` exceeds
        ``threshold`` with this one-sided, family-wise confidence.
    rounds, pairs
        A/B: fresh pairs of worker processes, and interleaved sample pairs per
        case in each.
    """

    from_json: Path | None = None
    baseline: Path | None = None
    baseline_dir: Path = BASELINE_DIR
    update_baseline: bool = False
    quick: bool = False
    only: Sequence[str] = ()
    repeats: int | None = None
    threads: int = GATE_THREADS
    against: str | None = None
    repo: Path = Path(".")
    threshold: float = ab.DEFAULT_THRESHOLD
    confidence: float = ab.DEFAULT_CONFIDENCE
    rounds: int = ab.DEFAULT_ROUNDS
    pairs: int = ab.DEFAULT_PAIRS


@dataclass
class Outcome:
    """The result of one gate run."""

    code: ExitCode
    rows: list[Row]
    baseline: Path | None
    messages: list[str]
    threads: int = GATE_THREADS
    ab_result: ABResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        if self.ab_result is not None:
            return {
                "exit_code": int(self.code),
                "status": self.code.name.lower(),
                "mode": "against",
                "timer": "time.process_time",
                "threads": self.threads,
                "messages": self.messages,
                **self.ab_result.to_dict(),
            }
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
        ``BAD_INPUT`` for a name that is not a case, or that is not in
        ``baseline`` (unless the run updates it).
    """
    if not options.only:
        return default_cases(QUICK_SIZES if options.quick else FULL_SIZES)
    cases = []
    for name in options.only:
        try:
            cases.append(Case.from_name(name))
        except ValueError as exc:
            raise GateError(ExitCode.BAD_INPUT, f"unknown benchmark name: {exc}") from None
        if baseline is not None and not options.update_baseline and name not in baseline.entries:
            raise GateError(
                ExitCode.BAD_INPUT,
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
    if options.against is not None:
        return run_against(options, progress=progress, total=total)
    explicit = options.baseline is not None
    if options.update_baseline:
        check_folder_writable(options.baseline.parent if options.baseline is not None else options.baseline_dir)
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
            ExitCode.BAD_INPUT,
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


def check_folder_writable(folder: Path) -> None:
    """Refuse, before measuring, a baseline folder that could not be created or written.

    Raises
    ------
    GateError
        ``BAD_INPUT``, naming the folder and the reason.
    """
    problem = writable_problem(folder, folder=True, make_parents=True)
    if problem is not None:
        raise GateError(ExitCode.BAD_INPUT, f"baseline folder {folder}: {problem}")


_UNCOMPARED = ("new", "not in tree")


def run_against(
    options: GateOptions,
    *,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> Outcome:
    """The A/B gate: ``options.against``'s library against this one (see :mod:`.ab`).

    Raises
    ------
    GateError
        ``BAD_INPUT`` for options that do not go with ``--against`` or a bad
        plan; ``ENVIRONMENT`` when the reference cannot be installed or run.
    """
    assert options.against is not None
    clashes = [
        flag
        for flag, given in (
            ("--from-json", options.from_json is not None),
            ("--baseline", options.baseline is not None),
            ("--update-baseline", options.update_baseline),
            ("--quick", options.quick),
        )
        if given
    ]
    if clashes:
        raise GateError(
            ExitCode.BAD_INPUT, f"--against measures both sides itself; it does not take {', '.join(clashes)}"
        )
    if options.threads != GATE_THREADS:
        raise GateError(ExitCode.BAD_INPUT, "--against measures on one thread; it does not take --threads")
    if options.only:
        try:
            cases = [Case.from_name(name) for name in options.only]
        except ValueError as exc:
            raise GateError(ExitCode.BAD_INPUT, f"unknown benchmark name: {exc}") from None
    else:
        cases = ab.ab_cases()
    ab.check_plan(len(cases), options.rounds, options.pairs, options.threshold, options.confidence)
    reference = refenv.prepare(options.repo, options.against)
    if total is not None:
        total(options.rounds)
    result = ab.run_ab(
        reference,
        cases,
        rounds=options.rounds,
        pairs=options.pairs,
        threshold=options.threshold,
        confidence=options.confidence,
        progress=progress,
    )
    messages = [
        f"regression: {r.name} takes {r.ratio:.2f}x the time of {result.ref} "
        f"(at least {r.lower:.2f}x with {result.confidence:.0%} family-wise confidence; "
        f"allowed {result.threshold:.2f}x)"
        for r in result.regressions
    ]
    messages += [
        f"not compared: {r.name} ({r.status}: {r.note})" for r in result.rows if r.status in ("new", "not in tree")
    ]
    code = ExitCode.REGRESSION if result.regressions else ExitCode.OK
    return Outcome(code, [], None, messages, GATE_THREADS, result)
