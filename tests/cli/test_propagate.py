"""The ``propagate`` and ``gains`` subcommands, driven in-process through the real CLI parser.

:func:`xinit_bench.cli.main` is the console script's entry point; these tests
call it with small networks, so they exercise exactly the code the CLI runs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from xinit_bench import cli
from xinit_bench.propagation import ACTIVATIONS, PYTORCH_GAINS, critical_gain

SMALL = ["--depth", "3", "--width", "32", "--batch", "16", "--repeats", "2", "--seed", "1"]


def _main(argv: list[str]) -> int:
    return cli.main(argv)


def test_propagate_table_plot_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, out = tmp_path / "p.png", tmp_path / "r.json"
    assert (
        _main(
            [
                "propagate",
                "--activation",
                "tanh",
                "--init",
                "xavier_normal",
                *SMALL,
                "--plot",
                str(png),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "q^l theory" in text and "E[(dL/da^l)^2] theory" in text and "±" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.read_text())
    assert data["plot"] == str(png)
    (run,) = data["runs"].values()
    assert run["simulation"]["widths"] == [32, 32, 32, 32]
    assert len(run["simulation"]["layers"]["pre_sq"]["se"]) == 3
    assert len(run["theory"]["pre_sq"]) == 3


def test_propagate_json_to_stdout_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _main(["propagate", "--activation", "relu", *SMALL, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # nothing but JSON on stdout
    # Default plot name, written in the cwd.
    assert data["plot"] == "propagation-relu-he_normal.png"
    assert (tmp_path / data["plot"]).is_file()
    sim = data["runs"]["he_normal"]["simulation"]
    assert sim["activation"] == "relu" and sim["repeats"] == 2


def test_propagate_preset_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "he.png"
    assert _main(["propagate", "--preset", "he2015", "--batch", "8", "--repeats", "2", "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "xavier" in text and "he" in text
    assert png.is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--activation", "swish"],
            "activation must be one of 'linear', 'relu', 'leaky_relu', 'tanh', 'sigmoid', "
            "'elu', 'selu', 'gelu', 'silu', 'softplus', 'mish', 'erf', "
            "'hard_tanh', got 'swish'",
        ),
        (["--depth", "0"], "depth must be an int >= 1, got 0"),
        (["--width", "0"], "width must be an int >= 1, got 0"),
        (["--depth", "x"], "argument --depth: invalid int value"),
        (["--bias-std", "-1"], "--bias-std must be a finite real number >= 0.0, got -1.0"),
        (["--widths", "8,8", "--depth", "2"], "not both"),
        (["--widths", "8,a"], "not a comma-separated list of integers"),
        (["--init", "glorot"], "'lecun_truncated_normal', 'standard', got 'glorot'"),
        (["--activation", "tanh", "--param", "0.1"], "takes no parameter"),
        (["--batch", "0"], "batch must be an int >= 1, got 0"),
        (["--dtype", "float16"], "argument --dtype: invalid choice"),
        (["--preset", "he2015", "--activation", "tanh"], "--preset he2015 fixes the network; drop --activation"),
        (["--preset", "lecun1998"], "argument --preset: invalid choice"),
        (["--plot", "x.png", "--no-plot"], "not allowed with argument"),
        (["--plot", "no/such/dir/x.png"], "does not exist"),
        (["--plot", "/proc/x.png"], "--plot /proc/x.png: "),  # not writable (or no /proc at all)
        (["--json", "no/such/dir/r.json"], "does not exist"),
        (["--json", "."], "is a directory"),
        (["--plot", "x.pdf"], "ending in .png"),
        (["--depth", "50", "--width", "1024", "--batch", "100000000"], "needs an estimated"),
    ],
)
def test_propagate_bad_options_exit_2_in_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        code = _main(["propagate", *argv])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("xinit-bench propagate: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == []  # no partial output


def test_propagate_without_matplotlib_is_refused_before_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinit_bench.cli import propagate

    ran: list[object] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(propagate, "matplotlib_available", lambda: False)
    monkeypatch.setattr(propagate.prop, "simulate", lambda *a, **k: ran.append(a))
    assert _main(["propagate", *SMALL]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("xinit-bench propagate: error: --plot needs matplotlib")
    assert ran == [] and list(tmp_path.iterdir()) == []
    # --no-plot does not need it
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(propagate, "matplotlib_available", lambda: False)
    assert _main(["propagate", *SMALL, "--no-plot"]) == 0


def test_gains_json_to_a_file_keeps_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "gains.json"
    assert _main(["gains", "--json", str(target)]) == 0
    captured = capsys.readouterr()
    assert "critical gains" in captured.out and "gelu" in captured.out
    assert f"wrote {target}" in captured.err
    assert len(json.loads(target.read_text())["rows"]) == len(ACTIVATIONS)


def test_gains_unwritable_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["gains", "--json", str(tmp_path / "no" / "gains.json")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("xinit-bench gains: error: --json ")


def test_info_json_to_stdout_and_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # nothing but JSON on stdout
    assert data["threading_layer"] != "not initialised" and isinstance(data["simd_flags"], list)
    target = tmp_path / "info.json"
    assert _main(["info", "--json", str(target)]) == 0
    assert "xinit-bench info" in capsys.readouterr().out
    assert json.loads(target.read_text())["cpu_key"] == data["cpu_key"]
    assert _main(["info", "--json", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("xinit-bench info: error: --json ")


def test_gains_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["gains"]) == 0
    text = capsys.readouterr().out
    for name in ("gelu", "silu", "sigmoid", "infeasible", "unstable"):
        assert name in text
    assert _main(["gains", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["activation"]: r for r in data["rows"]}
    assert len(rows) == len(ACTIVATIONS)
    assert rows["relu"]["pytorch"] == pytest.approx(math.sqrt(2.0), rel=1e-15)
    assert rows["gelu"]["pytorch"] is None
    assert rows["tanh"]["pytorch"] == PYTORCH_GAINS["tanh"](0.0)
    assert rows["gelu"]["forward"]["gain"] == critical_gain("gelu").gain
    assert rows["sigmoid"]["edge_of_chaos"]["feasible"] is False


def test_gains_bad_q(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["gains", "--q", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "xinit-bench gains: error: --q must be finite and > 0, got -1.0"


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_gains_table_fits_100_columns_with_nothing_cut(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["gains"]) == 0
    text = capsys.readouterr().out
    assert _widest(text) <= 100 and "…" not in text
    # the notes the table has no room for follow it, one per activation
    assert "  sigmoid: infeasible: needs sigma_b^2 = " in text and "  gelu: unstable fixed point (slope " in text


def test_propagate_tables_fit_100_columns_with_nothing_cut(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["propagate", "--activation", "tanh", "--init", "xavier_normal", *SMALL, "--no-plot"]
    assert _main(argv) == 0
    text = capsys.readouterr().out
    assert _widest(text) <= 100 and "…" not in text
    assert "Var[dL/dW^l] theory" in text and "weight gradients" in text


def test_propagate_jacobian_presets_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, out = tmp_path / "pen.png", tmp_path / "pen.json"
    argv = ["propagate", "--preset", "pennington2017", "--width", "16", "--depth", "3", "--repeats", "2"]
    assert _main([*argv, "--plot", str(png), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Var/m1^2 of the eigenvalues of JJ^T" in text and "relu, orthogonal" in text
    assert _widest(text) <= 100 and "…" not in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.read_text())
    rows = [(r["network"], r["depth"]) for r in data["table"]]
    assert ("hard_tanh, gaussian", 2) in rows and ("linear, orthogonal", 3) in rows and len(rows) == 12
    relu = next(r for r in data["table"] if r["network"] == "relu, gaussian" and r["depth"] == 3)
    assert relu["theory_normalised_var"] == pytest.approx(6.0)  # 2L at L = 3
    assert data["runs"]["relu, gaussian"]["3"]["shape"] == [16, 16]
    small = ["--width", "4", "--depth", "2", "--repeats", "2", "--no-plot"]
    assert _main(["propagate", "--preset", "xiao2018", *small]) == 0
    text = capsys.readouterr().out
    assert "tanh CNN, delta-orthogonal" in text and "no prediction" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--activation", "tanh"], "--preset pennington2017 fixes the network; drop --activation"),
        (["--batch", "4"], "drop --batch (only --repeats, --seed, --width and --depth combine with it)"),
        (["--depth", "0"], "--depth must be >= 1, got 0"),
        (["--width", "1"], "--width must be >= 2, got 1"),
        (["--plot", "x.pdf"], "ending in .png"),
    ],
)
def test_propagate_jacobian_preset_bad_options(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _main(["propagate", "--preset", "pennington2017", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("xinit-bench propagate: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == []
