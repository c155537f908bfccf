"""The regression gate's figures: kernel time normalised by references of the same run.

What it compares
----------------
Absolute times mean nothing across CI machines, so each kernel time is divided
by two references measured **in the same run, on the same buffer,
interleaved** with it (:func:`xinit_bench.perf.timing.time_interleaved`):
NumPy's fastest path for the same distribution and the parallel constant fill
(the memory-bandwidth limit).  The gated figure of a benchmark is

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
element constant fill on 2 threads took 0.15 ms of CPU when idle and 7.2 ms
while other processes kept the second core busy; on 1 thread 0.15 ms either
way.  The gate's stability check on 2 threads with a busy loop on the other
core failed one run in three (a figure moved by +76 %), on 1 thread none of 10.
The thread-scaling of the kernels is reported by ``xinit-bench bench``, not gated.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..runtime import threads as numba_threads
from .cases import DTYPES, IMPLS, SCHEMES, Case, XinitFactory
from .errors import ExitCode, GateError
from .measure import CaseResult, measure_case
from .timing import Timer

GATE_THREADS = 1
GATE_TIMER: Timer = "cpu"
#: Sizes and repetitions of the gate's own measurement.
FULL_SIZES: tuple[int, ...] = (1 << 20, 1 << 22)
QUICK_SIZES: tuple[int, ...] = (1 << 20,)
FULL_REPEATS = 9
QUICK_REPEATS = 7
MIN_SAMPLE_TIME = 0.02


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


def figure_from_result(result: CaseResult, timer: Timer = GATE_TIMER) -> Figure:
    """The gated figure of one interleaved measurement (see the module docstring)."""
    t = {impl: result.timings[impl].samples(timer) for impl in IMPLS}
    norm = statistics.median(x / math.sqrt(n * f) for x, n, f in zip(t["xinit"], t["numpy"], t["fill"], strict=True))
    return Figure(
        result.case.name,
        norm,
        result.paired_ratio("xinit", "numpy", timer),
        result.paired_ratio("xinit", "fill", timer),
    )


def default_cases(sizes: Sequence[int]) -> list[Case]:
    """Every scheme and dtype at ``sizes``."""
    return [Case(s, d, n) for n in sizes for d in DTYPES for s in SCHEMES]


def measure_figures(
    cases: Sequence[Case],
    *,
    repeats: int = QUICK_REPEATS,
    min_sample_time: float = MIN_SAMPLE_TIME,
    threads: int | None = GATE_THREADS,
    xinit_factory: XinitFactory | None = None,
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
    with numba_threads(threads):
        for case in cases:
            result = measure_case(case, repeats=repeats, min_sample_time=min_sample_time, xinit_factory=xinit_factory)
            figures[case.name] = figure_from_result(result)
            if progress is not None:
                progress(case.name)
    return figures


def figures_from_pytest_json(path: Path) -> dict[str, Figure]:
    """Read the gate figures that ``tests/perf/bench`` stores in a ``--benchmark-json`` file.

    Each xinit-bench member of the suite records, in ``extra_info["gate"]``,
    the figures of an interleaved process-time measurement on one thread
    (:func:`figure_from_result`); pytest-benchmark's own (wall-clock,
    sequential) statistics are not used for gating.

    Raises
    ------
    GateError
        ``BAD_INPUT`` if the file is missing, is not pytest-benchmark JSON,
        holds no benchmark with gate figures, or holds a figure that is not a
        positive finite number.
    """
    data = read_json(path, "benchmark JSON")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise GateError(
            ExitCode.BAD_INPUT,
            f'{path} is not pytest-benchmark output: expected an object with a "benchmarks" list '
            "(write it with `pytest tests/perf/bench --benchmark-enable --benchmark-json=FILE`)",
        )
    entries = data["benchmarks"]
    if not entries:
        raise GateError(
            ExitCode.BAD_INPUT,
            f"{path} contains no benchmarks; was the suite run with --benchmark-disable, "
            "or did every benchmark get deselected?",
        )
    figures: dict[str, Figure] = {}
    for index, entry in enumerate(entries):
        label = repr(entry.get("name")) if isinstance(entry, dict) else f"#{index}"
        if not isinstance(entry, dict):
            raise GateError(ExitCode.BAD_INPUT, f"{path}: benchmark {label} is not an object")
        extra = entry.get("extra_info")
        if extra is None:
            continue  # pytest-benchmark writes "extra_info": {} (or null) for members without gate figures
        if not isinstance(extra, dict):
            raise GateError(ExitCode.BAD_INPUT, f'{path}: benchmark {label} has an "extra_info" that is not an object')
        gate = extra.get("gate")
        if gate is None:
            continue
        if not isinstance(gate, dict):
            raise GateError(
                ExitCode.BAD_INPUT, f'{path}: benchmark {label} has an extra_info "gate" that is not an object'
            )
        fig = _figure_of(path, label, gate)
        figures[fig.name] = fig
    if not figures:
        raise GateError(
            ExitCode.BAD_INPUT,
            f"none of the {len(entries)} benchmarks in {path} carries gate figures "
            '(extra_info["gate"]); only the xinit-bench members of tests/perf/bench do',
        )
    return figures


def positive_finite(value: object) -> float | None:
    """``value`` as a float if it is a real number, finite and above 0; else ``None`` (booleans too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and number > 0.0 else None


def _figure_of(path: Path, label: str, gate: dict[str, object]) -> Figure:
    """The :class:`Figure` in one benchmark's ``extra_info["gate"]``; every time ratio must be positive and finite."""
    name = gate.get("name")
    if not isinstance(name, str) or not name:
        raise GateError(ExitCode.BAD_INPUT, f"{path}: benchmark {label} has gate figures with no name")
    values = {}
    for key in ("norm", "vs_numpy", "vs_fill"):
        number = positive_finite(gate.get(key))
        if number is None:
            raise GateError(
                ExitCode.BAD_INPUT,
                f"{path}: benchmark {name} has gate figure {key} = {gate.get(key)!r}; "
                "a time ratio must be a positive finite number",
            )
        values[key] = number
    return Figure(name, values["norm"], values["vs_numpy"], values["vs_fill"])


def read_json(path: Path, what: str) -> object:
    """Parse the JSON file ``path``; every way it can fail is one ``BAD_INPUT`` line.

    Missing, unreadable, not UTF-8, not JSON, or nested too deeply for the
    parser (``[[[[...]]]]``): none of these is a traceback.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise GateError(ExitCode.BAD_INPUT, f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise GateError(ExitCode.BAD_INPUT, f"{what} {path} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GateError(ExitCode.BAD_INPUT, f"{what} {path} is not readable: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GateError(ExitCode.BAD_INPUT, f"{what} {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise GateError(ExitCode.BAD_INPUT, f"{what} {path} is nested too deeply to be benchmark data") from None
