"""Many runs at once: :func:`run_many`, behind :func:`~xinit_bench.training.engine.train_many`, hands them to
spawned worker processes where that finishes sooner (:func:`plan_processes`), watches the workers, and shows a
progress bar.

A worker is started with the spawn method (a fork of a threaded process is not safe under every threading
layer), loads the run function (:func:`~xinit_bench.training.engine.train_one`, passed in by the engine, so
this module does not import the loop), the config and the data set once (:func:`_worker_start`), then runs
jobs, so a record does not depend on the process that ran it.  When a worker dies (a script without a main
guard, an out-of-memory kill, a crash) the others are stopped and the call raises :class:`RuntimeError`
rather than waiting for ever.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from .config import RunRecord, TrainConfig
from .data import Dataset
from .inits import GaussianInit, init_label
from .models import MLPSpec

__all__ = [
    "WORKER_START_SECONDS",
    "Runner",
    "note_import_seconds",
    "plan_processes",
    "refuse_in_bootstrap",
    "run_many",
    "usable_cores",
    "worker_start_seconds",
]

#: What trains one run: :func:`~xinit_bench.training.engine.train_one`'s signature.
Runner = Callable[[MLPSpec, "str | GaussianInit", int, TrainConfig, Dataset], RunRecord]
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


def refuse_in_bootstrap() -> None:
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


_WORKER: dict[str, Any] = {}
#: Seconds between two looks at the workers' exit codes while runs are pending.
_POLL_SECONDS = 0.2
#: Seconds a worker is given to end after ``terminate`` before it is killed.
_STOP_SECONDS = 5.0


def _worker_start(path: str) -> None:
    """Initializer of a worker process: load the run function, the config and the data set the parent pickled
    to ``path``, and keep them for every job the worker runs."""
    with open(path, "rb") as f:
        _WORKER["run"], _WORKER["config"], _WORKER["dataset"] = pickle.load(f)


def _worker_run(job: tuple[MLPSpec, str | GaussianInit, int]) -> RunRecord:
    record: RunRecord = _WORKER["run"](job[0], job[1], job[2], _WORKER["config"], _WORKER["dataset"])
    return record


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


def run_many(
    run: Runner,
    checked: list[tuple[MLPSpec, str | GaussianInit, int]],
    config: TrainConfig,
    dataset: Dataset,
    processes: int | None,
    progress: bool,
) -> list[RunRecord]:
    """``run`` of every checked job with ``config`` and ``dataset``, here or on workers, as
    :func:`~xinit_bench.training.engine.train_many` says (its arguments already checked there).

    ``run`` reaches the workers pickled by reference, so it is a module-level function.
    """
    refuse_in_bootstrap()
    records: list[RunRecord | None] = [None] * len(checked)
    with _bar(len(checked), progress) as advance:
        todo = list(range(len(checked)))
        if processes is None and todo:
            first = todo.pop(0)
            records[first] = run(*checked[first], config, dataset)
            advance(_label(checked[first]))
            wall = records[first].wall_seconds  # type: ignore[union-attr]
            processes = plan_processes(len(todo), wall, config.threads, usable_cores(), worker_start_seconds())
        if processes is None or processes == 1 or len(todo) <= 1:
            for i in todo:
                records[i] = run(*checked[i], config, dataset)
                advance(_label(checked[i]))
        else:
            _run_pool(run, checked, todo, records, config, dataset, min(processes, len(todo)), advance)
    return [r for r in records if r is not None]


def _run_pool(
    run: Runner,
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
        pickle.dump((run, config, dataset), f, protocol=pickle.HIGHEST_PROTOCOL)
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
