r"""Statistics over seeds: mean and standard-deviation bands, steps to a target, and a paired sign test.

Every claim of the training study rests on several seeds, never on one run:

* :func:`band` reduces the curves of one arm (one init on one model, one
  curve per seed) to the mean and the sample standard deviation per epoch,
  :math:`\bar a_e = \frac1n\sum_s a_{s,e}`, :math:`s_e = \sqrt{\frac{1}{n-1}
  \sum_s (a_{s,e} - \bar a_e)^2}`; the band drawn is :math:`\bar a_e \pm s_e`
  (a spread of the runs, not a standard error of the mean).
* :func:`steps_table` counts, per arm, the seeds that reached the target
  accuracy within the budget and the median of their steps; an arm where no
  seed reached it reads ``"did not reach"``.
* :func:`paired_comparison` pairs two arms seed by seed (same seed, same
  model) and applies the exact two-sided sign test (Dixon & Mood 1946): under
  the null hypothesis that neither arm is better, each untied pair is a win
  with probability 1/2, so the number of wins ``k`` of ``m`` untied pairs is
  Binomial(m, 1/2) and

  .. math:: p = \min\Bigl(1,\; 2 \sum_{j=0}^{\min(k, m-k)} \binom{m}{j} 2^{-m}\Bigr).

  Ties are dropped, as the sign test does. With ``m`` pairs the smallest
  reachable p-value is :math:`2^{1-m}` (10 seeds, all wins: 0.00195).

The functions take any records with the attributes they read (a
:class:`RecordLike`), so they work on the engine's ``RunRecord`` and on plain
test doubles alike. The module needs NumPy only.

References
----------
.. [1] Dixon & Mood (1946), "The statistical sign test", J. Amer. Statist.
   Assoc. 41(236):557-566, https://doi.org/10.1080/01621459.1946.10501898
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..validation import check_int

__all__ = [
    "Band",
    "PairedComparison",
    "RecordLike",
    "StepsRow",
    "band",
    "bands",
    "final_accuracy",
    "paired_comparison",
    "sign_test",
    "steps_table",
]


class RecordLike(Protocol):
    """What the statistics read from a run: its init, seed, test-accuracy curve and steps to the target."""

    @property
    def init(self) -> str: ...

    @property
    def seed(self) -> int: ...

    @property
    def test_accuracy(self) -> Sequence[float]: ...

    @property
    def steps_to_target(self) -> int | None: ...


@dataclass(frozen=True)
class Band:
    r"""Mean and sample standard deviation of one arm's curves over ``n`` seeds.

    ``mean[e]`` and ``sd[e]`` are per epoch (``sd`` with ``ddof = 1``; zero for
    a single seed, where no spread is measured); ``lower``/``upper`` are
    ``mean -+ sd``, the band the figures draw.
    """

    label: str
    n: int
    mean: NDArray[np.float64]
    sd: NDArray[np.float64]

    @property
    def lower(self) -> NDArray[np.float64]:
        """``mean - sd``."""
        return self.mean - self.sd

    @property
    def upper(self) -> NDArray[np.float64]:
        """``mean + sd``."""
        return self.mean + self.sd

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"label": self.label, "n": self.n, "mean": self.mean.tolist(), "sd": self.sd.tolist()}


def band(label: str, curves: Sequence[Sequence[float]] | NDArray[Any]) -> Band:
    r"""The mean :math:`\pm` 1 s.d. band of ``curves`` (one row per seed, one column per epoch).

    Examples
    --------
    >>> b = band("xavier", [[0.5, 0.9], [0.7, 0.9]])
    >>> b.mean.tolist(), [round(float(v), 4) for v in b.sd]
    ([0.6, 0.9], [0.1414, 0.0])

    Raises
    ------
    ValueError
        ``curves`` is empty or its rows have different lengths.
    """
    try:
        arr = np.asarray(curves, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"curves must be rows of equal length (one per seed), got {len(curves)} ragged rows") from exc
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"curves must be a non-empty 2-d array (seeds x epochs), got shape {arr.shape}")
    n = arr.shape[0]
    sd = arr.std(axis=0, ddof=1) if n > 1 else np.zeros(arr.shape[1])
    return Band(label=label, n=n, mean=arr.mean(axis=0), sd=sd)


def _group(records: Iterable[RecordLike], key: Callable[[Any], Hashable]) -> dict[Hashable, list[Any]]:
    groups: dict[Hashable, list[Any]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return groups


def bands(records: Iterable[RecordLike], key: Callable[[Any], Hashable] | None = None) -> dict[Hashable, Band]:
    """One :func:`band` of test accuracy per arm, the arm given by ``key(record)`` (default: its init).

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rs = [R(init="zeros", seed=s, test_accuracy=[0.5, 0.25], steps_to_target=None) for s in range(3)]
    >>> bands(rs)["zeros"].mean.tolist()
    [0.5, 0.25]
    """
    key = key or (lambda r: r.init)
    out: dict[Hashable, Band] = {}
    for k, rs in _group(records, key).items():
        out[k] = band(str(k), [list(r.test_accuracy) for r in sorted(rs, key=lambda r: r.seed)])
    return out


def final_accuracy(record: RecordLike) -> float:
    """The test accuracy after the last epoch (the default metric of :func:`paired_comparison`)."""
    return float(record.test_accuracy[-1])


def sign_test(wins: int, losses: int) -> float:
    r"""Exact two-sided p-value of the sign test for ``wins`` against ``losses`` (ties already dropped).

    .. math:: p = \min\Bigl(1,\; 2 \sum_{j=0}^{\min(w, l)} \binom{w+l}{j} 2^{-(w+l)}\Bigr)

    Equal to ``scipy.stats.binomtest(wins, wins + losses, 0.5).pvalue``; 1.0
    when there is no untied pair.

    Examples
    --------
    >>> sign_test(10, 0)
    0.001953125
    >>> sign_test(5, 5)
    1.0

    Raises
    ------
    TypeError, ValueError
        ``wins`` or ``losses`` is not an int >= 0.
    """
    w = check_int("wins", wins, minimum=0)
    lo = check_int("losses", losses, minimum=0)
    m = w + lo
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, j) for j in range(min(w, lo) + 1))
    # Exact integer arithmetic, then one division: no rounding before the ratio.
    return float(min(1.0, 2 * tail / 2**m))


@dataclass(frozen=True)
class PairedComparison:
    """``a`` against ``b`` seed by seed: wins of ``a``, losses, ties, the mean difference and the sign test's p."""

    a: str
    b: str
    metric: str
    seeds: tuple[int, ...]
    wins: int
    losses: int
    ties: int
    mean_difference: float
    sd_difference: float
    p_value: float

    @property
    def n(self) -> int:
        """Number of pairs (seeds present in both arms)."""
        return len(self.seeds)

    def sentence(self) -> str:
        """One line, e.g. ``"glorot_uniform beats zeros on 10 of 10 seeds (0 losses, 0 ties; ...; p = 0.00195)"``."""
        return (
            f"{self.a} beats {self.b} on {self.wins} of {self.n} seeds ({self.losses} losses, {self.ties} ties; "
            f"{self.metric}: mean difference {self.mean_difference:+.3f} +- {self.sd_difference:.3f} s.d.; "
            f"two-sided sign test p = {self.p_value:.3g})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "a": self.a,
            "b": self.b,
            "metric": self.metric,
            "seeds": list(self.seeds),
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "mean_difference": self.mean_difference,
            "sd_difference": self.sd_difference,
            "p_value": self.p_value,
        }


def paired_comparison(
    records: Iterable[RecordLike],
    a: str,
    b: str,
    *,
    metric: Callable[[Any], float] = final_accuracy,
    metric_name: str = "final test accuracy",
    arm: Callable[[Any], Hashable] | None = None,
) -> PairedComparison:
    """Compare arm ``a`` with arm ``b`` on the seeds both have, by ``metric`` (larger is better).

    ``arm(record)`` names a record's arm (default: its init). A seed counts as
    a win for ``a`` when ``metric(a's run) > metric(b's run)``, a tie when they
    are equal; :func:`sign_test` gives the p-value.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rs = [R(init=i, seed=s, test_accuracy=[acc], steps_to_target=None)
    ...       for s in range(6) for i, acc in (("xavier", 0.9 + s / 100), ("zeros", 0.1))]
    >>> c = paired_comparison(rs, "xavier", "zeros")
    >>> c.wins, c.losses, c.p_value
    (6, 0, 0.03125)

    Raises
    ------
    ValueError
        An arm has no record, a seed appears twice in one arm, or the arms share no seed.
    """
    arm = arm or (lambda r: r.init)
    groups = _group(records, arm)
    by_seed: dict[str, dict[int, Any]] = {}
    for name in (a, b):
        if name not in groups:
            raise ValueError(f"arm must be one of {sorted(map(str, groups))}, got {name!r}")
        seen: dict[int, Any] = {}
        for r in groups[name]:
            if r.seed in seen:
                raise ValueError(f"each seed must appear once per arm, got seed {r.seed} twice in {name!r}")
            seen[r.seed] = r
        by_seed[name] = seen
    seeds = tuple(sorted(set(by_seed[a]) & set(by_seed[b])))
    if not seeds:
        raise ValueError(f"arms {a!r} and {b!r} must share a seed, got none in common")
    diff = np.array([metric(by_seed[a][s]) - metric(by_seed[b][s]) for s in seeds], dtype=np.float64)
    wins, losses = int(np.sum(diff > 0)), int(np.sum(diff < 0))
    return PairedComparison(
        a=a,
        b=b,
        metric=metric_name,
        seeds=seeds,
        wins=wins,
        losses=losses,
        ties=len(seeds) - wins - losses,
        mean_difference=float(diff.mean()),
        sd_difference=float(diff.std(ddof=1)) if len(seeds) > 1 else 0.0,
        p_value=sign_test(wins, losses),
    )


@dataclass(frozen=True)
class StepsRow:
    """Steps to the target accuracy for one arm: seeds that reached it, of ``n``, and their median steps."""

    label: str
    n: int
    reached: int
    median_steps: float | None

    def cell(self) -> str:
        """``"did not reach"``, or the median with the count, e.g. ``"180 (5/5)"``."""
        if self.median_steps is None:
            return "did not reach"
        return f"{self.median_steps:g} ({self.reached}/{self.n})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"label": self.label, "n": self.n, "reached": self.reached, "median_steps": self.median_steps}


def steps_table(records: Iterable[RecordLike], key: Callable[[Any], Hashable] | None = None) -> list[StepsRow]:
    """Per arm (``key(record)``, default its init), how many seeds reached the target and their median steps.

    The median is over the seeds that reached the target only, and the row
    says how many did; an arm where none did has ``median_steps = None``
    (``"did not reach"`` within the budget).

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rs = [R(init="he", seed=s, test_accuracy=[0.9], steps_to_target=st) for s, st in enumerate((90, 120, None))]
    >>> steps_table(rs)[0].cell()
    '105 (2/3)'
    """
    key = key or (lambda r: r.init)
    rows = []
    for k, rs in _group(records, key).items():
        steps = [r.steps_to_target for r in rs if r.steps_to_target is not None]
        rows.append(StepsRow(str(k), len(rs), len(steps), float(np.median(steps)) if steps else None))
    return rows
