"""``xinit-bench propagate --net FILE``, the network presets and ``--speed`` options, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xinit_bench import cli
from xinit_bench import propagation as xp

TOML = """input = 32
[[layers]]
type = "dense"
width = 32
[[layers]]
type = "residual"
alpha = 0.5
repeat = 3
branch = [{type = "act", activation = "relu"}, {type = "dense", width = 32}]
[[layers]]
type = "layernorm"
[[layers]]
type = "act"
activation = "tanh"
"""


@pytest.mark.known_answer
def test_net_file_table_plot_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net.toml").write_text(TOML)
    png, out = tmp_path / "net.png", tmp_path / "net.json"
    argv = ["propagate", "--net", str(tmp_path / "net.toml"), "--batch", "16", "--repeats", "2", "--seed", "3"]
    assert cli.main([*argv, "--plot", str(png), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "E[x^2] theory" in text and "LayerNorm" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.read_text())
    run = data["runs"]["net"]
    net = xp.load_network(tmp_path / "net.toml")
    assert run["theory"]["forward"] == xp.predict(net).forward.tolist()
    sim = xp.simulate(net, batch=16, repeats=2, seed=3)
    assert np.array_equal(np.array(run["simulation"]["forward"]["per_repeat"]), sim.per_repeat_forward)


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--net", "{d}/bad.json"], "bad.json: layer 1 (dense): unknown key 'widht'"),
        (["--net", "{d}/net.toml", "--depth", "3"], "--net describes the network; drop --depth"),
        (["--net", "{d}/net.toml", "--preset", "pre-post-ln"], "give one of --net, --preset and --speed"),
        (["--preset", "resnet-scaling", "--activation", "relu"], "--preset describes the network; drop --activation"),
        (["--net", "{d}/missing.toml"], "missing.toml"),
    ],
)
def test_bad_network_options_exit_2_before_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (tmp_path / "net.toml").write_text(TOML)
    (tmp_path / "bad.json").write_text('{"input": 4, "layers": [{"type": "dense", "widht": 4}]}')
    args = [a.replace("{d}", str(tmp_path)) for a in argv]
    assert cli.main(["propagate", *args, "--no-plot"]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "net.toml"]


@pytest.mark.known_answer
def test_network_preset_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.json"
    argv = ["propagate", "--preset", "pre-post-ln", "--batch", "8", "--repeats", "2", "--no-plot", "--json", str(out)]
    assert cli.main(argv) == 0
    data = json.loads(out.read_text())
    assert sorted(data["runs"]) == ["post-LN", "pre-LN"]
    assert data["runs"]["pre-LN"]["theory"]["forward"][-1] == pytest.approx(13.0, rel=1e-4)
