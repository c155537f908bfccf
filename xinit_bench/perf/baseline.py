"""The gate's committed baselines: ``benchmarks/baseline/<cpu key>.json``.

A baseline holds, per benchmark name, the figures of :mod:`.figures` and the
fraction by which the figure may grow before the gate fails.  Files are only
comparable on machines with the same :func:`~.machine.cpu_key`.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .cases import Case
from .errors import ExitCode, GateError
from .figures import GATE_THREADS, Figure, positive_finite, read_json
from .machine import cpu_key, environment

BASELINE_FORMAT = "xinit-bench-gate-baseline/1"
#: Default baseline folder, relative to the working directory (the repository root in CI).
BASELINE_DIR = Path("benchmarks") / "baseline"
#: A figure may grow by this fraction before it counts as a regression.  A 2x
#: slowdown is +100 %.  On the shared 2-core development machine with the
#: other core busy (``benchmarks/gate_stability.py``), the largest change of
#: any figure over 10 quick runs was +4.9 %, over 5 full runs +6.2 %; the same
#: check measuring on 2 threads reached +76 % and failed one run in three.
DEFAULT_TOLERANCE = 0.40
#: Small outputs are dominated by call overhead, which varies more.
SMALL_SIZE_TOLERANCE = 0.60
SMALL_SIZE = 1 << 16


@dataclass
class Entry:
    """A baseline figure and the fraction by which it may grow before failing."""

    norm: float
    vs_numpy: float
    vs_fill: float
    tolerance: float


@dataclass
class Baseline:
    """A committed baseline: ``benchmarks/baseline/<cpu key>.json``."""

    cpu: str
    entries: dict[str, Entry]
    meta: dict[str, Any]


def baseline_path(directory: Path, cpu: str | None = None) -> Path:
    """``<directory>/<cpu key>.json`` for this machine (or for ``cpu``)."""
    return directory / f"{cpu or cpu_key()}.json"


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file.

    Raises
    ------
    GateError
        ``BAD_INPUT`` if ``path`` does not exist, is not JSON, or is not a
        valid baseline.
    """
    if not path.exists():
        raise GateError(
            ExitCode.BAD_INPUT,
            f"baseline {path} does not exist; create it with `xinit-bench gate --update-baseline`",
        )
    data = read_json(path, "baseline")
    problem = _baseline_problem(data)
    if problem or not isinstance(data, dict):
        raise GateError(
            ExitCode.BAD_INPUT,
            f"baseline {path} is corrupt: {problem}; regenerate it with `xinit-bench gate --update-baseline`",
        )
    entries = {
        name: Entry(float(e["norm"]), float(e["vs_numpy"]), float(e["vs_fill"]), float(e["tolerance"]))
        for name, e in data["benchmarks"].items()
    }
    meta = {k: v for k, v in data.items() if k != "benchmarks"}
    return Baseline(str(data["cpu"]), entries, meta)


def _baseline_problem(data: object) -> str | None:
    """What makes ``data`` an invalid baseline, or ``None``."""
    if not isinstance(data, dict):
        return "the top level is not an object"
    if data.get("format") != BASELINE_FORMAT:
        return f'"format" is {data.get("format")!r}, expected {BASELINE_FORMAT!r}'
    if not isinstance(data.get("cpu"), str):
        return '"cpu" is missing'
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, dict) or not benchmarks:
        return '"benchmarks" is missing or empty'
    for name, entry in benchmarks.items():
        if not isinstance(entry, dict):
            return f"entry {name!r} is not an object"
        for key in ("norm", "vs_numpy", "vs_fill", "tolerance"):
            if positive_finite(entry.get(key)) is None:
                return f"entry {name!r} has no positive finite {key!r}"
    return None


def write_baseline(
    path: Path, figures: dict[str, Figure], previous: Baseline | None, source: str, threads: int = GATE_THREADS
) -> None:
    """Write ``figures`` into the baseline at ``path``, keeping entries that were not re-measured.

    A benchmark's hand-edited tolerance survives an update.
    """
    entries: dict[str, dict[str, float]] = {}
    if previous is not None:
        entries = {name: asdict(e) for name, e in previous.entries.items()}
    for name, fig in figures.items():
        old_tol = entries.get(name, {}).get("tolerance")
        entries[name] = {
            "norm": fig.norm,
            "vs_numpy": fig.vs_numpy,
            "vs_fill": fig.vs_fill,
            "tolerance": old_tol if old_tol is not None else default_tolerance(name),
        }
    data = {
        "format": BASELINE_FORMAT,
        "cpu": cpu_key(),
        "timer": "time.process_time",
        "threads": threads,
        "figure": "median over repetitions of t_xinit / sqrt(t_numpy * t_fill)",
        "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "environment": {k: v for k, v in environment().items() if k != "threading_layer"},
        "benchmarks": dict(sorted(entries.items())),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise GateError(ExitCode.BAD_INPUT, f"cannot write baseline {path}: {exc.strerror or exc}") from None


def default_tolerance(name: str) -> float:
    """The tolerance a new baseline entry gets: looser for outputs of at most 64K elements."""
    try:
        size = Case.from_name(name).size
    except ValueError:
        return DEFAULT_TOLERANCE
    return SMALL_SIZE_TOLERANCE if size <= SMALL_SIZE else DEFAULT_TOLERANCE
