"""The CI regression gate's shared result: a baseline comparison's rows, and the :class:`Outcome` of either mode.

The gate has two modes, each with its own options and entry point, and both
return an :class:`Outcome` that ``xinit-bench gate`` renders:

* **A/B against a commit** (:mod:`.gate_ab`): the reference commit's library
  and the working tree's are measured interleaved in one run (:mod:`.ab`,
  :mod:`.refenv`); a case fails when the tree is slower than the threshold
  with the stated family-wise confidence.  No stored figure is involved, so it
  gates any machine, a hosted runner's included.
* **Against a committed baseline** (:mod:`.gate_baseline`): the figures of
  :mod:`.figures` (or of a pytest-benchmark JSON), compared with
  ``benchmarks/baseline/<cpu key>.json`` (:mod:`.baseline`) by
  :func:`compare`.  It gates only the CPUs that have a baseline.

Exit codes
----------
:class:`~.errors.ExitCode`: 0 pass (also: no baseline for this CPU, with a
warning), 1 regression, 2 bad input (options, baseline or benchmark JSON,
benchmark names, output paths), 3 environment (git missing, a reference
commit that cannot be built or run).  Every bad input raises
:class:`~.errors.GateError`, which carries its code and a one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .ab import ABResult
from .baseline import Baseline
from .cases import Case
from .errors import ExitCode, GateError
from .figures import GATE_THREADS, Figure

__all__ = ["Outcome", "Row", "as_path", "compare", "named_cases", "names_tuple"]


@dataclass
class Row:
    """One benchmark's line in the baseline gate's result."""

    name: str
    baseline: float | None
    current: float | None
    tolerance: float | None
    vs_numpy: float | None
    vs_fill: float | None
    status: str

    @property
    def change(self) -> float | None:
        """``current / baseline``: 2.0 means twice as slow, relative to the references."""
        if self.baseline is None or self.current is None:
            return None
        return self.current / self.baseline


def compare(figures: dict[str, Figure], baseline: Baseline) -> list[Row]:
    """Classify each benchmark as ``ok``, ``REGRESSION``, ``improved``, ``new`` or ``not measured``.

    With the change :math:`c = g / g_{\\mathrm{baseline}}` of a figure and the
    entry's tolerance :math:`\\tau`,

    .. math::

        \\text{REGRESSION} \\iff c > 1 + \\tau, \\qquad
        \\text{improved} \\iff c < \\frac{1}{1 + \\tau}.
    """
    rows = []
    for name in sorted(set(figures) | set(baseline.entries)):
        fig = figures.get(name)
        ent = baseline.entries.get(name)
        if ent is None or fig is None:
            rows.append(
                Row(
                    name,
                    None if ent is None else ent.norm,
                    None if fig is None else fig.norm,
                    None if ent is None else ent.tolerance,
                    None if fig is None else fig.vs_numpy,
                    None if fig is None else fig.vs_fill,
                    "not measured" if fig is None else "new",
                )
            )
            continue
        limit = 1.0 + ent.tolerance
        change = fig.norm / ent.norm
        status = "REGRESSION" if change > limit else ("improved" if change < 1.0 / limit else "ok")
        rows.append(Row(name, ent.norm, fig.norm, ent.tolerance, fig.vs_numpy, fig.vs_fill, status))
    return rows


@dataclass
class Outcome:
    """The result of one gate run: ``rows`` in the baseline mode, ``ab_result`` in the A/B mode."""

    code: ExitCode
    rows: list[Row]
    baseline: Path | None
    messages: list[str]
    threads: int = GATE_THREADS
    ab_result: ABResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        if self.ab_result is not None:
            return {
                "exit_code": int(self.code),
                "status": self.code.name.lower(),
                "mode": "against",
                "timer": "time.process_time",
                "threads": self.threads,
                "messages": self.messages,
                **self.ab_result.to_dict(),
            }
        return {
            "exit_code": int(self.code),
            "status": self.code.name.lower(),
            "baseline": None if self.baseline is None else str(self.baseline),
            "timer": "time.process_time",
            "threads": self.threads,
            "messages": self.messages,
            "benchmarks": [{**asdict(r), "change": r.change} for r in self.rows],
        }


# --- option checks that both modes share ------------------------------------------------
def as_path(name: str, value: object) -> Path:
    """``value`` (a ``str`` or path-like) as a :class:`~pathlib.Path`.

    Raises
    ------
    TypeError
        For anything else, naming the option ``name``.
    """
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise TypeError(f"{name} must be a path (str or os.PathLike), got {value!r}")


def names_tuple(name: str, value: object) -> tuple[str, ...]:
    """``value``, a sequence of benchmark names, as a tuple.

    Raises
    ------
    TypeError
        If ``value`` is a single ``str`` (which would be read letter by
        letter) or not a sequence of ``str``.
    """
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a sequence of benchmark names (str), got {value!r}")
    return tuple(value)


def named_cases(names: Sequence[str]) -> list[Case]:
    """The cases ``names`` name (``--only``), in order.

    Raises
    ------
    GateError
        ``BAD_INPUT`` for a name that is not a case of the table.
    """
    try:
        return [Case.from_name(name) for name in names]
    except ValueError as exc:
        raise GateError(ExitCode.BAD_INPUT, f"unknown benchmark name: {exc}") from None
