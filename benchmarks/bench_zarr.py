"""Out-of-core zarr stores: peak memory, a read-back sample, and throughput against a local memmap fill.

Not a test (it writes gigabytes): ``python benchmarks/bench_zarr.py --gib 4 16 --runs 3 --dir /work/tmp``.

For each size, each run:

1. ``xinit_bench.dask.to_zarr`` in a fresh child process, which samples its
   own resident memory (``/proc/self/statm``) every 0.2 s and reports the peak
   (``ru_maxrss``) and the RSS at each quarter of the chunks;
2. a sample of blocks read back from the store, each compared bit for bit with
   the local fill of that region (``region=``);
3. the store deleted, then the same tensor filled locally into an
   ``np.memmap`` of the same size in a fresh child (one call, ``out=``),
   timed with and without the final ``flush``; the file deleted.

Free disk space is checked first (twice the largest size is needed at most).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

CHILD_ZARR = r"""
import json, resource, sys, threading, time, os
import xinit_bench.dask as xd
path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
samples, quarters, stop = [], {}, False
def sampler():
    while not stop:
        samples.append(rss()); time.sleep(0.2)
t = threading.Thread(target=sampler, daemon=True); t.start()
def progress(done, total):
    for q in (1, 2, 3, 4):
        if done == total * q // 4 and q not in quarters:
            quarters[q] = rss()
r = xd.to_zarr(path, "he_normal", (rows, cols), seed=0, progress=progress)
stop = True; t.join()
print(json.dumps({"seconds": r.seconds, "bytes": r.bytes_written, "chunks": r.chunks_total,
    "chunk_shape": list(r.chunks), "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "sampled_max_rss": max(samples), "rss_at_quarters": [quarters.get(q) for q in (1, 2, 3, 4)]}))
"""

CHILD_MEMMAP = r"""
import json, sys, time
import numpy as np
import xinit_bench as xb
path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
xb.he_normal((64, 64), seed=0)  # load the kernels outside the clock
t0 = time.perf_counter()
mm = np.memmap(path, np.float32, "w+", shape=(rows, cols))
xb.he_normal(mm.shape, seed=0, out=mm)
t1 = time.perf_counter()
mm.flush()
t2 = time.perf_counter()
print(json.dumps({"fill_seconds": t1 - t0, "fill_flush_seconds": t2 - t0}))
"""

CHECK = r"""
import json, sys
import numpy as np
import xinit_bench as xb
import xinit_bench.dask as xd
path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
stored = xd.from_zarr(path)
rng = np.random.default_rng(1)
ok = 0
for _ in range(16):
    r0 = int(rng.integers(0, rows - 64)); c0 = int(rng.integers(0, cols - 256))
    region = (slice(r0, r0 + 64), slice(c0, c0 + 256))
    got = stored[region].compute()
    ok += got.tobytes() == xb.he_normal((rows, cols), seed=0, region=region).tobytes()
last = (slice(rows - 3, rows), slice(None))
ok += stored[last].compute().tobytes() == xb.he_normal((rows, cols), seed=0, region=last).tobytes()
print(json.dumps({"blocks_checked": 17, "blocks_equal": ok}))
"""


def child(code: str, *args: object) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gib", type=int, nargs="+", default=[4, 16])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cols", type=int, default=16384)
    p.add_argument("--dir", type=Path, default=Path("."))
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.dir).free
    if free < max(args.gib) * 2**30 * 1.2:
        print(f"not enough disk: {free / 2**30:.1f} GiB free in {args.dir}", file=sys.stderr)
        return 1
    report = []
    for gib in args.gib:
        rows = gib * 2**30 // (4 * args.cols)
        for run in range(args.runs):
            store, flat = args.dir / f"bench-{gib}.zarr", args.dir / f"bench-{gib}.f32"
            shutil.rmtree(store, ignore_errors=True)
            try:
                z = child(CHILD_ZARR, store, rows, args.cols)
                check = child(CHECK, store, rows, args.cols)
            finally:
                shutil.rmtree(store, ignore_errors=True)
            try:
                m = child(CHILD_MEMMAP, flat, rows, args.cols)
            finally:
                flat.unlink(missing_ok=True)
            row = {"gib": gib, "run": run, "zarr": z, "check": check, "memmap": m}
            report.append(row)
            print(
                f"{gib} GiB run {run}: zarr {z['seconds']:.1f} s, peak RSS {z['peak_rss'] / 2**30:.2f} GiB "  # type: ignore[operator]
                f"(quarters {[round(q / 2**30, 2) for q in z['rss_at_quarters']]}), "  # type: ignore[attr-defined]
                f"blocks equal {check['blocks_equal']}/{check['blocks_checked']}; memmap fill "
                f"{m['fill_seconds']:.1f} s, fill+flush {m['fill_flush_seconds']:.1f} s",
                flush=True,
            )
    for gib in args.gib:
        rows_ = [r for r in report if r["gib"] == gib]
        zs = statistics.median(r["zarr"]["seconds"] for r in rows_)  # type: ignore[index]
        ms = statistics.median(r["memmap"]["fill_seconds"] for r in rows_)  # type: ignore[index]
        mf = statistics.median(r["memmap"]["fill_flush_seconds"] for r in rows_)  # type: ignore[index]
        peak = max(r["zarr"]["peak_rss"] for r in rows_)  # type: ignore[index]
        print(
            f"{gib} GiB, median of {len(rows_)}: zarr {gib / zs:.2f} GiB/s, memmap fill {gib / ms:.2f} GiB/s, "
            f"memmap fill+flush {gib / mf:.2f} GiB/s; zarr/memmap(+flush) {mf / zs:.2f}x; max peak RSS "
            f"{peak / 2**30:.2f} GiB"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
