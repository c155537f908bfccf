"""pytest-benchmark suite: the orthogonal rows, one group per ``(n, n)`` matrix and dtype, a member per side.

Each group (``orthogonal-<dtype>-<n>x<n>``) has the members of the case table
(:mod:`xinit_bench.perf.qr_cases`): ``xinit``, torch's ``orthogonal_`` and
SciPy's QR with the sign fix, each timed after a warm-up call, in this
process (``xinit-bench bench`` times them in separate processes).  The
parameter ``size`` is the matrix's element count, so that with benchmarking
disabled the conftest keeps only the ``256 x 256`` rows (:data:`SMOKE_SIZE`
elements) as a smoke run.  With benchmarking enabled each member records its
GFLOP/s, :func:`xinit_bench.perf.qr_cases.flops` over pytest-benchmark's median.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from xinit_bench.perf import qr_cases

SIZES = tuple(n * n for n in qr_cases.FULL_QR_SIZES)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{math.isqrt(s)}x{math.isqrt(s)}")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("side", qr_cases.SIDES)
def test_orthogonal(benchmark: Any, side: str, dtype: str, size: int) -> None:
    case = qr_cases.QRCase(math.isqrt(size), dtype)
    benchmark.group = case.name
    if side == "torch":
        pytest.importorskip("torch")
    call = qr_cases.side_call(side, case)
    call()
    benchmark(call)
    if benchmark.disabled:
        return
    benchmark.extra_info.update({"side": side, "gflops": case.flops / benchmark.stats.stats.median / 1e9})
