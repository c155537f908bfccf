"""Orthogonal initialisation: xinit-bench's reproducible QR against torch and LAPACK, each in its own process.

Run as a script::

    python -m benchmarks.bench_orthogonal                 # 256, 1024, 4096; float32 and float64
    python -m benchmarks.bench_orthogonal --sizes 1024 --repeats 7 --json out.json

It times the rows of the working tree's orthogonal case table
(``xinit_bench/perf/qr_cases.py``: ``xinit``, ``torch``, ``lapack``) with
:func:`xinit_bench.perf.qr_bench.measure_qr`: one long-lived worker process per
side with :data:`THREADS` threads for every pool (Numba, torch's OpenMP,
OpenBLAS/MKL), asked in turn, A B C A B C ..., one call per request after one
warm-up call per row, medians of at least 5 calls, their ratios and the
GFLOP/s of ``(8/3) n^3`` (``4/3 n^3`` for the factorisation, as much again to
form ``Q``).  Wall time is what a user waits; the CPU time of the worker is
beside it, so a run on a loaded machine shows itself (CPU well below 2x wall
on 2 threads).  ``xinit-bench bench`` prints the same rows.

For asv, :class:`Orthogonal` times the same calls in asv's own process, at the
sizes cheap enough for every commit (:data:`SIZES`), one side per parameter.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import tree

THREADS = 2
#: The ``n`` of the asv rows (append only, as every parameter of the suite).
SIZES = (256, 1024)


class Orthogonal:
    """Wall time of one ``(n, n)`` orthogonal matrix: xinit-bench, torch's ``orthogonal_``, SciPy's QR."""

    params = (["xinit", "torch", "lapack"], ["float32", "float64"], list(SIZES))
    param_names = ["side", "dtype", "n"]
    timeout = 300
    number = 1
    repeat = (5, 10, 20.0)

    def setup(self, side: str, dtype: str, n: int) -> None:
        qr_cases = tree.load("qr_cases")
        try:
            self.call = qr_cases.side_call(side, qr_cases.QRCase(n, dtype))
        except qr_cases.UNAVAILABLE as exc:
            raise NotImplementedError(str(exc)) from None  # asv skips a side that cannot run here
        self.call()  # compilation, page faults, thread pools

    def time_orthogonal(self, side: str, dtype: str, n: int) -> None:
        self.call()


def _format(row: dict[str, Any]) -> str:
    parts = [f"{row['dtype']:>7} {row['n']:>5}"]
    for side, r in row["sides"].items():
        parts.append(f"{side} {r['wall_s']:.4f} s ({r['gflops']:.1f} GF/s, cpu {r['cpu_s']:.3f} s)")
    for key in ("xinit_over_torch", "xinit_over_lapack"):
        if row[key] is not None:
            parts.append(f"{key.replace('_over_', '/')} {row[key]:.2f}x")
    parts.append(f"load {row['load_average']}")
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    qr_cases = tree.load("qr_cases")
    qr_bench = tree.load("qr_bench")
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(qr_cases.FULL_QR_SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--sides", nargs="+", default=list(qr_cases.SIDES), choices=qr_cases.SIDES)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per side and size (at least 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error(f"--repeats must be at least 5, got {args.repeats}")
    started = qr_bench.load_average()
    print(f"threads {THREADS}, medians of {args.repeats}, load at start {started}", flush=True)
    rows = []
    for dtype in args.dtypes:
        for n in args.sizes:
            (result,) = qr_bench.measure_qr(
                [qr_cases.QRCase(n, dtype)], repeats=args.repeats, threads=THREADS, sides=args.sides
            )
            rows.append(result.to_dict())
            print(_format(rows[-1]), flush=True)
    ended = qr_bench.load_average()
    print(f"load at end {ended}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": THREADS, "repeats": args.repeats, "load_start": started, "load_end": ended,
                       "rows": rows}, f, indent=1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
