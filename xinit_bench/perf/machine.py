"""The machine a measurement ran on, and the memory a call needs.

:func:`cpu_key` names the code Numba generates here (baselines are per key),
:func:`cpu_model_and_flags` reads the CPU's model and SIMD flags,
:func:`environment` collects versions and the thread settings, and
:func:`peak_bytes_beyond` measures the memory a call needs beyond its output.
"""

from __future__ import annotations

import os
import platform
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from ..runtime import get_threads, threading_layer

#: The CPU flags that decide which code LLVM emits for the kernels.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "asimd", "sve")

#: (LLVM feature, label) from the widest vector ISA down: the last part of :func:`cpu_key`.
_ISA_LEVELS = (
    ("avx512f", "avx512"),
    ("avx2", "avx2"),
    ("avx", "avx"),
    ("sse4.2", "sse42"),
    ("sve", "sve"),
    ("neon", "neon"),
)


def _numba_cpu_name() -> str:
    """``NUMBA_CPU_NAME`` (empty when unset): numba.core.config's attributes are set from the environment."""
    import numba.core.config

    config: Any = numba.core.config
    return str(config.CPU_NAME or "")


def cpu_key() -> str:
    """``<arch>-<llvm cpu>-<widest vector ISA>``, e.g. ``x86_64-rocketlake-avx512``.

    Numba compiles for the host CPU that LLVM detects (unless ``NUMBA_CPU_NAME``
    overrides it), so this is what decides which machine code runs: baselines
    are only comparable between machines with the same key.
    """
    import llvmlite.binding as llvm

    name = _numba_cpu_name() or str(llvm.get_host_cpu_name())
    features = llvm.get_host_cpu_features()
    level = next((label for flag, label in _ISA_LEVELS if features.get(flag, False)), "base")
    safe = "".join(c if c.isalnum() or c in "._" else "_" for c in name)
    return f"{platform.machine() or 'unknown'}-{safe}-{level}"


def cpu_model_and_flags(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, list[str]]:
    """The CPU's model name and its flags as the kernel lists them (empty where unknown)."""
    model: str = platform.processor() or platform.machine()
    flags: list[str] = []
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith(("flags", "Features")) and not flags:
                    flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    return model, flags


#: The optional back ends whose versions :func:`describe` reports (``None``: not installed).
OPTIONAL = ("torch", "dask", "zarr")


def _version(distribution: str) -> str:
    try:
        from importlib.metadata import version

        return version(distribution)
    except Exception:
        return "unknown"


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or ``None`` when it is not installed; nothing is imported."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions, CPU key, thread count and threading layer (set by the first parallel launch)."""
    import numba
    import scipy

    return {
        "xinit_bench": _version("xinit-bench"),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "cpu_key": cpu_key(),
        "cpu_count": os.cpu_count(),
        "threads": get_threads(),
        "threading_layer": threading_layer(),
    }


def describe() -> dict[str, Any]:
    """:func:`environment` with the threading layer picked as the library's fills pick it, the CPU
    and the versions of the optional back ends (:data:`OPTIONAL`, ``None`` where not installed)."""
    threading_layer(initialise=True)  # the layer the fills use (TBB where installed), not the first launch's
    env = environment()
    model, flags = cpu_model_and_flags()
    env["cpu_model"] = model
    env["simd_flags"] = [f for f in SIMD_FLAGS if f in flags]
    for name in OPTIONAL:
        env[name] = installed_version(name)
    return env


def peak_bytes_beyond(call: Callable[[], object], output_bytes: int = 0) -> dict[str, int | None]:
    """Memory that one call needs beyond its output, in bytes.

    Two independent measures:

    ``rss``
        Growth of the peak resident set during the call (Linux: the peak is
        reset through ``/proc/self/clear_refs``), minus ``output_bytes``.  It
        sees every allocation that is touched, NumPy's, Numba's runtime's and
        malloc's alike; ``None`` where the kernel offers no such reset.
    ``traced``
        Peak of :mod:`tracemalloc` during the call, minus ``output_bytes``:
        Python and NumPy allocations only (Numba's runtime is not traced).

    ``output_bytes`` is the size of an array the call returns (0 for ``out=``
    fills, which should need about nothing beyond their output).  Call once
    before measuring so that compilation and thread start-up are not counted.
    """
    rss: int | None = None
    status = "/proc/self/status"
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        before = _status_kib(status, "VmRSS")
        result = call()
        peak = _status_kib(status, "VmHWM")
        rss = max(0, (peak - before) * 1024 - output_bytes)
        del result
    except OSError:
        rss = None
    tracemalloc.start()
    try:
        result = call()
        _, traced_peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return {"rss": rss, "traced": max(0, traced_peak - output_bytes)}


def _status_kib(path: str, field_name: str) -> int:
    """The value, in KiB, of ``field_name`` in a ``/proc/<pid>/status`` file."""
    with open(path) as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise OSError(f"{field_name} not found in {path}")
