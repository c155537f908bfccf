"""Compile every kernel into Numba's on-disk cache ahead of time.

A fresh process with an empty cache compiles each kernel the first time it
is called: a few seconds of CPU per (kind, dtype) for the fills, about one or
two for each activation kernel of the propagation study, and about 25 s for
the three entry points of the Householder QR behind ``orthogonal``.
:func:`compile_all` does that work once, for every entry point and every
signature the library uses, so that later processes (notebook kernels, CI
jobs, DataLoader workers started by spawn) load machine code from the cache
instead. ``xinit-bench compile`` is its command line; ``make test`` and
``make bench`` run it first.

Compiling gives exactly the code a first call would compile, so the bits are
the same whether or not the cache was warmed.

:func:`cache_status` says how many of those signatures the on-disk cache
holds, read from Numba's index without loading or compiling any
(``xinit-bench info`` and the last line of ``xinit-bench compile``).  Whether
a signature was compiled or loaded is Numba's own count of cache misses, not
a guess from its CPU time: the first signature of a process also pays
Numba's start-up (:func:`~xinit_bench.kernels._jit.start_numba`, about half
a second), which is no compilation and which no cache can hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .kernels import _jit
from .kernels import activations as _act
from .kernels import fill as _fill
from .kernels import qr as _qr
from .kernels import runs as _runs
from .kernels._jit import compile_quietly
from .kernels.kinds import KINDS
from .validation import check_choice

__all__ = ["DTYPES", "GROUPS", "CacheStatus", "CompileRecord", "cache_status", "compile_all", "targets"]

#: Output dtypes every fill and activation kernel is compiled for.
DTYPES: tuple[str, ...] = ("float32", "float64")
#: What :func:`compile_all` can compile: the fills of the samplers, the
#: work-list fills of blocks, models and half-precision outputs
#: (``kernels/runs.py``), the fused activation kernels of
#: :mod:`xinit_bench.propagation`, and the Householder QR of
#: :func:`xinit_bench.orthogonal` (``kernels/qr.py``).
GROUPS: tuple[str, ...] = ("fills", "runs", "propagation", "orthogonal")

#: Kinds whose params are float64 whatever the output dtype (``kernels/fill.py``).
_F64_PARAMS = ("truncated_normal", "truncated_normal_tail")
#: Number of params of each kind (``kernels/fill.py``, the entry-point table).
_N_PARAMS = {**_runs.PARAMS, "bits": 0}


@dataclass(frozen=True)
class CompileRecord:
    """One signature made ready: what, the CPU seconds it took, and whether it was compiled or loaded."""

    kernel: str
    dtype: str
    cpu_seconds: float
    #: True if Numba compiled it (a cache miss), False if it loaded it from the on-disk cache.
    compiled: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


#: One unit of work: a label, the dispatcher and example arguments of the signature.
Target = tuple[str, str, Any, tuple[Any, ...]]


def _fill_targets(dtypes: Sequence[str]) -> Iterator[Target]:
    key = (np.uint32(0), np.uint32(0), np.uint32(0))
    for kind in KINDS:
        kind_dtypes = ("uint32",) if kind == "bits" else dtypes
        for dtype in kind_dtypes:
            dt = np.dtype(dtype)
            ptype = np.float64 if kind in _F64_PARAMS else dt.type
            params = tuple(ptype(0.5) for _ in range(_N_PARAMS[kind]))
            out = np.empty(4, dt)
            for table in (_fill.SERIAL_FILLS, _fill.FILLS):
                kernel = table[kind]
                yield kernel.__name__, dtype, kernel, (out, key, 0, params)


def _run_targets(dtypes: Sequence[str]) -> Iterator[Target]:
    """The work-list fills: native ones per dtype, and the half-precision ones (float32 maths) with float32."""
    rows = np.zeros(1, np.int64)
    keys = np.zeros((1, 3), np.uint32)
    clamps = np.zeros((1, 2), np.float32)
    for kind in _runs.PARAMS:
        for dtype in dtypes:
            dt = np.dtype(dtype)
            params = np.zeros((1, _N_PARAMS[kind]), np.float64 if kind in _F64_PARAMS else dt)
            for par in (False, True):
                kernel = _runs.RUNS[(kind, par, False)]
                yield kernel.__name__, dtype, kernel, (np.empty(0, dt), rows, rows, rows, keys, params)
                if dtype == "float32":  # float16 and bfloat16 share one signature: uint16 out, float32 maths
                    kernel = _runs.RUNS[(kind, par, True)]
                    args = (np.empty(0, np.uint16), rows, rows, rows, keys, params, clamps, True)
                    yield kernel.__name__, "float16/bfloat16", kernel, args


def _propagation_targets(dtypes: Sequence[str]) -> Iterator[Target]:
    for dtype in dtypes:
        dt = np.dtype(dtype)
        h = np.zeros((2, 4), dt)
        bias = np.zeros(4, dt)
        part3 = np.zeros((2, 3), np.float64)
        for kernel in _act.FORWARD:
            yield kernel.__name__, dtype, kernel, (h, bias, h.copy(), h.copy(), 0.0, part3)
        yield _act.backward.__name__, dtype, _act.backward, (h, h.copy(), np.zeros((2, 2), np.float64))
        yield _act.rows_sumsq.__name__, dtype, _act.rows_sumsq, (h, np.zeros(2, np.float64))


def _qr_targets() -> Iterator[Target]:
    """The QR's serial, parallel and batch entry points: float64 for every output dtype (the QR's one dtype)."""
    a, rdiag = np.zeros((2, 1)), np.zeros(1)
    for kernel in (_qr.serial_householder_q, _qr.householder_q):
        yield kernel.__name__, "float64", kernel, (a, rdiag)
    batch = _qr.householder_q_batch
    yield batch.__name__, "float64", batch, (np.zeros((1, 2, 1)), np.zeros((1, 1)))


def targets(groups: Sequence[str] = GROUPS, dtypes: Sequence[str] = DTYPES) -> list[Target]:
    """Every ``(name, dtype, dispatcher, example args)`` that :func:`compile_all` compiles.

    Raises
    ------
    ValueError
        For an unknown group or dtype.
    """
    for group in groups:
        check_choice("group", group, GROUPS)
    for dtype in dtypes:
        check_choice("dtype", dtype, DTYPES)
    found: list[Target] = []
    if "fills" in groups:
        found.extend(_fill_targets(dtypes))
    if "runs" in groups:
        found.extend(_run_targets(dtypes))
    if "propagation" in groups:
        found.extend(_propagation_targets(dtypes))
    if "orthogonal" in groups:
        found.extend(_qr_targets())
    return found


def compile_all(
    groups: Sequence[str] = GROUPS,
    dtypes: Sequence[str] = DTYPES,
    *,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> list[CompileRecord]:
    """Compile every kernel signature of ``groups`` for ``dtypes`` (loading it from the cache if there).

    Parameters
    ----------
    groups
        ``"fills"`` (every sampler and ``random_bits``, serial and parallel
        entry points), ``"runs"`` (region, model and half-precision fills),
        ``"propagation"`` (the activation kernels) and/or ``"orthogonal"``
        (the QR, in float64 whatever ``dtypes`` says: it is the QR's only dtype).
    dtypes
        Output dtypes, ``"float32"`` and/or ``"float64"``.
    progress
        Called with each signature's label once it is compiled or loaded.
    total
        Called once, first, with the number of signatures.

    Returns
    -------
    list of CompileRecord
        The CPU seconds of each signature (a cached one costs milliseconds)
        and whether Numba compiled it or loaded it from its on-disk cache.

    Examples
    --------
    >>> from xinit_bench.warmup import compile_all
    >>> records = compile_all(["fills"], ["float32"])
    >>> sorted({r.kernel for r in records})[:2]
    ['fill_bits', 'fill_normal']
    """
    work = targets(groups, dtypes)
    if total is not None:
        total(len(work))
    _jit.start_numba()  # Numba's own start-up, so that it is not booked to the first signature
    records = []
    for name, dtype, kernel, args in work:
        started = time.process_time()
        compiled = compile_quietly(kernel, *args, announce=False)
        records.append(CompileRecord(name, dtype, time.process_time() - started, compiled))
        if progress is not None:
            progress(f"{name} {dtype}")
    return records


@dataclass(frozen=True)
class CacheStatus:
    """What Numba's on-disk cache holds of the signatures :func:`compile_all` compiles."""

    #: Whether the kernels use an on-disk cache at all (``kernels._jit.CACHE_ENABLED``).
    enabled: bool
    #: The cache folders of the kernels (one for all of them, as a rule).
    folders: tuple[str, ...]
    #: Signatures whose machine code is cached (on disk, or loaded by this process).
    warm: int
    #: All the signatures of :func:`targets`.
    total: int
    #: ``(kernel, dtype)`` of each signature that is not cached.
    cold: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "enabled": self.enabled,
            "folders": list(self.folders),
            "warm": self.warm,
            "total": self.total,
            "cold": [list(c) for c in self.cold],
        }


def cache_status(groups: Sequence[str] = GROUPS, dtypes: Sequence[str] = DTYPES) -> CacheStatus:
    """How many of the signatures of :func:`targets` the on-disk cache holds, read from Numba's index.

    Nothing is compiled or loaded: each signature's key is looked up in the
    cache index of its kernel, as Numba looks it up before compiling
    (:func:`xinit_bench.kernels._jit.cache_state`).  About a millisecond per
    signature.

    Examples
    --------
    >>> status = cache_status(["fills"], ["float32"])
    >>> status.total == len(targets(["fills"], ["float32"])) and 0 <= status.warm <= status.total
    True
    """
    work = targets(groups, dtypes)
    folders: list[str] = []
    cold = []
    for name, dtype, kernel, args in work:
        folder = _jit.cache_folder(kernel)
        if folder is not None and folder not in folders:
            folders.append(folder)
        if _jit.cache_state(kernel, *args) not in ("on disk", "in memory"):
            cold.append((name, dtype))
    return CacheStatus(_jit.CACHE_ENABLED, tuple(folders), len(work) - len(cold), len(work), tuple(cold))
