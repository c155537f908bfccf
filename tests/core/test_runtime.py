"""xinit_bench.runtime under concurrency: fills from many Python threads, under every threading layer that loads here.

Numba fixes its threading layer once per process, so each layer runs in its
own interpreter with ``NUMBA_THREADING_LAYER`` set (``default``: unset, the
layer the install picks by itself).  A layer that would abort the process
(workqueue, without the library's launch lock: "Concurrent access has been
detected", SIGABRT) fails the test through the child's exit status, and a
hang through the subprocess timeout.

The child interpreters are started by ``tests/children.py``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import pytest
from children import CHILD_PRELUDE, run_child, tbb_expected

pytestmark = pytest.mark.invariance

LAYERS = ["default", "tbb", "omp", "workqueue"]


#: 16 threads x 32 parallel fills of 256K elements, alternating normal and
#: uniform, seeds per (thread, fill); compared with the same fills made
#: on the main thread alone beforehand.
_THREADS_CHILD = (
    CHILD_PRELUDE
    + r"""

N_THREADS, N_FILLS, SIZE = 16, 32, 1 << 18

def fill(t, j, out):
    seed = 1000 * t + j
    if j % 2:
        return xinit_bench.uniform(SIZE, -0.5, 0.5, seed=seed, out=out)
    return xinit_bench.normal(SIZE, seed=seed, out=out)

def digest(a):
    return hashlib.sha256(a.tobytes()).hexdigest()

buf = np.empty(SIZE, np.float32)
expected = {(t, j): digest(fill(t, j, buf)) for t in range(N_THREADS) for j in range(N_FILLS)}
got = {}
errors = []
start = threading.Barrier(N_THREADS)

def worker(t):
    try:
        out = np.empty(SIZE, np.float32)
        start.wait()
        for j in range(N_FILLS):
            got[(t, j)] = digest(fill(t, j, out))
    except BaseException as exc:
        errors.append(repr(exc))

ts = [threading.Thread(target=worker, args=(t,)) for t in range(N_THREADS)]
for th in ts:
    th.start()
for th in ts:
    th.join()
mismatched = sorted(k for k in expected if got.get(k) != expected[k])
print(json.dumps({"layer": runtime.threading_layer(), "errors": errors, "fills": len(got),
                  "mismatched": [list(k) for k in mismatched]}))
"""
)


@pytest.mark.invariance
@pytest.mark.slow
@pytest.mark.parametrize("layer", LAYERS)
def test_sixteen_threads_fill_concurrently(layer: str) -> None:
    result = run_child(_THREADS_CHILD, layer)
    assert result["errors"] == []
    assert result["fills"] == 16 * 32
    assert result["mismatched"] == []


_LAYER_CHILD = r"""
import json
import xinit_bench
from xinit_bench import runtime
before = runtime.threading_layer()
xinit_bench.normal(1 << 20, seed=0)
print(json.dumps({"before": before, "layer": runtime.threading_layer(), "tbb": runtime._TBB_LOADED}))
"""


@pytest.mark.structure
def test_install_uses_tbb_after_a_parallel_fill() -> None:
    """The project's own install runs its parallel fills on TBB (not a silent fallback to OpenMP)."""
    if not tbb_expected():
        pytest.skip("tbb is a dependency on Linux x86_64 and Windows AMD64; checked on Linux x86_64")
    try:
        distribution("tbb")
    except PackageNotFoundError:  # pragma: no cover - a broken install
        pytest.fail("the tbb dependency is not installed")
    result = run_child(_LAYER_CHILD, "default")
    assert result["before"] == "not initialised"  # import touches no threading layer
    assert result["layer"] == "tbb"
    assert result["tbb"] is not None


@pytest.mark.structure
def test_threading_layer_initialise_reports_the_layer_fills_use() -> None:
    code = (
        "import json, xinit_bench\nfrom xinit_bench import runtime\n"
        "first = runtime.threading_layer(initialise=True)\nxinit_bench.normal(1 << 20, seed=0)\n"
        "print(json.dumps({'layer': first, 'after': runtime.threading_layer()}))"
    )
    result = run_child(code, "default")
    assert result["layer"] == result["after"]
    if tbb_expected():
        assert result["layer"] == "tbb"


@pytest.mark.structure
@pytest.mark.parametrize("layer", ["omp", "workqueue"])
def test_a_requested_layer_is_respected(layer: str) -> None:
    """``NUMBA_THREADING_LAYER`` wins: no TBB is loaded behind the user's back."""
    result = run_child(_LAYER_CHILD, layer)
    assert result["layer"] == layer
    assert result["tbb"] is None


@pytest.mark.structure
@pytest.mark.parametrize(
    "first",
    [
        "xinit_bench.orthogonal((24, 12), seed=0)",  # the serial QR (its cache load alone picks the layer)
        "xinit_bench.orthogonal((512, 512), seed=0)",  # the parallel QR
        "xinit_bench.orthogonal((4, 24, 12), seed=0)",  # a batch of matrices
    ],
)
def test_the_first_orthogonal_call_picks_the_layer_fills_use(first: str) -> None:
    """A process whose first kernel is a QR runs on TBB too, not on the OpenMP that a cache load picks unprepared.

    Loading the serial QR from Numba's cache launches Numba's threading layer (it holds the parallel trailing
    update behind a flag); before ``prepare_threading`` had loaded TBB, that chose OpenMP, whose first parallel
    launch reset the OpenMP thread count that torch shares.
    """
    code = f"import json, xinit_bench\nfrom xinit_bench import runtime\n{first}\n" + (
        "print(json.dumps({'layer': runtime.threading_layer()}))"
    )
    result = run_child(code, "default")
    if tbb_expected():
        assert result["layer"] == "tbb"
    else:
        assert result["layer"] != "not initialised"
