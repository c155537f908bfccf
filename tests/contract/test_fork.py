"""Fills in forked children of a process that has already filled in parallel.

GNU OpenMP terminates a forked child at its first parallel region when the
parent used OpenMP ("fork() called from a process already using GNU OpenMP,
this is unsafe"); a fork ``multiprocessing.Pool`` then hangs.  Each layer runs
in its own interpreter with ``NUMBA_THREADING_LAYER`` set (``default``: the
layer the install picks by itself -- TBB on Linux x86_64); under a forced
``omp`` the children must take the serial entry points, and give the same bits.
A killed child fails the test through its exit status, a hang through the
timeouts (the pool's and the subprocess's).
"""

from __future__ import annotations

import pytest
from children import CHILD_PRELUDE, run_child

pytestmark = pytest.mark.invariance


_FORK_CHILD = (
    CHILD_PRELUDE
    + r"""

SIZE = 1 << 20  # well above SERIAL_BELOW: the parent's fills run in parallel

def fill(seed):
    a = xinit_bench.normal(SIZE, seed=seed)
    b = xinit_bench.uniform(SIZE, -1.0, 1.0, seed=seed, dtype=np.float64)
    return hashlib.sha256(a.tobytes() + b.tobytes()).hexdigest()

def fill_and_report(seed):
    return fill(seed), runtime.parallel_allowed()

seeds = [0, 1, 2, 3]
parent = [fill(s) for s in seeds]
layer = runtime.threading_layer()

pid = os.fork()
if pid == 0:  # the child: same fill, then report through the exit status
    try:
        same = fill(seeds[0]) == parent[0]
        os._exit(0 if same else 3)
    except BaseException:
        os._exit(4)
_, status = os.waitpid(pid, 0)

ctx = multiprocessing.get_context("fork")
with ctx.Pool(2) as pool:
    pooled = pool.map_async(fill_and_report, seeds).get(timeout=120)

print(json.dumps({
    "layer": layer,
    "fork_status": status,
    "pool_equal": [h == p for (h, _), p in zip(pooled, parent)],
    "pool_parallel_allowed": [allowed for _, allowed in pooled],
    "parent_parallel_allowed": runtime.parallel_allowed(),
}))
"""
)


@pytest.mark.parametrize("layer", ["default", "omp", "workqueue", "tbb"])
def test_forked_children_fill_the_parents_bits(layer: str) -> None:
    result = run_child(_FORK_CHILD, layer)
    assert result["fork_status"] == 0, "the os.fork() child was killed or gave other bits"
    assert result["pool_equal"] == [True] * 4
    assert result["parent_parallel_allowed"] is True
    # Only a child of an OpenMP process falls back to the serial entry points.
    assert result["pool_parallel_allowed"] == [result["layer"] != "omp"] * 4


_FORK_BEFORE_LAUNCH = r"""
import json, os
import numpy as np
import xinit_bench
from xinit_bench import runtime

SIZE = 1 << 20
pid = os.fork()  # before any parallel launch: the child picks its own layer
if pid == 0:
    a = xinit_bench.normal(SIZE, seed=5)
    os._exit(0 if runtime.parallel_allowed() else 5)
_, status = os.waitpid(pid, 0)
print(json.dumps({"layer": runtime.threading_layer(), "status": status}))
"""


@pytest.mark.parametrize("layer", ["default", "omp"])
def test_a_child_forked_before_any_launch_runs_in_parallel(layer: str) -> None:
    """The serial fallback applies to children of a process that had an OpenMP pool, not to every fork."""
    result = run_child(_FORK_BEFORE_LAUNCH, layer, check_layer=False)
    assert result["layer"] == "not initialised"
    assert result["status"] == 0


_FORK_PROPAGATION = r"""
import json, os
try:
    from xinit_bench import propagation, runtime
    first = propagation.simulate("relu", depth=3, width=64, batch=32, repeats=1, seed=0, kernel_threads=None)
except ValueError as exc:  # the requested layer does not load here
    if "threading layer" not in str(exc):
        raise
    print(json.dumps({"unavailable": str(exc)}))
    raise SystemExit(0)
layer = runtime.threading_layer()
pid = os.fork()
if pid == 0:
    try:
        again = propagation.simulate("relu", depth=3, width=64, batch=32, repeats=1, seed=0, kernel_threads=None)
        os._exit(0 if (again.per_repeat["pre_sq"] == first.per_repeat["pre_sq"]).all() else 3)
    except RuntimeError as exc:  # refused up front, with a message, instead of a killed child
        os._exit(5 if "fork" in str(exc) else 6)
    except BaseException:
        os._exit(4)
_, status = os.waitpid(pid, 0)
print(json.dumps({"layer": layer, "status": os.waitstatus_to_exitcode(status)}))
"""


@pytest.mark.parametrize("layer", ["default", "omp", "workqueue"])
def test_monte_carlo_in_a_forked_child_runs_or_is_refused_clearly(layer: str) -> None:
    # The activation kernels have no serial twin: under OpenMP a forked child
    # gets a RuntimeError naming the cause (exit 5), never a killed process;
    # under the fork-safe layers it gives the parent's numbers (exit 0).
    result = run_child(_FORK_PROPAGATION, layer)
    expected = 5 if result["layer"] == "omp" else 0
    assert result["status"] == expected, result
