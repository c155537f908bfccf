r"""What a set of training runs will cost, estimated before any of them starts, and a refusal past a budget.

Time. A step of an MLP with linear layers of fan-in/fan-out :math:`(a_k, b_k)`
on a batch of :math:`B` costs about

.. math:: t_{\text{step}} = o\,K + \frac{6 B \sum_k a_k b_k}{r}

seconds: a fixed overhead :math:`o` per layer (the framework's dispatch of
the forward, backward and optimiser kernels of one layer) and :math:`6B
\sum a_k b_k` floating-point operations (2 for the forward matrix product, 4
for the two of the backward) at a rate :math:`r`. An evaluation of :math:`N`
samples costs :math:`o K + 2 N \sum a_k b_k / r`. A run of :math:`S` steps
and :math:`E` evaluations of the train and test sets sums these. :func:`calibrate`
measures :math:`o` and :math:`r` on this machine in about a second, from two
short runs through the engine: a deep, narrow network (overhead-bound) and a
shallow, wide one (flop-bound), solving the two equations for the two
unknowns. The runs share the usable cores, so the wall time is the total over
:math:`\min(P, \text{cores})` workers, plus a worker's start-up time when
there is more than one. Other load on the machine is not foreseen: the
estimate is of a machine as idle as it was during the calibration.

Memory. Per worker: :data:`PROCESS_BYTES` for the interpreter with torch
imported, the data set as float32, the parameters four bytes each times
(weights, gradients and the optimiser's state: two moments for Adam, one for
SGD with momentum), and the activations of a training batch (three tensors
per layer kept for the backward) and of one evaluation. The workers' sum is
the estimate.

:func:`check_budget` raises ``ValueError`` with both estimates when either is
over its budget, before anything is trained.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .data import Dataset, load_dataset
from .engine import TrainConfig, train_one, usable_cores, worker_start_seconds
from .inits import GaussianInit
from .models import MLPSpec

__all__ = ["PROCESS_BYTES", "Calibration", "Estimate", "calibrate", "check_budget", "estimate"]

#: Resident bytes of one worker with torch and this package imported, before any model (about 0.4 GiB, measured).
PROCESS_BYTES = 400 * 2**20


@dataclass(frozen=True)
class Calibration:
    """The cost model's constants: seconds per layer per step (``overhead``) and floating-point operations a second."""

    overhead: float
    flops_per_second: float


@dataclass(frozen=True)
class Estimate:
    """Estimated wall seconds and peak bytes of a set of runs, and the worker count both assume."""

    seconds: float
    bytes: int
    runs: int
    processes: int

    def text(self) -> str:
        """``"about 12 min (84 runs on 2 processes) and 1.1 GiB"``."""
        s = self.seconds
        when = f"{s:.0f} s" if s < 120 else (f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h")
        return f"about {when} ({self.runs} runs on {self.processes} processes) and {self.bytes / 2**30:.2f} GiB"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"seconds": self.seconds, "bytes": self.bytes, "runs": self.runs, "processes": self.processes}


def _sizes(spec: MLPSpec, dataset: Dataset) -> list[tuple[int, int]]:
    sizes = (dataset.n_features, *spec.widths, dataset.n_classes)
    return list(itertools.pairwise(sizes))


def _steps_and_evals(config: TrainConfig, n_train: int) -> tuple[int, int]:
    per_epoch = math.ceil(n_train / config.batch_size)
    budget = [b for b in (config.steps, None if config.epochs is None else config.epochs * per_epoch) if b is not None]
    steps = min(budget)
    evals = 2 * math.ceil(steps / per_epoch)  # the train and the test set after every (possibly partial) epoch
    if config.target_every is not None and config.target_accuracy is not None:
        evals += steps // config.target_every
    return steps, evals


def run_seconds(spec: MLPSpec, config: TrainConfig, dataset: Dataset, cal: Calibration) -> float:
    """Estimated seconds of one run of ``spec`` under ``config`` (module docstring)."""
    sizes = _sizes(spec, dataset)
    k, macs = len(sizes), sum(a * b for a, b in sizes)
    steps, evals = _steps_and_evals(config, len(dataset.x_train))
    n_eval = max(len(dataset.x_train), len(dataset.x_test))
    step = cal.overhead * k + 6 * config.batch_size * macs / cal.flops_per_second
    ev = cal.overhead * k + 2 * n_eval * macs / cal.flops_per_second
    return steps * step + evals * ev


def run_bytes(spec: MLPSpec, config: TrainConfig, dataset: Dataset) -> int:
    """Estimated peak bytes of one worker training ``spec`` (module docstring)."""
    sizes = _sizes(spec, dataset)
    params = sum(a * b + b for a, b in sizes)
    states = 2 if config.optimizer == "adam" else (1 if config.momentum > 0 else 0)
    data = 4 * (dataset.x_train.size + dataset.x_test.size) + 8 * (dataset.y_train.size + dataset.y_test.size)
    widest = max(b for _a, b in sizes)
    acts = 4 * 3 * config.batch_size * sum(b for _a, b in sizes)
    evaluation = 4 * 2 * max(len(dataset.x_train), len(dataset.x_test)) * widest
    return PROCESS_BYTES + data + 4 * params * (2 + states) + acts + evaluation


@functools.lru_cache(maxsize=4)
def calibrate(optimizer: str = "adam", batch_size: int = 32) -> Calibration:
    """Measure the cost model's overhead and flop rate here, from two short runs (about a second; cached).

    A narrow deep run (16 layers of width 16, overhead-bound) and a shallow
    wide one (one hidden layer of 1024, flop-bound), 30 steps each on digits,
    give two equations :math:`t_i = 30 (o K_i + 6 B M_i / r)` for :math:`o` and
    :math:`r`; a solution that is not positive (timing noise) falls back to the
    narrow run's overhead and the wide run's rate alone.
    """
    data = load_dataset("digits")
    config = TrainConfig(optimizer, 1e-3, batch_size, steps=30, grad_norm_steps=())  # type: ignore[arg-type]
    probes = (MLPSpec((16,) * 16, "relu"), MLPSpec((1024,), "relu"))
    rows = []
    for spec in probes:
        best = math.inf
        for _ in range(2):
            t0 = time.perf_counter()
            train_one(spec, GaussianInit(2.0), 0, config, data)
            best = min(best, time.perf_counter() - t0)
        sizes = _sizes(spec, data)
        rows.append((len(sizes), sum(a * b for a, b in sizes), best / 30))
    (k1, m1, t1), (k2, m2, t2) = rows
    f1, f2 = 6 * batch_size * m1, 6 * batch_size * m2
    det = k1 * f2 - k2 * f1
    overhead, inv_rate = (t1 * f2 - t2 * f1) / det, (k1 * t2 - k2 * t1) / det
    if overhead <= 0 or inv_rate <= 0:
        overhead, inv_rate = t1 / k1, t2 / f2
    return Calibration(overhead=overhead, flops_per_second=1.0 / inv_rate)


def estimate(
    specs: Sequence[MLPSpec],
    config: TrainConfig,
    dataset: Dataset,
    *,
    processes: int | None = None,
    calibration: Calibration | None = None,
) -> Estimate:
    """Estimated wall seconds and peak bytes of one run of each of ``specs`` under ``config`` (module docstring).

    ``processes`` is the worker count (default: the usable cores, at most one per run).
    """
    cal = calibration or calibrate(config.optimizer, config.batch_size)
    cores = usable_cores()
    workers = max(1, min(processes or cores, len(specs) or 1))
    total = sum(run_seconds(s, config, dataset, cal) for s in specs)
    seconds = total / min(workers, cores) + (worker_start_seconds() if workers > 1 else 0.0)
    peak = max((run_bytes(s, config, dataset) for s in specs), default=PROCESS_BYTES)
    return Estimate(seconds=seconds, bytes=workers * peak, runs=len(specs), processes=workers)


def check_budget(what: str, est: Estimate, budget_seconds: float, budget_bytes: int) -> None:
    """Raise ``ValueError`` naming ``what`` and the estimate when it is over either budget.

    Examples
    --------
    >>> check_budget("grid", Estimate(3600.0, 2**30, 100, 2), 900.0, 8 * 2**30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: grid is estimated at about 60 min (100 runs on 2 processes) and 1.00 GiB, over the time budget ...
    """
    over = []
    if est.seconds > budget_seconds:
        over.append(f"the time budget of {budget_seconds:g} s")
    if est.bytes > budget_bytes:
        over.append(f"the memory budget of {budget_bytes / 2**30:.2f} GiB")
    if over:
        raise ValueError(
            f"{what} is estimated at {est.text()}, over {' and '.join(over)}; "
            "use a smaller grid or fewer seeds, or raise budget_seconds"
            + (" / budget_bytes" if est.bytes > budget_bytes else "")
        )
