"""pytest-benchmark suite: every fill, dtype and size, with NumPy and the bandwidth fill as group members.

Each group (``<scheme>-<dtype>-<size>``) has three members: ``xinit``, the
NumPy reference ``numpy`` and the constant fill ``fill``, all writing one
pre-faulted buffer after a warm-up call.  With benchmarking enabled every
member records in ``extra_info``:

``msamples_per_s``
    throughput from pytest-benchmark's median;
``ratio_to_numpy`` / ``ratio_to_fill``
    throughput ratios from one interleaved measurement of the three members
    on the same buffer (``xinit_bench.perf.bench.measure_case``);

and the ``xinit`` member also records ``gate``: the figures that
``xinit-bench gate --from-json`` compares with the committed baseline.

The interleaved measurement is made once per group, on 1 thread, with the
gate's repetitions: the gate figure is computed from it under process time
(``xinit_bench.perf.figures``, which explains why the gate measures on one
thread), and the ratios from the same samples under wall time, so
``threads`` is 1.  pytest-benchmark times its member itself, on the current
thread count.
"""

from __future__ import annotations

from typing import Any

import pytest

from xinit_bench.perf import bench, cases, figures
from xinit_bench.runtime import threads

SIZES = (1 << 16, 1 << 20, 1 << 24)

_INTERLEAVED: dict[str, bench.CaseResult] = {}


def interleaved(case: cases.Case) -> bench.CaseResult:
    """One interleaved measurement per group, on the gate's thread count, shared by its three members."""
    if case.name not in _INTERLEAVED:
        with threads(figures.GATE_THREADS):
            _INTERLEAVED[case.name] = bench.measure_case(
                case, repeats=figures.QUICK_REPEATS, min_sample_time=figures.MIN_SAMPLE_TIME
            )
    return _INTERLEAVED[case.name]


@pytest.mark.parametrize("size", SIZES, ids=cases.size_label)
@pytest.mark.parametrize("dtype", cases.DTYPES)
@pytest.mark.parametrize("scheme", cases.SCHEMES)
@pytest.mark.parametrize("impl", cases.IMPLS)
def test_fill(benchmark: Any, impl: str, scheme: cases.Scheme, dtype: str, size: int) -> None:
    case = cases.Case(scheme, dtype, size)
    benchmark.group = case.name
    out = cases.allocate(case)
    call = cases.case_calls(case, out)[impl]
    call()
    benchmark(call)
    if benchmark.disabled:
        return
    median = benchmark.stats.stats.median
    result = interleaved(case)
    benchmark.extra_info.update(
        {
            "impl": impl,
            "threads": result.threads,
            "msamples_per_s": size / median / 1e6,
            "ratio_to_numpy": result.ratio(impl, "numpy"),
            "ratio_to_fill": result.ratio(impl, "fill"),
        }
    )
    if impl == "xinit":
        benchmark.extra_info["gate"] = figures.figure_from_result(result).to_dict()
