"""Time of each fill: xinit-bench against NumPy and the bandwidth limit, in forms asv judges right.

One class per operation (``SymmetricUniform``, ``Uniform``, ``Normal``,
``TruncatedNormal``, ``TorchTruncatedNormal``), parametrised over ``impl`` (xinit-bench, the NumPy
reference, the memory-bandwidth fill), ``dtype`` and ``size``, with one
``time_fill``: calls filling a pre-faulted buffer (``setup`` allocates it
with ``np.ones`` and makes a warm-up call, so neither page faults nor JIT
compilation are timed), one call per sample from 1M elements up and
``2**20 // size`` calls below, so that a 1K sample is 1024 calls.

``time_*`` are measured as the A/B gate measures: ``time.process_time`` with
Numba on one thread (``setup`` sets it, ``teardown`` restores it), so another
process on the other core does not inflate them, and in eight rounds of fresh
processes, so ``asv run``/``asv continuous --interleave-rounds`` can alternate
commits between rounds.

``Throughput`` holds the ``track_`` figures of all four operations, every one
lower-is-better as ``asv compare`` and ``asv continuous`` assume: nanoseconds
per sample, the time over NumPy's and the time over the bandwidth fill's (at
least 1; the excess is the fraction of the ceiling lost), from one
interleaved wall-clock measurement of the three implementations on the same
buffer per (operation, dtype, size) (``measure_case``, medians of 5), made
once per run in ``setup_cache``.  It has no per-benchmark ``setup``, so each
figure is a cheap look-up in a fresh process.

The calls come from the working tree's case table (``xinit_bench/perf/cases.py``,
loaded by :mod:`.tree`), so every commit is timed against the same NumPy
references and bandwidth fill (the ``numpy`` and ``fill`` lines do not
depend on the commit); only the xinit-bench calls go to the commit's library,
and a case whose public function that library lacks is skipped.

``xinit_bench`` is imported when this module is, so that asv's fork server
pays for the import once rather than in every benchmark process; no kernel
runs at import (a fork after Numba's threads start would be unsafe).
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import numpy as np

from . import tree
from .common import DTYPES, IMPLS, NAMED_SCHEMES, NAMED_SHAPE, SCHEMES, SEED, SIZES

#: (impl, scheme, dtype) already called once in this process (compiled).
_WARM: set[tuple[str, str, str]] = set()

#: Elements one ``time_fill`` sample writes at least: 2**20, so that every
#: sample lasts about a millisecond or more and the clock's own cost (about
#: 1 us per read of the process-time clock) is below 0.1 % of it.
SAMPLE_ELEMENTS = 1 << 20


def calls_per_sample(size: int) -> int:
    """Calls of a ``size``-element fill in one sample: ``max(1, SAMPLE_ELEMENTS // size)``."""
    return max(1, SAMPLE_ELEMENTS // size)


try:
    import xinit_bench  # numba and the kernels' modules, imported once in the fork server
except ImportError as _exc:
    _IMPORT_ERROR: str | None = str(_exc)
else:
    _IMPORT_ERROR = None


def load_cases() -> ModuleType:
    """The working tree's case table, or skip (``NotImplementedError``) if the library is not importable."""
    if _IMPORT_ERROR is not None:
        raise NotImplementedError(f"xinit_bench is not importable: {_IMPORT_ERROR}")
    return tree.load("cases")


def measure_all() -> dict[tuple[str, str, int], dict[str, dict[str, float]]]:
    """Interleaved throughput of every (scheme, dtype, size) and implementation."""
    cases = load_cases()
    measure = tree.load("measure")
    table = {}
    for size in SIZES:
        for dtype in DTYPES:
            buf = cases.allocate(cases.Case(SCHEMES[0], dtype, size))
            for scheme in SCHEMES:
                try:
                    r = measure.measure_case(cases.Case(scheme, dtype, size), repeats=5, out=buf)
                except NotImplementedError:
                    continue  # the library under test lacks this scheme's call: its figures are skipped
                table[(scheme, dtype, size)] = {
                    "ns_per_sample": {i: r.seconds(i) / size * 1e9 for i in IMPLS},
                    "over_numpy": {i: r.seconds(i) / r.seconds("numpy") for i in IMPLS},
                    "over_fill": {i: r.seconds(i) / r.seconds("fill") for i in IMPLS},
                }
    return table


def _figure(cache: Any, scheme: str, dtype: str, size: int, key: str, impl: str) -> float:
    entry = cache.get((scheme, dtype, size))
    if entry is None:
        raise NotImplementedError(f"{scheme}-{dtype}-{size} was not measured: the library under test lacks it")
    return float(entry[key][impl])


def make_call(cases: ModuleType, impl: str, case: Any, out: Any) -> Any:
    """The ``impl`` call of ``case`` filling ``out``, from the working tree's case table."""
    if impl == "xinit":
        return cases.xinit_call(case, out, SEED)
    if impl == "numpy":
        return cases.numpy_call(case, out, SEED)
    return cases.fill_call(out)


def one_thread() -> int:
    """Put Numba on one thread (after the working tree's threading set-up); return the previous count."""
    tree.module("runtime").prepare_threading()  # the layer the library would pick, before Numba starts its pool
    import numba

    previous = int(numba.get_num_threads())
    numba.set_num_threads(1)
    return previous


def restore_threads(count: int) -> None:
    """Undo :func:`one_thread`."""
    import numba

    numba.set_num_threads(count)


class _CpuTimed:
    """``time_*`` timing shared by the classes below: process time, one Numba thread, eight rounds.

    asv times each sample as one call of the benchmark (asv_runner re-runs
    ``setup`` before every timed call when a class has one), so a sample must
    be long enough to time by itself: see :data:`SAMPLE_ELEMENTS`.

    Eight rounds of 2-4 samples (at most 0.5 s each): under ``asv continuous
    --interleave-rounds`` each commit's samples then come from eight fresh
    processes spread over the whole run.  The development VM's host has slow
    spells of seconds to minutes (the same 1K call at 7.0 and 10.4 ms per 1024
    calls in different processes of one run); with two or four rounds, one
    commit's rounds could all land in them and asv continuous reported the
    same tree 0.63-1.95x "changed".  With eight, the two unchanged commits'
    medians agreed within 0.96-1.03x on all 48 ``xinit`` rows while up to 47 %
    of a row's samples were slow.
    """

    timer = time.process_time
    rounds = 8
    repeat = (2, 4, 0.5)
    warmup_time = 0.0
    #: Results from before the timer change (wall clock, all threads) are another series.
    version = "process_time-1-thread"

    def teardown(self, *params: Any) -> None:
        restore_threads(self._previous_threads)


class _Fill(_CpuTimed):
    """Shared body of the per-operation classes below (asv skips ``_`` names).

    One sample fills :data:`SAMPLE_ELEMENTS` elements or one buffer of
    ``size``, whichever is more: ``calls_per_sample(size)`` calls into the same
    buffer.  A single 1K call (5-10 us) timed alone is mostly the cost of
    reading the process-time clock (a system call) and of cold caches; 1024
    of them take about 5 ms.
    """

    scheme = ""
    params = (list(IMPLS), list(DTYPES), list(SIZES))
    param_names = ["impl", "dtype", "size"]
    timeout = 300
    #: A sample of a 1K row is 1024 calls (before: one call, a different figure).
    version = "process_time-1-thread-1M-per-sample"

    def setup(self, impl: str, dtype: str, size: int) -> None:
        self._previous_threads = one_thread()
        cases = load_cases()
        case = cases.Case(self.scheme, dtype, size)
        self.out = cases.allocate(case)
        self.call = make_call(cases, impl, case, self.out)
        self.calls = range(calls_per_sample(size))
        key = (impl, self.scheme, dtype)
        if key not in _WARM:
            self.call()
            _WARM.add(key)

    def time_fill(self, impl: str, dtype: str, size: int) -> None:
        call = self.call
        for _ in self.calls:
            call()


class SymmetricUniform(_Fill):
    """Xavier/He uniform: ``xavier_uniform`` on a ``(size // 1024, 1024)`` matrix."""

    scheme = "symmetric_uniform"


class Uniform(_Fill):
    """Uniform on ``[low, high)``."""

    scheme = "uniform"


class Normal(_Fill):
    """Normal with std 0.02."""

    scheme = "normal"


class TruncatedNormal(_Fill):
    """Normal with std 0.02 truncated at +-2 std."""

    scheme = "truncated_normal"


class Throughput:
    """Throughput, speed-up over NumPy and fraction of the bandwidth limit of every fill."""

    params = (list(SCHEMES), list(IMPLS), list(DTYPES), list(SIZES))
    param_names = ["scheme", "impl", "dtype", "size"]
    timeout = 900

    def setup_cache(self) -> dict[tuple[str, str, int], dict[str, dict[str, float]]]:
        return measure_all()

    # Every figure here is lower-is-better, the only direction asv compare and
    # asv continuous know (the M samples/s and speed-up figures this class
    # tracked before read a slowdown as an improvement there).
    def track_ns_per_sample(self, cache: Any, scheme: str, impl: str, dtype: str, size: int) -> float:
        return _figure(cache, scheme, dtype, size, "ns_per_sample", impl)

    track_ns_per_sample.unit = "ns per sample"  # type: ignore[attr-defined]

    def track_time_over_numpy(self, cache: Any, scheme: str, impl: str, dtype: str, size: int) -> float:
        return _figure(cache, scheme, dtype, size, "over_numpy", impl)

    track_time_over_numpy.unit = "x NumPy's time"  # type: ignore[attr-defined]

    def track_time_over_fill(self, cache: Any, scheme: str, impl: str, dtype: str, size: int) -> float:
        return _figure(cache, scheme, dtype, size, "over_fill", impl)

    track_time_over_fill.unit = "x the bandwidth fill's time"  # type: ignore[attr-defined]


def _named_call(impl: str, name: str, dtype: str) -> Any:
    """An allocating call of the named scheme ``name``, or of its NumPy reference (from the working tree)."""
    load_cases()
    np_dtype = np.dtype(dtype).type
    if impl == "xinit":
        fn = getattr(xinit_bench, name, None)
        if fn is None:
            raise NotImplementedError(f"xinit_bench.{name} does not exist in this commit")
        return lambda: fn(NAMED_SHAPE, seed=SEED, dtype=np_dtype)
    scheme = tree.module("reference").scheme
    rng = np.random.default_rng(SEED)
    return lambda: scheme(name, NAMED_SHAPE, rng=rng, dtype=np_dtype)


class NamedSchemes(_CpuTimed):
    """One allocating call of every named scheme (Xavier, He, LeCun x 3 distributions)."""

    params = (["xinit", "numpy"], list(NAMED_SCHEMES), list(DTYPES))
    param_names = ["impl", "scheme", "dtype"]
    timeout = 300

    def setup(self, impl: str, scheme: str, dtype: str) -> None:
        self._previous_threads = one_thread()
        self.call = _named_call(impl, scheme, dtype)
        key = (impl, scheme, dtype)
        if key not in _WARM:
            self.call()
            _WARM.add(key)

    def time_call(self, impl: str, scheme: str, dtype: str) -> None:
        self.call()


class TorchTruncatedNormal(_Fill):
    """torch's ``trunc_normal_(std=0.02)``: the absolute cut +-2 is +-100 std.

    Such a cut sends the inverse CDF into its tail series, a different kernel
    from ``TruncatedNormal``'s +-2 std: the case table's ``truncated_normal_wide``.
    """

    scheme = "truncated_normal_wide"
