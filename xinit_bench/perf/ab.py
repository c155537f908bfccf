"""The A/B gate: a reference commit's library against the working tree's, interleaved in one run.

Design
------
* **Two worker processes, one per library.**  Worker A imports the library of
  the reference commit (installed by :mod:`.refenv`, put first on
  ``PYTHONPATH``), worker B the library this process imports (the working
  tree).  Both run the *same* measurement code: the worker is the script
  :mod:`.ab_worker`, started by path (``python ab_worker.py <kernels>``),
  which loads this package's folder under a private name with
  :mod:`.treeload`, the loader that ``benchmarks/tree.py`` uses for asv; so
  the case table is the same on both sides and only the library differs.
* **Interleaved pairs.**  The parent asks A and B in turn for one timed sample
  of one case; only one worker runs at a time, and the order within a pair
  alternates (A B, then B A), so a drift of the machine, another process's
  burst or the other core's load hits both sides alike.  Each sample times
  ``number`` back-to-back calls lasting at least ``min_sample_time``.
* **Fresh processes per round.**  ``rounds`` pairs of workers are started one
  after the other, so one process's luck (memory placement, a neighbour's
  job) does not decide the verdict.
* **Timer.**  ``time.process_time`` with Numba on one thread, as the
  baseline gate (:mod:`.figures` explains why); wall time is recorded and
  reported beside it.
* **Verdict.**  Per case, the median of the ``rounds * pairs`` paired ratios
  ``t_tree / t_ref`` and its one-sided bounds at the family-wise level
  (:mod:`.abstats`).  A case regresses when the *lower* bound exceeds the
  threshold: the tree is slower than ``threshold`` times the reference with
  the stated confidence, over all cases at once.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from .abstats import min_pairs, ratio_bounds
from .cases import ALL_SCHEMES, DTYPES, HALF_DTYPES, Case
from .errors import ExitCode, GateError
from .refenv import RefEnv

__all__ = [
    "AB_SIZES",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MIN_SAMPLE_TIME",
    "DEFAULT_PAIRS",
    "DEFAULT_ROUNDS",
    "DEFAULT_THRESHOLD",
    "WORKER",
    "ABResult",
    "ABRow",
    "ab_cases",
    "check_plan",
    "kernels_folder",
    "run_ab",
]

#: 1K elements take every kind's serial entry point, 1M its parallel one.
AB_SIZES: tuple[int, ...] = (1 << 10, 1 << 20)
#: Fail when the tree is slower than this many times the reference...
DEFAULT_THRESHOLD = 1.15
#: ...with this one-sided confidence, family-wise over all cases.
DEFAULT_CONFIDENCE = 0.99
DEFAULT_ROUNDS = 3
DEFAULT_PAIRS = 8
DEFAULT_MIN_SAMPLE_TIME = 0.02
#: Seconds a worker may take to start and warm up (the first run against a
#: commit compiles its kernels).
SETUP_TIMEOUT = 1800.0

#: The worker script, started by path as ``python WORKER <kernels folder>``.
WORKER = Path(__file__).resolve().with_name("ab_worker.py")


def ab_cases(sizes: Sequence[int] = AB_SIZES) -> list[Case]:
    """Every scheme of the case table (the +-100 sigma cut included) and every dtype, at ``sizes``.

    The half-precision dtypes run their own kernels (the work-list fills with
    a float32 scratch and the rounding); a reference commit that predates
    them reports those cases as lacking, and they are skipped.
    """
    half = [s for s in ALL_SCHEMES if s != "philox_words"]  # raw words have no half-precision kernel
    return [Case(s, d, n) for n in sizes for d in DTYPES for s in ALL_SCHEMES] + [
        Case(s, d, n) for n in sizes for d in HALF_DTYPES for s in half
    ]


def check_plan(n_cases: int, rounds: int, pairs: int, threshold: float, confidence: float) -> float:
    """Validate a plan; return the per-case level ``alpha`` (Bonferroni over ``n_cases``).

    Raises
    ------
    GateError
        ``BAD_INPUT`` for a threshold that is not above 1, a confidence outside
        (0.5, 1), fewer than 1 round or pair, or too few pairs for the bound.
    """
    if not (math.isfinite(threshold) and threshold > 1.0):
        raise GateError(ExitCode.BAD_INPUT, f"--threshold must be a finite ratio above 1, got {threshold}")
    if not (0.5 < confidence < 1.0):
        raise GateError(ExitCode.BAD_INPUT, f"--confidence must be in (0.5, 1), got {confidence}")
    if rounds < 1 or pairs < 1:
        raise GateError(ExitCode.BAD_INPUT, f"--rounds and --pairs must be at least 1, got {rounds} and {pairs}")
    alpha = (1.0 - confidence) / max(1, n_cases)
    needed = min_pairs(alpha)
    if rounds * pairs < needed:
        raise GateError(
            ExitCode.BAD_INPUT,
            f"{rounds} rounds x {pairs} pairs = {rounds * pairs} samples per case are too few for a "
            f"{confidence:.3g} family-wise bound over {n_cases} cases: at least {needed}",
        )
    return alpha


# --- the parent ---------------------------------------------------------------------------
def kernels_folder() -> Path:
    """The kernels folder of the library this process imports, which the worker loads as ``_xinit_tree.kernels``.

    ``xinit_bench/kernels`` in an installed package; ``kernels/`` beside
    ``xinit_bench/`` in an editable install of a source tree.
    """
    here = WORKER.parent
    spec = importlib.util.find_spec(f"{__package__.rsplit('.', 1)[0]}.kernels") if __package__ else None
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    return here.parent / "kernels" if (here.parent / "kernels").is_dir() else here.parents[1] / "kernels"


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, label: str, env: dict[str, str], cwd: str) -> None:
        self.label = label
        self.errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(kernels_folder())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=env,
            cwd=cwd,
            text=True,
        )

    def send(self, request: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._died()

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self._died()
        data: dict[str, Any] = json.loads(line)
        return data

    def _died(self) -> None:
        self.proc.wait(timeout=30)
        self.errors.seek(0)
        lines = [x.strip() for x in self.errors.read().decode(errors="replace").splitlines() if x.strip()]
        raise GateError(
            ExitCode.ENVIRONMENT,
            f"the {self.label} worker exited with status {self.proc.returncode}: "
            f"{lines[-1] if lines else 'no message'}",
        )

    def close(self) -> None:
        """Ask the worker to quit (kill it if it does not), and close its pipes."""
        if self.proc.poll() is None:
            try:
                self.send({"op": "quit"})
                self.proc.wait(timeout=30)
            except (GateError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a pipe whose worker died with unread input
                    stream.close()
        self.errors.close()


@dataclass
class ABRow:
    """One case of the A/B gate: paired-ratio median and bounds under process time, wall time beside it."""

    name: str
    status: str
    n: int = 0
    ref_seconds: float | None = None
    tree_seconds: float | None = None
    ratio: float | None = None
    lower: float | None = None
    upper: float | None = None
    wall_ratio: float | None = None
    note: str = ""


@dataclass
class ABResult:
    """Everything one A/B run measured."""

    ref: str
    commit: str
    threshold: float
    confidence: float
    level: float
    rounds: int
    pairs: int
    rows: list[ABRow]
    seconds: float
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @property
    def regressions(self) -> list[ABRow]:
        """The rows whose lower bound exceeds the threshold."""
        return [r for r in self.rows if r.status == "REGRESSION"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (per-call samples included)."""
        data = asdict(self)
        data["benchmarks"] = data.pop("rows")
        return data


def run_ab(
    ref: RefEnv,
    cases: Sequence[Case],
    *,
    rounds: int = DEFAULT_ROUNDS,
    pairs: int = DEFAULT_PAIRS,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    min_sample_time: float = DEFAULT_MIN_SAMPLE_TIME,
    progress: Callable[[str], None] | None = None,
) -> ABResult:
    """Measure ``cases`` with the reference library and this one, interleaved; judge every case.

    Raises
    ------
    GateError
        ``BAD_INPUT`` for a bad plan (:func:`check_plan`); ``ENVIRONMENT`` when a
        worker dies, when the reference library is not the one imported on its
        side, or when it can measure none of the cases (too old).
    """
    alpha = check_plan(len(cases), rounds, pairs, threshold, confidence)
    started = time.perf_counter()
    names = [c.name for c in cases]
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    ref_env = dict(base)
    ref_env["PYTHONPATH"] = os.pathsep.join([str(ref.site), *filter(None, [os.environ.get("PYTHONPATH")])])
    ref_env["NUMBA_CACHE_DIR"] = str(ref.numba_cache)
    tree_env = dict(os.environ)
    import xinit_bench

    tree_library = str(Path(xinit_bench.__file__).resolve().parent)
    samples: dict[str, dict[str, list[float]]] = {
        n: {"ref": [], "tree": [], "ref_wall": [], "tree_wall": []} for n in names
    }
    lacks: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="xinit-ab-") as cwd:  # no ./xinit_bench may shadow either library
        for rnd in range(rounds):
            workers = {
                "ref": _Worker(f"reference ({ref.ref})", ref_env, cwd),
                "tree": _Worker("working-tree", tree_env, cwd),
            }
            try:
                for w in workers.values():
                    w.send({"op": "setup", "cases": names, "min_sample_time": min_sample_time})
                ready = {side: w.receive() for side, w in workers.items()}  # both warm up at once
                _check_libraries(ready, ref, tree_library)
                lacks = {**ready["tree"]["lacks"], **ready["ref"]["lacks"]}
                if len(ready["ref"]["lacks"]) == len(names):
                    first = next(iter(ready["ref"]["lacks"].values()))
                    raise GateError(
                        ExitCode.ENVIRONMENT,
                        f"{ref.ref} ({ref.commit[:12]}) is too old to compare: it can run none of the cases ({first})",
                    )
                measured = [n for n in names if n not in lacks]
                for p in range(pairs):
                    shift = p % max(1, len(measured))
                    for i, name in enumerate(measured[shift:] + measured[:shift]):
                        order = ("ref", "tree") if (p + i + rnd) % 2 == 0 else ("tree", "ref")
                        for side in order:
                            workers[side].send({"op": "sample", "case": name})
                            got = workers[side].receive()
                            samples[name][side].append(float(got["cpu"]))
                            samples[name][f"{side}_wall"].append(float(got["wall"]))
            finally:
                for w in workers.values():
                    w.close()
            if progress is not None:
                progress(f"round {rnd + 1}/{rounds}")
    rows = [_judge(name, samples[name], lacks.get(name), alpha, threshold, ready["ref"]["lacks"]) for name in names]
    return ABResult(
        ref.ref,
        ref.commit,
        threshold,
        confidence,
        1.0 - alpha,
        rounds,
        pairs,
        rows,
        time.perf_counter() - started,
        samples,
    )


def _check_libraries(ready: dict[str, dict[str, Any]], ref: RefEnv, tree_library: str) -> None:
    """Each worker must have imported the library it stands for."""
    expected = {"ref": str((ref.site / "xinit_bench").resolve()), "tree": tree_library}
    for side, reply in ready.items():
        if reply["library"] != expected[side]:
            raise GateError(
                ExitCode.ENVIRONMENT,
                f"the {side} worker imported xinit_bench from {reply['library']}, expected {expected[side]}",
            )


def _judge(
    name: str,
    sample: dict[str, list[float]],
    lack: str | None,
    alpha: float,
    threshold: float,
    ref_lacks: dict[str, str],
) -> ABRow:
    if lack is not None:
        status = "new" if name in ref_lacks else "not in tree"
        return ABRow(name, status, note=lack)
    ratios = [b / a for a, b in zip(sample["ref"], sample["tree"], strict=True)]
    walls = [b / a for a, b in zip(sample["ref_wall"], sample["tree_wall"], strict=True)]
    bounds = ratio_bounds(ratios, alpha)
    if bounds.lower > threshold:
        status = "REGRESSION"
    elif bounds.upper < 1.0 / threshold:
        status = "improved"
    else:
        status = "ok"
    return ABRow(
        name,
        status,
        bounds.n,
        statistics.median(sample["ref"]),
        statistics.median(sample["tree"]),
        bounds.median,
        bounds.lower,
        bounds.upper,
        statistics.median(walls),
    )
