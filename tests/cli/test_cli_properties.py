"""Property tests of the command line: every subcommand on hostile arguments and hostile input files.

A run either succeeds or exits non-zero with exactly one ``error`` line on
stderr, no traceback, and no file written.  Every test is derandomised with
the fixed example budget of :mod:`strategies`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from strategies import budget, json_docs, mostly, texts

from xinit_bench.cli import main

pytestmark = pytest.mark.property


# --- the command line -----------------------------------------------------------------------
def run_cli(argv: list[str], tmp: Path, capsys: Any) -> tuple[int, str]:
    """``main(argv)`` in ``tmp``: the exit code and stderr; no traceback, one line when refused."""
    before = sorted(p.name for p in tmp.iterdir())
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors, one line, exit 2
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    event(f"exit status {code}")
    assert "Traceback" not in err, err
    if code != 0:
        assert len([line for line in err.splitlines() if "error" in line]) == 1, err
        assert sorted(p.name for p in tmp.iterdir()) == before, "a refused command wrote a file"
    return code, err


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@budget("cli_bench")
@given(
    sizes=st.sampled_from(["1K", "64", "1<<100000000000", "1<<40", "0", "x", "1K,1<<70"]),
    repeats=st.sampled_from(["5", "0", "2", "x", "-5"]),
    extra=st.sampled_from([[], ["-o", "/proc/x.json"], ["--json", "out.json"], ["--threads", "0"]]),
)
def test_cli_bench(sizes: str, repeats: str, extra: list[str], tmp_cwd: Path, capsys: Any) -> None:
    argv = [
        "bench",
        "--sizes",
        sizes,
        "--schemes",
        "normal",
        "--dtypes",
        "float32",
        "--repeats",
        repeats,
        "--no-scaling",
        "--no-small-call",
        *extra,
    ]
    code, _ = run_cli(argv, tmp_cwd, capsys)
    if code == 0 and "--json" in extra:
        json.loads((tmp_cwd / "out.json").read_text())


@budget("cli_gate")
@given(
    doc=json_docs,
    repeats=st.sampled_from([None, "2", "x", "5"]),
    extra=st.sampled_from(
        [[], ["--update-baseline"], ["--json", "/proc/x.json"], ["--only", "nope"], ["--baseline", "missing.json"]]
    ),
)
def test_cli_gate(doc: str, repeats: str | None, extra: list[str], tmp_cwd: Path, capsys: Any) -> None:
    figures = tmp_cwd / "figures.json"
    figures.write_text(doc, errors="surrogateescape")
    argv = ["gate", "--from-json", str(figures), "--baseline-dir", str(tmp_cwd / "baselines"), *extra]
    if repeats is not None:
        argv += ["--repeats", repeats]
    run_cli(argv, tmp_cwd, capsys)


@budget("cli_propagate")
@given(
    opt=st.sampled_from(
        [
            "--gain",
            "--depth",
            "--width",
            "--widths",
            "--bias-std",
            "--param",
            "--repeats",
            "--batch",
            "--seed",
            "--input-second-moment",
            "--activation",
            "--init",
            "--dtype",
        ]
    ),
    value=st.one_of(texts, st.sampled_from(["1", "2", "0.5", "3", "1e30", "1e-30"])),
    valid=st.booleans(),
    plot=mostly(st.just(["--no-plot"]), st.sampled_from([["--plot", "/proc/x.png"], ["--plot", "p.txt"]])),
    json_out=mostly(st.sampled_from([[], ["--json"], ["--json", "r.json"]]), st.just(["--json", "/proc/x.json"])),
)
def test_cli_propagate(
    opt: str, value: str, valid: bool, plot: list[str], json_out: list[str], tmp_cwd: Path, capsys: Any
) -> None:
    net = {"--depth": "2", "--width": "4", "--batch": "2", "--repeats": "1"}
    typical = {"--activation": "tanh", "--init": "xavier_normal", "--dtype": "float64", "--widths": "4,3,2"}
    net[opt] = typical.get(opt, value) if valid else value
    if opt == "--widths":
        del net["--depth"], net["--width"]
    argv = ["propagate", *[x for kv in net.items() for x in kv], *plot, *json_out]
    if value.startswith("-") and value != "-":
        argv = ["propagate", *[x for kv in net.items() if kv[0] != opt for x in kv], f"{opt}={value}", *plot, *json_out]
    run_cli(argv, tmp_cwd, capsys)


@budget("cli_gains")
@given(
    q=st.one_of(texts, st.sampled_from(["1", "2", "0.25", "1e-300", "1e300"])),
    json_out=st.sampled_from([[], ["--json"], ["--json", "/proc/x.json"], ["--json", "g.json"]]),
)
def test_cli_gains(q: str, json_out: list[str], tmp_cwd: Path, capsys: Any) -> None:
    code, _ = run_cli(["gains", f"--q={q}", *json_out], tmp_cwd, capsys)
    if code == 0 and json_out[-1:] == ["g.json"]:
        rows = json.loads((tmp_cwd / "g.json").read_text())["rows"]
        assert all(r["forward"]["phase"] in ("ordered", "critical", "chaotic") for r in rows)


@budget("cli_info")
@given(json_out=st.sampled_from([[], ["--json"], ["--json", "/proc/x.json"], ["--json", "."], ["--bogus"]]))
def test_cli_info(json_out: list[str], tmp_cwd: Path, capsys: Any) -> None:
    run_cli(["info", *json_out], tmp_cwd, capsys)


@budget("cli_compile")
@given(
    groups=st.sampled_from(["fills", "propagation", "nope", "", "fills,fills"]),
    dtypes=st.sampled_from(["float32", "float64", "int8", ""]),
    json_out=st.sampled_from([[], ["--json", "/proc/x.json"]]),
)
def test_cli_compile(groups: str, dtypes: str, json_out: list[str], tmp_cwd: Path, capsys: Any) -> None:
    run_cli(["compile", f"--groups={groups}", f"--dtypes={dtypes}", *json_out], tmp_cwd, capsys)
