r"""The training engine: one run (:func:`train_one`) or many in parallel processes (:func:`train_many`).

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
import os
import pickle
import signal
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any, Literal, get_args

import numpy as np
import torch
from torch import nn

from ..validation import check_bool, check_int, check_real
from .data import Dataset
from .inits import GaussianInit, apply_init, check_init, init_label
from .models import MLP, MLPSpec, build_model, closest

__all__ = [
    "OPTIMIZERS",
    "Job",
    "Optimizer",
    "RunRecord",
    "TrainConfig",
    "derived_seed",
    "fit",
    "train_many",
    "train_one",
]

Optimizer = Literal["adam", "sgd"]
#: The optimisers :class:`TrainConfig` accepts.
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
#: One job of :func:`train_many`: a model, an init and a seed.
Job = tuple[MLPSpec, "str | GaussianInit", int]
#: Seconds a spawned worker takes to start when this process could not time its own imports (torch was
#: imported before this package): the import of torch and this package on an idle 2-core machine.
WORKER_START_SECONDS = 4.0
#: What this process took to import the package, torch included (set by the package's ``__init__``), or None.
_IMPORT_SECONDS: list[float] = []


def note_import_seconds(seconds: float) -> None:
    """Record how long this process took to import the package and torch (a worker does the same on start)."""
    _IMPORT_SECONDS[:] = [seconds]


def worker_start_seconds() -> float:
    """The estimated start of a spawned worker: 1.5 times this process's own import of torch and the package
    (the margin covers the interpreter's start and ``xinit_bench``'s core), else :data:`WORKER_START_SECONDS`.
    """
    return max(WORKER_START_SECONDS, 1.5 * _IMPORT_SECONDS[0]) if _IMPORT_SECONDS else WORKER_START_SECONDS


_DATA_TAG = 0x64617461  # "data"
_DROPOUT_TAG = 0x64726F70  # "drop"


def derived_seed(seed: int, tag: int) -> int:
    """A 64-bit torch seed derived from the run's ``seed`` and a ``tag`` word (``SeedSequence([seed, tag])``)."""
    return int(np.random.SeedSequence([seed, tag]).generate_state(1, np.uint64)[0])


@dataclass(frozen=True)
class TrainConfig:
    """How a run trains: optimiser, learning rate, batch size, budget, target, recorded steps, threads.

    Parameters
    ----------
    optimizer : {"adam", "sgd"}
    lr : float
        Learning rate, ``> 0``.
    batch_size : int
    epochs, steps : int or None
        The budget; at least one is given, and the first reached ends the run.
    target_accuracy : float or None
        A test accuracy in (0, 1]: the record holds the steps and the training
        seconds to the first evaluation that reaches it, or None.
    grad_norm_steps : tuple of int
        The optimisation steps (0 is the first, before any update) at which the
        gradient norm of every layer's weight is recorded.
    threads : int
        ``torch.set_num_threads`` for the run (default 1).
    momentum : float
        SGD's momentum (default 0); Adam ignores it.
    target_every : int or None
        Also check the target every this many steps (between epochs); by
        default only at the end of each epoch.

    Raises
    ------
    TypeError, ValueError
        On construction, every field is checked; an unknown optimiser names the closest.
    """

    optimizer: Optimizer
    lr: float
    batch_size: int
    epochs: int | None = None
    steps: int | None = None
    target_accuracy: float | None = None
    grad_norm_steps: tuple[int, ...] = (0, 10, 100)
    threads: int = 1
    momentum: float = 0.0
    target_every: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.optimizer, str):
            raise TypeError(f"optimizer must be a str, one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        opt = self.optimizer.lower()
        if opt not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, got {self.optimizer!r}"
                + closest(opt, OPTIMIZERS)
            )
        object.__setattr__(self, "optimizer", opt)
        object.__setattr__(self, "lr", check_real("lr", self.lr, positive=True))
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, minimum=1))
        for name in ("epochs", "steps", "target_every"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_int(name, value, minimum=1))
        if self.epochs is None and self.steps is None:
            raise ValueError("epochs or steps must be given (the run's budget), got epochs=None, steps=None")
        if self.target_accuracy is not None:
            t = check_real("target_accuracy", self.target_accuracy)
            if not 0.0 < t <= 1.0:
                raise ValueError(f"target_accuracy must be in (0, 1], got {self.target_accuracy!r}")
            object.__setattr__(self, "target_accuracy", t)
        if not isinstance(self.grad_norm_steps, (tuple, list)):
            raise TypeError(f"grad_norm_steps must be a tuple of steps, got {self.grad_norm_steps!r}")
        steps = tuple(check_int(f"grad_norm_steps[{i}]", s, minimum=0) for i, s in enumerate(self.grad_norm_steps))
        if list(steps) != sorted(set(steps)):
            raise ValueError(f"grad_norm_steps must be increasing and distinct, got {self.grad_norm_steps!r}")
        object.__setattr__(self, "grad_norm_steps", steps)
        object.__setattr__(self, "threads", check_int("threads", self.threads, minimum=1))
        object.__setattr__(self, "momentum", check_real("momentum", self.momentum, minimum=0.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        out = asdict(self)
        out["grad_norm_steps"] = list(self.grad_norm_steps)
        return out


@dataclass
class RunRecord:
    """What one run measured.

    The curves (``train_loss``, ``test_loss``, ``train_accuracy``,
    ``test_accuracy``, ``epoch_seconds``) have one value per epoch, after it;
    ``eval_steps`` holds the optimisation steps done at each of those points.
    ``epoch_seconds`` times the optimisation of the epoch only (not its
    evaluation); ``seconds_to_target`` sums those seconds up to the step where
    the target was first seen; ``wall_seconds`` is the whole run, model
    building and evaluations included.  ``grad_norms`` maps each layer
    (``"layers.0"``, ...) to the Frobenius norm of its weight's gradient at
    each of ``grad_norm_steps`` (None for a step the run did not reach).
    ``epochs`` and ``steps`` are what the run did; ``diverged`` is True when a
    loss was not finite.
    """

    init: str
    seed: int
    activation: str
    widths: list[int]
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    steps: int
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    steps_to_target: int | None = None
    seconds_to_target: float | None = None
    grad_norms: dict[str, list[float | None]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    threads: int = 1
    dataset: str = ""
    target_accuracy: float | None = None
    grad_norm_steps: list[int] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    dropout: float = 0.0
    diverged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN losses stay floats; the CLI writes them as null)."""
        return asdict(self)


def _check_dataset(dataset: Any) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (load_dataset), got {type(dataset).__name__}")
    return dataset


def _check_run(spec: Any, init: Any, seed: Any, where: str = "") -> tuple[MLPSpec, str | GaussianInit, int]:
    """The checked ``(spec, init, seed)`` of a run; ``where`` prefixes the names (``"jobs[3]: "``)."""
    if not isinstance(spec, MLPSpec):
        raise TypeError(f"{where}spec must be an MLPSpec, got {type(spec).__name__}")
    try:
        return spec, check_init(init), check_int("seed", seed, minimum=0)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}{exc}") from None


def _check_job(index: int, job: Any) -> tuple[MLPSpec, str | GaussianInit, int]:
    if not isinstance(job, (tuple, list)) or len(job) != 3:
        raise TypeError(f"jobs[{index}] must be a (spec, init, seed) tuple, got {job!r}")
    spec, init, seed = job
    return _check_run(spec, init, seed, where=f"jobs[{index}]: ")


def _check_config(config: Any) -> TrainConfig:
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    return config


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
    _refuse_in_bootstrap()
    before = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(spec, init, seed, config, dataset)
    finally:
        torch.set_num_threads(before)


def _refuse_in_bootstrap() -> None:
    """Fail at once in a spawned process that is still importing its parent's main script.

    That happens when a script without an ``if __name__ == "__main__":`` guard starts runs in worker
    processes: each worker imports the script again, and would train before dying on its own attempt to
    spawn.  multiprocessing marks that phase with the same flag it checks before it refuses to spawn.
    """
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "a run was started while this spawned process was importing the main script: the script trains "
            'at import; put its calls under `if __name__ == "__main__":`'
        )


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


# --- many runs --------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}
#: Seconds between two looks at the workers' exit codes while runs are pending.
_POLL_SECONDS = 0.2
#: Seconds a worker is given to end after ``terminate`` before it is killed.
_STOP_SECONDS = 5.0


def _worker_start(path: str) -> None:
    """Initializer of a worker process: load the config and the data set the parent pickled to ``path``, and
    keep them for every job the worker runs."""
    with open(path, "rb") as f:
        _WORKER["config"], _WORKER["dataset"] = pickle.load(f)


def _worker_run(job: tuple[MLPSpec, str | GaussianInit, int]) -> RunRecord:
    return train_one(job[0], job[1], job[2], _WORKER["config"], _WORKER["dataset"])


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return os.cpu_count() or 1


def plan_processes(
    remaining: int, seconds_per_run: float, threads: int, cores: int, start_seconds: float = WORKER_START_SECONDS
) -> int:
    r"""How many worker processes make ``remaining`` runs of ``seconds_per_run`` each finish soonest.

    With :math:`P` workers of ``threads`` threads on ``cores`` cores the runs
    take about :math:`t_0 + \lceil r / P\rceil\, t` against :math:`r\,t` in
    this process, :math:`t_0` = ``start_seconds`` (a worker's start); the
    smallest best :math:`P` is returned (1: no worker).

    Examples
    --------
    >>> plan_processes(20, 1.0, 1, 2), plan_processes(2, 1.0, 1, 2), plan_processes(20, 1.0, 2, 2)
    (2, 1, 1)
    """
    most = max(1, min(remaining, cores // max(1, threads)))
    best, best_time = 1, remaining * seconds_per_run
    for p in range(2, most + 1):
        t = start_seconds + math.ceil(remaining / p) * seconds_per_run
        if t < best_time:
            best, best_time = p, t
    return best


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
    _refuse_in_bootstrap()
    records: list[RunRecord | None] = [None] * len(checked)
    with _bar(len(checked), progress) as advance:
        todo = list(range(len(checked)))
        if processes is None and todo:
            first = todo.pop(0)
            records[first] = train_one(*checked[first], config, dataset)
            advance(_label(checked[first]))
            wall = records[first].wall_seconds  # type: ignore[union-attr]
            processes = plan_processes(len(todo), wall, config.threads, usable_cores(), worker_start_seconds())
        if processes is None or processes == 1 or len(todo) <= 1:
            for i in todo:
                records[i] = train_one(*checked[i], config, dataset)
                advance(_label(checked[i]))
        else:
            _run_pool(checked, todo, records, config, dataset, min(processes, len(todo)), advance)
    return [r for r in records if r is not None]


def _run_pool(
    checked: list[tuple[MLPSpec, str | GaussianInit, int]],
    todo: list[int],
    records: list[RunRecord | None],
    config: TrainConfig,
    dataset: Dataset,
    processes: int,
    advance: Any,
) -> None:
    """Run the jobs ``todo`` on ``processes`` spawned workers, watching them: when one dies the others are
    stopped and :func:`_worker_died`'s error is raised, instead of waiting for ever.

    The config and the data set reach the workers through a temporary file, not the spawn pipe: a spawned
    child that dies before it has read a payload larger than the pipe's buffer leaves the parent blocked in
    that write for ever (the parent holds the pipe's read end until the write returns), so only a small
    payload goes down the pipe.
    """
    import multiprocessing
    import tempfile
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # a fork of a threaded process is not safe under every layer
    with tempfile.NamedTemporaryFile("wb", prefix="xinit-train-", suffix=".pkl", delete=False) as f:
        pickle.dump((config, dataset), f, protocol=pickle.HIGHEST_PROTOCOL)
    workers: dict[int, BaseProcess] = {}
    try:
        pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_worker_start, initargs=(f.name,))
        try:
            futures: dict[Future[RunRecord], int] = {pool.submit(_worker_run, checked[i]): i for i in todo}
            pending, finished = set(futures), 0
            while pending:
                workers.update(pool._processes)  # the workers the submits spawned
                done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    try:
                        records[futures[future]] = future.result()
                    except BrokenProcessPool:  # the pool saw a worker die before this loop did
                        broken = True
                        break
                    finished += 1
                    advance(_label(checked[futures[future]]))
                if broken or (pending and any(p.exitcode is not None for p in workers.values())):
                    # Joined, every worker has its exit code (a dead one's may lag its closed pipe).
                    _stop(list(workers.values()))
                    raise _worker_died(list(workers.values()), finished, len(todo))
        except BaseException:
            _stop(list(workers.values()))
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    finally:
        os.unlink(f.name)


def _worker_died(workers: list[BaseProcess], finished: int, total: int) -> RuntimeError:
    """The error for a dead worker, found after ``finished`` of ``total`` runs had finished."""
    codes: list[int | str] = [p.exitcode for p in workers if p.exitcode is not None]
    # The pool terminates the other workers when it sees one die: their -SIGTERM is not the cause.
    cause = [c for c in codes if c != -signal.SIGTERM] or codes or ["unknown"]
    return RuntimeError(
        f"a training worker process died (exit code {cause[0]}) after {finished} of {total} runs had finished; "
        "the other workers were stopped. Likely causes: (1) the main script starts its runs at import, outside "
        'an `if __name__ == "__main__":` block -- each spawned worker imports the main script again, so put '
        "the calls under that guard; (2) the worker was killed (out of memory) or crashed (a segfault in torch) "
        "-- pass processes=1 to train every run in this process."
    )


def _stop(workers: list[BaseProcess]) -> None:
    """Terminate the workers still alive and wait for them, killing any that outlasts :data:`_STOP_SECONDS`."""
    for p in workers:
        if p.exitcode is None:
            p.terminate()
    for p in workers:
        p.join(_STOP_SECONDS)
        if p.exitcode is None:
            p.kill()
            p.join()


def _label(job: tuple[MLPSpec, str | GaussianInit, int]) -> str:
    return f"{job[0].label()} {init_label(job[1])} seed {job[2]}"


class _bar:
    """A transient rich progress bar on stderr when it is a terminal; ``advance(label)`` per finished run."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        from rich.console import Console

        err = Console(stderr=True)
        if not self.enabled or not err.is_terminal:
            return lambda _label: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[label]}"),
            console=err,
            transient=True,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("training", total=self.total, label="")
        return lambda label: self.bar.update(self.task, advance=1, label=label)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
