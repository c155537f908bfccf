r"""The training study's presets: ``keras-mlp``, ``depth`` and ``trainability``, each a table, a figure and JSON.

* ``keras-mlp``: the classic Keras example's MLP adapted to digits' 64 inputs
  (64-128-64-10, ReLU, zero biases), Adam at 1e-3, batch 32, 10 epochs, under
  ``glorot_uniform`` against zeros, N(0, 1), N(0, 0.01^2), He, LeCun and
  orthogonal, over 10 seeds: test accuracy per epoch with a +-1 s.d. band.
* ``depth``: 10 and 30 hidden layers of width 128 under tanh, ReLU and
  sigmoid, with zeros, the "standard" U(+-1/sqrt(n)), Xavier, He, LeCun,
  orthogonal, the critical (edge-of-chaos) init and N(0, 0.01^2); Adam at
  1e-3, batch 32, 10 epochs, 6 seeds (the fewest with which a sign test can
  reach p < 0.05: 2 * 2^-6 = 0.031); steps to 90% test accuracy (checked
  every 15 steps) or "did not reach".
* ``trainability``: tanh MLPs of width 64 over 10 values of
  :math:`\sigma_w^2` in [1, 4] (:math:`\sigma_b^2 = 0.05`, as in Schoenholz
  et al. 2017) times 8 depths from 4 to 100, weights :math:`N(0, \sigma_w^2/n)`
  and biases :math:`N(0, \sigma_b^2)`; test accuracy after 1000 steps of plain
  SGD (lr 0.01, batch 32), against :math:`6\xi_c` of the mean-field theory
  (:func:`xinit_bench.propagation.correlation.depth_scales`). Schoenholz et
  al. find that a network of depth :math:`L` trains only if :math:`L \lesssim
  6\xi_c`. The grid's verdict is in :mod:`.grid`.

Every preset has a ``small`` variant (fewer inits, seeds or cells, the same
optimiser settings) that the tests run. Before training, :func:`run_preset`
estimates the time and memory (:mod:`.budget`) and refuses a set of runs over
the preset's budget with the estimate in the message.

References
----------
.. [1] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR, figure 1 and section 5. https://arxiv.org/abs/1611.01232
.. [2] Glorot & Bengio (2010), https://proceedings.mlr.press/v9/glorot10a.html
.. [3] He, Zhang, Ren & Sun (2015), https://arxiv.org/abs/1502.01852
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..validation import check_bool, check_int, check_real
from .budget import Estimate, check_budget, estimate
from .data import load_dataset
from .engine import RunRecord, TrainConfig, train_many
from .grid import GridSpec, GridVerdict, grid_label, grid_verdict
from .inits import GaussianInit, init_label
from .models import MLPSpec, closest
from .stats import Band, PairedComparison, StepsRow, band, paired_comparison, steps_table

__all__ = [
    "PRESETS",
    "Arm",
    "Preset",
    "PresetResult",
    "get_preset",
    "load_result",
    "run",
    "run_preset",
    "trainability_preset",
    "with_budget",
]


@dataclass(frozen=True)
class Arm:
    """One model under one init: a curve (with its band over seeds) of a preset."""

    label: str
    spec: MLPSpec
    init: str | GaussianInit


@dataclass(frozen=True)
class Preset:
    """A named experiment: its arms, one training config for all, seeds, budgets and paired comparisons.

    ``comparisons`` are ``(a, b)`` pairs of arm labels compared seed by seed
    (:func:`~xinit_bench.training.stats.paired_comparison`); ``grid`` is set
    for the trainability grid.
    """

    name: str
    description: str
    config: TrainConfig
    arms: tuple[Arm, ...]
    seeds: int
    comparisons: tuple[tuple[str, str], ...] = ()
    grid: GridSpec | None = None
    budget_seconds: float = 1800.0
    budget_bytes: int = 8 * 2**30
    dataset: str = "digits"

    def settings(self) -> str:
        """The optimiser, learning rate, batch size and budget, as the output and the docs state them."""
        c = self.config
        opt = c.optimizer.upper() if c.optimizer == "sgd" else "Adam"
        budget = f"{c.epochs} epochs" if c.epochs is not None else f"{c.steps} steps"
        target = "" if c.target_accuracy is None else f", target {c.target_accuracy:.0%} test accuracy"
        seeds = "1 seed" if self.seeds == 1 else f"{self.seeds} seeds"
        return f"{opt} lr {c.lr:g}, batch {c.batch_size}, {budget}{target}, {seeds}, on {self.dataset}"

    def jobs(self, seeds: Sequence[int]) -> list[tuple[Arm, int]]:
        """Every (arm, seed) of the preset, arm-major."""
        return [(arm, s) for arm in self.arms for s in seeds]


def _keras_mlp(small: bool) -> Preset:
    inits = ("glorot_uniform", "zeros", "normal_small") if small else (
        "glorot_uniform", "zeros", "normal1", "normal_small", "he_normal", "lecun_normal", "orthogonal",
    )  # fmt: skip
    spec = MLPSpec((128, 64), "relu")
    return Preset(
        name="keras-mlp",
        description="64-128-64-10 ReLU MLP on digits, zero biases (the Keras example adapted to 64 inputs)",
        config=TrainConfig("adam", 1e-3, 32, epochs=10, target_accuracy=0.95),
        arms=tuple(Arm(i, spec, i) for i in inits),
        seeds=3 if small else 10,
        comparisons=tuple(("glorot_uniform", b) for b in inits if b != "glorot_uniform"),
        budget_seconds=300.0 if small else 1800.0,
    )


def depth_label(activation: str, depth: int, init: str) -> str:
    """``"relu L=30 he_normal"``: the arm label of the depth preset."""
    return f"{activation} L={depth} {init}"


DEPTH_INITS = (
    "zeros",
    "standard",
    "glorot_uniform",
    "he_normal",
    "lecun_normal",
    "orthogonal",
    "critical",
    "normal_small",
)


def _depth(small: bool) -> Preset:
    if small:
        cells: list[tuple[str, int, str]] = [("relu", 30, i) for i in ("he_normal", "normal_small")]
    else:
        cells = [(a, d, i) for d in (10, 30) for a in ("tanh", "relu", "sigmoid") for i in DEPTH_INITS]
    arms = tuple(Arm(depth_label(a, d, i), MLPSpec((128,) * d, a), i) for a, d, i in cells)
    pairs = [(depth_label("relu", 30, "he_normal"), depth_label("relu", 30, "normal_small"))]
    if not small:
        pairs += [
            (depth_label("tanh", 30, "glorot_uniform"), depth_label("tanh", 30, "he_normal")),
            (depth_label("relu", 30, "he_normal"), depth_label("relu", 30, "glorot_uniform")),
            (depth_label("tanh", 30, "glorot_uniform"), depth_label("tanh", 30, "zeros")),
        ]
    return Preset(
        name="depth",
        description="10 and 30 hidden layers of width 128: tanh, ReLU and sigmoid under eight inits",
        config=TrainConfig("adam", 1e-3, 32, epochs=4 if small else 10, target_accuracy=0.9, target_every=15),
        arms=arms,
        seeds=2 if small else 6,
        comparisons=tuple(pairs),
        budget_seconds=300.0 if small else 1800.0,
    )


def trainability_preset(
    sigma_w2: Sequence[float],
    depths: Sequence[int],
    *,
    sigma_b2: float = 0.05,
    width: int = 64,
    steps: int = 200,
    lr: float = 0.05,
    batch_size: int = 32,
    threshold: float = 0.5,
    seeds: int = 1,
    budget_seconds: float = 900.0,
    budget_bytes: int = 8 * 2**30,
) -> Preset:
    r"""A trainability grid: tanh MLPs of ``width`` over ``sigma_w2`` x ``depths``, SGD for ``steps`` steps.

    A cell :math:`(\sigma_w^2, L)` has :math:`L` hidden layers, weights
    :math:`N(0, \sigma_w^2/n_{in})` and biases :math:`N(0, \sigma_b^2)`
    (:class:`~xinit_bench.training.inits.GaussianInit`); it *trains* when its
    test accuracy after ``steps`` steps is at least ``threshold`` (chance is
    0.1 on digits).

    Raises
    ------
    TypeError, ValueError
        An empty or unsorted axis, a value out of range.
    """
    sw = tuple(check_real(f"sigma_w2[{i}]", s, positive=True) for i, s in enumerate(sigma_w2))
    ds = tuple(check_int(f"depths[{i}]", d, minimum=1) for i, d in enumerate(depths))
    for axis, values in (("sigma_w2", sw), ("depths", ds)):
        if not values or list(values) != sorted(set(values)):
            raise ValueError(f"{axis} must be a non-empty increasing sequence, got {values!r}")
    th = check_real("threshold", threshold)
    if not 0.0 < th < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    sb2 = check_real("sigma_b2", sigma_b2, minimum=0.0)
    width = check_int("width", width, minimum=1)
    arms = tuple(Arm(grid_label(s, d), MLPSpec((width,) * d, "tanh"), GaussianInit(s, sb2)) for d in ds for s in sw)
    return Preset(
        name="trainability",
        description=f"tanh MLPs of width {width}: sigma_w2 x depth, sigma_b2 = {sb2:g}, against 6 xi_c",
        config=TrainConfig("sgd", lr, batch_size, steps=steps, grad_norm_steps=()),
        arms=arms,
        seeds=seeds,
        grid=GridSpec(sigma_w2=sw, depths=ds, sigma_b2=sb2, threshold=th),
        budget_seconds=budget_seconds,
        budget_bytes=budget_bytes,
    )


def _trainability(small: bool) -> Preset:
    if small:
        return trainability_preset((1.0, 1.75), (4, 24, 60), steps=300, budget_seconds=300.0)
    sw = tuple(round(1.0 + k / 3, 4) for k in range(10))  # 1, 1.33, ..., 4
    # 1000 steps at lr 0.01: at lr 0.05, or after 200 steps, no cell of 48 layers trains, even at the critical
    # sigma_w2, so the grid would show the step budget rather than the depth scale (docs/training.md).
    return trainability_preset(sw, (4, 8, 12, 16, 24, 32, 48, 100), steps=1000, lr=0.01)


#: The presets by name; each value builds the full preset (``small=False``) or the test-sized one.
PRESETS = {"keras-mlp": _keras_mlp, "depth": _depth, "trainability": _trainability}


def get_preset(name: str, *, small: bool = False) -> Preset:
    """The preset ``name`` (full or small).

    Raises
    ------
    TypeError
        ``name`` is not a str.
    ValueError
        An unknown name; the message lists the presets and suggests the closest.
    """
    if not isinstance(name, str):
        raise TypeError(f"preset must be a str, one of {', '.join(PRESETS)}; got {name!r}")
    if name not in PRESETS:
        raise ValueError(
            f"preset must be one of {', '.join(map(repr, PRESETS))}, got {name!r}" + closest(name, tuple(PRESETS))
        )
    return PRESETS[name](check_bool("small", small))


@dataclass
class PresetResult:
    """The runs of a preset: ``records[i]`` is the run of arm ``labels[i]``; tables, statistics, JSON and figure."""

    preset: Preset
    records: list[RunRecord]
    labels: list[str]
    estimate: Estimate
    wall_seconds: float
    seeds: tuple[int, ...] = field(default_factory=tuple)

    def _arm_of(self) -> dict[int, str]:
        return {id(r): lab for r, lab in zip(self.records, self.labels, strict=True)}

    def bands(self) -> dict[str, Band]:
        """The mean +- 1 s.d. band of test accuracy per arm, over the seeds."""
        groups: dict[str, list[list[float]]] = {}
        for r, lab in zip(self.records, self.labels, strict=True):
            groups.setdefault(lab, []).append(list(r.test_accuracy))
        return {lab: band(lab, curves) for lab, curves in groups.items()}

    def steps(self) -> list[StepsRow]:
        """Steps to the target per arm ("did not reach" where no seed did)."""
        arm = self._arm_of()
        return steps_table(self.records, key=lambda r: arm[id(r)])

    def comparisons(self) -> list[PairedComparison]:
        """The preset's paired comparisons, seed by seed, with the sign test."""
        arm = self._arm_of()
        return [paired_comparison(self.records, a, b, arm=lambda r: arm[id(r)]) for a, b in self.preset.comparisons]

    def verdict(self) -> GridVerdict | None:
        """For the trainability grid: the accuracy per cell against 6 xi_c (:func:`.grid.grid_verdict`)."""
        if self.preset.grid is None:
            return None
        return grid_verdict(self.preset.grid, self.records, self.labels)

    def table(self) -> Any:
        """A rich Table of the arms: final test accuracy (mean +- s.d.) and steps to the target."""
        from .plot import results_table

        return results_table(self)

    def plot(self, path: str | Path) -> None:
        """Write the preset's figure to ``path`` (PNG; needs matplotlib, the ``plot`` extra)."""
        from .plot import write_figure

        write_figure(self, Path(path))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the settings, one record per run (with its arm), bands, steps, comparisons, the verdict."""
        verdict = self.verdict()
        return {
            "preset": self.preset.name,
            "description": self.preset.description,
            "settings": self.preset.settings(),
            "config": self.preset.config.to_dict(),
            "seeds": list(self.seeds),
            "band": "mean +- 1 sample standard deviation (ddof = 1) over seeds, per epoch",
            "estimate": self.estimate.to_dict(),
            "wall_seconds": self.wall_seconds,
            "records": [{"arm": lab, **r.to_dict()} for r, lab in zip(self.records, self.labels, strict=True)],
            "bands": {k: b.to_dict() for k, b in self.bands().items()},
            "steps_to_target": [s.to_dict() for s in self.steps()],
            "comparisons": [c.to_dict() for c in self.comparisons()],
            "grid": None if verdict is None else verdict.to_dict(),
        }


def load_result(path: str | Path, *, small: bool = False) -> PresetResult:
    """A :class:`PresetResult` read back from the JSON of :meth:`PresetResult.to_dict` (to redraw without training).

    The preset is rebuilt by name (``small`` as it was run); the records are the JSON's.

    Raises
    ------
    ValueError
        The file's records do not match the preset's arms.
    """
    import json

    d = json.loads(Path(path).read_text())
    preset = get_preset(d["preset"], small=small)
    if d["preset"] == "trainability" and preset.grid is not None:
        g = d["grid"]
        preset = trainability_preset(
            g["sigma_w2"], g["depths"], sigma_b2=g["sigma_b2"], threshold=g["threshold"],
            steps=d["config"]["steps"], lr=d["config"]["lr"], batch_size=d["config"]["batch_size"],
            width=d["records"][0]["widths"][0], seeds=len(d["seeds"]),
        )  # fmt: skip
    fields = set(RunRecord.__dataclass_fields__)
    records = [RunRecord(**{k: v for k, v in r.items() if k in fields}) for r in d["records"]]
    labels = [r["arm"] for r in d["records"]]
    known = {a.label for a in preset.arms}
    if not set(labels) <= known:
        extra = sorted(set(labels) - known)[:3]
        raise ValueError(f"records must belong to the preset {preset.name!r}, got arms {extra}")
    est = Estimate(**d["estimate"])
    return PresetResult(preset, records, labels, est, float(d["wall_seconds"]), tuple(d["seeds"]))


def run(
    preset: Preset,
    *,
    seeds: int | Sequence[int] | None = None,
    processes: int | None = None,
    progress: bool = True,
) -> PresetResult:
    """Train every arm of ``preset`` over ``seeds`` (an int ``n`` means ``0 .. n-1``; default the preset's).

    The time and memory are estimated first (:func:`.budget.estimate`), and a
    preset over its budget is refused before any run starts.

    Raises
    ------
    TypeError, ValueError
        Bad seeds or processes; ``ValueError`` with the estimate when over budget.
    """
    if seeds is None:
        seeds = preset.seeds
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seed_list = tuple(range(check_int("seeds", seeds, minimum=1)))
    else:
        if not isinstance(seeds, (list, tuple)) or not seeds:
            raise TypeError(f"seeds must be an int >= 1 or a non-empty sequence of ints, got {seeds!r}")
        seed_list = tuple(check_int(f"seeds[{i}]", s, minimum=0) for i, s in enumerate(seeds))
        if len(set(seed_list)) != len(seed_list):
            raise ValueError(f"seeds must be distinct, got {list(seed_list)}")
    if processes is not None:
        processes = check_int("processes", processes, minimum=1)
    check_bool("progress", progress)
    dataset = load_dataset(preset.dataset)  # type: ignore[arg-type]
    jobs = preset.jobs(seed_list)
    est = estimate([arm.spec for arm, _s in jobs], preset.config, dataset, processes=processes)
    check_budget(f"preset {preset.name!r} ({len(jobs)} runs)", est, preset.budget_seconds, preset.budget_bytes)
    t0 = time.perf_counter()
    records = train_many(
        [(arm.spec, arm.init, s) for arm, s in jobs], preset.config, dataset, processes=processes, progress=progress
    )
    wall = time.perf_counter() - t0
    for (arm, s), r in zip(jobs, records, strict=True):
        assert r.seed == s and r.init == init_label(arm.init)
    return PresetResult(preset, records, [arm.label for arm, _s in jobs], est, wall, seed_list)


def run_preset(
    name: str,
    *,
    seeds: int | Sequence[int] | None = None,
    processes: int | None = None,
    progress: bool = True,
    small: bool = False,
) -> PresetResult:
    """Run the preset ``name`` (see the module docstring); ``small`` runs its test-sized variant.

    Raises
    ------
    TypeError, ValueError
        An unknown preset (the closest named), bad seeds or processes, or a run over the budget (with the estimate).
    """
    return run(get_preset(name, small=small), seeds=seeds, processes=processes, progress=progress)


def with_budget(preset: Preset, *, seconds: float | None = None, bytes: int | None = None) -> Preset:
    """``preset`` with other time or memory budgets."""
    return replace(
        preset,
        budget_seconds=preset.budget_seconds if seconds is None else check_real("seconds", seconds, positive=True),
        budget_bytes=preset.budget_bytes if bytes is None else check_int("bytes", bytes, minimum=1),
    )
