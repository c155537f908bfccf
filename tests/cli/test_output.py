"""``xinit_bench/cli/output.py``: the --plot checks made before any work, and the table/figure/JSON tail."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from xinit_bench.cli.common import STDOUT, UsageError
from xinit_bench.cli.output import plot_target, write_outputs


def _yes() -> bool:
    return True


def _no() -> bool:
    return False


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("name", "available", "switch", "message"),
    [
        # The order of the checks: the suffix first, then the folder, then matplotlib.
        ("x.pdf", _no, False, "--plot x.pdf: the plot is a PNG; give a path ending in .png"),
        ("no/such/x.png", _no, False, "--plot no/such/x.png: directory no/such does not exist"),
        ("x.png", _no, False, "--plot needs matplotlib, the optional 'plot' extra (pip install 'xinit-bench[plot]')"),
        (
            "x.png",
            _no,
            True,
            "--plot needs matplotlib, the optional 'plot' extra (pip install 'xinit-bench[plot]'); or pass --no-plot",
        ),
        ("x.pdf", _yes, True, "--plot x.pdf: the plot is a PNG; give a path ending in .png"),
    ],
)
def test_a_bad_plot_path_is_refused_and_nothing_is_written(
    name: str,
    available: Callable[[], bool],
    switch: bool,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as info:
        plot_target(Path(name), available, no_plot_switch=switch)
    assert str(info.value) == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.refusal
def test_no_plot_asks_nothing_and_a_good_path_is_returned_unwritten(tmp_path: Path) -> None:
    asked: list[bool] = []

    def available() -> bool:
        asked.append(True)
        return True

    assert plot_target(None, available) is None and asked == []
    target = tmp_path / "fig.PNG"  # the suffix is compared without case
    assert plot_target(target, available) == target and asked == [True]
    assert list(tmp_path.iterdir()) == []


def _tail(
    json_to: Path | None, plot_to: Path | None, json_first: bool, capsys: pytest.CaptureFixture[str]
) -> tuple[list[str], str, str]:
    steps: list[str] = []

    def tables() -> None:
        steps.append("tables")
        print("the table")

    def draw(path: Path) -> None:
        steps.append("figure")
        # The JSON written first is already on disk when the figure is drawn.
        if json_to is not None and str(json_to) != STDOUT:
            steps.append("json on disk" if json_to.exists() else "no json yet")
        path.write_bytes(b"png")

    write_outputs(json_to, {"x": float("nan"), "y": 1}, tables, plot_to=plot_to, draw=draw, json_first=json_first)
    captured = capsys.readouterr()
    return steps, captured.out, captured.err


@pytest.mark.known_answer
def test_tables_then_figure_then_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    json_to, plot_to = tmp_path / "r.json", tmp_path / "f.png"
    steps, out, err = _tail(json_to, plot_to, False, capsys)
    assert steps == ["tables", "figure", "no json yet"]
    assert out == "the table\n"
    assert err == f"wrote {plot_to}\nwrote {json_to}\n"
    assert json.loads(json_to.read_text()) == {"x": None, "y": 1} and plot_to.read_bytes() == b"png"


@pytest.mark.known_answer
def test_json_first_keeps_the_numbers_before_the_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    json_to, plot_to = tmp_path / "r.json", tmp_path / "f.png"
    steps, _out, err = _tail(json_to, plot_to, True, capsys)
    assert steps == ["tables", "figure", "json on disk"]
    assert err == f"wrote {json_to}\nwrote {plot_to}\n"


@pytest.mark.known_answer
def test_json_on_stdout_replaces_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps, out, err = _tail(Path(STDOUT), None, False, capsys)
    assert steps == [] and err == ""
    assert json.loads(out) == {"x": None, "y": 1}


@pytest.mark.known_answer
def test_tables_only(capsys: pytest.CaptureFixture[str]) -> None:
    steps, out, err = _tail(None, None, False, capsys)
    assert steps == ["tables"] and out == "the table\n" and err == ""


@pytest.mark.refusal
def test_a_figure_path_without_a_drawer_is_a_type_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(TypeError, match=r"plot_to=.* needs draw"):
        write_outputs(None, {}, lambda: print("the table"), plot_to=tmp_path / "f.png")
    assert capsys.readouterr().out == "" and list(tmp_path.iterdir()) == []
