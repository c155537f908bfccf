"""``xinit_bench/propagation/netsim.py``: bits on any Numba thread count, and memory within its estimate.

The GEMMs are OpenBLAS's, whose bits depend on its own thread count (see the
module docstring of ``netsim``), so the thread-count test fixes
``OPENBLAS_NUM_THREADS`` and varies the Numba threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from xinit_bench import propagation as xp

_NET = (
    "xp.Network(xp.Input((8, 8, 8)), xp.Conv(16, 3, bias_std=0.1), xp.Act('gelu'), xp.LayerNorm(),"
    " xp.Residual([xp.Act('relu'), xp.Conv(16, 3, init='delta_orthogonal')], alpha=0.5, beta=0.9, repeat=2),"
    " xp.Dense(64, init='orthogonal'), xp.Residual([xp.LayerNorm(), xp.Dense(96), xp.Act('tanh'), xp.Dense(64)]))"
)


@pytest.mark.invariance
@pytest.mark.slow
def test_bit_identical_on_1_and_2_numba_threads() -> None:
    code = (
        "import hashlib, numpy as np\n"
        "from xinit_bench import propagation as xp\n"
        f"net = {_NET}\n"
        "r = xp.simulate(net, batch=24, repeats=2, seed=3, kernel_threads=None)\n"
        "print(hashlib.sha256(np.stack([r.per_repeat_forward, r.per_repeat_backward]).tobytes()).hexdigest())\n"
    )
    out = []
    for t in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": "1"}
        out.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True))
    assert out[0].stdout == out[1].stdout and len(out[0].stdout.strip()) == 64
    # And in this process, with the kernels on one thread (the default) or on all of them.
    net = eval(_NET, {"xp": xp})
    a = xp.simulate(net, batch=24, repeats=2, seed=3)
    b = xp.simulate(net, batch=24, repeats=2, seed=3, kernel_threads=None)
    assert np.array_equal(a.per_repeat_forward, b.per_repeat_forward)
    assert np.array_equal(a.per_repeat_backward, b.per_repeat_backward)


@pytest.mark.known_answer
@pytest.mark.parametrize("c0", [None, 0.5])
@pytest.mark.parametrize("batch", [8, 64])
def test_peak_memory_is_within_the_estimate(batch: int, c0: float | None) -> None:
    # With c0 the pairs' float64 work and the correlations are counted too (pairs=True).
    net = eval(_NET, {"xp": xp})
    xp.simulate(net, batch=batch, repeats=1, seed=0, c0=c0)  # compile and warm caches outside the measurement
    tracemalloc.start()
    try:
        xp.simulate(net, batch=batch, repeats=3, seed=0, c0=c0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    est = xp.estimate_network_memory(net, batch, np.float32, 3, pairs=c0 is not None)
    assert peak <= est, (peak, est)
    # The estimate is an upper bound, not a wild one.
    assert est <= 8 * peak, (peak, est)
