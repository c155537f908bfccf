"""Gate stability check: the gate must not flap on an unchanged tree under load.

Runs ``python -m xinit_bench.gate`` (quick mode, as ``.ci/run`` does) several
times back to back, each in a fresh process, while a busy loop pinned to the
last CPU keeps that core fully loaded; reports how many runs passed and the
largest change any benchmark showed.  Exits 0 only if every run passed.

Usage (from the repository root)::

    python benchmarks/gate_stability.py                 # 10 runs, --quick
    python benchmarks/gate_stability.py --runs 5 -- --only normal-float32-1M

The busy loop is a child process that also stops by itself after
``--max-seconds``; it is killed by its pid when the runs end.

asv imports every module of this folder; nothing here runs at import.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence

#: The busy loop: pin to one CPU, spin until a deadline.
_BUSY = """
import os, sys, time
cpu = int(sys.argv[1])
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {cpu})
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    pass
"""


def _other_core() -> int:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    return cpus[-1]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stability check; return 0 if every gate run passed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="gate runs (default 10)")
    parser.add_argument("--no-load", action="store_true", help="do not start the busy loop")
    parser.add_argument("--full", action="store_true", help="use the gate's full measurement instead of --quick")
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="the busy loop's own time limit")
    parser.add_argument("gate_args", nargs="*", help="extra gate arguments (after --)")
    args = parser.parse_args(argv)

    gate_cmd = [
        sys.executable,
        "-m",
        "xinit_bench.gate",
        "--json",
        *([] if args.full else ["--quick"]),
        *args.gate_args,
    ]
    busy: subprocess.Popen[bytes] | None = None
    if not args.no_load:
        core = _other_core()
        busy = subprocess.Popen([sys.executable, "-c", _BUSY, str(core), str(args.max_seconds)])
        print(f"busy loop pid {busy.pid} pinned to CPU {core}", flush=True)
    passed = 0
    worst_overall = 0.0
    started = time.perf_counter()
    try:
        for run in range(1, args.runs + 1):
            t0 = time.perf_counter()
            proc = subprocess.run(gate_cmd, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - t0
            worst_name, worst = "-", float("nan")
            try:
                rows = json.loads(proc.stdout)["benchmarks"]
                changes = [(r["change"], r["name"]) for r in rows if r["change"] is not None]
                if changes:
                    worst, worst_name = max(changes)
                    worst_overall = max(worst_overall, worst)
            except (json.JSONDecodeError, KeyError, TypeError):
                sys.stderr.write(proc.stderr)
            ok = proc.returncode == 0
            passed += ok
            print(
                f"run {run:2d}/{args.runs}: exit {proc.returncode} ({'pass' if ok else 'FAIL'}), "
                f"{seconds:5.1f} s, largest change {worst:.3f}x ({worst_name})",
                flush=True,
            )
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    print(
        f"{passed}/{args.runs} gate runs passed in {time.perf_counter() - started:.0f} s"
        f"{'' if args.no_load else ' with the other core busy'}; largest change {worst_overall:.3f}x"
    )
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
