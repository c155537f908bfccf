"""The orthogonal rows of ``xinit-bench bench``: each side in its own process, the sides alternating.

:func:`measure_qr` starts one long-lived worker process per side
(:data:`~.qr_cases.SIDES`), each with the same thread count for every pool it
has (Numba, torch's OpenMP, OpenBLAS/MKL), so that no side's spinning thread
pool or warm caches tax or help another.  For each :class:`~.qr_cases.QRCase`
every worker makes one warm-up call (compilation, page faults, thread pools);
then the parent asks them in turn, A B C A B C ..., one timed call per
request, and keeps the median of ``repeats`` wall times per side, with the
worker's CPU time beside it (on a loaded machine the CPU time falls well below
``threads x wall``).  ``python -m xinit_bench.perf.qr_bench --worker SIDE``
is the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .qr_cases import SIDES, TORCH_BOUND, UNAVAILABLE, QRCase, side_call

__all__ = ["QRResult", "Worker", "load_average", "measure_qr", "worker_main"]

#: The environment variables that size every thread pool a side may start.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as ``/proc/loadavg`` (or ``uptime``) gives them."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


@dataclass
class QRResult:
    """One row: each side's median wall and CPU seconds over ``repeats`` alternating calls."""

    case: QRCase
    repeats: int
    threads: int
    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    load: str = ""

    def gflops(self, side: str) -> float:
        """The side's rate: :attr:`QRCase.flops` over its median wall time, in GFLOP/s."""
        return self.case.flops / self.wall[side] / 1e9

    def over(self, side: str, other: str) -> float | None:
        """``side``'s median time over ``other``'s (lower is better), None if either was not timed."""
        if side not in self.wall or other not in self.wall:
            return None
        return self.wall[side] / self.wall[other]

    @property
    def within_bound(self) -> bool | None:
        """Whether xinit's time is at most :data:`~.qr_cases.TORCH_BOUND` times torch's (None: not timed)."""
        ratio = self.over("xinit", "torch")
        return None if ratio is None else ratio <= TORCH_BOUND

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.case.name,
            "n": self.case.n,
            "dtype": self.case.dtype,
            "flops": self.case.flops,
            "repeats": self.repeats,
            "threads": self.threads,
            "sides": {
                side: {"wall_s": self.wall[side], "cpu_s": self.cpu[side], "gflops": self.gflops(side)}
                for side in self.wall
            },
            "missing": self.missing,
            "xinit_over_torch": self.over("xinit", "torch"),
            "xinit_over_lapack": self.over("xinit", "lapack"),
            "torch_bound": TORCH_BOUND,
            "load_average": self.load,
        }


# --- the worker ----------------------------------------------------------------------------
def worker_main(side: str, out: Any = None, requests: Any = None) -> None:
    """Serve ``"<n> <dtype> <seed>"`` lines: one timed call each, ``{"wall":, "cpu":}`` (or ``{"missing":}``)."""
    write = (out or sys.stdout).write
    calls: dict[tuple[int, str], Callable[[], object] | str] = {}
    write(json.dumps({"ready": side}) + "\n")
    (out or sys.stdout).flush()
    for line in requests or sys.stdin:
        n_text, dtype, seed_text = line.split()
        key = (int(n_text), dtype)
        if key not in calls:
            try:
                calls[key] = side_call(side, QRCase(*key), int(seed_text))
            except UNAVAILABLE as exc:
                calls[key] = str(exc)
        call = calls[key]
        if isinstance(call, str):
            reply: dict[str, Any] = {"missing": call}
        else:
            wall, cpu = time.perf_counter(), time.process_time()
            call()
            reply = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
        write(json.dumps(reply) + "\n")
        (out or sys.stdout).flush()


class Worker:
    """One side's process; :meth:`time` sends a request and reads the reply."""

    def __init__(self, side: str, threads: int) -> None:
        env = dict(os.environ)
        env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
        self.side = side
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "xinit_bench.perf.qr_bench", "--worker", side],
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
            raise RuntimeError(f"the {self.side} worker of the orthogonal rows exited (status {self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def time(self, case: QRCase, seed: int) -> dict[str, Any]:
        """One call of ``case`` in the worker: ``{"wall":, "cpu":}`` or ``{"missing": why}``."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{case.n} {case.dtype} {seed}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def measure_qr(
    qr_cases: Sequence[QRCase],
    *,
    repeats: int,
    threads: int,
    sides: Sequence[str] = SIDES,
    progress: Callable[[str], None] | None = None,
) -> list[QRResult]:
    """Time every case on every side, alternating (see the module docstring); one result per case.

    Raises
    ------
    ValueError
        Fewer than 5 repeats, fewer than 1 thread, or an unknown side.
    """
    if repeats < 5:
        raise ValueError(f"repeats must be at least 5 (medians of >= 5 runs), got {repeats}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    for side in sides:
        if side not in SIDES:
            raise ValueError(f"sides must be among {', '.join(SIDES)}, got {side!r}")
    step = progress if progress is not None else (lambda _text: None)
    results: list[QRResult] = []
    workers: dict[str, Worker] = {}
    try:
        for side in sides:
            workers[side] = Worker(side, threads)
        for case in qr_cases:
            result = QRResult(case, repeats, threads)
            live = []
            for side, worker in workers.items():  # the warm-up call; a side that cannot run says so here
                reply = worker.time(case, 0)
                if "missing" in reply:
                    result.missing[side] = str(reply["missing"])
                else:
                    live.append(side)
            samples: dict[str, list[dict[str, Any]]] = {side: [] for side in live}
            for r in range(repeats):
                for side in live:  # interleaved A B C A B C
                    samples[side].append(workers[side].time(case, r + 1))
            for side in live:
                result.wall[side] = statistics.median(float(s["wall"]) for s in samples[side])
                result.cpu[side] = statistics.median(float(s["cpu"]) for s in samples[side])
            result.load = load_average()
            results.append(result)
            step(case.name)
    finally:
        for worker in workers.values():
            worker.close()
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m xinit_bench.perf.qr_bench --worker SIDE``: one side's worker process."""
    parser = argparse.ArgumentParser(description="a worker process of the orthogonal rows of xinit-bench bench")
    parser.add_argument("--worker", choices=SIDES, required=True)
    args = parser.parse_args(argv)
    worker_main(args.worker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
