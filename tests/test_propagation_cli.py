"""The ``propagate`` and ``gains`` subcommands, driven through a stand-alone argparse parser.

``xinit_bench.cli`` wires :func:`xinit_bench._cli_propagate.register` into the
real CLI; these tests build the same subparsers on a parser of their own, so
they exercise exactly the code the CLI runs, on small networks.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from xinit_bench import _cli_propagate
from xinit_bench.propagation import ACTIVATIONS, PYTORCH_GAINS, critical_gain

SMALL = ["--depth", "3", "--width", "32", "--batch", "16", "--repeats", "2", "--seed", "1"]


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xinit-bench")
    _cli_propagate.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


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
        (["--activation", "swish"], "unknown activation 'swish'"),
        (["--depth", "0"], "depth must be >= 1"),
        (["--width", "0"], "width must be >= 1"),
        (["--depth", "x"], "argument --depth: invalid int value"),
        (["--bias-std", "-1"], "bias_std must be finite and >= 0"),
        (["--widths", "8,8", "--depth", "2"], "not both"),
        (["--widths", "8,a"], "not a comma-separated list of integers"),
        (["--init", "glorot"], "unknown init 'glorot'"),
        (["--activation", "tanh", "--param", "0.1"], "takes no parameter"),
        (["--batch", "0"], "batch must be >= 1"),
        (["--dtype", "float16"], "argument --dtype: invalid choice"),
        (["--preset", "he2015", "--activation", "tanh"], "--preset he2015 fixes the network; drop --activation"),
        (["--preset", "lecun1998"], "argument --preset: invalid choice"),
        (["--plot", "x.png", "--no-plot"], "not allowed with argument"),
        (["--plot", "no/such/dir/x.png"], "does not exist"),
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
