"""Child interpreters under a chosen Numba threading layer, for the thread and fork tests.

Numba fixes its threading layer once per process, so each layer runs in its
own interpreter with ``NUMBA_THREADING_LAYER`` set (``default``: unset, the
layer the install picks by itself).  A child that aborts fails its test
through the exit status, and a hang through the subprocess timeout.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from typing import Any

import pytest

#: Seconds before a child counts as hung (the first fill may compile kernels).
TIMEOUT = 600


#: The start of every child script: a first parallel fill picks the layer;
#: a layer that does not load here is reported, and the test skips.
CHILD_PRELUDE = r"""
import hashlib, json, multiprocessing, os, sys, threading
import numpy as np
try:
    import xinit_bench
    from xinit_bench import runtime
    xinit_bench.normal(1 << 18, seed=0)
except ValueError as exc:  # the requested layer does not load here
    if "threading layer" not in str(exc):
        raise
    print(json.dumps({"unavailable": str(exc)}))
    sys.exit(0)
"""


def layer_env(layer: str) -> dict[str, str]:
    """The environment of a child that runs under ``layer`` (``default``: Numba's own choice)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    if layer != "default":
        env["NUMBA_THREADING_LAYER"] = layer
    return env


def run_child(code: str, layer: str, check_layer: bool = True) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter under ``layer``; its last stdout line, parsed as JSON.

    Skips the test when the layer does not load here (the child reports
    ``unavailable``); with ``check_layer``, checks that the child ran on ``layer``.
    """
    proc = subprocess.run(
        [sys.executable, "-c", code], env=layer_env(layer), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, f"child under {layer} exited with {proc.returncode}:\n{proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if "unavailable" in result:
        pytest.skip(f"threading layer {layer!r} does not load here: {result['unavailable'][:200]}")
    if check_layer and layer != "default":
        assert result["layer"] == layer
    return result


def tbb_expected() -> bool:
    """Whether the install must use TBB: Linux x86_64, where ``tbb`` is a dependency with wheels."""
    return sys.platform.startswith("linux") and platform.machine() == "x86_64"
