"""The training study's presets: the claims hold in the data, the grid agrees with the theory, bad input is refused.

Each preset runs once, at its ``small`` size (the real optimiser settings;
fewer inits, seeds or cells), in a module-scoped fixture; the tests read it.

Tolerances come from the seed-to-seed spread measured at these settings
(on this 2-core machine, 3 seeds each):

* ``keras-mlp``, ``glorot_uniform`` after 10 epochs: 0.978 +- 0.003 (mean +-
  s.d.). The claim is ``mean >= 0.95``, a margin of about 9 s.d. of one run.
  Zeros stay at chance (0.101 +- 0.002): every hidden unit is the same.
* ``depth``, ReLU, 30 hidden layers of 128, 4 epochs of Adam: He reaches
  0.71 +- 0.14 (2 seeds); N(0, 0.01^2) stays at chance (0.101 +- 0.002), because the
  forward signal shrinks by :math:`128 \\cdot 10^{-4}/2 = 0.0064` per layer
  (:math:`10^{-66}` in variance at the top) and the gradients with it, below
  Adam's epsilon. He's bound 0.5 is 1.5 s.d. below He's mean (the seeds
  are fixed and the engine reproduces a run exactly at one thread, so the
  test cannot flake here); the bound 0.2 on N(0, 0.01^2) is 50 of its s.d.
* ``trainability``, width 64, 300 SGD steps: the cells at L = 4 reach
  0.96, (1.75, 24) 0.88 and (1, 24) 0.77; the cell far above the curve,
  (1, 60) with :math:`6\\xi_c = 21.8`, stays at 0.10. The threshold 0.5 is
  half-way between chance and trained.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from xinit_bench.training import budget as budget_mod
from xinit_bench.training import presets as presets_mod
from xinit_bench.training.budget import Calibration, estimate, run_seconds
from xinit_bench.training.data import load_dataset
from xinit_bench.training.engine import TrainConfig
from xinit_bench.training.grid import FAR, grid_verdict, six_xi
from xinit_bench.training.models import MLPSpec
from xinit_bench.training.presets import (
    PRESETS,
    PresetResult,
    get_preset,
    load_result,
    run,
    run_preset,
    trainability_preset,
)


@pytest.fixture(scope="module")
def keras() -> PresetResult:
    return run_preset("keras-mlp", small=True, progress=False)


@pytest.fixture(scope="module")
def depth() -> PresetResult:
    return run_preset("depth", small=True, progress=False)


@pytest.fixture(scope="module")
def grid() -> PresetResult:
    return run_preset("trainability", small=True, progress=False)


def _finals(result: PresetResult, label: str) -> list[float]:
    return [r.test_accuracy[-1] for r, lab in zip(result.records, result.labels, strict=True) if lab == label]


@pytest.mark.statistical
@pytest.mark.slow
def test_keras_mlp_glorot_uniform_reaches_95_percent_and_beats_zeros_on_every_seed(keras: PresetResult) -> None:
    b = keras.bands()["glorot_uniform"]
    assert b.n == 3 and len(b.mean) == 10
    assert b.mean[-1] >= 0.95, (b.mean[-1], b.sd[-1])
    zeros = keras.bands()["zeros"]
    assert zeros.mean[-1] < 0.2  # chance is 0.1: the symmetric network cannot learn
    c = next(c for c in keras.comparisons() if c.b == "zeros")
    assert (c.wins, c.losses, c.n) == (3, 0, 3)
    assert c.p_value == 0.25  # 3 of 3: 2 * 2**-3, the smallest p three seeds can give


@pytest.mark.statistical
@pytest.mark.slow
def test_depth_30_relu_he_reaches_an_accuracy_small_normal_does_not(depth: PresetResult) -> None:
    he, small = "relu L=30 he_normal", "relu L=30 normal_small"
    he_finals, small_finals = _finals(depth, he), _finals(depth, small)
    assert len(he_finals) == len(small_finals) == 2
    assert min(he_finals) >= 0.5, he_finals
    assert max(small_finals) < 0.2, small_finals  # chance is 0.1
    # N(0, 0.01^2) never reaches what He reaches on its worst seed, at any epoch of the budget.
    curves = [r.test_accuracy for r, lab in zip(depth.records, depth.labels, strict=True) if lab == small]
    assert max(max(c) for c in curves) < min(he_finals)
    assert {row.label: row for row in depth.steps()}[small].cell() == "did not reach"
    c = depth.comparisons()[0]
    assert (c.a, c.b, c.wins, c.losses) == (he, small, 2, 0)


@pytest.mark.statistical
@pytest.mark.slow
def test_trainability_cells_that_train_lie_below_the_curve_and_far_above_do_not(grid: PresetResult) -> None:
    v = grid.verdict()
    assert v is not None
    g = v.grid
    acc = {(d, s): v.accuracy[i, j] for i, d in enumerate(g.depths) for j, s in enumerate(g.sigma_w2)}
    # The shallow cells and (1.75, 24), well below 6 xi_c (22 and 2557), train.
    for cell in ((4, 1.0), (4, 1.75), (24, 1.75)):
        assert acc[cell] >= g.threshold, (cell, acc[cell])
    # (1, 60) is far above: 60 > 2 x 21.8.
    assert FAR * v.curve[0] < 60
    assert acc[(60, 1.0)] < g.threshold
    assert v.far_above_untrained == 1.0 and v.n_far_above == 1
    # Every cell that trains lies within the tolerance factor of the curve.
    depths = [d for d in g.depths for _s in g.sigma_w2]
    curve = [c for _d in g.depths for c in v.curve]
    for d, c, t in zip(depths, curve, v.trains.ravel(), strict=True):
        assert not t or d <= FAR * c


@pytest.mark.statistical
@pytest.mark.slow
def test_the_wrong_theory_and_the_wrong_threshold_fail_the_grid(grid: PresetResult) -> None:
    """6 xi_q (the length scale, ~10 layers) in place of 6 xi_c, or a threshold below chance, break the agreement."""
    g = grid.preset.grid
    assert g is not None
    wrong_scale = grid_verdict(g, grid.records, grid.labels, scale="xi_q")
    assert wrong_scale.far_above_untrained < 1.0  # the L = 24 cells train although far above 6 xi_q
    wrong_threshold = grid_verdict(g, grid.records, grid.labels, threshold=0.05)
    assert wrong_threshold.far_above_untrained < 1.0  # chance-level cells now count as trained


@pytest.mark.reference
def test_six_xi_c_matches_an_independent_quadrature_at_the_ordered_end() -> None:
    """In the ordered phase xi_c = -1/ln chi_1 with chi_1 = sigma_w2 E[sech^4(sqrt(q*) z)]; q* by iteration here."""
    import numpy as np

    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    q = 1.0
    for _ in range(500):
        q = 1.0 * float(np.sum(w * np.tanh(math.sqrt(q) * z) ** 2)) + 0.05
    chi1 = float(np.sum(w * (1 - np.tanh(math.sqrt(q) * z) ** 2) ** 2))
    assert six_xi("tanh", (1.0,), 0.05)[0] == pytest.approx(-6.0 / math.log(chi1), rel=1e-6)


@pytest.mark.structure
@pytest.mark.slow
def test_json_holds_one_record_per_run_with_init_seed_and_curves(keras: PresetResult, tmp_path: Path) -> None:
    d = json.loads(json.dumps(keras.to_dict()))
    assert len(d["records"]) == 3 * 3
    for rec in d["records"]:
        assert {"init", "seed", "test_accuracy", "arm"} <= set(rec)
        assert len(rec["test_accuracy"]) == 10
    assert d["settings"].startswith("Adam lr 0.001, batch 32, 10 epochs")
    assert "standard deviation" in d["band"]
    path = tmp_path / "keras.json"
    path.write_text(json.dumps(keras.to_dict()))
    back = load_result(path, small=True)
    assert back.labels == keras.labels
    assert back.bands()["glorot_uniform"].mean.tolist() == keras.bands()["glorot_uniform"].mean.tolist()
    assert [c.to_dict() for c in back.comparisons()] == [c.to_dict() for c in keras.comparisons()]


@pytest.mark.structure
@pytest.mark.slow
def test_figures_and_tables_render(
    keras: PresetResult, depth: PresetResult, grid: PresetResult, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    from rich.console import Console

    for res in (keras, depth, grid):
        path = tmp_path / f"{res.preset.name}.png"
        res.plot(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        console = Console(width=120, record=True)
        console.print(res.table())
        assert res.preset.name in console.export_text()


@pytest.mark.known_answer
def test_the_time_model_is_the_stated_formula() -> None:
    data = load_dataset("digits")
    cal = Calibration(overhead=1e-4, flops_per_second=1e9)
    cfg = TrainConfig("adam", 1e-3, 32, epochs=2)
    spec = MLPSpec((128, 64), "relu")
    macs = 64 * 128 + 128 * 64 + 64 * 10
    steps = 2 * math.ceil(1437 / 32)
    want = steps * (3e-4 + 6 * 32 * macs / 1e9) + 4 * (3e-4 + 2 * 1437 * macs / 1e9)
    assert run_seconds(spec, cfg, data, cal) == pytest.approx(want, rel=1e-12)
    one = estimate([spec], cfg, data, processes=1, calibration=cal)
    assert one.seconds == pytest.approx(want) and one.processes == 1


@pytest.mark.refusal
def test_unknown_preset_suggests_the_closest() -> None:
    with pytest.raises(
        ValueError, match=r"preset must be one of 'keras-mlp', 'depth', 'trainability', got 'keras_mlp'"
    ):
        run_preset("keras_mlp")
    with pytest.raises(ValueError, match=r"did you mean 'trainability'\?"):
        get_preset("trainabilty")
    with pytest.raises(TypeError, match="preset must be a str"):
        get_preset(3)  # type: ignore[arg-type]
    assert set(PRESETS) == {"keras-mlp", "depth", "trainability"}


@pytest.mark.refusal
def test_a_grid_over_the_time_or_memory_budget_is_refused_with_the_estimate(monkeypatch: Any) -> None:
    def never(*_a: Any, **_k: Any) -> None:
        raise AssertionError("a refused grid must not train")

    monkeypatch.setattr(presets_mod, "train_many", never)
    monkeypatch.setattr(budget_mod, "calibrate", lambda *_a: Calibration(overhead=1e-4, flops_per_second=1e10))
    huge = trainability_preset([1.0 + k / 10 for k in range(30)], list(range(100, 2100, 100)), steps=2000)
    with pytest.raises(ValueError, match=r"estimated at about [\d.]+ h \(600 runs on \d processes\).*over the time"):
        run(huge, progress=False)
    wide = trainability_preset([1.0], [2], width=100_000, budget_seconds=1e9)
    with pytest.raises(ValueError, match=r"GiB, over the memory budget of 8.00 GiB"):
        run(wide, progress=False)


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"sigma_w2": [2.0, 1.0]}, ValueError, "sigma_w2 must be a non-empty increasing sequence"),
        ({"depths": []}, ValueError, "depths must be a non-empty increasing sequence"),
        ({"threshold": 1.5}, ValueError, r"threshold must be in \(0, 1\), got 1.5"),
        ({"sigma_w2": [-1.0]}, ValueError, r"sigma_w2\[0\] must be"),
        ({"depths": [1.5]}, TypeError, r"depths\[0\] must be an int"),
    ],
)
def test_trainability_preset_refuses_bad_axes(kwargs: dict[str, Any], exc: type[Exception], match: str) -> None:
    args: dict[str, Any] = {"sigma_w2": [1.0, 2.0], "depths": [2, 4]} | kwargs
    with pytest.raises(exc, match=match):
        trainability_preset(args.pop("sigma_w2"), args.pop("depths"), **args)


@pytest.mark.refusal
def test_run_refuses_bad_seeds_before_training() -> None:
    p = get_preset("keras-mlp", small=True)
    with pytest.raises(ValueError, match="seeds must be an int >= 1"):
        run(p, seeds=0)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        run(p, seeds=[1, 1])
    with pytest.raises(TypeError, match="seeds must be an int >= 1 or a non-empty sequence"):
        run(p, seeds="3")  # type: ignore[arg-type]
