"""Orthogonal, delta-orthogonal, identity, Dirac and sparse initialisation (xinit_bench.orthogonal).

What is checked, and against what:

* **Orthogonality** of the stored values: the Gram matrix of the shorter side,
  computed in float64, within ``gain**2 * 1e-6`` of ``gain**2 I`` for float32
  output and ``gain**2 * 1e-12`` for float64.  Rounding to float32 moves each
  entry by at most ``2**-24`` of itself, so a Gram entry moves by at most
  ``2 * 2**-24 * gain**2 = 1.2e-7 gain**2`` (Cauchy-Schwarz over unit rows),
  well inside ``1e-6``; in float64, Householder QR is orthogonal to
  ``O(n eps)`` (Higham, *Accuracy and Stability*, thm. 19.4): ``512 * 2.2e-16 =
  1.1e-13`` with the constant, far inside ``1e-12`` in practice.
* **The QR** against an independent one: NumPy's LAPACK QR of the same
  Gaussian matrix, with the sign fix, to ``1e-12``.
* **Haar law** (statistical, fixed seeds, tolerances from the sample size):
  an entry of a Haar ``n x n`` orthogonal matrix has ``(Q_ij + 1) / 2 ~
  Beta((n-1)/2, (n-1)/2)``, checked by KS on one entry from each of many
  matrices (independent draws: each matrix is its own stream positions); and
  the trace moments of Diaconis & Shahshahani (1994), ``E tr Q = 0``,
  ``E (tr Q)^2 = 1``, ``E (tr Q)^4 = 3`` for ``n >= 4``.  The same checks
  fail on the factor without the sign fix, whose mean trace is -1.8 at n = 10.
* **Bits**: serial, parallel and batch kernels agree; 1 and 2 threads agree;
  child processes with ``NUMBA_NUM_THREADS`` 1 and 2 and with Numba targeting
  the host, ``haswell`` and ``generic`` (each with a fresh cache) reproduce the
  golden SHA-256 of ``tests/data/golden_orthogonal.json``; half outputs equal
  the float64 result rounded once (an exact reference rounding) and clamped.
* **Peer suite**: PyTorch's own cases for ``orthogonal_``, ``sparse_``, ``eye_``
  and ``dirac_`` (``test/nn/test_init.py`` of pytorch/pytorch), re-expressed
  against this NumPy API.
* **Bad input**: refused with the right class and a message naming the
  parameter, with ``out`` untouched and the generator not advanced.

Regenerate the golden checksums (only with a deliberate stream change):
``PYTHONPATH=tests python tests/core/test_orthogonal.py --regenerate``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ml_dtypes
import numba
import numpy as np
import pytest
from scipy import stats

import xinit_bench as xb
from xinit_bench.kernels import qr

# The module itself: ``xinit_bench.orthogonal`` as an attribute is the function of that name.
xo = importlib.import_module("xinit_bench.orthogonal")

DATA = Path(__file__).parents[1] / "data"
GOLDEN = DATA / "golden_orthogonal.json"
HALF = {"float16": np.dtype(np.float16), "bfloat16": np.dtype(ml_dtypes.bfloat16)}


def gram_error(w: np.ndarray, gain: float, layout: str = "torch") -> float:
    """``max |G - gain^2 I|`` of the Gram matrix of the shorter side of ``w`` read as a matrix, in float64."""
    a = w.astype(np.float64)
    f = a.reshape(a.shape[0], -1) if layout == "torch" else a.reshape(-1, a.shape[-1])
    g = f.T @ f if f.shape[0] >= f.shape[1] else f @ f.T
    return float(np.abs(g - gain**2 * np.eye(g.shape[0])).max())


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# --- orthogonality ---------------------------------------------------------------------
SHAPES = [
    (3, 4),
    (4, 3),
    (20, 2, 3, 4),
    (2, 3, 4, 5),  # PyTorch's own shapes
    (300, 120),
    (120, 300),
    (97, 97),
    (512, 512),
    (64, 16, 3, 3),
    (1, 7),
    (7, 1),
    (1, 1),
]


@pytest.mark.reference
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("gain", [1.0, 1.7])
@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-6), (np.float64, 1e-12)], ids=["float32", "float64"])
def test_rows_or_columns_are_orthonormal(shape: tuple[int, ...], gain: float, dtype: type, tol: float) -> None:
    w = xo.orthogonal(shape, gain, seed=11, dtype=dtype)
    assert w.shape == shape and w.dtype == dtype
    assert gram_error(w, gain) <= gain**2 * tol


@pytest.mark.reference
@pytest.mark.slow
def test_2048_square_float32_is_orthogonal() -> None:
    w = xo.orthogonal((2048, 2048), seed=3)
    assert gram_error(w, 1.0) <= 1e-6


@pytest.mark.reference
@pytest.mark.parametrize("shape", [(3, 3, 16, 32), (5, 40), (40, 5), (2, 2, 8, 4)], ids=str)
def test_keras_layout_columns_along_the_last_axis(shape: tuple[int, ...]) -> None:
    w = xo.orthogonal(shape, 0.5, seed=2, dtype=np.float64, layout="keras")
    assert gram_error(w, 0.5, layout="keras") <= 0.25 * 1e-12


@pytest.mark.reference
def test_keras_column_axis_is_jax_column_axis() -> None:
    """JAX's ``column_axis=0``: the columns along axis 0, the rows the other axes in C order."""
    w = xo.orthogonal((6, 3, 4), seed=4, dtype=np.float64, layout="keras", column_axis=0)
    f = np.moveaxis(w, 0, -1).reshape(12, 6)
    assert np.abs(f.T @ f - np.eye(6)).max() <= 1e-12
    assert np.array_equal(np.moveaxis(w, 0, -1), xo.orthogonal((3, 4, 6), seed=4, dtype=np.float64, layout="keras"))


@pytest.mark.invariance
def test_a_2d_matrix_is_the_same_in_both_layouts_and_transposes() -> None:
    a = xo.orthogonal((30, 50), seed=9, dtype=np.float64)
    assert np.array_equal(a, xo.orthogonal((30, 50), seed=9, dtype=np.float64, layout="keras"))
    assert np.array_equal(a, xo.orthogonal((50, 30), seed=9, dtype=np.float64).T)


@pytest.mark.reference
@pytest.mark.parametrize(("m", "n"), [(5, 5), (40, 33), (130, 130), (300, 65), (257, 256)])
def test_the_qr_matches_lapack_with_the_sign_fix(m: int, n: int) -> None:
    """An independent QR of the same Gaussian: NumPy's LAPACK ``Q`` times ``sign(diag R)``."""
    g = xb.normal(m * n, seed=5, dtype=np.float64).reshape(m, n)
    q, r = np.linalg.qr(g)
    expected = q * np.sign(np.diag(r))
    assert np.abs(xo.orthogonal((m, n), seed=5, dtype=np.float64) - expected).max() <= 1e-12


@pytest.mark.reference
def test_values_lie_in_minus_gain_to_gain() -> None:
    """A 1 x 1 result is +-gain itself: rounded to the dtype, never above it (the clamp), within one half ulp."""
    for dtype in (np.float32, np.float64, *HALF.values()):
        w = xo.orthogonal((1, 1), 0.3, seed=0, dtype=dtype).astype(np.float64)
        assert 0.3 * (1 - 2**-7) <= abs(float(w[0, 0])) <= 0.3
        w = xo.orthogonal((64, 2), 3.0, seed=1, dtype=dtype).astype(np.float64)
        assert np.abs(w).max() <= 3.0


# --- the Haar law --------------------------------------------------------------------------
#: KS: under the null the p-value is uniform; with fixed seeds a correct law fails only on a 1e-4 event.
ALPHA = 1e-4
#: Moment checks: |mean - mu| <= Z sd / sqrt(N), two-sided normal tail 5.7e-7.
Z = 5.0


def haar_batch(count: int, n: int, seed: int) -> np.ndarray:
    return xo.orthogonal((count, n, n), seed=seed, dtype=np.float64, batch_axis=0)


def unfixed_batch(count: int, n: int, seed: int) -> np.ndarray:
    """The deliberately broken variant: the same Gaussians and QR kernel, without the sign fix."""
    g = xb.normal(count * n * n, seed=seed, dtype=np.float64).reshape(count, n, n)
    qr.householder_q_batch(g, np.empty((count, n)))
    return g


def one_entry_per_matrix(q: np.ndarray) -> np.ndarray:
    """Entry ``(k mod n, (k // n) mod n)`` of matrix ``k``: every position in turn, one draw per matrix."""
    count, n, _ = q.shape
    k = np.arange(count)
    return q[k, k % n, (k // n) % n]


def entry_ks_pvalue(q: np.ndarray) -> float:
    n = q.shape[1]
    x = (one_entry_per_matrix(q) + 1.0) / 2.0
    return float(stats.kstest(x, stats.beta((n - 1) / 2, (n - 1) / 2).cdf).pvalue)


@pytest.mark.statistical
@pytest.mark.parametrize(("n", "count"), [(2, 20000), (3, 20000), (10, 20000), (30, 5000)])
def test_an_entry_follows_the_haar_beta_law(n: int, count: int) -> None:
    """``(Q_ij + 1) / 2 ~ Beta((n-1)/2, (n-1)/2)``: the first coordinate of a uniform point on ``S^{n-1}``."""
    assert entry_ks_pvalue(haar_batch(count, n, seed=n)) > ALPHA


@pytest.mark.statistical
def test_the_entry_law_catches_the_missing_sign_fix() -> None:
    """Without the sign fix the diagonal entries lean negative: the same KS check fails."""
    assert entry_ks_pvalue(unfixed_batch(20000, 3, seed=3)) < ALPHA


def trace_checks(q: np.ndarray) -> dict[str, tuple[float, float]]:
    """``(|deviation|, tolerance)`` of the trace moments against Diaconis-Shahshahani.

    For Haar ``O(n)``, ``tr Q`` has the moments of ``N(0, 1)`` up to order
    ``n``: mean 0, ``E (tr Q)^2 = 1`` and, for ``n >= 4``, ``E (tr Q)^4 = 3``, so
    ``Var(tr Q) = 1`` and ``Var((tr Q)^2) = 3 - 1 = 2``.  The means of ``N``
    independent matrices then have standard deviations ``1 / sqrt(N)`` and
    ``sqrt(2 / N)``; each tolerance is ``Z`` of them.
    """
    count = q.shape[0]
    t = np.trace(q, axis1=1, axis2=2)
    return {
        "mean tr": (abs(float(t.mean())), Z / math.sqrt(count)),
        "mean tr^2": (abs(float((t**2).mean()) - 1.0), Z * math.sqrt(2.0 / count)),
    }


@pytest.mark.statistical
@pytest.mark.parametrize(("n", "count"), [(4, 8000), (10, 8000), (32, 2000)])
def test_trace_moments_are_diaconis_shahshahani(n: int, count: int) -> None:
    for what, (dev, tol) in trace_checks(haar_batch(count, n, seed=100 + n)).items():
        assert dev <= tol, (what, dev, tol)


@pytest.mark.statistical
def test_the_trace_check_catches_the_missing_sign_fix() -> None:
    checks = trace_checks(unfixed_batch(8000, 10, seed=110))
    dev, tol = checks["mean tr"]
    assert dev > 1.5 and dev > 10 * tol  # E tr Q is about -1.8 at n = 10 without the fix


@pytest.mark.statistical
def test_wide_rows_are_uniform_on_the_stiefel_manifold() -> None:
    """A ``3 x n`` result's first row is a uniform unit vector: its first entry has the ``n``-Beta law."""
    n, count = 12, 20000
    w = xo.orthogonal((count, 3, n), seed=77, dtype=np.float64, batch_axis=0)
    x = (w[np.arange(count), np.arange(count) % 3, (np.arange(count) // 3) % n] + 1.0) / 2.0
    assert stats.kstest(x, stats.beta((n - 1) / 2, (n - 1) / 2).cdf).pvalue > ALPHA


# --- bits ------------------------------------------------------------------------------------
@pytest.mark.invariance
@pytest.mark.parametrize(("m", "n"), [(1, 1), (33, 33), (200, 160), (129, 65), (70, 64), (300, 97)])
def test_serial_parallel_and_batch_kernels_give_the_same_bits(m: int, n: int) -> None:
    g = xb.normal(3 * m * n, seed=8, dtype=np.float64).reshape(3, m, n)
    serial, parallel, batch = g.copy(), g.copy(), g.copy()
    d_serial, d_parallel, d_batch = (np.empty((3, n)) for _ in range(3))
    for k in range(3):
        qr.serial_householder_q(serial[k], d_serial[k])
        qr.householder_q(parallel[k], d_parallel[k])
    qr.householder_q_batch(batch, d_batch)
    assert np.array_equal(serial, parallel) and np.array_equal(serial, batch)
    assert np.array_equal(d_serial, d_parallel) and np.array_equal(d_serial, d_batch)


@pytest.mark.invariance
def test_one_and_two_threads_give_the_same_bits(restore_threads: None) -> None:
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba has one thread here")
    results = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        results.append([digest(v) for v in golden_cases().values()])
    assert results[0] == results[1]


@pytest.mark.invariance
@pytest.mark.parametrize(
    ("shape", "kwargs", "region"),
    [
        ((40, 30), {}, (slice(5, 17), slice(3, None))),
        ((12, 30), {}, (3,)),
        ((6, 5, 4), {"batch_axis": 0}, (slice(2, 4),)),
        ((5, 6, 4), {"batch_axis": 1}, (slice(1, 3), slice(4, 6), 2)),
        ((3, 3, 8, 16), {"layout": "keras"}, (1, slice(0, 2))),
    ],
    ids=["rows-cols", "one-row", "batch0", "batch1", "keras"],
)
def test_a_region_is_that_block_of_the_whole(shape: tuple[int, ...], kwargs: dict[str, Any], region: tuple) -> None:
    whole = xo.orthogonal(shape, 1.3, seed=21, **kwargs)
    part = xo.orthogonal(shape, 1.3, seed=21, region=region, **kwargs)
    assert np.array_equal(part, whole[region])


@pytest.mark.invariance
def test_batch_matrix_b_takes_the_stream_from_b_rows_cols() -> None:
    """Matrix ``b`` of a batch is the lone matrix of the stream positions ``b * rows * cols ...``."""
    w = xo.orthogonal((4, 5, 3), seed=6, dtype=np.float64, batch_axis=0)
    g = xb.normal(4 * 15, seed=6, dtype=np.float64).reshape(4, 5, 3)
    for b in range(4):
        q, r = np.linalg.qr(g[b])
        assert np.abs(w[b] - q * np.sign(np.diag(r))).max() <= 1e-13


@pytest.mark.invariance
def test_out_generator_and_one_stream_per_call() -> None:
    g = xb.Generator(42)
    first = xo.orthogonal((16, 8), generator=g)
    assert g.stream == 1
    assert np.array_equal(first, xo.orthogonal((16, 8), seed=42))
    second = xo.orthogonal((16, 8), generator=g)
    assert g.stream == 2 and not np.array_equal(first, second)
    buf = np.empty((16, 8), np.float32)
    assert xo.orthogonal((16, 8), seed=42, out=buf) is buf and np.array_equal(buf, first)
    for fn, args in ((xo.delta_orthogonal, ((8, 4, 3),)), (xo.sparse, ((8, 4), 0.5))):
        before = g.stream
        fn(*args, generator=g)
        assert g.stream == before + 1


@pytest.mark.invariance
def test_zero_element_shapes_give_empty_arrays() -> None:
    for shape in ((0, 5), (5, 0), (3, 0, 2), (0, 0)):
        w = xo.orthogonal(shape, seed=0)
        assert w.shape == shape and w.size == 0
    assert xo.orthogonal((3, 4, 2), seed=0, batch_axis=0, region=(slice(1, 1),)).shape == (0, 4, 2)
    assert xo.delta_orthogonal((4, 2, 0), seed=0).shape == (4, 2, 0)
    assert xo.sparse((0, 3), 0.5, seed=0).shape == (0, 3)


def half_table(dt: np.dtype[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Every finite value of the 16-bit ``dt`` as float64 (exact), ascending, with its code; one zero (+0)."""
    codes = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    with np.errstate(invalid="ignore"):
        values = codes.view(dt).astype(np.float64)
    keep = np.isfinite(values) & ~((values == 0) & np.signbit(values))
    order = np.argsort(values[keep], kind="stable")
    return values[keep][order], codes[keep][order]


def exact_round(x: np.ndarray, dt: np.dtype[Any]) -> np.ndarray:
    """An independent round-to-nearest-even of float64 ``x`` to ``dt``: the nearer of the two neighbours in
    the table of every value, a tie to the one whose code is even (a zero keeps the sign of ``x``)."""
    values, codes = half_table(dt)
    hi = np.clip(np.searchsorted(values, x), 1, values.size - 1)
    lo = hi - 1
    d_lo, d_hi = x - values[lo], values[hi] - x
    pick = np.where(d_lo < d_hi, lo, np.where(d_hi < d_lo, hi, np.where(codes[lo] % 2 == 0, lo, hi)))
    out = values[pick]
    return np.where(out == 0, np.copysign(0.0, x), out)


@pytest.mark.reference
@pytest.mark.parametrize("name", sorted(HALF))
@pytest.mark.parametrize(("shape", "gain"), [((1024, 1024), 1.0), ((64, 256), 0.7), ((100, 3), 1e-3)], ids=str)
def test_half_outputs_are_the_float64_result_rounded_once(name: str, shape: tuple[int, int], gain: float) -> None:
    """``half == clip(rne_h(result64), -hi, hi)``, ``hi`` the largest half value ``<= gain``.

    About 1 in ``2**13`` (float16) or ``2**16`` (bfloat16) float64 values lie
    within float32's half-ulp of a half tie, where going through float32 by
    round-to-nearest would round twice: the 1M-entry case holds about 120 and
    15 of them.
    """
    dt = HALF[name]
    result64 = xo.orthogonal(shape, gain, seed=31, dtype=np.float64)
    got = xo.orthogonal(shape, gain, seed=31, dtype=dt).astype(np.float64)
    values, _ = half_table(dt)
    hi = float(values[values <= gain].max())
    expected = np.clip(exact_round(result64, dt), -hi, hi)
    assert np.array_equal(got, expected) and np.array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.reference
def test_float32_output_is_the_float64_result_rounded_once() -> None:
    result64 = xo.orthogonal((300, 200), 1.1, seed=32, dtype=np.float64)
    got = xo.orthogonal((300, 200), 1.1, seed=32, dtype=np.float32)
    assert np.array_equal(got, result64.astype(np.float32))


@pytest.mark.reference
@pytest.mark.parametrize("name", sorted(HALF))
def test_rounding_near_ties_is_single_and_through_float32_would_be_double(name: str) -> None:
    """Values a hair off a half tie: one rounding picks the nearer side; rounding through float32 first does not."""
    dt = HALF[name]
    bits = 11 if name == "float16" else 8  # significand bits of the half type
    base = 1.0 + np.arange(1, 200) * 2.0 ** (1 - bits)  # half values in [1, 2)
    tie = base + 2.0**-bits  # midpoints between neighbours
    x = np.concatenate([tie + 2.0**-40, tie - 2.0**-40, -(tie + 2.0**-40), tie])
    out = np.empty(x.shape, dt)
    xo._store(x, out, None)
    assert np.array_equal(out.astype(np.float64), exact_round(x, dt))
    wrong = x.astype(np.float32).astype(dt).astype(np.float64)  # the deliberately double rounding
    assert not np.array_equal(wrong, exact_round(x, dt))


# --- golden checksums ---------------------------------------------------------------------
def golden_cases() -> dict[str, np.ndarray]:
    """Fixed calls through every path: serial, parallel and batch kernels, both layouts, halves, regions."""
    seed = 20261122
    return {
        "orthogonal/float32/64x64": xo.orthogonal((64, 64), seed=seed),
        "orthogonal/float64/200x160": xo.orthogonal((200, 160), seed=seed, dtype=np.float64),  # parallel kernel
        "orthogonal/float64/70x300/gain2": xo.orthogonal((70, 300), 2.0, seed=seed, dtype=np.float64),
        "orthogonal/bfloat16/24x96": xo.orthogonal((24, 96), seed=seed, dtype="bfloat16"),
        "orthogonal/float16/conv16x8x3x3": xo.orthogonal((16, 8, 3, 3), seed=seed, dtype=np.float16),
        "orthogonal/float32/batch8x20x12": xo.orthogonal((8, 20, 12), seed=seed, batch_axis=0),  # batch kernel
        "orthogonal/float32/keras3x3x16x32": xo.orthogonal((3, 3, 16, 32), seed=seed, layout="keras"),
        "orthogonal/float32/region": xo.orthogonal((50, 40), seed=seed, region=(slice(10, 20),)),
        "delta_orthogonal/float32/32x16x3x3": xo.delta_orthogonal((32, 16, 3, 3), seed=seed),
        "sparse/float32/64x48": xo.sparse((64, 48), 0.25, seed=seed),
        "sparse/float64/30x20": xo.sparse((30, 20), 0.1, 0.5, seed=seed, dtype=np.float64),
    }


def stream_version() -> int:
    """The library's stream version (the orthogonal bits rest on the float64 normal stream)."""
    return int(json.loads((DATA / "golden_sha256.json").read_text())["stream_version"])


@pytest.mark.known_answer
def test_golden_checksums() -> None:
    golden = json.loads(GOLDEN.read_text())
    assert golden["stream_version"] == stream_version(), "the stream changed: regenerate (see the module docstring)"
    assert {k: digest(v) for k, v in golden_cases().items()} == golden["sha256"]


CHILD = """
import json, re, sys
sys.path.insert(0, {tests!r})
import numba
from core.test_orthogonal import digest, golden_cases
from xinit_bench.kernels import qr
sha = {{k: digest(v) for k, v in golden_cases().items()}}
asm = "".join(qr._apply_chunk.inspect_asm().values())  # empty when the kernel came from the cache
fma = len(re.findall("vf(n?)m(add|sub)", asm))
print(json.dumps({{"threads": numba.get_num_threads(), "cpu": numba.config.CPU_NAME, "sha256": sha,
                  "asm": len(asm), "ymm": len(re.findall("ymm", asm)), "fma": fma}}))
"""


def run_child(env_changes: dict[str, str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CPU", "NUMBA_NUM_THREADS"))}
    env.update(env_changes)
    code = CHILD.format(tests=str(Path(__file__).parents[1]))
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def child_result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, err[-3000:]
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.invariance
@pytest.mark.slow
def test_child_processes_with_one_and_two_threads_reproduce_the_golden_bits() -> None:
    golden = json.loads(GOLDEN.read_text())["sha256"]
    for threads in ("1", "2"):
        got = child_result(run_child({"NUMBA_NUM_THREADS": threads}))
        assert got["threads"] == int(threads)
        assert got["sha256"] == golden, threads


@pytest.mark.invariance
@pytest.mark.slow
def test_numba_targeting_host_haswell_and_generic_reproduces_the_golden_bits() -> None:
    """Each target in its own process with a fresh cache: the compiled code differs, the bits may not.

    ``generic`` is x86-64's baseline (SSE2, no FMA, 2-wide vectors); ``haswell`` has AVX2 and FMA
    (``NUMBA_CPU_FEATURES=""`` keeps the features of the named CPU instead of the host's).
    """
    golden = json.loads(GOLDEN.read_text())["sha256"]
    with tempfile.TemporaryDirectory() as root:
        targets = {
            "host": {},
            "haswell": {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": ""},
            "generic": {"NUMBA_CPU_NAME": "generic"},
        }
        procs = {name: run_child({**env, "NUMBA_CACHE_DIR": str(Path(root) / name)}) for name, env in targets.items()}
        results = {name: child_result(proc) for name, proc in procs.items()}
    assert results["haswell"]["cpu"] == "haswell" and results["generic"]["cpu"] == "generic"
    for name, got in results.items():
        assert got["sha256"] == golden, name
        assert got["asm"] > 0 and got["fma"] == 0, name  # compiled afresh, and no fused multiply-add anywhere
    assert results["generic"]["ymm"] == 0 < results["haswell"]["ymm"]  # SSE2 only, against AVX2: other code


# --- delta-orthogonal ------------------------------------------------------------------------
@pytest.mark.reference
@pytest.mark.parametrize("shape", [(8, 4, 3), (16, 16, 3, 3), (12, 5, 3, 5, 2)], ids=str)
def test_delta_orthogonal_is_an_orthogonal_centre_and_zeros(shape: tuple[int, ...]) -> None:
    w = xo.delta_orthogonal(shape, 1.4, seed=3, dtype=np.float64)
    centre = tuple(k // 2 for k in shape[2:])
    m = w[(slice(None), slice(None), *centre)]
    assert np.abs(m.T @ m - 1.4**2 * np.eye(shape[1])).max() <= 1.4**2 * 1e-12
    rest = w.copy()
    rest[(slice(None), slice(None), *centre)] = 0
    assert not rest.any()
    assert np.array_equal(m, xo.orthogonal(shape[:2], 1.4, seed=3, dtype=np.float64))


@pytest.mark.invariance
def test_delta_orthogonal_keras_layout_holds_the_same_matrix_transposed() -> None:
    torch_w = xo.delta_orthogonal((8, 4, 3, 3), seed=5, dtype=np.float64)
    keras_w = xo.delta_orthogonal((3, 3, 4, 8), seed=5, dtype=np.float64, layout="keras")
    assert np.array_equal(keras_w[1, 1], torch_w[:, :, 1, 1].T)
    assert np.count_nonzero(keras_w) == np.count_nonzero(torch_w)


@pytest.mark.invariance
def test_delta_orthogonal_region() -> None:
    whole = xo.delta_orthogonal((8, 4, 3, 3), seed=5)
    assert np.array_equal(xo.delta_orthogonal((8, 4, 3, 3), seed=5, region=(slice(2, 5), 1)), whole[2:5, 1])


@pytest.mark.reference
def test_delta_orthogonal_convolution_preserves_the_norm() -> None:
    """A 'valid' 1-d convolution with the kernel is ``M`` applied at every position: an isometry of the channels."""
    w = xo.delta_orthogonal((6, 3, 3), seed=7, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3, 50))
    y = np.stack([sum(np.correlate(x[i], w[o, i], mode="valid") for i in range(3)) for o in range(6)])
    assert np.allclose(np.linalg.norm(y, axis=0), np.linalg.norm(x[:, 1:-1], axis=0), atol=1e-12)


# --- the peer suite: pytorch/pytorch test/nn/test_init.py, re-expressed -------------------
def _random_float(rng: np.random.Generator, a: float, b: float) -> float:
    return float((b - a) * rng.random() + a)


@pytest.mark.reference
def test_peer_orthogonal() -> None:
    """``TestNNInit.test_orthogonal``: the Gram of the flattened tensor is ``gain**2 I`` to ``atol=1e-6``."""
    rng = np.random.default_rng(123)
    for use_gain in (True, False):
        for tensor_size in ([3, 4], [4, 3], [20, 2, 3, 4], [2, 3, 4, 5]):
            gain = _random_float(rng, 0.1, 2) if use_gain else 1.0
            w = xo.orthogonal(tensor_size, gain, seed=int(rng.integers(2**31)))
            rows, cols = tensor_size[0], math.prod(tensor_size[1:])
            f = w.reshape(rows, cols).astype(np.float64)
            g = f.T @ f if rows > cols else f @ f.T
            assert np.abs(g - np.eye(g.shape[0]) * gain**2).max() <= 1e-6


@pytest.mark.refusal
def test_peer_orthogonal_needs_two_dimensions() -> None:
    for shape in ((), (5,)):
        with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
            xo.orthogonal(shape, seed=0)


@pytest.mark.refusal
def test_peer_sparse_only_works_on_2d_inputs() -> None:
    rng = np.random.default_rng(123)
    for dims in (1, 3):
        shape = tuple(int(rng.integers(1, 4)) for _ in range(dims))
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            xo.sparse(shape, _random_float(rng, 0.1, 0.9), seed=0)


@pytest.mark.statistical
def test_peer_sparse_default_std() -> None:
    """``TestNNInit.test_sparse_default_std``: enough zeros per column, the nonzeros pass KS for ``N(0, std^2)``."""
    rng = np.random.default_rng(123)
    for use_random_std in (True, False):
        rows, cols = (int(rng.integers(30, 36)) for _ in range(2))
        sparsity = _random_float(rng, 0.1, 0.2)
        std = _random_float(rng, 0.01, 0.2) if use_random_std else 0.01
        kwargs = {"std": std} if use_random_std else {}
        w = xo.sparse((rows, cols), sparsity, seed=int(rng.integers(2**31)), **kwargs)
        for col in range(cols):
            assert (w[:, col] == 0).sum() >= math.ceil(sparsity * rows)
        assert stats.kstest(w[w != 0].astype(np.float64), "norm", args=(0, std)).pvalue > ALPHA


@pytest.mark.reference
def test_peer_eye() -> None:
    rng = np.random.default_rng(123)
    shape = tuple(int(rng.integers(1, 6)) for _ in range(2))
    w = xo.identity(shape)
    for i in range(shape[0]):
        for j in range(shape[1]):
            assert w[i, j] == (1.0 if i == j else 0.0)


@pytest.mark.refusal
def test_peer_eye_only_works_on_2d_inputs() -> None:
    for shape in ((3,), (2, 2, 2)):
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            xo.identity(shape)


@pytest.mark.reference
def test_peer_dirac_properties() -> None:
    """``test_dirac_properties``: ``min(out // groups, in) * groups`` nonzeros, all ones."""
    rng = np.random.default_rng(123)
    for dims in (3, 4, 5):
        for groups in (1, 2, 3):
            a, c, d, e = (int(rng.integers(1, 6)) for _ in range(4))
            b = int(rng.integers(1, 5 * groups + 1))
            w = xo.dirac((a * groups, b, c, d, e)[:dims], groups)
            min_d = min(a, b)
            assert np.count_nonzero(w) == min_d * groups
            assert w.sum() == min_d * groups


@pytest.mark.reference
@pytest.mark.parametrize("groups", [1, 3])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_peer_dirac_identity(groups: int, dims: int) -> None:
    """``test_dirac_identity``: a valid convolution with the Dirac kernel copies its ``in_c`` input channels."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    batch, in_c, out_c, size, kernel_size = 8, 3, 9, 5, 3
    eff_out_c = out_c // groups
    w = torch.from_numpy(xo.dirac((out_c, in_c) + (kernel_size,) * dims, groups))
    x = torch.randn((batch, in_c) + (size,) * dims, generator=torch.Generator().manual_seed(0))
    conv = (functional.conv1d, functional.conv2d, functional.conv3d)[dims - 1]
    y = conv(x, w)
    inner = (slice(None), slice(None)) + (slice(1, -1),) * dims
    for g in range(groups):
        assert torch.equal(x[inner], y[:, eff_out_c * g : eff_out_c * g + in_c])
        assert not y[:, eff_out_c * g + in_c : eff_out_c * (g + 1)].any()


@pytest.mark.refusal
def test_peer_dirac_only_works_on_3_4_5d_inputs() -> None:
    for shape in ((2,), (2, 2), (1, 1, 1, 1, 1, 1)):
        with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
            xo.dirac(shape)


# --- sparse --------------------------------------------------------------------------------
@pytest.mark.statistical
def test_sparse_zero_positions_are_uniform_per_column() -> None:
    """Each row is zero in a column with probability ``z / rows``: a chi-square over rows, ``cols`` draws each.

    Columns are independent, so row ``i``'s zero count is Binomial(``cols``,
    ``z / rows``); the counts of all rows sum to ``cols * z``, a multinomial-like
    vector whose Pearson statistic is chi-square with ``rows - 1`` degrees of
    freedom (up to the factor ``1 - z / rows`` of sampling without replacement,
    which makes it smaller).  Require its p-value above ``ALPHA``.
    """
    rows, cols, sparsity = 20, 20000, 0.3
    w = xo.sparse((rows, cols), sparsity, seed=12, dtype=np.float64)
    z = math.ceil(sparsity * rows)
    assert ((w == 0).sum(axis=0) == z).all()
    counts = (w == 0).sum(axis=1)
    expected = cols * z / rows
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, rows - 1) > ALPHA


@pytest.mark.reference
def test_sparse_is_the_documented_stream() -> None:
    """Values: positions ``i * cols + j`` times ``std``; zeros: the ``z`` smallest keys of each column."""
    rows, cols, s, std = 9, 7, 0.4, 0.25
    w = xo.sparse((rows, cols), s, std, seed=4, dtype=np.float64)
    z = xb.normal(2 * rows * cols, seed=4, dtype=np.float64)
    values = z[: rows * cols].reshape(rows, cols) * std
    keys = z[rows * cols :].reshape(cols, rows)
    zeros = math.ceil(s * rows)
    expected = values.copy()
    for j in range(cols):
        expected[np.argsort(keys[j], kind="stable")[:zeros], j] = 0.0
    assert np.array_equal(w, expected)


@pytest.mark.reference
def test_sparse_edges() -> None:
    assert np.count_nonzero(xo.sparse((10, 4), 0.0, seed=0)) == 40
    assert ((xo.sparse((10, 4), 0.95, seed=0) == 0).sum(axis=0) == 10).all()
    assert not xo.sparse((6, 3), 0.5, std=0.0, seed=0).any()


# --- identity and dirac ----------------------------------------------------------------------
@pytest.mark.reference
def test_identity_and_dirac_dtypes_and_out() -> None:
    for dtype in (np.float32, np.float64, *HALF.values()):
        w = xo.identity((3, 5), 0.1, dtype=dtype)
        assert w.dtype == dtype
        assert np.array_equal(w.astype(np.float64), np.eye(3, 5) * float(np.array(0.1).astype(dtype)))
    buf = np.full((4, 2, 3, 3), 7.0, np.float32)
    assert xo.dirac((4, 2, 3, 3), 2, out=buf) is buf and buf.sum() == 4


# --- refusals ----------------------------------------------------------------------------------
def refused(exc: type[Exception], name: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    with pytest.raises(exc) as info:
        call(*args, **kwargs)
    assert str(info.value).startswith(f"{name} must "), str(info.value)


ORTHOGONAL_REFUSALS: list[tuple[type[Exception], str, dict[str, Any]]] = [
    (ValueError, "shape", {"shape": (8,)}),
    (TypeError, "shape", {"shape": "8x4"}),
    (ValueError, "gain", {"gain": -1.0}),
    (ValueError, "gain", {"gain": math.nan}),
    (ValueError, "gain", {"gain": math.inf}),
    (TypeError, "gain", {"gain": "1"}),
    (ValueError, "gain", {"gain": 1e39}),  # beyond float32
    (ValueError, "gain", {"gain": 1e-40}),  # a float32 subnormal
    (ValueError, "layout", {"layout": "tf"}),
    (TypeError, "layout", {"layout": 1}),
    (ValueError, "column_axis", {"column_axis": 0}),  # with the torch layout
    (ValueError, "column_axis", {"layout": "keras", "column_axis": 2}),
    (TypeError, "column_axis", {"layout": "keras", "column_axis": 1.0}),
    (ValueError, "batch_axis", {"batch_axis": 0}),  # a 2-d shape
    (ValueError, "dtype", {"dtype": "int32"}),
    (ValueError, "seed", {"seed": -1}),
    (TypeError, "seed", {"seed": 1.5}),
    (ValueError, "out", {"out_shape": (4, 8)}),
    (TypeError, "out", {"out_dtype": np.float64, "dtype": np.float32}),
    (TypeError, "out", {"out_dtype": np.int32}),
    (ValueError, "region[0]", {"region": (slice(0, 4, 2),)}),
    (ValueError, "region", {"region": (1, 2, 3)}),
]


@pytest.mark.refusal
@pytest.mark.parametrize(("exc", "name", "kwargs"), ORTHOGONAL_REFUSALS, ids=lambda v: str(v)[:40])
def test_orthogonal_refusals_write_nothing(exc: type[Exception], name: str, kwargs: dict[str, Any]) -> None:
    kwargs = dict(kwargs)
    shape = kwargs.pop("shape", (8, 4))
    out = np.full(kwargs.pop("out_shape", (8, 4)), 7.0, kwargs.pop("out_dtype", np.float32))
    g = xb.Generator(1)
    if "seed" in kwargs:
        refused(exc, name, xo.orthogonal, shape, out=out, **kwargs)
    else:
        refused(exc, name, xo.orthogonal, shape, out=out, generator=g, **kwargs)
    assert (out == 7.0).all() and g.stream == 0


@pytest.mark.refusal
def test_orthogonal_batch_axis_refusals() -> None:
    g = xb.Generator(1)
    refused(ValueError, "batch_axis", xo.orthogonal, (3, 4, 5), batch_axis=3, generator=g)
    refused(ValueError, "batch_axis", xo.orthogonal, (3, 4, 5), layout="keras", batch_axis=-1, generator=g)
    refused(ValueError, "gain", xo.orthogonal, (3, 4), 7e4, dtype=np.float16, generator=g)
    with pytest.raises(ValueError, match="pass either seed= or generator="):
        xo.orthogonal((3, 4), seed=1, generator=g)
    with pytest.raises(TypeError, match="generator must be"):
        xo.orthogonal((3, 4), generator=np.random.default_rng(0))  # type: ignore[arg-type]
    assert g.stream == 0


@pytest.mark.refusal
def test_delta_orthogonal_refusals() -> None:
    g = xb.Generator(1)
    out = np.full((4, 8, 3), 7.0, np.float32)
    refused(ValueError, "shape", xo.delta_orthogonal, (4, 8, 3), generator=g, out=out)  # in > out
    refused(ValueError, "shape", xo.delta_orthogonal, (3, 8, 4), generator=g, layout="keras")
    refused(ValueError, "shape", xo.delta_orthogonal, (4, 4), generator=g)
    refused(ValueError, "shape", xo.delta_orthogonal, (4, 4, 1, 1, 1, 1), generator=g)
    refused(ValueError, "gain", xo.delta_orthogonal, (8, 4, 3), -2.0, generator=g)
    refused(ValueError, "layout", xo.delta_orthogonal, (8, 4, 3), layout="jax", generator=g)
    assert (out == 7.0).all() and g.stream == 0


@pytest.mark.refusal
def test_identity_and_dirac_refusals() -> None:
    out = np.full((3, 3), 7.0, np.float32)
    refused(ValueError, "shape", xo.identity, (3, 3, 3))
    refused(ValueError, "gain", xo.identity, (3, 3), -1.0, out=out)
    refused(ValueError, "gain", xo.identity, (3, 3), 1e5, dtype=np.float16)
    refused(ValueError, "out", xo.identity, (3, 4), out=out)
    refused(TypeError, "groups", xo.dirac, (4, 2, 3), 2.0)
    refused(ValueError, "groups", xo.dirac, (4, 2, 3), 0)
    refused(ValueError, "groups", xo.dirac, (4, 2, 3), 3)
    assert (out == 7.0).all()


@pytest.mark.refusal
def test_sparse_refusals() -> None:
    g = xb.Generator(1)
    out = np.full((8, 4), 7.0, np.float32)
    for bad in (1.0, 1.5, -0.1, math.nan):
        refused(ValueError, "sparsity", xo.sparse, (8, 4), bad, generator=g, out=out)
    refused(TypeError, "sparsity", xo.sparse, (8, 4), "0.5", generator=g, out=out)
    refused(ValueError, "std", xo.sparse, (8, 4), 0.5, -1.0, generator=g, out=out)
    refused(ValueError, "8.6 std (the largest sample)", xo.sparse, (8, 4), 0.5, 1e4, dtype=np.float16, generator=g)
    refused(ValueError, "shape", xo.sparse, (8, 4, 2), 0.5, generator=g)
    refused(TypeError, "out", xo.sparse, (8, 4), 0.5, generator=g, dtype=np.float32, out=out.astype(np.float64))
    refused(TypeError, "out", xo.sparse, (8, 4), 0.5, generator=g, out=out.astype(np.int32))
    assert (out == 7.0).all() and g.stream == 0


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        GOLDEN.write_text(
            json.dumps(
                {"stream_version": stream_version(), "sha256": {k: digest(v) for k, v in golden_cases().items()}},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
