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

import enum
import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..runtime import threads as numba_threads
from .cases import DTYPES, IMPLS, SCHEMES, Case, XinitFactory
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
    """Read the gate figures that ``tests/perf`` stores in a ``--benchmark-json`` file.

    Each xinit-bench member of the suite records, in ``extra_info["gate"]``,
    the figures of an interleaved process-time measurement on one thread
    (:func:`figure_from_result`); pytest-benchmark's own (wall-clock,
    sequential) statistics are not used for gating.

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
