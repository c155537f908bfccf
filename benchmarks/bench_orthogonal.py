"""Orthogonal initialisation: xinit-bench's reproducible QR against torch and LAPACK, each in its own process.

Run as a script (it defines no asv benchmark)::

    python benchmarks/bench_orthogonal.py                 # 256, 1024, 4096; float32 and float64
    python benchmarks/bench_orthogonal.py --sizes 1024 --repeats 7 --json out.json

Three sides, each a long-lived worker process with 2 threads for every pool
(Numba, torch's OpenMP, OpenBLAS/MKL), so no side warms or cools another's
caches or thread pools:

``xinit``
    ``xinit_bench.orthogonal.orthogonal((n, n), seed=..., dtype=dtype)``: a
    Philox float64 Gaussian, the Householder QR of :mod:`xinit_bench.kernels.qr`
    (float64 whatever the output dtype), the sign fix, one rounding.
``torch``
    ``torch.nn.init.orthogonal_`` on a ``(n, n)`` tensor of ``dtype`` (LAPACK's
    ``geqrf`` + ``orgqr`` in that dtype, from torch's MKL).
``lapack``
    NumPy's Gaussian of ``dtype``, ``scipy.linalg.qr(mode="economic")`` (LAPACK
    in that dtype) and the sign fix: what a NumPy user writes.

The parent asks the workers in turn, A B C A B C ..., one call per request
after one warm-up call per configuration, and reports medians of at least 5
calls, their ratios to torch and the GFLOP/s of ``(8/3) n^3``: the flops of
a Householder QR of an ``n x n`` matrix with ``Q`` formed (``2 n^3 - 2/3 n^3``
for the factorisation, as much again for ``Q``).  Wall time is what a user
waits; the CPU time of the worker is reported next to it, so a run on a
loaded machine shows itself (CPU well below 2x wall on 2 threads).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

SIDES = ("xinit", "torch", "lapack")
THREADS = 2


def flops(n: int) -> float:
    """Floating-point operations of a Householder QR of an ``n x n`` matrix with ``Q`` formed."""
    return 8.0 / 3.0 * n**3


# --- the worker ----------------------------------------------------------------------------
def _worker(side: str) -> None:
    """Serve requests ``"<n> <dtype>"`` on stdin: one timed call each, ``{"wall":, "cpu":}`` on stdout."""
    import numpy as np

    if side == "xinit":
        from xinit_bench.orthogonal import orthogonal
        from xinit_bench.runtime import threads

        threads_ctx = threads(THREADS)
        threads_ctx.__enter__()

        def call(n: int, dtype: str, seed: int) -> None:
            orthogonal((n, n), seed=seed, dtype=dtype)

    elif side == "torch":
        import torch

        torch.set_num_threads(THREADS)
        tensors: dict[tuple[int, str], Any] = {}

        def call(n: int, dtype: str, seed: int) -> None:
            t = tensors.get((n, dtype))
            if t is None:
                t = tensors[(n, dtype)] = torch.empty((n, n), dtype=getattr(torch, dtype))
            torch.nn.init.orthogonal_(t, generator=torch.Generator().manual_seed(seed))

    elif side == "lapack":
        from scipy import linalg

        def call(n: int, dtype: str, seed: int) -> None:
            g = np.random.default_rng(seed).standard_normal((n, n), dtype=np.dtype(dtype).type)
            q, r = linalg.qr(g, mode="economic", overwrite_a=True, check_finite=False)
            q *= np.sign(np.diag(r))

    else:
        raise SystemExit(f"side must be one of {SIDES}, got {side!r}")
    print(json.dumps({"ready": side}), flush=True)
    for line in sys.stdin:
        n_text, dtype, seed_text = line.split()
        wall, cpu = time.perf_counter(), time.process_time()
        call(int(n_text), dtype, int(seed_text))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


# --- the parent ----------------------------------------------------------------------------
class Worker:
    """One side's process; :meth:`time` sends a request and reads its reply."""

    def __init__(self, side: str) -> None:
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env[var] = str(THREADS)
        self.side = side
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} worker exited (status {self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def time(self, n: int, dtype: str, seed: int) -> dict[str, float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{n} {dtype} {seed}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def load() -> str:
    """``uptime``'s load averages (1, 5, 15 minutes), as the machine reports them."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def measure(sizes: list[int], dtypes: list[str], sides: list[str], repeats: int) -> dict[str, Any]:
    workers = {side: Worker(side) for side in sides}
    rows = []
    started = load()
    try:
        for dtype in dtypes:
            for n in sizes:
                for w in workers.values():  # warm-up: compilation, page faults, thread pools
                    w.time(n, dtype, 0)
                samples: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
                for r in range(repeats):
                    for side in sides:  # interleaved A B C A B C
                        samples[side].append(workers[side].time(n, dtype, r + 1))
                row: dict[str, Any] = {"n": n, "dtype": dtype, "load": load()}
                for side in sides:
                    wall = statistics.median(s["wall"] for s in samples[side])
                    cpu = statistics.median(s["cpu"] for s in samples[side])
                    row[side] = {"wall_s": wall, "cpu_s": cpu, "gflops": flops(n) / wall / 1e9}
                rows.append(row)
                print(_format(row, sides), flush=True)
    finally:
        for w in workers.values():
            w.close()
    return {"threads": THREADS, "repeats": repeats, "load_start": started, "load_end": load(), "rows": rows}


def _format(row: dict[str, Any], sides: list[str]) -> str:
    parts = [f"{row['dtype']:>7} {row['n']:>5}"]
    for side in sides:
        r = row[side]
        parts.append(f"{side} {r['wall_s']:.4f} s ({r['gflops']:.1f} GF/s, cpu {r['cpu_s']:.3f} s)")
    if "torch" in sides and "xinit" in sides:
        parts.append(f"xinit/torch {row['xinit']['wall_s'] / row['torch']['wall_s']:.2f}x")
    if "lapack" in sides and "xinit" in sides:
        parts.append(f"xinit/lapack {row['xinit']['wall_s'] / row['lapack']['wall_s']:.2f}x")
    parts.append(f"load {row['load']}")
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per side and size (at least 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return 0
    if args.repeats < 5:
        parser.error(f"--repeats must be at least 5, got {args.repeats}")
    print(f"threads {THREADS}, medians of {args.repeats}, load at start {load()}", flush=True)
    result = measure(args.sizes, args.dtypes, args.sides, args.repeats)
    print(f"load at end {result['load_end']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
