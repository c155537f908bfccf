r"""The training engine: one run (:func:`train_one`) or many in parallel processes (:func:`train_many`).

This module holds the training loop; the config and the record come from
:mod:`~xinit_bench.training.config` and the worker pool from
:mod:`~xinit_bench.training.pool`, both re-exported here, their public path.

A run builds the :class:`~xinit_bench.training.models.MLP` of a spec,
initialises it (:func:`~xinit_bench.training.inits.apply_init`), and
minimises the mean cross-entropy of mini-batches,

.. math:: \mathcal L(\theta) = -\frac1{|B|}\sum_{i \in B} \log \operatorname{softmax}(f_\theta(x_i))_{y_i},

with Adam (Kingma & Ba 2015) or SGD on torch's CPU back end.  Each epoch
visits the train set once in the order of ``torch.randperm`` (the last batch
may be smaller), and ends with an evaluation of the loss and the accuracy of
the whole train and test sets in eval mode (no dropout).  A budget is a number
of epochs, of optimisation steps, or both (the first reached ends the run; a
run stopped mid-epoch records that partial epoch as its last point).

**Reproducibility.**  The weights come from the run's seed
(:mod:`~xinit_bench.training.inits`); the data order and the dropout masks come
from two ``torch.Generator`` s seeded with words derived from the same seed
(:func:`derived_seed`); torch's global RNG is neither read nor changed.  The
run sets ``torch.set_num_threads(config.threads)`` for its duration (and
records it), so two runs with the same seed and thread count give the same
curves, bit for bit.  Across thread counts the step-0 weights are still
identical (this package's samplers do not depend on threads), but torch's
matrix products and reductions may split their sums differently, so the
curves can differ in the last bits and then drift apart.

The inner loop is lean: the data are torch tensors made once, a batch is an
``index_select`` of a permutation, the optimiser is torch's fused CPU kernel
where torch has one, and the gradient norms are read only at
``config.grad_norm_steps``.

References
----------
.. [1] Kingma & Ba (2015), "Adam: a method for stochastic optimization", https://arxiv.org/abs/1412.6980
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..validation import check_bool, check_int
from .config import (
    OPTIMIZERS,
    Job,
    Optimizer,
    RunRecord,
    TrainConfig,
    _check_config,
    _check_dataset,
    _check_job,
    _check_run,
)
from .data import Dataset
from .inits import GaussianInit, apply_init, init_label
from .models import MLP, MLPSpec, build_model
from .pool import (
    WORKER_START_SECONDS,
    note_import_seconds,
    plan_processes,
    refuse_in_bootstrap,
    run_many,
    usable_cores,
    worker_start_seconds,
)

__all__ = [
    "OPTIMIZERS",
    "WORKER_START_SECONDS",
    "Job",
    "Optimizer",
    "RunRecord",
    "TrainConfig",
    "derived_seed",
    "fit",
    "note_import_seconds",
    "plan_processes",
    "train_many",
    "train_one",
    "usable_cores",
    "worker_start_seconds",
]

_DATA_TAG = 0x64617461  # "data"
_DROPOUT_TAG = 0x64726F70  # "drop"


def derived_seed(seed: int, tag: int) -> int:
    """A 64-bit torch seed derived from the run's ``seed`` and a ``tag`` word (``SeedSequence([seed, tag])``)."""
    return int(np.random.SeedSequence([seed, tag]).generate_state(1, np.uint64)[0])


def train_one(spec: MLPSpec, init: str | GaussianInit, seed: int, config: TrainConfig, dataset: Dataset) -> RunRecord:
    """Train the network of ``spec`` from ``init`` and ``seed`` on ``dataset`` as ``config`` says.

    Every argument is checked before anything is built; the thread count is
    restored afterwards.  :func:`fit` also returns the trained model.

    Raises
    ------
    TypeError, ValueError
        A bad argument (an unknown init names the closest).

    Examples
    --------
    >>> from xinit_bench.training.data import load_dataset
    >>> from xinit_bench.training.engine import TrainConfig, train_one
    >>> from xinit_bench.training.models import MLPSpec
    >>> d = load_dataset("teacher", n_train=64, n_test=32, dim=8, n_classes=3)
    >>> r = train_one(MLPSpec((16,), "tanh"), "glorot_uniform", 0, TrainConfig("adam", 1e-2, 16, epochs=2), d)
    >>> len(r.test_accuracy), r.steps, sorted(r.grad_norms)
    (2, 8, ['layers.0', 'layers.1'])
    """
    return fit(spec, init, seed, config, dataset)[0]


def fit(
    spec: MLPSpec, init: str | GaussianInit, seed: int, config: TrainConfig, dataset: Dataset
) -> tuple[RunRecord, MLP]:
    """:func:`train_one`'s record and the trained model (in eval mode)."""
    spec, init, seed = _check_run(spec, init, seed)
    config = _check_config(config)
    dataset = _check_dataset(dataset)
    refuse_in_bootstrap()
    before = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(spec, init, seed, config, dataset)
    finally:
        torch.set_num_threads(before)


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or SGD with torch's fused CPU kernel (one pass over every parameter a step, about 1.5x faster on
    the keras-mlp model than the per-tensor loop), or the per-tensor loop on a torch without it."""
    params = list(model.parameters())
    for fused in (True, False):
        try:
            if config.optimizer == "adam":
                return torch.optim.Adam(params, lr=config.lr, fused=fused or None)
            return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, fused=fused or None)
        except (RuntimeError, TypeError, ValueError):
            if not fused:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@torch.no_grad()
def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` of ``model`` on ``(x, y)``."""
    logits = model(x)
    loss = float(nn.functional.cross_entropy(logits, y))
    accuracy = float((logits.argmax(dim=1) == y).sum()) / len(y)
    return loss, accuracy


def _train(
    spec: MLPSpec, init: str | GaussianInit, seed: int, config: TrainConfig, dataset: Dataset
) -> tuple[RunRecord, MLP]:
    start = time.perf_counter()
    model: MLP = build_model(spec, dataset)
    apply_init(model, init, seed, activation=spec.activation)
    # Under Numba's OpenMP layer (chosen by NUMBA_THREADING_LAYER=omp, or where TBB does not load) the first
    # parallel launch, such as a large orthogonal init's QR, sets the OpenMP thread count that torch shares to
    # Numba's: the run's count is set again once the weights exist.
    torch.set_num_threads(config.threads)
    order = torch.Generator().manual_seed(derived_seed(seed, _DATA_TAG))
    if spec.dropout > 0:
        model.dropout_generator = torch.Generator().manual_seed(derived_seed(seed, _DROPOUT_TAG))
    x_train, y_train = torch.from_numpy(dataset.x_train), torch.from_numpy(dataset.y_train)
    x_test, y_test = torch.from_numpy(dataset.x_test), torch.from_numpy(dataset.y_test)
    opt = _optimizer(model, config)
    loss_fn = nn.functional.cross_entropy
    weights: list[torch.Tensor] = [layer.weight for layer in model.linears()]
    norm_index = {s: k for k, s in enumerate(config.grad_norm_steps)}
    norms: list[list[float | None]] = [[None] * len(norm_index) for _ in weights]
    rec = RunRecord(
        init=init_label(init),
        seed=seed,
        activation=spec.activation,
        widths=list(spec.widths),
        optimizer=config.optimizer,
        lr=config.lr,
        batch_size=config.batch_size,
        epochs=0,
        steps=0,
        threads=torch.get_num_threads(),
        dataset=dataset.name,
        target_accuracy=config.target_accuracy,
        grad_norm_steps=list(config.grad_norm_steps),
        dropout=spec.dropout,
    )
    n, bs = len(x_train), config.batch_size
    max_steps = config.steps if config.steps is not None else math.inf
    max_epochs = config.epochs if config.epochs is not None else math.inf
    target, every = config.target_accuracy, config.target_every
    trained = 0.0  # seconds of optimisation so far
    step = 0
    while rec.epochs < max_epochs and step < max_steps:
        model.train()
        t0 = time.perf_counter()
        checks = 0.0  # seconds of target checks inside the epoch, not counted as training
        perm = torch.randperm(n, generator=order)
        for lo in range(0, n, bs):
            if step >= max_steps:
                break
            idx = perm[lo : lo + bs]
            loss = loss_fn(model(x_train.index_select(0, idx)), y_train.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            if step in norm_index:
                k = norm_index[step]
                for row, w in zip(norms, weights, strict=True):
                    row[k] = float(w.grad.norm()) if w.grad is not None else 0.0
            opt.step()
            step += 1
            if every is not None and target is not None and rec.steps_to_target is None and step % every == 0:
                tc = time.perf_counter()
                model.eval()
                if _evaluate(model, x_test, y_test)[1] >= target:
                    rec.steps_to_target = step
                    rec.seconds_to_target = trained + (tc - t0 - checks)
                model.train()
                checks += time.perf_counter() - tc
        seconds = time.perf_counter() - t0 - checks
        trained += seconds
        model.eval()
        train_loss, train_acc = _evaluate(model, x_train, y_train)
        test_loss, test_acc = _evaluate(model, x_test, y_test)
        rec.epochs += 1
        rec.epoch_seconds.append(seconds)
        rec.eval_steps.append(step)
        rec.train_loss.append(train_loss)
        rec.test_loss.append(test_loss)
        rec.train_accuracy.append(train_acc)
        rec.test_accuracy.append(test_acc)
        rec.diverged = rec.diverged or not (math.isfinite(train_loss) and math.isfinite(test_loss))
        if target is not None and rec.steps_to_target is None and test_acc >= target:
            rec.steps_to_target = step
            rec.seconds_to_target = trained
    rec.steps = step
    rec.grad_norms = {f"layers.{i}": row for i, row in enumerate(norms)}
    rec.wall_seconds = time.perf_counter() - start
    model.eval()
    return rec, model


def train_many(
    jobs: Sequence[tuple[MLPSpec, str | GaussianInit, int]],
    config: TrainConfig,
    dataset: Dataset,
    *,
    processes: int | None = None,
    progress: bool = True,
) -> list[RunRecord]:
    """:func:`train_one` of every ``(spec, init, seed)`` of ``jobs``, the records in the order of ``jobs``.

    ``processes=None`` runs the first job here, times it, and hands the rest
    to spawned worker processes when that finishes sooner (:func:`plan_processes`,
    a worker's start estimated by :func:`worker_start_seconds`); an int fixes
    the count (1: all here).  A record does not depend on the process that ran
    it.  ``progress`` shows a bar on stderr when it is a terminal.

    Raises
    ------
    TypeError, ValueError
        A bad job, config or count, before any run starts.
    RuntimeError
        A worker process died (the message gives its exit code, the runs
        finished and the fixes); the other workers are stopped first.  Also
        when called in a spawned process that is importing its parent's main
        script (a script without an ``if __name__ == "__main__":`` guard).
    """
    checked = [_check_job(i, job) for i, job in enumerate(jobs)]
    config = _check_config(config)
    dataset = _check_dataset(dataset)
    if processes is not None:
        processes = check_int("processes", processes, minimum=1)
    check_bool("progress", progress)
    return run_many(train_one, checked, config, dataset, processes, progress)
