"""pytest-benchmark suite: every fill, dtype and size, with NumPy and the bandwidth fill as group members.

Each group (``<scheme>-<dtype>-<size>``) has three members: ``xinit``, the
NumPy reference ``numpy`` and the constant fill ``fill``, all writing one
pre-faulted buffer after a warm-up call.  With benchmarking enabled every
member records in ``extra_info``:

``msamples_per_s``
    throughput from pytest-benchmark's median;
``ratio_to_numpy`` / ``ratio_to_fill``
    throughput ratios from one interleaved measurement of the three members
    on the same buffer (``xinit_bench.bench.measure_case``, medians of 5);

and the ``xinit`` member also records ``gate``: the figures that
``xinit-bench gate --from-json`` compares with the committed baseline
(process time, 1 thread, see ``xinit_bench.gate``).
"""

from __future__ import annotations

from typing import Any

import pytest

from xinit_bench import bench, gate

SIZES = (1 << 16, 1 << 20, 1 << 24)

_INTERLEAVED: dict[str, bench.CaseResult] = {}


def interleaved(case: bench.Case) -> bench.CaseResult:
    """One interleaved measurement per group, shared by its three members."""
    if case.name not in _INTERLEAVED:
        _INTERLEAVED[case.name] = bench.measure_case(case)
    return _INTERLEAVED[case.name]


@pytest.mark.parametrize("size", SIZES, ids=bench.size_label)
@pytest.mark.parametrize("dtype", bench.DTYPES)
@pytest.mark.parametrize("scheme", bench.SCHEMES)
@pytest.mark.parametrize("impl", bench.IMPLS)
def test_fill(benchmark: Any, impl: str, scheme: bench.Scheme, dtype: str, size: int) -> None:
    case = bench.Case(scheme, dtype, size)
    benchmark.group = case.name
    out = bench.allocate(case)
    call = bench.case_calls(case, out)[impl]
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
        figure = gate.measure_figures([case])[case.name]
        benchmark.extra_info["gate"] = figure.to_dict()
