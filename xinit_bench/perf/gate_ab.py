"""The gate's A/B mode: this tree's library against a commit's, measured interleaved in one run.

``xinit-bench gate --against REF`` builds an :class:`ABOptions` and calls
:func:`run_against`.  REF's library is installed once into a cache
(:mod:`.refenv`); two worker processes, one per library, time the same cases
in alternating pairs (:mod:`.ab`); a case fails when the sign-test lower bound
of its median ratio ``t_tree / t_ref`` exceeds the threshold, family-wise
over all cases (:mod:`.abstats`).  The mode takes none of the baseline mode's
options (:mod:`.gate_baseline`): it stores no figure and always measures on
one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..validation import is_int, is_real
from . import ab, refenv
from .cases import Case
from .errors import ExitCode
from .figures import GATE_THREADS
from .gate import Outcome, as_path, named_cases, names_tuple

__all__ = ["ABOptions", "run_against"]


@dataclass(frozen=True)
class ABOptions:
    """What one A/B gate run does (the options of ``xinit-bench gate --against REF``).

    Everything is checked when the options are made, before anything is
    installed or measured.

    Attributes
    ----------
    against
        A git revision (branch, tag, commit, ``HEAD~1``): the reference library.
    repo
        The git repository in which ``against`` is resolved.
    only
        Measure only these benchmark names (default: :func:`.ab.ab_cases`).
    threshold, confidence
        A case fails when ``t_tree / t_ref`` exceeds ``threshold`` with this
        one-sided, family-wise confidence.
    rounds, pairs
        Fresh pairs of worker processes, and interleaved sample pairs per
        case in each.

    Raises
    ------
    TypeError
        For a field of the wrong type.
    GateError
        ``BAD_INPUT`` for an unknown benchmark name, or for a plan that
        :func:`.ab.check_plan` refuses (a threshold not above 1, a confidence
        outside (0.5, 1), too few pairs for the bound).

    Examples
    --------
    >>> ABOptions("HEAD~1", only=("normal-float32-1M",)).cases()[0].name
    'normal-float32-1M'
    >>> ABOptions("HEAD~1", only=["normal-float32-1M"], threshold=0.9)
    Traceback (most recent call last):
        ...
    xinit_bench.perf.errors.GateError: --threshold must be a finite ratio above 1, got 0.9
    """

    against: str
    repo: Path = Path(".")
    only: Sequence[str] = ()
    threshold: float = ab.DEFAULT_THRESHOLD
    confidence: float = ab.DEFAULT_CONFIDENCE
    rounds: int = ab.DEFAULT_ROUNDS
    pairs: int = ab.DEFAULT_PAIRS

    def __post_init__(self) -> None:
        if not isinstance(self.against, str):
            raise TypeError(f"against must be a git revision (str), got {self.against!r}")
        object.__setattr__(self, "repo", as_path("repo", self.repo))
        object.__setattr__(self, "only", names_tuple("only", self.only))
        for name in ("threshold", "confidence"):
            if not is_real(getattr(self, name)):
                raise TypeError(f"{name} must be a real number, got {getattr(self, name)!r}")
        for name in ("rounds", "pairs"):
            if not is_int(getattr(self, name)):
                raise TypeError(f"{name} must be an int, got {getattr(self, name)!r}")
        ab.check_plan(len(self.cases()), self.rounds, self.pairs, self.threshold, self.confidence)

    def cases(self) -> list[Case]:
        """The cases the run measures: ``only``, or every case of :func:`.ab.ab_cases`."""
        return named_cases(self.only) if self.only else ab.ab_cases()


def run_against(
    options: ABOptions,
    *,
    progress: Callable[[str], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> Outcome:
    """The A/B gate: ``options.against``'s library against this one (see :mod:`.ab`).

    Parameters
    ----------
    options
        What to gate (already checked).
    progress
        Called after each round of worker pairs.
    total
        Called once, before measuring, with the number of rounds.

    Raises
    ------
    GateError
        ``BAD_INPUT`` when ``against`` names no commit; ``ENVIRONMENT`` when
        git is missing, or the reference cannot be installed or run.
    """
    cases = options.cases()
    reference = refenv.prepare(options.repo, options.against)
    if total is not None:
        total(options.rounds)
    result = ab.run_ab(
        reference,
        cases,
        rounds=options.rounds,
        pairs=options.pairs,
        threshold=options.threshold,
        confidence=options.confidence,
        progress=progress,
    )
    messages = [
        f"regression: {r.name} takes {r.ratio:.2f}x the time of {result.ref} "
        f"(at least {r.lower:.2f}x with {result.confidence:.0%} family-wise confidence; "
        f"allowed {result.threshold:.2f}x)"
        for r in result.regressions
    ]
    messages += [
        f"not compared: {r.name} ({r.status}: {r.note})" for r in result.rows if r.status in ("new", "not in tree")
    ]
    code = ExitCode.REGRESSION if result.regressions else ExitCode.OK
    return Outcome(code, [], None, messages, GATE_THREADS, result)
