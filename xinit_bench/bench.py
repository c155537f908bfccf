"""The measurement core shared by ``xinit-bench bench``, the gate and the suites.

Every figure follows DESIGN.md, "Measuring speed":

* **Same buffer, same run, interleaved.**  For one case (scheme, dtype, size)
  the xinit-bench fill, NumPy's fastest path and the parallel constant fill
  (the memory-bandwidth limit) all write the *same* pre-faulted buffer, and
  their timings alternate: repetition ``r`` runs the three in an order rotated
  by ``r``, so slow drifts of the machine hit all three alike.
* **No compilation in the clock.**  Each callable is called once before
  timing.
* **Medians** of at least five repetitions; one repetition times ``number``
  back-to-back calls, with ``number`` chosen so a repetition lasts at least
  ``min_sample_time`` (small calls are shorter than the clocks' useful
  resolution).
* **Both timers.**  ``time.perf_counter`` (wall time: what a user waits) and
  ``time.process_time`` (CPU time summed over the threads of this process) are
  recorded for every call.  Throughput is reported from wall time; the gate
  uses CPU time (see :mod:`xinit_bench.gate`).

Nothing here runs at import; numba's thread count is only changed inside
:func:`measure_scaling` and :func:`threads`, and always restored.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Scheme = Literal["symmetric_uniform", "uniform", "normal", "truncated_normal", "truncated_normal_wide"]
Impl = Literal["xinit", "numpy", "fill"]
Timer = Literal["wall", "cpu"]
FloatArray = NDArray[np.floating[Any]]
Call = Callable[[], object]
XinitFactory = Callable[["Case", FloatArray], Call]

#: The four fills every report covers.  ``symmetric_uniform`` is the
#: Xavier/He uniform path, ``uniform`` is a plain ``[low, high)``.
SCHEMES: tuple[Scheme, ...] = ("symmetric_uniform", "uniform", "normal", "truncated_normal")
#: Also accepted by ``xinit-bench bench --schemes`` and in benchmark names, but
#: not in the default run or the gate's baseline.  ``truncated_normal_wide`` is
#: torch's ``trunc_normal_(std=0.02)``, whose default bounds a=-2, b=2 are
#: absolute: +-100 std (ViT and GPT-style models initialise this way).
EXTRA_SCHEMES: tuple[Scheme, ...] = ("truncated_normal_wide",)
ALL_SCHEMES: tuple[Scheme, ...] = SCHEMES + EXTRA_SCHEMES
DTYPES: tuple[str, ...] = ("float32", "float64")
IMPLS: tuple[Impl, ...] = ("xinit", "numpy", "fill")

#: Sizes of the default ``xinit-bench bench`` run (elements).  64M is the size
#: of issue 2's speed targets; 1K is its small-call target.
DEFAULT_SIZES: tuple[int, ...] = (1 << 10, 1 << 16, 1 << 20, 1 << 24, 1 << 26)
DEFAULT_REPEATS = 5
#: A repetition lasts at least this long, so that clock resolution and
#: per-call jitter stay below 1 % of a sample.
DEFAULT_MIN_SAMPLE_TIME = 0.01
DEFAULT_SEED = 20240917

#: Scheme parameters.  The std of 0.02 is the initialisation std of GPT-2's
#: weights (Radford et al. 2019, the released ``model.py``), a typical large
#: tensor; ``uniform`` uses an asymmetric interval so the affine map is not
#: trivial; ``truncated_normal`` cuts at +-2 std, as issue 2 specifies.
NORMAL_STD = 0.02
UNIFORM_LOW, UNIFORM_HIGH = -0.05, 0.1
TRUNCATION = 2.0
WIDE_TRUNCATION = 2.0 / NORMAL_STD


def truncation(scheme: Scheme) -> float:
    """The cut, in standard deviations, of a truncated-normal ``scheme``."""
    return WIDE_TRUNCATION if scheme == "truncated_normal_wide" else TRUNCATION


#: The symmetric-uniform case fills a torch-layout matrix ``(size // 1024, 1024)``.
MATRIX_COLUMNS = 1024


def size_label(size: int) -> str:
    """Return ``size`` in binary units: ``1024 -> "1K"``, ``1 << 26 -> "64M"``.

    Sizes that are not a whole number of KiB keep their decimal spelling.
    """
    for shift, suffix in ((30, "G"), (20, "M"), (10, "K")):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{suffix}"
    return str(size)


def parse_size(text: str) -> int:
    """Parse ``"64M"``, ``"1K"``, ``"4096"`` or ``"1<<20"`` into a positive element count.

    Raises
    ------
    ValueError
        If ``text`` is not one of those forms or is not positive.
    """
    raw = text.strip().upper()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        if "<<" in raw:
            base, shift = raw.split("<<")
            value = int(base) << int(shift)
        elif raw and raw[-1] in units:
            value = int(raw[:-1]) * units[raw[-1]]
        else:
            value = int(raw)
    except ValueError:
        raise ValueError(
            f"size {text!r} is not understood; use an element count such as 1048576, 1M, 64K or 1<<20"
        ) from None
    if value <= 0:
        raise ValueError(f"size {text!r} must be positive")
    return value


@dataclass(frozen=True)
class Case:
    """One measured fill: a scheme, an output dtype and a number of elements."""

    scheme: Scheme
    dtype: str
    size: int

    @property
    def name(self) -> str:
        """Stable benchmark name, e.g. ``"normal-float32-1M"`` (the gate's key)."""
        return f"{self.scheme}-{self.dtype}-{size_label(self.size)}"

    @classmethod
    def from_name(cls, name: str) -> Case:
        """Inverse of :attr:`name`.

        Raises
        ------
        ValueError
            If ``name`` does not name a known scheme, dtype and size.
        """
        parts = name.rsplit("-", 2)
        if len(parts) != 3 or parts[0] not in ALL_SCHEMES or parts[1] not in DTYPES:
            raise ValueError(
                f"benchmark name {name!r} is not <scheme>-<dtype>-<size> with scheme one of "
                f"{', '.join(ALL_SCHEMES)} and dtype one of {', '.join(DTYPES)}"
            )
        scheme: Scheme = parts[0]
        return cls(scheme, parts[1], parse_size(parts[2]))


def matrix_shape(size: int) -> tuple[int, int]:
    """The torch-layout ``(out, in)`` shape used for ``size`` elements of a symmetric uniform."""
    if size % MATRIX_COLUMNS == 0:
        return (size // MATRIX_COLUMNS, MATRIX_COLUMNS)
    return (size, 1)


def xavier_bound(shape: tuple[int, int]) -> float:
    """Glorot & Bengio (2010), eq. 16: ``sqrt(6 / (fan_in + fan_out))`` for a torch ``(out, in)`` matrix."""
    fan_out, fan_in = shape
    return math.sqrt(6.0 / (fan_in + fan_out))


def allocate(case: Case) -> FloatArray:
    """A flat output for ``case`` with every page already faulted in (``np.ones`` writes it)."""
    return np.ones(case.size, dtype=np.dtype(case.dtype))


def xinit_call(case: Case, out: FloatArray, seed: int = DEFAULT_SEED) -> Call:
    """The public xinit-bench call that fills ``out`` for ``case``, as a user would write it."""
    import xinit_bench as xb

    dtype = np.dtype(case.dtype).type
    if case.scheme == "symmetric_uniform":
        shape = matrix_shape(case.size)
        view = out.reshape(shape)
        return lambda: xb.xavier_uniform(shape, seed=seed, dtype=dtype, out=view)
    if case.scheme == "uniform":
        return lambda: xb.uniform(out.shape, UNIFORM_LOW, UNIFORM_HIGH, seed=seed, dtype=dtype, out=out)
    if case.scheme == "normal":
        return lambda: xb.normal(out.shape, 0.0, NORMAL_STD, seed=seed, dtype=dtype, out=out)
    cut = truncation(case.scheme)
    return lambda: xb.truncated_normal(out.shape, 0.0, NORMAL_STD, -cut, cut, seed=seed, dtype=dtype, out=out)


def numpy_call(case: Case, out: FloatArray, seed: int = DEFAULT_SEED) -> Call:
    """NumPy's fastest path for ``case`` (``xinit_bench.reference.fill_*``) into ``out``."""
    from xinit_bench import reference

    rng = np.random.default_rng(seed)
    if case.scheme == "symmetric_uniform":
        bound = xavier_bound(matrix_shape(case.size))
        return lambda: reference.fill_uniform(out, -bound, bound, rng)
    if case.scheme == "uniform":
        return lambda: reference.fill_uniform(out, UNIFORM_LOW, UNIFORM_HIGH, rng)
    if case.scheme == "normal":
        return lambda: reference.fill_normal(out, 0.0, NORMAL_STD, rng)
    cut = truncation(case.scheme)
    return lambda: reference.fill_truncated_normal(out, 0.0, NORMAL_STD, -cut, cut, rng)


def fill_call(out: FloatArray) -> Call:
    """The parallel constant fill of ``out``: the memory-bandwidth limit."""
    from xinit_bench.kernels import fill

    fill_constant: Callable[[FloatArray, object], None] = fill.fill_constant
    value = out.dtype.type(0.5)
    return lambda: fill_constant(out, value)


def case_calls(case: Case, out: FloatArray, xinit_factory: XinitFactory | None = None) -> dict[str, Call]:
    """The three interleaved callables of one case, all writing ``out``.

    ``xinit_factory`` replaces the xinit-bench call (tests use it to inject a
    deliberately slowed kernel); it receives ``(case, out)``.
    """
    make = xinit_factory if xinit_factory is not None else xinit_call
    return {"xinit": make(case, out), "numpy": numpy_call(case, out), "fill": fill_call(out)}


@dataclass
class Timing:
    """Per-call times of one callable, seconds, one sample per repetition."""

    number: int
    wall: list[float]
    cpu: list[float]

    def median(self, timer: Timer = "wall") -> float:
        """Median seconds per call under ``timer``."""
        return statistics.median(self.wall if timer == "wall" else self.cpu)


def _time_block(call: Call, number: int) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(number):
        call()
    return time.perf_counter() - wall0, time.process_time() - cpu0


def time_interleaved(
    calls: Mapping[str, Call],
    *,
    repeats: int = DEFAULT_REPEATS,
    min_sample_time: float = DEFAULT_MIN_SAMPLE_TIME,
) -> dict[str, Timing]:
    """Time ``calls`` against each other, interleaved, after one warm-up call each.

    Parameters
    ----------
    calls
        Name -> zero-argument callable.  All are timed in each repetition, in
        an order rotated by the repetition index.
    repeats
        Number of repetitions (samples per callable); at least 1.
    min_sample_time
        Each callable's ``number`` of calls per sample is chosen from its
        warm-up time so that one sample lasts at least this many seconds.

    Returns
    -------
    dict
        Name -> :class:`Timing` with ``repeats`` per-call samples of both timers.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    names = list(calls)
    numbers: dict[str, int] = {}
    for name in names:
        calls[name]()  # warm-up: compilation and first-touch effects stay out of the clock
        wall, _ = _time_block(calls[name], 1)
        numbers[name] = max(1, math.ceil(min_sample_time / max(wall, 1e-9)))
    timings = {name: Timing(numbers[name], [], []) for name in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rep in range(repeats):
            shift = rep % len(names)
            for name in names[shift:] + names[:shift]:
                wall, cpu = _time_block(calls[name], numbers[name])
                timings[name].wall.append(wall / numbers[name])
                timings[name].cpu.append(cpu / numbers[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings


def get_threads() -> int:
    """Numba's current thread count."""
    import numba

    return int(numba.get_num_threads())


def _numba_config() -> Any:
    """``numba.config``, whose attributes are set from the environment at import, out of a type checker's sight."""
    import numba.core.config

    return numba.core.config


def _max_threads() -> int:
    """The size of Numba's thread pool: ``NUMBA_NUM_THREADS``, by default the number of CPUs."""
    return int(_numba_config().NUMBA_NUM_THREADS)


@contextlib.contextmanager
def threads(count: int | None) -> Iterator[int]:
    """Run the block with ``numba.set_num_threads(count)`` (``None``: unchanged), then restore."""
    import numba

    previous = int(numba.get_num_threads())
    if count is None:
        yield previous
        return
    limit = _max_threads()
    if not 1 <= count <= limit:
        raise ValueError(f"threads must be between 1 and {limit}, got {count}")
    numba.set_num_threads(count)
    try:
        yield count
    finally:
        numba.set_num_threads(previous)


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
        a = self.timings[impl].wall if timer == "wall" else self.timings[impl].cpu
        b = self.timings[reference].wall if timer == "wall" else self.timings[reference].cpu
        return statistics.median(x / y for x, y in zip(a, b))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: medians, throughputs and ratios under both timers."""
        out: dict[str, Any] = {
            "name": self.case.name,
            **asdict(self.case),
            "threads": self.threads,
        }
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
    and dtype; otherwise one is allocated with :func:`allocate`.
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
    import numba

    count = _max_threads() if max_threads is None else int(max_threads)
    buf = allocate(case)
    call = xinit_call(case, buf)

    def on(n: int) -> Call:
        def run() -> object:
            numba.set_num_threads(n)
            return call()

        return run

    with threads(None):
        timings = time_interleaved({"1": on(1), str(count): on(count)}, repeats=repeats)
    return ScalingResult(case, count, timings["1"].median("wall"), timings[str(count)].median("wall"))


@dataclass
class SmallCallResult:
    """A whole public call (validation, allocation, fill) against the NumPy reference call."""

    case: Case
    xinit_seconds: float
    numpy_seconds: float

    @property
    def ratio(self) -> float:
        """``xinit_seconds / numpy_seconds`` (issue 2 asks for at most 2 at 1K elements)."""
        return self.xinit_seconds / self.numpy_seconds

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.case.name, **asdict(self), "ratio": self.ratio}


def small_call_calls(case: Case, seed: int = DEFAULT_SEED) -> dict[str, Call]:
    """The allocating public call and its ``xinit_bench.reference`` twin for ``case``."""
    import xinit_bench as xb
    from xinit_bench import reference

    dtype = np.dtype(case.dtype).type
    rng = np.random.default_rng(seed)
    flat = (case.size,)
    if case.scheme == "symmetric_uniform":
        shape = matrix_shape(case.size)
        return {
            "xinit": lambda: xb.xavier_uniform(shape, seed=seed, dtype=dtype),
            "numpy": lambda: reference.xavier_uniform(shape, rng=rng, dtype=dtype),
        }
    if case.scheme == "uniform":
        return {
            "xinit": lambda: xb.uniform(flat, UNIFORM_LOW, UNIFORM_HIGH, seed=seed, dtype=dtype),
            "numpy": lambda: reference.uniform(flat, UNIFORM_LOW, UNIFORM_HIGH, rng=rng, dtype=dtype),
        }
    if case.scheme == "normal":
        return {
            "xinit": lambda: xb.normal(flat, 0.0, NORMAL_STD, seed=seed, dtype=dtype),
            "numpy": lambda: reference.normal(flat, 0.0, NORMAL_STD, rng=rng, dtype=dtype),
        }
    cut = truncation(case.scheme)
    return {
        "xinit": lambda: xb.truncated_normal(flat, 0.0, NORMAL_STD, -cut, cut, seed=seed, dtype=dtype),
        "numpy": lambda: reference.truncated_normal(flat, 0.0, NORMAL_STD, -cut, cut, rng=rng, dtype=dtype),
    }


def measure_small_call(case: Case, *, repeats: int = DEFAULT_REPEATS) -> SmallCallResult:
    """Time one whole allocating call against the NumPy reference, interleaved."""
    timings = time_interleaved(small_call_calls(case), repeats=max(repeats, 5), min_sample_time=0.02)
    return SmallCallResult(case, timings["xinit"].median("wall"), timings["numpy"].median("wall"))


@dataclass(frozen=True)
class Target:
    """A speed target of issue 2 ("Speed"), checked at the largest measured size."""

    label: str
    scheme: Scheme
    dtype: str
    versus: Literal["fill", "numpy", "threads", "small_call"]
    bound: float

    def passes(self, value: float) -> bool:
        """``small_call`` is an upper bound on a time ratio; the others are lower bounds on throughput ratios."""
        return value <= self.bound if self.versus == "small_call" else value >= self.bound


#: Issue 2, "Speed": 64M float32 elements on 2 threads, ratios from one run.
TARGETS: tuple[Target, ...] = (
    Target("symmetric uniform >= 0.45 x fill", "symmetric_uniform", "float32", "fill", 0.45),
    Target("symmetric uniform >= 5 x NumPy", "symmetric_uniform", "float32", "numpy", 5.0),
    Target("normal >= 0.18 x fill", "normal", "float32", "fill", 0.18),
    Target("normal >= 8 x NumPy", "normal", "float32", "numpy", 8.0),
    Target("truncated normal >= 0.12 x fill", "truncated_normal", "float32", "fill", 0.12),
    Target("float64 uniform >= 0.35 x fill", "uniform", "float64", "fill", 0.35),
    Target("float64 symmetric uniform >= 0.35 x fill", "symmetric_uniform", "float64", "fill", 0.35),
    Target("2 threads >= 1.7 x 1 thread (symmetric uniform)", "symmetric_uniform", "float32", "threads", 1.7),
    Target("2 threads >= 1.7 x 1 thread (normal)", "normal", "float32", "threads", 1.7),
    Target("2 threads >= 1.7 x 1 thread (truncated normal)", "truncated_normal", "float32", "threads", 1.7),
    Target("1K call <= 2 x NumPy reference (symmetric uniform)", "symmetric_uniform", "float32", "small_call", 2.0),
    Target("1K call <= 2 x NumPy reference (normal)", "normal", "float32", "small_call", 2.0),
    Target("1K call <= 2 x NumPy reference (truncated normal)", "truncated_normal", "float32", "small_call", 2.0),
)


@dataclass
class TargetCheck:
    """One target against the measured value (``None`` when its case was not measured)."""

    target: Target
    size: int | None
    value: float | None

    @property
    def status(self) -> str:
        """``"pass"``, ``"MISS"`` or ``"not measured"``."""
        if self.value is None:
            return "not measured"
        return "pass" if self.target.passes(self.value) else "MISS"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self.target), "size": self.size, "value": self.value, "status": self.status}


@dataclass
class BenchConfig:
    """What ``xinit-bench bench`` measures."""

    sizes: Sequence[int] = DEFAULT_SIZES
    schemes: Sequence[Scheme] = SCHEMES
    dtypes: Sequence[str] = DTYPES
    repeats: int = DEFAULT_REPEATS
    min_sample_time: float = DEFAULT_MIN_SAMPLE_TIME
    scaling: bool = True
    small_call_size: int | None = 1 << 10

    def __post_init__(self) -> None:
        if self.repeats < 5:
            raise ValueError(f"repeats must be at least 5 (medians of >= 5 runs), got {self.repeats}")
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


def cpu_key() -> str:
    """``<arch>-<llvm cpu>-<widest vector ISA>``, e.g. ``x86_64-rocketlake-avx512``.

    Numba compiles for the host CPU that LLVM detects (unless ``NUMBA_CPU_NAME``
    overrides it), so this is what decides which machine code runs: baselines
    are only comparable between machines with the same key.
    """
    import llvmlite.binding as llvm

    name = _numba_config().CPU_NAME or llvm.get_host_cpu_name()
    features = llvm.get_host_cpu_features()
    level = "base"
    for flag, label in (
        ("avx512f", "avx512"),
        ("avx2", "avx2"),
        ("avx", "avx"),
        ("sse4.2", "sse42"),
        ("sve", "sve"),
        ("neon", "neon"),
    ):
        if features.get(flag, False):
            level = label
            break
    safe = "".join(c if c.isalnum() or c in "._" else "_" for c in name)
    return f"{platform.machine() or 'unknown'}-{safe}-{level}"


def environment() -> dict[str, Any]:
    """Versions, CPU key, thread count and threading layer (after a parallel launch)."""
    import numba
    import scipy

    try:
        from importlib.metadata import version

        xinit_version = version("xinit-bench")
    except Exception:  # noqa: BLE001 - an uninstalled source tree has no metadata
        xinit_version = "unknown"
    try:
        layer = str(numba.threading_layer())  # type: ignore[attr-defined]  # public, but not in numba's __all__
    except ValueError:
        layer = "not initialised"
    return {
        "xinit_bench": xinit_version,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "cpu_key": cpu_key(),
        "cpu_count": os.cpu_count(),
        "threads": get_threads(),
        "threading_layer": layer,
    }


def check_targets(report: BenchReport) -> list[TargetCheck]:
    """Evaluate :data:`TARGETS` on ``report``, at the largest measured size of each case."""
    checks = []
    for target in TARGETS:
        value: float | None = None
        size: int | None = None
        if target.versus in ("fill", "numpy"):
            found = [r for r in report.results if r.case.scheme == target.scheme and r.case.dtype == target.dtype]
            if found:
                best = max(found, key=lambda r: r.case.size)
                size, value = best.case.size, best.ratio("xinit", target.versus)
        elif target.versus == "threads":
            scal = [s for s in report.scaling if s.case.scheme == target.scheme and s.case.dtype == target.dtype]
            if scal:
                size, value = scal[0].case.size, scal[0].speedup
        else:
            small = [s for s in report.small_calls if s.case.scheme == target.scheme and s.case.dtype == target.dtype]
            if small:
                size, value = small[0].case.size, small[0].ratio
        checks.append(TargetCheck(target, size, value))
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
        ratios and the issue-2 target checks.
    """
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


def peak_bytes_beyond(call: Call, output_bytes: int = 0) -> dict[str, int | None]:
    """Memory that one call needs beyond its output, in bytes.

    Two independent measures:

    ``rss``
        Growth of the peak resident set during the call (Linux: the peak is
        reset through ``/proc/self/clear_refs``), minus ``output_bytes``.  It
        sees every allocation that is touched, NumPy's, Numba's runtime's and
        malloc's alike; ``None`` where the kernel offers no such reset.
    ``traced``
        Peak of :mod:`tracemalloc` during the call, minus ``output_bytes``:
        Python and NumPy allocations only (Numba's runtime is not traced).

    ``output_bytes`` is the size of an array the call returns (0 for ``out=``
    fills, which should need about nothing beyond their output).  Call once
    before measuring so that compilation and thread start-up are not counted.
    """
    rss: int | None = None
    status = "/proc/self/status"
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        before = _status_kib(status, "VmRSS")
        result = call()
        peak = _status_kib(status, "VmHWM")
        rss = max(0, (peak - before) * 1024 - output_bytes)
        del result
    except OSError:
        rss = None
    tracemalloc.start()
    try:
        result = call()
        _, traced_peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return {"rss": rss, "traced": max(0, traced_peak - output_bytes)}


def _status_kib(path: str, field_name: str) -> int:
    with open(path) as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise OSError(f"{field_name} not found in {path}")
