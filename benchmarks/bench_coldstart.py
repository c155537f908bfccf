"""Cold start: ``import xinit_bench`` plus the first call, in a fresh interpreter.

Measured in a subprocess, so that nothing is imported or compiled yet, with
``NUMBA_CACHE_DIR`` pointing at an empty folder (everything is compiled) and
at a folder that one earlier run filled (kernels load from the on-disk
cache).  The child reports its own ``perf_counter`` span from before the
import to after the first call, so interpreter start-up is not counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from .common import COLD_SHAPE, SEED

#: The first call of each distribution, through a named scheme.
COLD_CALLS = ("xavier_uniform", "he_normal", "lecun_truncated_normal")

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import xinit_bench
t1 = time.perf_counter()
getattr(xinit_bench, sys.argv[1])(tuple(json.loads(sys.argv[2])), seed=int(sys.argv[3]))
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_call": t2 - t1}))
"""


def run_child(call: str, cache_dir: str) -> dict[str, float]:
    """Import plus first ``call`` in a new interpreter with ``NUMBA_CACHE_DIR=cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, call, json.dumps(list(COLD_SHAPE)), str(SEED)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise NotImplementedError(f"cold-start child failed for {call}: {proc.stderr.strip()[-500:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


class ColdStart:
    """Seconds from ``import xinit_bench`` to the end of the first call."""

    params = (list(COLD_CALLS), ["empty", "warm"])
    param_names = ["call", "numba_cache"]
    timeout = 900

    def setup_cache(self) -> dict[str, dict[str, dict[str, float]]]:
        out: dict[str, dict[str, dict[str, float]]] = {}
        for call in COLD_CALLS:
            with tempfile.TemporaryDirectory(prefix="xinit-cold-") as cache_dir:
                empty = run_child(call, cache_dir)
                warm = run_child(call, cache_dir)
            out[call] = {"empty": empty, "warm": warm}
        return out

    def track_import_and_first_call(self, cache: Any, call: str, numba_cache: str) -> float:
        r = cache[call][numba_cache]
        return float(r["import"] + r["first_call"])

    track_import_and_first_call.unit = "seconds"  # type: ignore[attr-defined]

    def track_import(self, cache: Any, call: str, numba_cache: str) -> float:
        return float(cache[call][numba_cache]["import"])

    track_import.unit = "seconds"  # type: ignore[attr-defined]
