"""Measurements of one case: the interleaved fill, thread scaling and the small call.

For one case (scheme, dtype, size) the xinit-bench fill, NumPy's fastest path
and the parallel constant fill (the memory-bandwidth limit) all write the
*same* pre-faulted buffer, timed interleaved (:mod:`.timing`); on request
(``words=True``) so does the library's raw Philox generator (the
``philox_words`` case: the same words a fill of that dtype consumes, written
over the same bytes), the generator's own ceiling.  Thread scaling times the
xinit-bench fill on 1 thread against all of Numba's pool, interleaved with the
constant fill on all of them (which bounds what more threads can gain); the
small-call measurement times a whole allocating call against the NumPy
reference call.

Ratios come in two forms: :meth:`CaseResult.ratio` is a throughput ratio
(kept for the suites that read it), :meth:`CaseResult.time_ratio` and
:meth:`CaseResult.paired_ratio` are time ratios (``xinit time / reference
time``, lower is better), the form every ``xinit-bench bench`` table uses.

Numba's thread count is only changed inside :func:`measure_scaling`, through
:func:`xinit_bench.runtime.threads`, and always restored.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from ..runtime import get_threads, max_threads, threads
from .cases import Call, Case, FloatArray, Scheme, XinitFactory, allocate, case_calls, small_call_calls, xinit_call
from .references import fill_call
from .timing import DEFAULT_MIN_SAMPLE_TIME, DEFAULT_REPEATS, Timer, Timing, time_interleaved

__all__ = [
    "BUSY_SHARE",
    "WORDS_SCHEME",
    "CaseResult",
    "ScalingResult",
    "SmallCallResult",
    "measure_case",
    "measure_scaling",
    "measure_small_call",
]


#: The raw-generator case timed beside a fill when ``measure_case(..., words=True)``.
WORDS_SCHEME: Scheme = "philox_words"
#: NumPy counts as starved of CPU when it got under this share of a core (it is single-threaded).
BUSY_SHARE = 0.9


@dataclass
class CaseResult:
    """The interleaved timings of one case (``timings`` holds ``xinit`` and the references measured)."""

    case: Case
    threads: int
    timings: dict[str, Timing]

    def has(self, impl: str) -> bool:
        """Whether ``impl`` (``"numpy"``, ``"fill"``, ``"words"``) was measured in this case."""
        return impl in self.timings

    def seconds(self, impl: str, timer: Timer = "wall") -> float:
        """Median seconds per call of ``impl``."""
        return self.timings[impl].median(timer)

    def msps(self, impl: str, timer: Timer = "wall") -> float:
        """Throughput of ``impl`` in millions of samples per second."""
        return self.case.size / self.seconds(impl, timer) / 1e6

    def ratio(self, impl: str, reference: str, timer: Timer = "wall") -> float:
        """Throughput of ``impl`` over that of ``reference`` (> 1: ``impl`` is faster)."""
        return self.seconds(reference, timer) / self.seconds(impl, timer)

    def time_ratio(self, impl: str, reference: str, timer: Timer = "wall") -> float:
        """``t_impl / t_reference`` of the medians (< 1: ``impl`` is faster)."""
        return self.seconds(impl, timer) / self.seconds(reference, timer)

    def paired_ratio(self, impl: str, reference: str, timer: Timer = "cpu") -> float:
        """Median over repetitions of ``t_impl / t_reference`` (< 1: ``impl`` is faster).

        Each repetition's pair was measured back to back on the same buffer,
        so the median of the per-repetition ratios cancels slow drifts of
        the machine better than a ratio of medians.
        """
        a, b = self.timings[impl].samples(timer), self.timings[reference].samples(timer)
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    @property
    def busy(self) -> bool:
        """Whether NumPy, single-threaded, got under :data:`BUSY_SHARE` of a core: something else ran.

        Without a NumPy measurement, the same test on the xinit call against
        its thread count.
        """
        if self.has("numpy"):
            return self.seconds("numpy", "cpu") < BUSY_SHARE * self.seconds("numpy", "wall")
        return self.seconds("xinit", "cpu") < BUSY_SHARE * self.threads * self.seconds("xinit", "wall")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: medians, throughputs and time ratios (xinit time / reference time) under both timers."""
        out: dict[str, Any] = {"name": self.case.name, **asdict(self.case), "threads": self.threads}
        for timer in ("wall", "cpu"):
            out[timer] = {
                "seconds": {i: self.seconds(i, timer) for i in self.timings},
                "msamples_per_s": {i: self.msps(i, timer) for i in self.timings},
                "time_over": {i: self.time_ratio("xinit", i, timer) for i in self.timings if i != "xinit"},
            }
        if self.has("words"):
            out["paired_time_over_words"] = self.paired_ratio("xinit", "words", "wall")
        out["busy"] = self.busy
        out["samples"] = {i: asdict(t) for i, t in self.timings.items()}
        return out


def measure_case(
    case: Case,
    *,
    repeats: int = DEFAULT_REPEATS,
    min_sample_time: float = DEFAULT_MIN_SAMPLE_TIME,
    xinit_factory: XinitFactory | None = None,
    out: FloatArray | None = None,
    numpy: bool = True,
    words: bool = False,
) -> CaseResult:
    """Measure xinit-bench, NumPy and the bandwidth fill on one shared buffer.

    ``out`` may be given to reuse an already faulted buffer of the right size
    and dtype; otherwise one is allocated with :func:`~.cases.allocate`.
    ``xinit_factory`` replaces the xinit-bench call (see :func:`~.cases.case_calls`).
    ``numpy=False`` leaves NumPy's reference out; ``words=True`` adds the raw
    Philox words of the same dtype and size (``"words"``) to the interleave.
    """
    buf = allocate(case) if out is None else out
    calls = case_calls(case, buf, xinit_factory)
    if not numpy:
        del calls["numpy"]
    if words:
        calls["words"] = xinit_call(Case(WORDS_SCHEME, case.dtype, case.size), buf)
    timings = time_interleaved(calls, repeats=repeats, min_sample_time=min_sample_time)
    return CaseResult(case, get_threads(), timings)


@dataclass
class ScalingResult:
    """Wall (and CPU) time of the xinit-bench fill at 1 thread and at ``threads``, and of the fill at ``threads``."""

    case: Case
    threads: int
    wall_1: float
    wall_n: float
    #: The constant fill of the same buffer on ``threads`` threads: no fill can beat it (0: not measured).
    fill_n: float = 0.0
    #: CPU seconds (all threads) of the xinit-bench call at ``threads``, median (0: not measured).
    cpu_n: float = 0.0

    @property
    def speedup(self) -> float:
        """``wall_1 / wall_n``: 2.0 would be perfect on two threads."""
        return self.wall_1 / self.wall_n

    @property
    def ideal_n(self) -> float:
        r"""The best time ``threads`` threads can reach: :math:`\max(t_1 / n, t_\text{fill}(n))`.

        Linear scaling of the 1-thread time, unless that would beat the
        bandwidth fill on all threads.
        """
        return max(self.wall_1 / self.threads, self.fill_n)

    @property
    def time_over_ideal(self) -> float:
        """``wall_n / ideal_n`` (1: perfect scaling; lower is better)."""
        return self.wall_n / self.ideal_n

    @property
    def busy(self) -> bool:
        """Whether the call at ``threads`` got under :data:`BUSY_SHARE` of ``threads`` cores (something else ran)."""
        return 0 < self.cpu_n < BUSY_SHARE * self.threads * self.wall_n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.case.name,
            **asdict(self),
            "speedup": self.speedup,
            "ideal_n": self.ideal_n,
            "time_over_ideal": self.time_over_ideal,
            "busy": self.busy,
        }


def measure_scaling(case: Case, *, repeats: int = DEFAULT_REPEATS, max_threads: int | None = None) -> ScalingResult:
    """Interleave the xinit-bench fill of ``case`` on 1 thread and on ``max_threads`` (default: all),
    and the constant fill on ``max_threads``."""
    count = _pool_size() if max_threads is None else int(max_threads)
    buf = allocate(case)
    call = xinit_call(case, buf)
    fill = fill_call(buf)

    def on(n: int, fn: Call) -> Call:
        def run() -> object:
            with threads(n):
                return fn()

        return run

    timings = time_interleaved({"1": on(1, call), "n": on(count, call), "fill": on(count, fill)}, repeats=repeats)
    return ScalingResult(
        case,
        count,
        timings["1"].median("wall"),
        timings["n"].median("wall"),
        timings["fill"].median("wall"),
        timings["n"].median("cpu"),
    )


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
        """``xinit_seconds / numpy_seconds``: a time ratio, lower is better."""
        return self.xinit_seconds / self.numpy_seconds

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.case.name, **asdict(self), "ratio": self.ratio}


def measure_small_call(case: Case, *, repeats: int = DEFAULT_REPEATS) -> SmallCallResult:
    """Time one whole allocating call against the NumPy reference, interleaved."""
    timings = time_interleaved(small_call_calls(case), repeats=max(repeats, 5), min_sample_time=0.02)
    return SmallCallResult(case, timings["xinit"].median("wall"), timings["numpy"].median("wall"))
