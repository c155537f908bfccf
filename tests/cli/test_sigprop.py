"""``xinit_bench/cli/sigprop.py``: a bad --plot or --json is refused before any model is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinit_bench.cli import main

SMALL = ["sigprop", "--model", "llama", "--layers", "2", "--width", "64", "--vocab", "64", "--length", "8"]


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plot", "x.pdf"], "--plot x.pdf: the plot is a PNG; give a path ending in .png"),
        (["--plot", "no/such/x.png"], "--plot no/such/x.png: directory no/such does not exist"),
        (["--plot", "."], "--plot .: the plot is a PNG; give a path ending in .png"),
        (["--json", "no/such/r.json"], "--json no/such/r.json: directory no/such does not exist"),
        (["--plot", "x.png", "--json", "."], "--json .: is a directory"),
    ],
)
def test_bad_output_paths_are_refused_before_any_work(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinit_bench.cli import sigprop

    built: list[object] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sigprop, "build_model", lambda *a: built.append(a))
    assert main([*SMALL, *argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and "\n" not in err
    assert err == f"xinit-bench sigprop: error: {message}"
    assert built == [] and list(tmp_path.iterdir()) == []


@pytest.mark.refusal
def test_plot_without_matplotlib_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinit_bench.cli import sigprop

    built: list[object] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sigprop, "build_model", lambda *a: built.append(a))
    monkeypatch.setattr(sigprop, "matplotlib_available", lambda: False)
    assert main([*SMALL, "--plot", "x.png"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "xinit-bench sigprop: error: --plot needs matplotlib, the optional 'plot' extra "
        "(pip install 'xinit-bench[plot]')"
    )
    assert built == [] and list(tmp_path.iterdir()) == []


@pytest.mark.structure
def test_the_figure_is_written_and_named_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("matplotlib")
    figure, numbers = tmp_path / "sigprop.png", tmp_path / "sigprop.json"
    assert main([*SMALL, "--preset", "llama", "--plot", str(figure), "--json", str(numbers)]) == 0
    captured = capsys.readouterr()
    assert "preset llama: slope of mean_sq" in captured.out
    assert captured.err == f"wrote {figure}\nwrote {numbers}\n"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and numbers.stat().st_size > 0
