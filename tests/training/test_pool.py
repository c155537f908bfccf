"""The worker pool: a worker that dies makes train_many raise a clear error within seconds, with no process left.

Each case runs in a subprocess with a timeout, so a regression (the parent waiting for ever) fails the test
instead of hanging the suite.  The timeout is generous because a spawned worker imports torch, which takes
tens of seconds on a loaded 2-core machine; a hang is a wait with no end, so any finite bound catches it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

#: Seconds a subprocess may take: the parent's imports plus two workers' imports and one short run each.
TIMEOUT = 300

JOBS = """
from xinit_bench.training import MLPSpec, TrainConfig, load_dataset, train_many

DATA = load_dataset("teacher", n_train=64, n_test=32, dim=8, n_classes=3)
JOBS = [(MLPSpec((8,), "tanh"), "glorot_uniform", seed) for seed in range(4)]
CONFIG = TrainConfig("adam", 1e-2, 16, epochs=1)
"""

#: A guarded script whose worker dies on the job of seed 1, by ``os._exit(3)`` or by SIGKILL (as the OOM
#: killer does); every job prints its worker's pid, so the test can check that none outlives the script.
DYING = (
    JOBS
    + """
import multiprocessing
import os
import signal
import sys

from xinit_bench.training import pool

real = pool._worker_run


def dying_worker_run(job):
    print("worker", os.getpid(), flush=True)
    if job[2] == 1:
        if sys.argv[1] == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(job)


if __name__ == "__main__":
    pool._worker_run = dying_worker_run  # the pool submits this module-level name; spawned workers import it
    try:
        train_many(JOBS, CONFIG, DATA, processes=2, progress=False)
    except RuntimeError as exc:
        print("error:", exc, flush=True)
    print("alive:", len(multiprocessing.active_children()), flush=True)
"""
)


def _run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, timeout=TIMEOUT, cwd=script.parent
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"train_many did not return within {TIMEOUT} s after a worker died: {exc.stdout!r}")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.refusal
@pytest.mark.slow
@pytest.mark.parametrize(("how", "code"), [("exit", "3"), ("kill", "-9")])
def test_a_dying_worker_raises_with_its_exit_code_and_leaves_no_process(tmp_path: Path, how: str, code: str) -> None:
    script = tmp_path / "dying.py"
    script.write_text(DYING)
    done = _run(script, how)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, done.stdout + done.stderr[-2000:]
    error = errors[0]
    assert f"a training worker process died (exit code {code}) after " in error
    finished = int(error.split(" after ")[1].split(" of ")[0])
    assert 0 <= finished <= 3 and " of 4 runs had finished" in error  # the job of seed 1 never finishes
    assert 'if __name__ == "__main__":' in error and "processes=1" in error
    assert lines[-1] == "alive: 0"
    pids = {int(line.split()[1]) for line in lines if line.startswith("worker ")}
    assert pids and all(_gone(pid) for pid in pids), pids


@pytest.mark.refusal
@pytest.mark.slow
def test_a_script_without_a_main_guard_fails_fast_instead_of_hanging(tmp_path: Path) -> None:
    # Each spawned worker imports the unguarded script again and would train before its own spawn failed;
    # the run refuses at once there, the worker dies with exit code 1, and the parent names both fixes.
    script = tmp_path / "noguard.py"
    script.write_text(JOBS + "train_many(JOBS, CONFIG, DATA, processes=2, progress=False)\n")
    done = _run(script)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: a training worker process died (exit code 1) after 0 of 4 runs"), last
    assert "while this spawned process was importing the main script" in done.stderr


@pytest.mark.refusal
def test_the_same_script_with_its_guard_trains(tmp_path: Path) -> None:
    # The control: a guarded script is not refused (a run in a worker is not a run during its bootstrap).
    script = tmp_path / "guarded.py"
    body = textwrap.indent("print(len(train_many(JOBS, CONFIG, DATA, processes=2, progress=False)))\n", "    ")
    script.write_text(JOBS + 'if __name__ == "__main__":\n' + body)
    done = _run(script)
    assert done.returncode == 0 and done.stdout.strip() == "4", done.stderr[-2000:]
