"""Many tensors in one launch per (kind, dtype): the work list behind whole-model init.

A model holds hundreds of tensors, most of them small (biases, norms); a
kernel launch per tensor would cost more than drawing them.  :func:`fill_jobs`
takes a list of :class:`Job` -- each a buffer (raw address and element
count), a plan (:mod:`xinit_bench.plans`), a key and a stream position --
resolves every plan, groups the jobs by (kind, dtype) and fills each group
with one launch of :func:`xinit_bench.launch.fill_runs`.  Every job gets the
bits that the matching single call would give: a job is a run of the stream,
and runs do not interact.

Every plan is resolved (and so checked) before anything is written: a job
that the dtype cannot hold fails the whole call with nothing filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .launch import fill_runs
from .plans import Plan, resolve_plan

__all__ = ["Job", "fill_jobs"]


@dataclass(frozen=True)
class Job:
    """One buffer to fill: ``count`` elements of ``dtype`` from ``address``, stream positions ``position ...``.

    The caller keeps the buffer alive (a NumPy array's ``ctypes.data``, a torch
    tensor's ``data_ptr()``) and guarantees that it holds ``count`` contiguous
    elements of ``dtype`` and that no two jobs overlap.  ``key`` is the
    ``(k0, k1, stream)`` of :func:`xinit_bench._rng.resolve`.
    """

    address: int
    count: int
    dtype: np.dtype[Any]
    plan: Plan
    key: tuple[np.uint32, np.uint32, np.uint32]
    position: int = 0


def fill_jobs(jobs: Sequence[Job]) -> dict[tuple[str, str], int]:
    """Fill every job, with one kernel launch per (kind, dtype); returns the jobs per group.

    Raises
    ------
    ValueError
        A plan that the job's dtype cannot hold (:class:`~xinit_bench.ParameterRangeError`),
        raised before any job is filled.
    """
    groups: dict[tuple[str, str], list[tuple[Job, tuple[Any, ...], Any]]] = {}
    for job in jobs:
        if job.count == 0:
            continue
        kind, params, limits = resolve_plan(job.plan, job.dtype)
        groups.setdefault((kind, job.dtype.name), []).append((job, params, limits))
    for (kind, _), members in groups.items():
        dtype = members[0][0].dtype
        addresses = np.array([job.address for job, _, _ in members], np.int64)
        counts = np.array([job.count for job, _, _ in members], np.int64)
        positions = np.array([job.position for job, _, _ in members], np.int64)
        keys = np.array([job.key for job, _, _ in members], np.uint32).reshape(-1, 3)
        table = np.array([params for _, params, _ in members])
        limits_table = None if members[0][2] is None else np.array([lim for _, _, lim in members], np.float32)
        fill_runs(kind, dtype, addresses, counts, positions, keys, table, limits_table)
    return {group: len(members) for group, members in groups.items()}
