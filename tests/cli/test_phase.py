"""``xinit_bench/cli/phase.py``: ``xinit-bench phase`` end to end on tiny grids, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xinit_bench.cli import main
from xinit_bench.propagation.correlation import depth_scales
from xinit_bench.propagation.phase import PhaseDiagram
from xinit_bench.propagation.plot import matplotlib_available

#: Cells of tanh that are cheap to compute: c* = 1 in the ordered phase, c* = 0 at sigma_b^2 = 0.
TINY = ["--activation", "tanh", "--sigma-w2", "0.5", "2", "4", "--sigma-b2", "0", "0.05", "2"]


def _run(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.known_answer
def test_phase_end_to_end_on_a_tiny_grid(tmp_path: Path, capsys: Any) -> None:
    js = tmp_path / "phase.json"
    argv = ["phase", *TINY, "--json", str(js)]
    png = tmp_path / "phase.png"
    if matplotlib_available():
        argv += ["--plot", str(png)]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert "order-to-chaos line chi_1 = 1" in out and "cells: ordered" in out
    assert all(len(line) <= 100 for line in out.splitlines())
    data = json.loads(js.read_text())
    d = PhaseDiagram.from_dict(data)
    assert d.shape == (2, 4) and d.activation == "tanh"
    assert abs(float(d.line_sigma_w2[0]) - 1.0) <= 1e-7  # tanh's line through (1, 0)
    assert data["edge_of_chaos"] is not None and data["counts"]["ordered"] >= 1
    if matplotlib_available():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.known_answer
def test_phase_json_on_stdout_instead_of_the_tables(capsys: Any) -> None:
    code, out, err = _run(
        ["phase", "--activation", "relu", "--sigma-w2", "1", "3", "5", "--sigma-b2", "0.1", "0.1", "1", "--json"],
        capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["line_sigma_w2"] == [2.0]
    assert data["phase"] == [["ordered", "ordered", "unbounded", "unbounded", "unbounded"]]
    assert data["chi_1"][0][2:] == [None, None, None]


@pytest.mark.known_answer
def test_phase_preset_theory_only(tmp_path: Path, capsys: Any) -> None:
    js = tmp_path / "xi.json"
    code, _out, err = _run(
        ["phase", "--preset", "schoenholz2017", "--sigma-w2", "0.5", "1.5", "3", "--no-monte-carlo", "--json", str(js)],
        capsys,
    )
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["preset"] == "schoenholz2017" and data["monte_carlo"] == []
    assert len(data["xi_c"]) == 3 and all(len(row) == 3 for row in data["xi_c"])
    # sigma_b^2 = 0.01 is critical inside [0.5, 1.5]; 0.05 and 0.3 only beyond it (the line rises with sigma_b^2).
    crit = data["critical_sigma_w2"]
    assert 0.5 < crit[0] < 1.5 and crit[1:] == [None, None]
    assert abs(depth_scales("tanh", crit[0], 0.01).chi_1 - 1.0) <= 1e-9


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--sigma-w2", "2", "1", "3"], "--sigma-w2 must have hi > lo"),
        (["--sigma-w2", "1", "2", "x"], "--sigma-w2 LO HI N: N must be an integer"),
        (["--sigma-b2", "-1", "0", "3"], "--sigma-b2[0] must be"),
        (["--activation", "swish"], "--activation must be one of"),
        (["--sigma-w2", "0.5", "4", "100000", "--sigma-b2", "0", "1", "100000"], "fits in memory"),
        (["--depth", "5"], "give --monte-carlo"),
        (["--monte-carlo", "1.5"], "is not a cell W2,B2"),
        (["--monte-carlo", "1.5,0.1", "--batch", "7"], "batch must be even"),
        (["--preset", "schoenholz2017", "--activation", "relu"], "drop --activation"),
        (["--plot", "phase.svg"], "give a path ending in .png"),
        (["--max-seconds", "0"], "--max-seconds must be > 0"),
    ],
)
def test_phase_refuses_bad_input_in_one_line(
    extra: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _out, err = _run(["phase", *extra], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and needle in lines[0], err
    assert list(tmp_path.iterdir()) == []
