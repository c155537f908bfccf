"""The sections of the ``xinit-bench bench`` job after the main table: thread scaling, small calls, orthogonal rows.

Each section measures its own cases once the throughput table is done, and
the scaling and small-call sections grade their targets (``threads`` and
``small_call``, :mod:`.targets`) on their own rows.  :func:`.bench.run_bench`
runs them in this order and keeps what they return in its
:class:`~.bench.BenchReport`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..runtime import get_threads
from .cases import Case, Scheme, size_label
from .measure import ScalingResult, SmallCallResult, measure_scaling, measure_small_call
from .qr_bench import QRResult, measure_qr
from .qr_cases import QRCase
from .targets import Target, TargetCheck

__all__ = ["check_section", "orthogonal_rows", "scaling_rows", "small_call_rows"]

Step = Callable[[str], None]


def scaling_rows(schemes: Sequence[Scheme], size: int, repeats: int, step: Step) -> list[ScalingResult]:
    """1-vs-all-threads scaling of every scheme on a float32 buffer of ``size`` elements, one step each."""
    rows = []
    for scheme in schemes:
        case = Case(scheme, "float32", size)
        rows.append(measure_scaling(case, repeats=repeats))
        step(f"threads {case.name}")
    return rows


def small_call_rows(
    schemes: Sequence[Scheme], dtypes: Sequence[str], size: int, repeats: int, step: Step
) -> list[SmallCallResult]:
    """An allocating call of ``size`` elements against NumPy's reference call, for every dtype and scheme."""
    rows = []
    for dtype in dtypes:
        for scheme in schemes:
            case = Case(scheme, dtype, size)
            rows.append(measure_small_call(case, repeats=repeats))
            step(f"call {case.name}")
    return rows


def orthogonal_rows(qr_cases: Sequence[QRCase], repeats: int, step: Step) -> list[QRResult]:
    """The orthogonal rows (:mod:`.qr_bench`) on the threads the fills ran on."""
    return measure_qr(qr_cases, repeats=repeats, threads=get_threads(), progress=step)


def check_section(target: Target, rows: Sequence[ScalingResult] | Sequence[SmallCallResult]) -> TargetCheck:
    """Grade a ``threads`` target on the scaling rows, or a ``small_call`` target on the small-call rows.

    The value is the first row of the target's scheme and dtype: its time
    over the ideal n-thread time, or its time ratio to NumPy's call.  No row
    leaves the target not measured; a row of another size leaves it not
    graded, with a note saying where it is set and where it was measured.
    """
    found = [r for r in rows if (r.case.scheme, r.case.dtype) == (target.scheme, target.dtype)]
    if not found:
        return TargetCheck(target)
    row = found[0]
    if row.case.size != target.size:
        return TargetCheck(target, note=f"set at {size_label(target.size)}; measured at {size_label(row.case.size)}")
    if isinstance(row, ScalingResult):
        return TargetCheck(target, row.time_over_ideal, busy=row.busy)
    return TargetCheck(target, row.ratio)
