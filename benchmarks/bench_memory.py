"""Memory that a fill needs beyond its output.

An ``out=`` fill should need about nothing beyond the buffer it is given: no
temporary copy, no scratch array.  An allocating call should need its output
and nothing more.  ``peak_bytes_beyond`` (the working tree's
``xinit_bench/perf/machine.py``) measures both ways:

``track_rss_bytes_beyond_output``
    Growth of the process's peak resident set during the call (Linux, reset
    through ``/proc/self/clear_refs``), minus the returned output: it sees
    NumPy's, Numba's runtime's and malloc's allocations alike.
``track_traced_bytes_beyond_output``
    Peak of ``tracemalloc`` during the call, minus the returned output
    (Python and NumPy allocations).
``peakmem_fill``
    asv's own peak resident set of the whole benchmark process, for the
    graphs' sake (it includes the interpreter and the output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import tree
from .bench_samplers import load_cases
from .common import DTYPES, MEMORY_SIZE, SCHEMES, SEED


class Memory:
    """Bytes beyond the output of an xinit-bench ``out=`` fill and of an allocating call."""

    params = (list(SCHEMES), list(DTYPES), ["out", "alloc"])
    param_names = ["scheme", "dtype", "form"]
    timeout = 300

    def setup(self, scheme: str, dtype: str, form: str) -> None:
        cases = load_cases()
        case = cases.Case(scheme, dtype, MEMORY_SIZE)
        if form == "out":
            self.out = cases.allocate(case)
            self.call = cases.xinit_call(case, self.out, SEED)
            self.output_bytes = 0
        else:
            self.call = cases.RECIPES[case.scheme].call(case, SEED)
            self.output_bytes = MEMORY_SIZE * np.dtype(dtype).itemsize
        self.call()
        self.measured: dict[str, Any] | None = None

    def _measure(self) -> dict[str, Any]:
        if self.measured is None:
            self.measured = tree.load("machine").peak_bytes_beyond(self.call, self.output_bytes)
        return self.measured

    def track_rss_bytes_beyond_output(self, scheme: str, dtype: str, form: str) -> float:
        rss = self._measure()["rss"]
        if rss is None:
            raise NotImplementedError("peak-RSS reset needs Linux /proc/self/clear_refs")
        return float(rss)

    track_rss_bytes_beyond_output.unit = "bytes"  # type: ignore[attr-defined]

    def track_traced_bytes_beyond_output(self, scheme: str, dtype: str, form: str) -> float:
        return float(self._measure()["traced"])

    track_traced_bytes_beyond_output.unit = "bytes"  # type: ignore[attr-defined]

    def peakmem_fill(self, scheme: str, dtype: str, form: str) -> None:
        self.call()
