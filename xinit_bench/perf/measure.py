"""Measurements of one case: the interleaved fill, thread scaling and the small call.

For one case (scheme, dtype, size) the xinit-bench fill, NumPy's fastest path
and the parallel constant fill (the memory-bandwidth limit) all write the
*same* pre-faulted buffer, timed interleaved (:mod:`.timing`).  Thread
scaling times the xinit-bench fill on 1 thread against all of Numba's pool,
interleaved; the small-call measurement times a whole allocating call against
the NumPy reference call.

Numba's thread count is only changed inside :func:`measure_scaling`, through
:func:`xinit_bench.runtime.threads`, and always restored.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from ..runtime import get_threads, max_threads, threads
from .cases import Call, Case, FloatArray, XinitFactory, allocate, case_calls, small_call_calls, xinit_call
from .timing import DEFAULT_MIN_SAMPLE_TIME, DEFAULT_REPEATS, Timer, Timing, time_interleaved

__all__ = [
    "CaseResult",
    "ScalingResult",
    "SmallCallResult",
    "measure_case",
    "measure_scaling",
    "measure_small_call",
]


@dataclass
class CaseResult:
    """The interleaved timings of one case."""

    case: Case
    threads: int
    timings: dict[str, Timing]

    def seconds(self, impl: str, timer: Timer = "wall") -> float:
        """Median seconds per call of ``impl``."""
        return self.timings[impl].median(timer)

    def msps(self, impl: str, timer: Timer = "wall") -> float:
        """Throughput of ``impl`` in millions of samples per second."""
        return self.case.size / self.seconds(impl, timer) / 1e6

    def ratio(self, impl: str, reference: str, timer: Timer = "wall") -> float:
        """Throughput of ``impl`` over that of ``reference`` (> 1: ``impl`` is faster)."""
        return self.seconds(reference, timer) / self.seconds(impl, timer)

    def paired_ratio(self, impl: str, reference: str, timer: Timer = "cpu") -> float:
        """Median over repetitions of ``t_impl / t_reference`` (< 1: ``impl`` is faster).

        Each repetition's pair was measured back to back on the same buffer,
        so the median of the per-repetition ratios cancels slow drifts of
        the machine better than a ratio of medians.
        """
        a, b = self.timings[impl].samples(timer), self.timings[reference].samples(timer)
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: medians, throughputs and ratios under both timers."""
        out: dict[str, Any] = {"name": self.case.name, **asdict(self.case), "threads": self.threads}
        for timer in ("wall", "cpu"):
            out[timer] = {
                "seconds": {i: self.seconds(i, timer) for i in self.timings},
                "msamples_per_s": {i: self.msps(i, timer) for i in self.timings},
                "xinit_over_numpy": self.ratio("xinit", "numpy", timer),
                "xinit_over_fill": self.ratio("xinit", "fill", timer),
            }
        out["samples"] = {i: asdict(t) for i, t in self.timings.items()}
        return out


def measure_case(
    case: Case,
    *,
    repeats: int = DEFAULT_REPEATS,
    min_sample_time: float = DEFAULT_MIN_SAMPLE_TIME,
    xinit_factory: XinitFactory | None = None,
    out: FloatArray | None = None,
) -> CaseResult:
    """Measure xinit-bench, NumPy and the bandwidth fill on one shared buffer.

    ``out`` may be given to reuse an already faulted buffer of the right size
    and dtype; otherwise one is allocated with :func:`~.cases.allocate`.
    ``xinit_factory`` replaces the xinit-bench call (see :func:`~.cases.case_calls`).
    """
    buf = allocate(case) if out is None else out
    calls = case_calls(case, buf, xinit_factory)
    timings = time_interleaved(calls, repeats=repeats, min_sample_time=min_sample_time)
    return CaseResult(case, get_threads(), timings)


@dataclass
class ScalingResult:
    """Wall time of the xinit-bench fill at 1 thread against ``threads`` threads."""

    case: Case
    threads: int
    wall_1: float
    wall_n: float

    @property
    def speedup(self) -> float:
        """``wall_1 / wall_n``: 2.0 would be perfect on two threads."""
        return self.wall_1 / self.wall_n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.case.name, **asdict(self), "speedup": self.speedup}


def measure_scaling(case: Case, *, repeats: int = DEFAULT_REPEATS, max_threads: int | None = None) -> ScalingResult:
    """Interleave the xinit-bench fill of ``case`` on 1 thread and on ``max_threads`` (default: all)."""
    count = _pool_size() if max_threads is None else int(max_threads)
    call = xinit_call(case, allocate(case))

    def on(n: int) -> Call:
        def run() -> object:
            with threads(n):
                return call()

        return run

    timings = time_interleaved({"1": on(1), str(count): on(count)}, repeats=repeats)
    return ScalingResult(case, count, timings["1"].median("wall"), timings[str(count)].median("wall"))


def _pool_size() -> int:
    return max_threads()


@dataclass
class SmallCallResult:
    """A whole public call (validation, allocation, fill) against the NumPy reference call."""

    case: Case
    xinit_seconds: float
    numpy_seconds: float

    @property
    def ratio(self) -> float:
        """``xinit_seconds / numpy_seconds`` (the small-call targets ask for at most 2 at 1K elements)."""
        return self.xinit_seconds / self.numpy_seconds

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.case.name, **asdict(self), "ratio": self.ratio}


def measure_small_call(case: Case, *, repeats: int = DEFAULT_REPEATS) -> SmallCallResult:
    """Time one whole allocating call against the NumPy reference, interleaved."""
    timings = time_interleaved(small_call_calls(case), repeats=max(repeats, 5), min_sample_time=0.02)
    return SmallCallResult(case, timings["xinit"].median("wall"), timings["numpy"].median("wall"))
