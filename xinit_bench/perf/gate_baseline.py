"""The gate's baseline mode: this run's figures against the committed baseline of this CPU.

``xinit-bench gate`` without ``--against`` builds a :class:`BaselineOptions`
and calls :func:`run_baseline`.  The figures of :mod:`.figures` (measured
now, or read from a pytest-benchmark JSON) are compared with
``benchmarks/baseline/<cpu key>.json`` (:mod:`.baseline`); a figure regresses
when it exceeds ``baseline * (1 + tolerance)`` (:func:`.gate.compare`).  It
gates only the CPUs that have a baseline; without one it warns and passes.
The mode takes none of the A/B mode's options (:mod:`.gate_ab`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..runtime import check_thread_count
from ..validation import check_bool, is_int, writable_problem
from .baseline import BASELINE_DIR, Baseline, baseline_path, default_tolerance, load_baseline, write_baseline
from .cases import Case, XinitFactory
from .errors import ExitCode, GateError
from .figures import (
    FULL_REPEATS,
    FULL_SIZES,
    GATE_THREADS,
    QUICK_REPEATS,
    QUICK_SIZES,
    default_cases,
    figures_from_pytest_json,
    measure_figures,
)
from .gate import Outcome, Row, as_path, compare, named_cases, names_tuple
from .machine import cpu_key

__all__ = ["MIN_REPEATS", "BaselineOptions", "check_folder_writable", "run_baseline", "selected_cases"]

#: The fewest interleaved repetitions a measured figure (their median) may come from.
MIN_REPEATS = 3


@dataclass(frozen=True)
class BaselineOptions:
    """What one baseline gate run does (the options of ``xinit-bench gate`` without ``--against``).

    Everything that needs no file is checked when the options are made; the
    baseline and the figures are read by :func:`run_baseline`.

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
        Interleaved repetitions per benchmark, at least :data:`MIN_REPEATS`
        (``None``: the mode's default).
    threads
        Numba threads while measuring (1, the default, is what the baselines
        hold; :mod:`.figures` explains why).

    Raises
    ------
    TypeError
        For a field of the wrong type.
    GateError
        ``BAD_INPUT`` for an unknown benchmark name, or fewer than
        :data:`MIN_REPEATS` repetitions.
    ValueError
        For a thread count outside Numba's pool (when measuring).

    Examples
    --------
    >>> BaselineOptions(quick=True, only=["normal-float32-1M"]).only
    ('normal-float32-1M',)
    >>> BaselineOptions(repeats=2)
    Traceback (most recent call last):
        ...
    xinit_bench.perf.errors.GateError: --repeats must be at least 3, got 2
    """

    from_json: Path | None = None
    baseline: Path | None = None
    baseline_dir: Path = BASELINE_DIR
    update_baseline: bool = False
    quick: bool = False
    only: Sequence[str] = ()
    repeats: int | None = None
    threads: int = GATE_THREADS

    def __post_init__(self) -> None:
        for name in ("from_json", "baseline"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, as_path(name, getattr(self, name)))
        object.__setattr__(self, "baseline_dir", as_path("baseline_dir", self.baseline_dir))
        check_bool("update_baseline", self.update_baseline)
        check_bool("quick", self.quick)
        object.__setattr__(self, "only", names_tuple("only", self.only))
        named_cases(self.only)
        if self.repeats is not None:
            if not is_int(self.repeats):
                raise TypeError(f"repeats must be an int or None, got {self.repeats!r}")
            if self.repeats < MIN_REPEATS:
                raise GateError(ExitCode.BAD_INPUT, f"--repeats must be at least {MIN_REPEATS}, got {self.repeats}")
        if self.from_json is None:
            check_thread_count("threads", self.threads)
        elif not is_int(self.threads):
            raise TypeError(f"threads must be an int, got {self.threads!r}")


def selected_cases(options: BaselineOptions, baseline: Baseline | None) -> list[Case]:
    """The cases a run measures: ``options.only``, or every default case of the mode.

    Raises
    ------
    GateError
        ``BAD_INPUT`` for a name that is not in ``baseline`` (unless the run
        updates it).
    """
    if not options.only:
        return default_cases(QUICK_SIZES if options.quick else FULL_SIZES)
    cases = named_cases(options.only)
    if baseline is not None and not options.update_baseline:
        for name in options.only:
            if name not in baseline.entries:
                raise GateError(
                    ExitCode.BAD_INPUT,
                    f"unknown benchmark name {name!r}: not in the baseline; "
                    f"known: {', '.join(sorted(baseline.entries))}",
                )
    return cases


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


def run_baseline(
    options: BaselineOptions,
    *,
    xinit_factory: XinitFactory | None = None,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> Outcome:
    """Carry out one baseline gate run.

    Parameters
    ----------
    options
        What to gate (already checked).
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
    """
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
