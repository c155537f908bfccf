"""The ``xinit-bench bench`` job: throughput, thread scaling, small calls, speed targets and a verdict.

:func:`run_bench` measures every case of a :class:`BenchConfig` with
:mod:`.measure` and grades :func:`targets_for` this machine, each target a
*time ratio* (``xinit time / reference time``, lower is better) to a
reference measured in the same run, interleaved on the same buffer:

``words``
    the library's raw Philox generator writing the same words over the same
    bytes (the ``philox_words`` case, the generator's own ceiling): a fill
    can only add its transform's cost to it;
``threads``
    the best time that all threads can reach from the 1-thread time,
    :math:`\\max(t_1 / n, t_\\text{fill}(n))` (linear scaling, unless the
    constant fill of the buffer on all threads, the bandwidth limit, is
    slower);
``small_call``
    NumPy's reference call, for a 1K-element allocating call.

A target is graded only at the size it is set at (64M elements for
``words`` and ``threads``, 1K for ``small_call``): a fill of 1M elements
runs in the caches, where the ratios are others.  :meth:`BenchReport.verdict`
says how many graded targets were met and by how much the others missed.

This module holds the job and its main table (every case at every size);
the targets and where their bounds come from are in :mod:`.targets`, the
scaling, small-call and orthogonal sections in :mod:`.sections`.  The public
names of :mod:`.targets` are imported from here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..runtime import available_memory
from .cases import ALL_SCHEMES, DTYPES, SCHEMES, Case, Scheme, allocate, size_label
from .machine import environment
from .measure import (
    CaseResult,
    ScalingResult,
    SmallCallResult,
    measure_case,
    measure_scaling,
    measure_small_call,
)
from .qr_bench import QRResult
from .qr_cases import QRCase
from .sections import check_section, orthogonal_rows, scaling_rows, small_call_rows
from .targets import SMALL_CALL_SIZE, TARGET_SIZE, Target, TargetCheck, isa_level, targets_for
from .timing import DEFAULT_MIN_SAMPLE_TIME, DEFAULT_REPEATS

__all__ = [
    "DEFAULT_MIN_SAMPLE_TIME",
    "DEFAULT_REPEATS",
    "DEFAULT_SIZES",
    "FULL_SIZES",
    "NUMPY_UP_TO",
    "SMALL_CALL_SIZE",
    "TARGET_SIZE",
    "BenchConfig",
    "BenchReport",
    "CaseResult",
    "ScalingResult",
    "SmallCallResult",
    "Target",
    "TargetCheck",
    "check_targets",
    "isa_level",
    "measure_case",
    "measure_scaling",
    "measure_small_call",
    "run_bench",
    "targets_for",
]

#: Sizes of the default run: the small-call size, one that fits the caches, and the target size.
DEFAULT_SIZES: tuple[int, ...] = (1 << 10, 1 << 20, TARGET_SIZE)
#: Sizes of ``--full``.
FULL_SIZES: tuple[int, ...] = (1 << 10, 1 << 16, 1 << 20, 1 << 24, TARGET_SIZE)
#: The default run times NumPy's reference up to this size only.  NumPy's
#: fills are single-threaded and 5-25x slower than the kernels, so at 64M they
#: took about half of the whole job (measured on the 2-core VM, 8 rows of
#: 12-22 s each of a 2.5-minute run); their throughput no longer changes with
#: the size once the buffer is out of the caches, and no target reads them.
#: ``--full`` times them at every size.
NUMPY_UP_TO = 1 << 20


@dataclass
class BenchConfig:
    """What ``xinit-bench bench`` measures.

    ``numpy_up_to`` is the largest size at which NumPy's reference is timed
    (``None``: every size); ``words`` adds the raw Philox words to every
    case's interleave, the reference of the ``words`` targets.  ``orthogonal``
    are the orthogonal rows (:mod:`.qr_bench`), timed after the fills; with
    some, ``schemes`` may be empty.

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
    numpy_up_to: int | None = NUMPY_UP_TO
    words: bool = True
    orthogonal: Sequence[QRCase] = ()

    def __post_init__(self) -> None:
        if self.repeats < 5:
            raise ValueError(f"repeats must be at least 5 (medians of >= 5 runs), got {self.repeats}")
        for what, values in (("sizes", self.sizes), ("schemes", self.schemes), ("dtypes", self.dtypes)):
            if not values and not (what == "schemes" and self.orthogonal):
                raise ValueError(f"{what} must not be empty")
        for scheme in self.schemes:
            if scheme not in ALL_SCHEMES:
                raise ValueError(f"schemes must be among {', '.join(ALL_SCHEMES)}, got {scheme!r}")
        for dtype in self.dtypes:
            if dtype not in DTYPES:
                raise ValueError(f"dtypes must be among {', '.join(DTYPES)}, got {dtype!r}")
        for size in self.sizes:
            if size <= 0:
                raise ValueError(f"sizes must be positive, got {size}")

    @classmethod
    def full(cls, **changes: Any) -> BenchConfig:
        """The ``--full`` run: every size of :data:`FULL_SIZES`, every scheme, NumPy at every size."""
        settings: dict[str, Any] = {"sizes": FULL_SIZES, "schemes": ALL_SCHEMES, "numpy_up_to": None}
        settings.update(changes)
        return cls(**settings)

    def times_numpy(self, size: int) -> bool:
        """Whether NumPy's reference is timed at ``size``."""
        return self.numpy_up_to is None or size <= self.numpy_up_to

    def steps(self) -> int:
        """Number of progress steps :func:`run_bench` reports."""
        n = len(self.sizes) * len(self.schemes) * len(self.dtypes)
        if self.scaling:
            n += len(self.schemes)
        if self.small_call_size is not None:
            n += len(self.schemes) * len(self.dtypes)
        return n + len(self.orthogonal)

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
    orthogonal: list[QRResult] = field(default_factory=list)
    targets: list[TargetCheck] = field(default_factory=list)
    elapsed: float = 0.0
    #: ``os.getloadavg()`` 1-minute figures before and after the run (``None`` where unsupported).
    load: tuple[float | None, float | None] = (None, None)

    def graded(self) -> list[TargetCheck]:
        """The targets that were graded (pass or MISS)."""
        return [t for t in self.targets if t.status in ("pass", "MISS")]

    def verdict(self, names: Mapping[str, str] | None = None) -> str:
        """The last lines of the report: ``verdict: 18 of 18 graded targets met on this machine``, then one
        line per miss with its value, its bound and by how much it missed, worst first.

        ``names`` renames schemes in the labels (the CLI shows the public call
        each case times).
        """
        graded = self.graded()
        missed = sorted((t for t in graded if t.status == "MISS"), key=lambda t: -t.excess)
        ungraded = len(self.targets) - len(graded)
        head = f"verdict: {len(graded) - len(missed)} of {len(graded)} graded targets met on this machine"
        if ungraded:
            head += f" ({ungraded} not graded)"
        lines = [head]
        for t in missed:
            value = 0.0 if t.value is None else t.value
            mark = " (!: other work took CPU)" if t.busy else ""
            lines.append(
                f"  missed: {t.target.display(names)} {value:.2f} > {t.target.bound:.2f} "
                f"(+{100 * t.excess:.0f} %){mark}"
            )
        busy = sum(t.busy for t in missed)
        if busy:
            lines.append(f"  {busy} of {len(missed)} misses ran while other work took CPU: rerun on an idle machine")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole report."""
        graded = self.graded()
        return {
            "environment": self.environment,
            "config": self.config,
            "ratio": "time ratio: xinit time / reference time, lower is better",
            "results": [r.to_dict() for r in self.results],
            "scaling": [s.to_dict() for s in self.scaling],
            "small_calls": [s.to_dict() for s in self.small_calls],
            "orthogonal": [q.to_dict() for q in self.orthogonal],
            "targets": [t.to_dict() for t in self.targets],
            "verdict": {
                "graded": len(graded),
                "met": sum(t.status == "pass" for t in graded),
                "missed": [t.target.label for t in graded if t.status == "MISS"],
                "text": self.verdict(),
            },
            "load_average": list(self.load),
            "elapsed_seconds": self.elapsed,
        }


def _sizes(found: Sequence[CaseResult]) -> str:
    return ", ".join(size_label(n) for n in sorted({r.case.size for r in found}))


def _check(target: Target, report: BenchReport) -> TargetCheck:
    if target.versus != "words":
        return check_section(target, report.scaling if target.versus == "threads" else report.small_calls)
    rows = [r for r in report.results if (r.case.scheme, r.case.dtype) == (target.scheme, target.dtype)]
    at = [r for r in rows if r.case.size == target.size]
    if not rows:
        return TargetCheck(target)
    if not at:
        return TargetCheck(target, note=f"set at {size_label(target.size)}; measured at {_sizes(rows)}")
    row = at[0]
    if not row.has("words"):
        return TargetCheck(target, note="no raw-words reference in this run")
    return TargetCheck(target, row.paired_ratio("xinit", "words", "wall"), busy=row.busy)


def check_targets(report: BenchReport, level: str | None = None) -> list[TargetCheck]:
    """Grade the targets of ISA ``level`` (default: this machine's) on ``report``, each at its own size."""
    return [_check(t, report) for t in targets_for(isa_level() if level is None else level)]


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


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
    load_before = _load()
    for size in sorted(config.sizes) if config.schemes else ():
        for dtype in config.dtypes:
            buf = allocate(Case(config.schemes[0], dtype, size))
            for scheme in config.schemes:
                case = Case(scheme, dtype, size)
                report.results.append(
                    measure_case(
                        case,
                        repeats=config.repeats,
                        min_sample_time=config.min_sample_time,
                        out=buf,
                        numpy=config.times_numpy(size),
                        words=config.words and scheme != "philox_words",
                    )
                )
                step(case.name)
            del buf
    if config.scaling and config.schemes:
        report.scaling = scaling_rows(config.schemes, max(config.sizes), config.repeats, step)
    if config.small_call_size is not None:
        report.small_calls = small_call_rows(
            config.schemes, config.dtypes, config.small_call_size, config.repeats, step
        )
    if config.orthogonal:
        report.orthogonal = orthogonal_rows(config.orthogonal, config.repeats, step)
    report.environment = environment()
    report.targets = check_targets(report, isa_level(report.environment["cpu_key"]))
    report.load = (load_before, _load())
    report.elapsed = time.perf_counter() - started
    return report
