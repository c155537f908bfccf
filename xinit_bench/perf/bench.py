"""The ``xinit-bench bench`` job: throughput, thread scaling, small calls and speed targets.

:func:`run_bench` measures every case of a :class:`BenchConfig` with
:mod:`.measure` and checks :data:`TARGETS`, the speed targets, at the largest
measured size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from ..runtime import available_memory
from .cases import ALL_SCHEMES, DTYPES, SCHEMES, Case, Scheme, allocate
from .machine import environment
from .measure import (
    CaseResult,
    ScalingResult,
    SmallCallResult,
    measure_case,
    measure_scaling,
    measure_small_call,
)
from .timing import DEFAULT_MIN_SAMPLE_TIME, DEFAULT_REPEATS

__all__ = [
    "DEFAULT_MIN_SAMPLE_TIME",
    "DEFAULT_REPEATS",
    "DEFAULT_SIZES",
    "SMALL_CALL_SIZE",
    "TARGETS",
    "BenchConfig",
    "BenchReport",
    "CaseResult",
    "ScalingResult",
    "SmallCallResult",
    "Target",
    "TargetCheck",
    "check_targets",
    "measure_case",
    "measure_scaling",
    "measure_small_call",
    "run_bench",
]

#: Sizes of the default run (elements).  64M is the size the speed targets
#: are set at; 1K is the small-call size.
DEFAULT_SIZES: tuple[int, ...] = (1 << 10, 1 << 16, 1 << 20, 1 << 24, 1 << 26)
SMALL_CALL_SIZE = 1 << 10


Versus = Literal["fill", "numpy", "threads", "small_call"]


@dataclass(frozen=True)
class Target:
    """A speed target, checked at the largest measured size.

    ``label`` says what is measured; for ``versus="threads"`` it holds a
    ``{threads}`` field that :attr:`TargetCheck.label` fills with the thread
    count actually measured.
    """

    label: str
    scheme: Scheme
    dtype: str
    versus: Versus
    bound: float

    def passes(self, value: float) -> bool:
        """``small_call`` is an upper bound on a time ratio; the others are lower bounds on throughput ratios."""
        return value <= self.bound if self.versus == "small_call" else value >= self.bound


#: 64M elements on all threads, ratios from one run; thread scaling compares 1
#: thread with all of Numba's pool; the small calls are 1K elements.  The
#: fractions of the fill are the kernels' floors on the 2-core development VM
#: (docs/design.md, "Kernel facts"): the symmetric uniform at about the
#: hand-vectorised Philox ceiling there, the others where their transforms'
#: arithmetic, not the generator, sets the pace.
TARGETS: tuple[Target, ...] = (
    Target("symmetric uniform >= 0.45 x fill", "symmetric_uniform", "float32", "fill", 0.45),
    Target("symmetric uniform >= 5 x NumPy", "symmetric_uniform", "float32", "numpy", 5.0),
    Target("normal >= 0.25 x fill", "normal", "float32", "fill", 0.25),
    Target("normal >= 8 x NumPy", "normal", "float32", "numpy", 8.0),
    Target("truncated normal >= 0.18 x fill", "truncated_normal", "float32", "fill", 0.18),
    Target("float64 uniform >= 0.4 x fill", "uniform", "float64", "fill", 0.4),
    Target("float64 symmetric uniform >= 0.4 x fill", "symmetric_uniform", "float64", "fill", 0.4),
    Target("float64 normal >= 0.15 x fill", "normal", "float64", "fill", 0.15),
    Target("float64 truncated normal >= 0.08 x fill", "truncated_normal", "float64", "fill", 0.08),
    Target("{threads} >= 1.7 x 1 thread (symmetric uniform)", "symmetric_uniform", "float32", "threads", 1.7),
    Target("{threads} >= 1.7 x 1 thread (normal)", "normal", "float32", "threads", 1.7),
    Target("{threads} >= 1.7 x 1 thread (truncated normal)", "truncated_normal", "float32", "threads", 1.7),
    Target(
        "1K float32 call <= 1.25 x NumPy reference (symmetric uniform)",
        "symmetric_uniform",
        "float32",
        "small_call",
        1.25,
    ),
    Target("1K float32 call <= 1.25 x NumPy reference (uniform)", "uniform", "float32", "small_call", 1.25),
    Target("1K float32 call <= 1.0 x NumPy reference (normal)", "normal", "float32", "small_call", 1.0),
    Target(
        "1K float32 call <= 1.0 x NumPy reference (truncated normal)", "truncated_normal", "float32", "small_call", 1.0
    ),
    Target(
        "1K float64 call <= 1.25 x NumPy reference (symmetric uniform)",
        "symmetric_uniform",
        "float64",
        "small_call",
        1.25,
    ),
    Target("1K float64 call <= 1.25 x NumPy reference (uniform)", "uniform", "float64", "small_call", 1.25),
    Target("1K float64 call <= 1.0 x NumPy reference (normal)", "normal", "float64", "small_call", 1.0),
    Target(
        "1K float64 call <= 1.0 x NumPy reference (truncated normal)", "truncated_normal", "float64", "small_call", 1.0
    ),
)


@dataclass
class TargetCheck:
    """One target against the measured value (``None`` when its case was not measured)."""

    target: Target
    size: int | None
    value: float | None
    #: Threads of the scaling measurement behind a ``threads`` target (``None``: not measured).
    threads: int | None = None

    @property
    def label(self) -> str:
        """The target's label, with the thread count that was measured (``"all threads"`` if none was)."""
        count = "all threads" if self.threads is None else f"{self.threads} thread{'' if self.threads == 1 else 's'}"
        return self.target.label.format(threads=count)

    @property
    def status(self) -> str:
        """``"pass"``, ``"MISS"`` or ``"not measured"``."""
        if self.value is None:
            return "not measured"
        return "pass" if self.target.passes(self.value) else "MISS"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            **asdict(self.target),
            "label": self.label,
            "size": self.size,
            "value": self.value,
            "status": self.status,
        }


@dataclass
class BenchConfig:
    """What ``xinit-bench bench`` measures.

    Raises
    ------
    ValueError
        On construction, for fewer than 5 repeats, an unknown scheme or dtype,
        an empty list, or a size that is not positive.
    """

    sizes: Sequence[int] = DEFAULT_SIZES
    schemes: Sequence[Scheme] = SCHEMES
    dtypes: Sequence[str] = DTYPES
    repeats: int = DEFAULT_REPEATS
    min_sample_time: float = DEFAULT_MIN_SAMPLE_TIME
    scaling: bool = True
    small_call_size: int | None = SMALL_CALL_SIZE

    def __post_init__(self) -> None:
        if self.repeats < 5:
            raise ValueError(f"repeats must be at least 5 (medians of >= 5 runs), got {self.repeats}")
        for what, values in (("sizes", self.sizes), ("schemes", self.schemes), ("dtypes", self.dtypes)):
            if not values:
                raise ValueError(f"{what} must not be empty")
        for scheme in self.schemes:
            if scheme not in ALL_SCHEMES:
                raise ValueError(f"unknown scheme {scheme!r}; allowed: {', '.join(ALL_SCHEMES)}")
        for dtype in self.dtypes:
            if dtype not in DTYPES:
                raise ValueError(f"unknown dtype {dtype!r}; allowed: {', '.join(DTYPES)}")
        for size in self.sizes:
            if size <= 0:
                raise ValueError(f"sizes must be positive, got {size}")

    def steps(self) -> int:
        """Number of progress steps :func:`run_bench` reports."""
        n = len(self.sizes) * len(self.schemes) * len(self.dtypes)
        if self.scaling:
            n += len(self.schemes)
        if self.small_call_size is not None:
            n += len(self.schemes) * len(self.dtypes)
        return n

    def memory_needed(self) -> int:
        """Bytes of the largest buffer :func:`run_bench` holds at once (one case buffer at a time)."""
        largest = max(self.sizes)
        # the scaling buffer is float32, never wider than the widest dtype measured
        return largest * max(np.dtype(d).itemsize for d in self.dtypes)

    def check_memory(self, available: int | None = None) -> None:
        """Refuse, before any work, a run whose buffers do not fit in available memory.

        Raises
        ------
        ValueError
            If :meth:`memory_needed` exceeds ``available`` (default:
            :func:`xinit_bench.runtime.available_memory`).
        """
        free = available_memory() if available is None else available
        need = self.memory_needed()
        if need > free:
            raise ValueError(
                f"the largest size, {max(self.sizes)} elements, needs a {need / 2**30:.1f} GiB buffer; "
                f"only {free / 2**30:.1f} GiB of memory is available"
            )


@dataclass
class BenchReport:
    """Everything one ``xinit-bench bench`` run measured."""

    environment: dict[str, Any]
    config: dict[str, Any]
    results: list[CaseResult] = field(default_factory=list)
    scaling: list[ScalingResult] = field(default_factory=list)
    small_calls: list[SmallCallResult] = field(default_factory=list)
    targets: list[TargetCheck] = field(default_factory=list)
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole report."""
        return {
            "environment": self.environment,
            "config": self.config,
            "results": [r.to_dict() for r in self.results],
            "scaling": [s.to_dict() for s in self.scaling],
            "small_calls": [s.to_dict() for s in self.small_calls],
            "targets": [t.to_dict() for t in self.targets],
            "elapsed_seconds": self.elapsed,
        }


def check_targets(report: BenchReport) -> list[TargetCheck]:
    """Evaluate :data:`TARGETS` on ``report``, at the largest measured size of each case."""
    checks = []
    for target in TARGETS:
        value: float | None = None
        size: int | None = None
        count: int | None = None
        if target.versus in ("fill", "numpy"):
            found = [r for r in report.results if r.case.scheme == target.scheme and r.case.dtype == target.dtype]
            if found:
                best = max(found, key=lambda r: r.case.size)
                size, value = best.case.size, best.ratio("xinit", target.versus)
        elif target.versus == "threads":
            scal = [s for s in report.scaling if s.case.scheme == target.scheme and s.case.dtype == target.dtype]
            if scal:
                size, value, count = scal[0].case.size, scal[0].speedup, scal[0].threads
        else:
            small = [s for s in report.small_calls if s.case.scheme == target.scheme and s.case.dtype == target.dtype]
            if small:
                size, value = small[0].case.size, small[0].ratio
        checks.append(TargetCheck(target, size, value, count))
    return checks


def run_bench(config: BenchConfig, progress: Callable[[str], None] | None = None) -> BenchReport:
    """Run the whole ``xinit-bench bench`` job.

    Parameters
    ----------
    config
        What to measure.
    progress
        Called with a short description after each step (``config.steps()`` in all).

    Returns
    -------
    BenchReport
        Throughput table, thread scaling at the largest size, small-call
        ratios and the speed-target checks.

    Raises
    ------
    ValueError
        Before any work, if the largest buffer does not fit in available memory.
    """
    config.check_memory()
    started = time.perf_counter()
    step = progress if progress is not None else (lambda _text: None)
    report = BenchReport(environment={}, config=asdict(config))
    for size in sorted(config.sizes):
        for dtype in config.dtypes:
            buf = allocate(Case(config.schemes[0], dtype, size))
            for scheme in config.schemes:
                case = Case(scheme, dtype, size)
                report.results.append(
                    measure_case(case, repeats=config.repeats, min_sample_time=config.min_sample_time, out=buf)
                )
                step(case.name)
            del buf
    if config.scaling:
        largest = max(config.sizes)
        for scheme in config.schemes:
            case = Case(scheme, "float32", largest)
            report.scaling.append(measure_scaling(case, repeats=config.repeats))
            step(f"threads {case.name}")
    if config.small_call_size is not None:
        for dtype in config.dtypes:
            for scheme in config.schemes:
                case = Case(scheme, dtype, config.small_call_size)
                report.small_calls.append(measure_small_call(case, repeats=config.repeats))
                step(f"call {case.name}")
    report.environment = environment()
    report.targets = check_targets(report)
    report.elapsed = time.perf_counter() - started
    return report
