"""``xinit-bench train``: a run without a preset, its JSON, and every bad option refused before any training."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from xinit_bench.cli import train
from xinit_bench.cli.common import fail, flag_names, one_line_errors, use_flags

INSTALL = "pip install 'xinit-bench[train]'"


def run(argv: list[str]) -> int:
    """``xinit-bench train ARGV`` through the subcommand's own parser, as ``xinit_bench.cli.main`` runs it."""
    parser = one_line_errors(argparse.ArgumentParser(prog="xinit-bench"))
    sub = parser.add_subparsers(dest="command", required=True)
    train.setup_arguments(sub)
    args = parser.parse_args(["train", *argv])
    use_flags(*flag_names(sub.choices["train"]))
    try:
        return int(args.func(args))
    except train.UsageError as exc:
        return fail(train.PROG, str(exc))


QUICK = ["--widths", "16", "--epochs", "2", "--seeds", "2"]


@pytest.mark.known_answer
def test_a_run_without_a_preset_writes_one_record_per_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "runs.json"
    assert run(["--inits", "glorot_uniform,zeros", *QUICK, "--json", str(target)]) == 0
    out = capsys.readouterr().out
    assert "glorot_uniform" in out and "zeros" in out and "did not reach" in out  # zeros stays at chance
    assert max(len(line) for line in out.splitlines()) <= 100
    data = json.loads(target.read_text())
    assert data["dataset"]["name"] == "digits" and data["dataset"]["n_train"] == 1437
    assert (data["config"]["optimizer"], data["config"]["lr"], data["config"]["batch_size"]) == ("adam", 0.001, 32)
    records = data["records"]
    assert [(r["init"], r["seed"]) for r in records] == [
        ("glorot_uniform", 0),
        ("glorot_uniform", 1),
        ("zeros", 0),
        ("zeros", 1),
    ]
    for r in records:
        assert len(r["test_accuracy"]) == 2 and all(0.0 <= a <= 1.0 for a in r["test_accuracy"])
        assert r["threads"] == 1 and r["widths"] == [16] and r["activation"] == "relu"
    assert max(r["test_accuracy"][-1] for r in records if r["init"] == "zeros") < 0.2  # 10 classes: chance is 0.1


@pytest.mark.known_answer
def test_json_alone_goes_to_stdout_instead_of_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--inits", "he_normal", "--dataset", "teacher", "--widths", "8", "--epochs", "1", "--seeds", "1",
                "--json"]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"]["name"] == "teacher" and [r["init"] for r in data["records"]] == ["he_normal"]


BAD = [
    (["--inits", "he_normall"], "--inits must be one of", "did you mean 'he_normal'?"),
    (["--inits", "zeros", "--optimizer", "adamw"], "--optimizer must be one of 'adam', 'sgd'", "did you mean 'adam'?"),
    (["--inits", "zeros", "--activation", "rellu"], "--activation must be one of", "did you mean 'relu'?"),
    (["--inits", "zeros", "--dataset", "digit"], "--dataset must be one of digits, teacher", "did you mean 'digits'?"),
    (["--inits", "zeros", "--seeds", "0"], "--seeds must be >= 1, got 0", ""),
    (["--inits", "zeros", "--processes", "0"], "--processes must be >= 1, got 0", ""),
    (["--inits", "zeros", "--widths", "16,0"], "--widths must be comma-separated integers >= 1", ""),
    (["--inits", "zeros", "--lr", "-1"], "--lr must be", ""),
    (["--inits", "zeros", "--epochs", "0"], "--epochs must be", ""),
    (["--inits", "zeros", "--target", "2"], "--target must be in (0, 1], got 2.0", ""),
    (["--inits", "zeros", "--plot", "x.png"], "--plot draws a preset's figure", ""),
    (["--inits", "zeros", "--small"], "--small is a preset's reduced size", ""),
    (["--preset", "keras-mlp", "--inits", "zeros"], "give --preset NAME or --inits A,B", ""),
    ([], "give --preset NAME or --inits A,B", ""),
    (["--inits", "zeros", "--json", "/no/such/folder/runs.json"], "--json /no/such/folder/runs.json", ""),
]


@pytest.mark.refusal
@pytest.mark.parametrize(("argv", "message", "hint"), BAD)
def test_bad_options_are_refused_in_one_line_before_any_training(
    argv: list[str], message: str, hint: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*_args: object, **_kw: object) -> None:
        raise AssertionError("training started")

    # engine._train is what every entry point (train_one, fit, train_many, a preset's calibration) reaches.
    monkeypatch.setattr("xinit_bench.training.engine._train", no_training)
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("xinit-bench train: error: ") and err.count("\n") == 1
    assert message in err and hint in err, err


@pytest.mark.refusal
def test_without_torch_the_error_names_the_install_line() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from xinit_bench.cli import main\n"
        "sys.exit(main(['train', '--inits', 'zeros']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 2, done.stderr[-800:]
    assert done.stderr.startswith("xinit-bench train: error: ") and INSTALL in done.stderr


@pytest.mark.structure
def test_train_is_a_subcommand_of_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from xinit_bench.cli import main

    assert main(["train", "--inits", "zeros", "--optimizer", "sgdd"]) == 2
    assert "--optimizer must be one of 'adam', 'sgd', got 'sgdd' (did you mean 'sgd'?)" in capsys.readouterr().err


@pytest.mark.refusal
def test_an_unknown_preset_names_the_closest_before_any_training(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*_args: object, **_kw: object) -> None:
        raise AssertionError("training started")

    # engine._train is what every entry point (train_one, fit, train_many, a preset's calibration) reaches.
    monkeypatch.setattr("xinit_bench.training.engine._train", no_training)
    assert run(["--preset", "kerass-mlp"]) == 2
    err = capsys.readouterr().err
    assert "--preset must be one of keras-mlp, depth, trainability" in err and "did you mean 'keras-mlp'?" in err


@pytest.mark.known_answer
def test_a_small_preset_writes_its_table_records_and_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target, figure = tmp_path / "keras.json", tmp_path / "keras.png"
    assert run(["--preset", "keras-mlp", "--small", "--seeds", "2", "--json", str(target), "--plot", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "glorot_uniform" in out and "zeros" in out
    data = json.loads(target.read_text())
    assert data["preset"] == "keras-mlp" and data["seeds"] == [0, 1]
    inits = {r["init"] for r in data["records"]}
    assert {"glorot_uniform", "zeros"} <= inits and len(data["records"]) == 2 * len(inits)
    for r in data["records"]:
        assert {"init", "seed", "test_accuracy"} <= set(r) and r["seed"] in (0, 1)
        assert len(r["test_accuracy"]) == r["epochs"] >= 1
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
