"""The training engine: reproducible curves, the symmetry of zero weights, the record, parallel runs, bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xinit_bench.training.data import load_dataset  # noqa: E402
from xinit_bench.training.engine import (  # noqa: E402
    RunRecord,
    TrainConfig,
    fit,
    plan_processes,
    train_many,
    train_one,
    usable_cores,
)
from xinit_bench.training.inits import apply_init  # noqa: E402
from xinit_bench.training.models import MLPSpec, build_model  # noqa: E402

SMALL = load_dataset("teacher", n_train=200, n_test=100, dim=10, hidden=16, n_classes=3)
SPEC = MLPSpec((24, 12), "tanh")
CONFIG = TrainConfig("adam", 1e-2, 16, epochs=3, target_accuracy=0.5)
#: The fields a run measures with the clock: the only ones two identical runs may differ in.
TIMED = ("epoch_seconds", "wall_seconds", "seconds_to_target")


def curves(r: RunRecord) -> dict[str, object]:
    return {k: v for k, v in r.to_dict().items() if k not in TIMED}


@pytest.mark.invariance
@pytest.mark.parametrize("threads", [1, 2])
def test_same_seed_and_threads_give_identical_curves(threads: int) -> None:
    spec = MLPSpec((24, 12), "relu", dropout=0.2)  # dropout too: its masks come from the seed
    config = TrainConfig("adam", 1e-2, 16, epochs=3, threads=threads)
    a = train_one(spec, "he_normal", 5, config, SMALL)
    b = train_one(spec, "he_normal", 5, config, SMALL)
    assert a.threads == b.threads == threads
    assert curves(a) == curves(b)
    # The check can fail: another seed changes the weights, the data order and the masks.
    c = train_one(spec, "he_normal", 6, config, SMALL)
    assert c.train_loss != a.train_loss


@pytest.mark.invariance
def test_a_run_reads_nothing_of_torch_state_and_restores_the_threads() -> None:
    torch.manual_seed(0)
    first = train_one(SPEC, "glorot_uniform", 1, CONFIG, SMALL)
    threads = torch.get_num_threads()
    torch.manual_seed(12345)  # another global RNG state: the run must not see it
    state = torch.get_rng_state()
    second = train_one(SPEC, "glorot_uniform", 1, TrainConfig("adam", 1e-2, 16, epochs=3, target_accuracy=0.5), SMALL)
    assert curves(first) == curves(second)
    assert torch.equal(state, torch.get_rng_state())
    assert torch.get_num_threads() == threads


@pytest.mark.known_answer
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_zero_weights_and_biases_keep_every_hidden_unit_of_a_layer_identical(activation: str) -> None:
    # With W = 0 and b = 0 every unit of a hidden layer computes the same function, gets the same gradient and
    # so the same update: the rows of W^l (and the entries of b^l) stay equal through training.  The same
    # arithmetic on equal numbers gives equal results, so the spread is 0 here; the tolerance, 1e-5 of the
    # largest weight (about 80 float32 ulps), only allows a BLAS that sums the columns of one product in
    # different orders.  Under sigmoid (phi(0) = 1/2) the hidden weights do move, so the claim is not vacuous.
    data = load_dataset("digits")
    config = TrainConfig("adam", 1e-2, 32, epochs=2)
    _, model = fit(MLPSpec((16, 8), activation), "zeros", 0, config, data)
    _, control = fit(MLPSpec((16, 8), activation), "normal_small", 0, config, data)
    for trained, symmetric in ((model, True), (control, False)):
        for layer in trained.linears()[:-1]:
            w, b = layer.weight.detach(), layer.bias.detach()
            scale = max(float(w.abs().max()), 1e-30)
            spread = float((w - w[0]).abs().max())
            if symmetric:
                assert spread <= 1e-5 * scale and float((b - b[0]).abs().max()) <= 1e-5 * max(scale, 1.0)
            else:  # the deliberately broken symmetry: small random weights give distinct units
                assert spread > 0.1 * scale
    if activation == "sigmoid":
        assert float(model.layers[0].weight.detach().abs().max()) > 1e-2


@pytest.mark.reference
def test_step_zero_gradient_norms_match_a_full_batch_backward() -> None:
    # With one batch of the whole train set, the step-0 gradient does not depend on the data order; a plain
    # torch backward on a freshly initialised copy is the reference (float32 sums in another order: rtol 1e-5).
    n = len(SMALL.y_train)
    r = train_one(SPEC, "lecun_normal", 2, TrainConfig("sgd", 0.1, n, epochs=2, grad_norm_steps=(0, 1, 5)), SMALL)
    model = build_model(SPEC, SMALL)
    apply_init(model, "lecun_normal", 2, activation="tanh")
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(SMALL.x_train)), torch.from_numpy(SMALL.y_train))
    loss.backward()
    for l, layer in enumerate(model.linears()):
        got = r.grad_norms[f"layers.{l}"]
        assert got[0] == pytest.approx(float(layer.weight.grad.norm()), rel=1e-5)
        assert got[1] is not None and got[1] != got[0]  # step 1: after one update
        assert got[2] is None  # two steps in all: step 5 was never reached
    assert r.steps == 2 and r.eval_steps == [1, 2]


@pytest.mark.known_answer
def test_the_budget_the_target_and_the_record() -> None:
    # 200 train rows in batches of 16: 13 steps an epoch; a budget of 20 steps stops mid-epoch 2.
    r = train_one(SPEC, "glorot_uniform", 0, TrainConfig("adam", 1e-2, 16, epochs=5, steps=20), SMALL)
    assert (r.epochs, r.steps, r.eval_steps) == (2, 20, [13, 20])
    assert all(len(v) == 2 for v in (r.train_loss, r.test_loss, r.train_accuracy, r.test_accuracy, r.epoch_seconds))
    r = train_one(SPEC, "glorot_uniform", 0, TrainConfig("adam", 1e-2, 16, epochs=4, target_accuracy=0.6), SMALL)
    reached = [s for s, a in zip(r.eval_steps, r.test_accuracy, strict=True) if a >= 0.6]
    assert reached and r.steps_to_target == reached[0]
    assert r.seconds_to_target is not None and 0 < r.seconds_to_target <= sum(r.epoch_seconds)
    fine = train_one(
        SPEC, "glorot_uniform", 0, TrainConfig("adam", 1e-2, 16, epochs=4, target_accuracy=0.6, target_every=1), SMALL
    )
    assert fine.steps_to_target is not None and fine.steps_to_target <= r.steps_to_target
    assert fine.test_accuracy == r.test_accuracy  # checking the target more often changes no curve
    never = train_one(SPEC, "zeros", 0, TrainConfig("adam", 1e-2, 16, epochs=1, target_accuracy=1.0), SMALL)
    assert never.steps_to_target is None and never.seconds_to_target is None
    data = json.loads(json.dumps(r.to_dict()))
    assert {"init", "seed", "test_accuracy", "grad_norms", "threads", "wall_seconds"} <= set(data)
    assert data["init"] == "glorot_uniform" and data["widths"] == [24, 12] and len(data["test_accuracy"]) == 4
    assert sorted(data["grad_norms"]) == ["layers.0", "layers.1", "layers.2"]


@pytest.mark.known_answer
def test_a_diverging_run_is_marked() -> None:
    r = train_one(MLPSpec((32,) * 4, "relu"), "normal1", 0, TrainConfig("sgd", 50.0, 16, epochs=2), SMALL)
    assert r.diverged and not all(math.isfinite(v) for v in r.train_loss)


@pytest.mark.invariance
@pytest.mark.slow
def test_worker_processes_give_the_records_of_this_process() -> None:
    # orthogonal too: its init is the first parallel Numba launch of a fresh worker, which resets torch's threads.
    jobs = [(SPEC, init, seed) for init in ("glorot_uniform", "he_normal", "orthogonal") for seed in (0, 1)]
    here = train_many(jobs, CONFIG, SMALL, processes=1, progress=False)
    there = train_many(jobs, CONFIG, SMALL, processes=2, progress=False)
    assert [curves(r) for r in here] == [curves(r) for r in there]
    assert [(r.init, r.seed) for r in there] == [(j[1], j[2]) for j in jobs]


@pytest.mark.invariance
@pytest.mark.skipif(usable_cores() < 2, reason="Numba's default thread count equals the requested one on 1 core")
def test_a_run_in_a_fresh_process_trains_with_the_threads_it_asks_for() -> None:
    # In a process whose Numba threading layer has not launched yet (a fresh worker), the orthogonal init's
    # parallel launch sets OpenMP's thread count, which torch shares, to Numba's (the cores): the run must
    # still train and record with config.threads.  The glorot control makes no parallel launch, so it holds
    # whatever the engine does; the orthogonal case failed (threads 2) before the engine set them after init.
    code = (
        "import torch\n"
        "from xinit_bench.training import MLPSpec, TrainConfig, load_dataset, train_one\n"
        "d = load_dataset('teacher', n_train=64, n_test=32, dim=8, n_classes=3)\n"
        "seen = []\n"
        "mm = torch.nn.functional.linear\n"
        "torch.nn.functional.linear = lambda *a: (seen.append(torch.get_num_threads()), mm(*a))[1]\n"
        "for init in ('glorot_uniform', 'orthogonal'):\n"
        "    r = train_one(MLPSpec((8,), 'tanh'), init, 0, TrainConfig('adam', 1e-2, 16, epochs=1), d)\n"
        "    print(init, r.threads, sorted(set(seen)))\n"
        "    seen.clear()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["glorot_uniform 1 [1]", "orthogonal 1 [1]"], done.stdout


@pytest.mark.known_answer
def test_processes_are_used_only_where_faster() -> None:
    # 1 s runs: 19 more on 2 cores take 19 s here or 4 + 10 s on two workers; 2 more take 2 s here, 5 s there.
    assert plan_processes(19, 1.0, 1, 2) == 2
    assert plan_processes(2, 1.0, 1, 2) == 1
    assert plan_processes(19, 1.0, 2, 2) == 1  # two threads a run leave no core for a second worker
    assert plan_processes(100, 0.01, 1, 16) == 1  # runs too short to pay for a worker's start
    assert plan_processes(160, 10.0, 1, 16) == 16


@pytest.mark.refusal
def test_bad_input_is_refused_before_any_training() -> None:
    with pytest.raises(ValueError, match=r"optimizer must be one of 'adam', 'sgd', got 'adamw' \(did you mean"):
        TrainConfig("adamw", 1e-3, 32, epochs=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lr must be"):
        TrainConfig("adam", 0.0, 32, epochs=1)
    with pytest.raises(ValueError, match="epochs or steps must be given"):
        TrainConfig("adam", 1e-3, 32)
    with pytest.raises(ValueError, match="grad_norm_steps must be increasing"):
        TrainConfig("adam", 1e-3, 32, epochs=1, grad_norm_steps=(10, 0))
    with pytest.raises(ValueError, match=r"target_accuracy must be in \(0, 1\]"):
        TrainConfig("adam", 1e-3, 32, epochs=1, target_accuracy=95.0)
    with pytest.raises(ValueError, match="batch_size must be"):
        TrainConfig("adam", 1e-3, 0, epochs=1)
    with pytest.raises(ValueError, match=r"init must be one of .* \(did you mean 'orthogonal'\?\)"):
        train_one(SPEC, "orthogonl", 0, CONFIG, SMALL)
    with pytest.raises(ValueError, match=r"activation must be one of .* \(did you mean 'sigmoid'\?\)"):
        MLPSpec((8,), "sigmod")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        MLPSpec((8,), "relu", dropout=1.0)
    with pytest.raises(TypeError, match="widths must be a non-empty tuple"):
        MLPSpec((), "relu")
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train_one(SPEC, "zeros", 0, {"lr": 1}, SMALL)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dataset must be a Dataset"):
        train_one(SPEC, "zeros", 0, CONFIG, np.zeros(3))  # type: ignore[arg-type]
    # A bad job anywhere in the list stops train_many before the first run.
    with pytest.raises(ValueError, match=r"jobs\[1\]: init must be one of"):
        train_many([(SPEC, "zeros", 0), (SPEC, "xavier", 0)], CONFIG, SMALL, processes=1, progress=False)
    with pytest.raises(TypeError, match=r"jobs\[0\] must be a \(spec, init, seed\) tuple"):
        train_many([(SPEC, "zeros")], CONFIG, SMALL, progress=False)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="processes must be"):
        train_many([(SPEC, "zeros", 0)], CONFIG, SMALL, processes=0, progress=False)
