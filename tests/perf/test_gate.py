"""The regression gate: it passes the real code, catches a real 2x slowdown, and rejects bad input cleanly.

The slowdown is not simulated in the numbers: the gate measures a variant
of the xinit-bench call that runs the kernel twice, on the same buffer,
interleaved with the same references as the real one.  Those three tests
compare a stored figure with one measured seconds later, unpaired, so they
carry the ``timing`` marker and run with ``--timing`` (``make perf``), not in
the correctness suite: one read 1.52x its baseline figure against the 1.40x
allowed in a ``make test`` on an idle machine.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from xinit_bench import cli
from xinit_bench.cli import gate as gate_cli
from xinit_bench.perf import cases
from xinit_bench.perf.baseline import BASELINE_FORMAT, load_baseline, write_baseline
from xinit_bench.perf.errors import ExitCode, GateError
from xinit_bench.perf.figures import Figure, measure_figures
from xinit_bench.perf.gate_ab import ABOptions
from xinit_bench.perf.gate_baseline import BaselineOptions

#: Two cheap cases: one memory-bound fill, one transcendental transform.
CASES = (cases.Case("symmetric_uniform", "float32", 1 << 20), cases.Case("normal", "float32", 1 << 20))
NAMES = [c.name for c in CASES]


def run_gate(argv: list[str], **kwargs: object) -> tuple[int, str, str]:
    """Run the gate in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    args = cli.build_parser().parse_args(["gate", *argv])
    code = gate_cli.execute(args, out=out, err=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def only(names: list[str]) -> list[str]:
    return [arg for name in names for arg in ("--only", name)]


def twice(case: cases.Case, out: object) -> cases.Call:
    """The real xinit-bench call, made twice: a kernel exactly 2x slower."""
    call = cases.xinit_call(case, out)  # type: ignore[arg-type]

    def slowed() -> object:
        call()
        return call()

    return slowed


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline of the real code, measured now on this machine."""
    path = tmp_path_factory.mktemp("gate") / "baseline.json"
    code, _, err = run_gate(["--baseline", str(path), "--update-baseline", "--repeats", "7", *only(NAMES)])
    assert code == ExitCode.OK, err
    return path


@pytest.mark.timing
def test_gate_passes_the_real_code(baseline: Path) -> None:
    code, out, err = run_gate(["--baseline", str(baseline), "--repeats", "7", *only(NAMES)])
    assert code == ExitCode.OK, out + err
    assert "REGRESSION" not in out


@pytest.mark.timing
def test_gate_catches_a_2x_slowdown(baseline: Path) -> None:
    code, out, err = run_gate(["--baseline", str(baseline), "--repeats", "7", *only(NAMES)], xinit_factory=twice)
    assert code == ExitCode.REGRESSION, out + err
    for name in NAMES:
        assert f"regression: {name}" in err


@pytest.mark.timing
def test_slowed_figure_is_about_twice_the_real_one() -> None:
    real = measure_figures(CASES[:1], repeats=7)
    slow = measure_figures(CASES[:1], repeats=7, xinit_factory=twice)
    ratio = slow[NAMES[0]].norm / real[NAMES[0]].norm
    assert 1.5 < ratio < 2.7


def write_pytest_json(path: Path, figures: dict[str, float]) -> Path:
    """A minimal pytest-benchmark JSON whose xinit members carry gate figures."""
    benchmarks = [
        {
            "name": f"test_fill[xinit-{name}]",
            "group": name,
            "extra_info": {"gate": {"name": name, "norm": norm, "vs_numpy": norm, "vs_fill": norm}},
        }
        for name, norm in figures.items()
    ]
    path.write_text(json.dumps({"benchmarks": benchmarks}))
    return path


@pytest.fixture()
def small_baseline(tmp_path: Path) -> Path:
    path = tmp_path / "base.json"
    figures = {name: Figure(name, 1.0, 1.0, 1.0) for name in NAMES}
    write_baseline(path, figures, None, "test")
    return path


def test_json_input_at_baseline_passes(tmp_path: Path, small_baseline: Path) -> None:
    data = write_pytest_json(tmp_path / "in.json", dict.fromkeys(NAMES, 1.05))
    code, out, _ = run_gate(["--baseline", str(small_baseline), "--from-json", str(data)])
    assert code == ExitCode.OK
    assert NAMES[0] in out


def test_json_input_regression_and_improvement_are_both_reported(tmp_path: Path, small_baseline: Path) -> None:
    data = write_pytest_json(tmp_path / "in.json", {NAMES[0]: 2.0, NAMES[1]: 0.5})
    code, out, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(data)])
    assert code == ExitCode.REGRESSION
    assert "REGRESSION" in out and "improved" in out
    assert f"regression: {NAMES[0]} is 2.00x" in err
    assert f"improved: {NAMES[1]} is 0.50x" in err


def test_json_output(tmp_path: Path, small_baseline: Path) -> None:
    data = write_pytest_json(tmp_path / "in.json", {NAMES[0]: 2.0, NAMES[1]: 1.0})
    code, out, _ = run_gate(["--baseline", str(small_baseline), "--from-json", str(data), "--json"])
    parsed = json.loads(out)
    assert code == parsed["exit_code"] == ExitCode.REGRESSION
    assert {b["name"]: b["status"] for b in parsed["benchmarks"]} == {NAMES[0]: "REGRESSION", NAMES[1]: "ok"}


def test_json_to_a_file_keeps_the_table(tmp_path: Path, small_baseline: Path) -> None:
    data = write_pytest_json(tmp_path / "in.json", {NAMES[0]: 2.0, NAMES[1]: 1.0})
    target = tmp_path / "gate.json"
    code, out, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(data), "--json", str(target)])
    assert code == ExitCode.REGRESSION
    assert "REGRESSION" in out and NAMES[0] in out  # the table still prints
    parsed = json.loads(target.read_text())
    assert parsed["exit_code"] == ExitCode.REGRESSION
    assert {b["name"]: b["status"] for b in parsed["benchmarks"]} == {NAMES[0]: "REGRESSION", NAMES[1]: "ok"}
    assert f"wrote {target}" in err


@pytest.mark.parametrize("where", ["missing-dir", "directory"])
def test_unwritable_json_path_is_refused_before_measuring(tmp_path: Path, where: str) -> None:
    target = tmp_path / "no" / "such" / "gate.json" if where == "missing-dir" else tmp_path
    measured: list[str] = []

    def never(case: cases.Case, out: object) -> cases.Call:
        measured.append(case.name)
        return cases.xinit_call(case, out)  # type: ignore[arg-type]

    code, out, err = run_gate(
        ["--baseline-dir", str(tmp_path / "empty"), *only(NAMES[:1]), "--json", str(target)], xinit_factory=never
    )
    assert code == ExitCode.BAD_INPUT
    assert measured == [] and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("xinit-bench gate: error: --json ")


def test_per_benchmark_tolerance_survives_an_update(tmp_path: Path, small_baseline: Path) -> None:
    data = json.loads(small_baseline.read_text())
    data["benchmarks"][NAMES[0]]["tolerance"] = 1.5
    small_baseline.write_text(json.dumps(data))
    figures = write_pytest_json(tmp_path / "in.json", {NAMES[0]: 2.0, NAMES[1]: 1.0})
    code, _, _ = run_gate(["--baseline", str(small_baseline), "--from-json", str(figures)])
    assert code == ExitCode.OK
    code, _, _ = run_gate(["--baseline", str(small_baseline), "--from-json", str(figures), "--update-baseline"])
    assert code == ExitCode.OK
    assert load_baseline(small_baseline).entries[NAMES[0]].tolerance == 1.5
    assert load_baseline(small_baseline).entries[NAMES[0]].norm == 2.0


# --- bad input: a clear message, a distinct exit code, never a traceback --------
def test_exit_codes() -> None:
    # 0 pass, 1 regression, 2 bad input, 3 environment: a script can tell a slowdown from a broken run
    assert {c.name: int(c) for c in ExitCode} == {"OK": 0, "REGRESSION": 1, "BAD_INPUT": 2, "ENVIRONMENT": 3}


def check_error(code: int, err: str, expected: ExitCode, words: str) -> None:
    assert code == expected, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("xinit-bench gate: error: "), err
    assert words in err


def test_missing_explicit_baseline(tmp_path: Path) -> None:
    code, _, err = run_gate(["--baseline", str(tmp_path / "nope.json"), *only(NAMES[:1])])
    check_error(code, err, ExitCode.BAD_INPUT, "does not exist")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "top level is not an object"),
        (json.dumps({"format": "other/1", "cpu": "x", "benchmarks": {}}), '"format"'),
        (
            json.dumps({"format": BASELINE_FORMAT, "cpu": "x", "benchmarks": {"a": {"norm": "fast"}}}),
            "no positive finite 'norm'",
        ),
    ],
    ids=["syntax", "list", "format", "field"],
)
def test_corrupt_baseline(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, _, err = run_gate(["--baseline", str(path), *only(NAMES[:1])])
    check_error(code, err, ExitCode.BAD_INPUT, words)


def test_missing_input_json(tmp_path: Path, small_baseline: Path) -> None:
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(tmp_path / "none.json")])
    check_error(code, err, ExitCode.BAD_INPUT, "does not exist")


@pytest.mark.parametrize(("content", "words"), [("{{", "not valid JSON"), ('{"x": 1}', "not pytest-benchmark")])
def test_unreadable_input_json(tmp_path: Path, small_baseline: Path, content: str, words: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(content)
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    check_error(code, err, ExitCode.BAD_INPUT, words)


@pytest.mark.parametrize(
    ("benchmarks", "words"),
    [([], "contains no benchmarks"), ([{"name": "test_x", "extra_info": {}}], "carries gate figures")],
    ids=["empty", "no-gate-figures"],
)
def test_json_with_no_benchmarks(tmp_path: Path, small_baseline: Path, benchmarks: list[object], words: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"benchmarks": benchmarks}))
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    check_error(code, err, ExitCode.BAD_INPUT, words)


def test_unknown_benchmark_name_on_the_command_line(small_baseline: Path) -> None:
    code, _, err = run_gate(["--baseline", str(small_baseline), "--only", "gaussian-float32-1M"])
    check_error(code, err, ExitCode.BAD_INPUT, "gaussian-float32-1M")


def test_unknown_benchmark_name_not_in_baseline(small_baseline: Path) -> None:
    code, _, err = run_gate(["--baseline", str(small_baseline), "--only", "uniform-float64-1M"])
    check_error(code, err, ExitCode.BAD_INPUT, "not in the baseline")


def test_unknown_benchmark_name_in_json(tmp_path: Path, small_baseline: Path) -> None:
    data = write_pytest_json(tmp_path / "in.json", {NAMES[0]: 1.0, "uniform-float64-16M": 1.0})
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(data)])
    check_error(code, err, ExitCode.BAD_INPUT, "uniform-float64-16M")


def test_no_baseline_for_this_cpu_warns_and_passes(tmp_path: Path) -> None:
    data = write_pytest_json(tmp_path / "in.json", {NAMES[0]: 3.0})
    code, _, err = run_gate(["--baseline-dir", str(tmp_path / "empty"), "--from-json", str(data)])
    assert code == ExitCode.OK
    assert "no baseline for this CPU" in err


def test_command_line_reports_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "xinit_bench.cli", "gate", "--baseline", str(path), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == ExitCode.BAD_INPUT
    assert "Traceback" not in proc.stderr
    assert "not valid JSON" in proc.stderr


# --- impossible figures and malformed JSON: exit 2, one line ----------------------------
def gate_json(path: Path, benchmarks: object) -> Path:
    path.write_text(json.dumps({"benchmarks": benchmarks}))
    return path


@pytest.mark.parametrize(
    "norm",
    ["NaN", "Infinity", "-Infinity", "1e999", "0", "0.0", "-5", '"fast"', "true", "null"],
)
def test_impossible_figure_is_bad_input(tmp_path: Path, small_baseline: Path, norm: str) -> None:
    # a NaN, zero or negative time ratio used to pass, or count as "improved"
    figures = f'{{"name": "{NAMES[0]}", "norm": {norm}, "vs_numpy": 1, "vs_fill": 1}}'
    path = tmp_path / "in.json"
    path.write_text(f'{{"benchmarks": [{{"name": "test_x", "extra_info": {{"gate": {figures}}}}}]}}')
    code, out, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    check_error(code, err, ExitCode.BAD_INPUT, f"{NAMES[0]} has gate figure norm = ")
    assert "a time ratio must be a positive finite number" in err
    assert "improved" not in out + err


@pytest.mark.parametrize("key", ["vs_numpy", "vs_fill"])
def test_impossible_secondary_figure_is_bad_input(tmp_path: Path, small_baseline: Path, key: str) -> None:
    figures = {"name": NAMES[0], "norm": 1.0, "vs_numpy": 1.0, "vs_fill": 1.0, key: -1.0}
    path = gate_json(tmp_path / "in.json", [{"name": "t", "extra_info": {"gate": figures}}])
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    check_error(code, err, ExitCode.BAD_INPUT, f"gate figure {key} = -1.0")


def test_extra_info_null_is_skipped_not_a_traceback(tmp_path: Path, small_baseline: Path) -> None:
    good = {"name": NAMES[0], "norm": 1.0, "vs_numpy": 1.0, "vs_fill": 1.0}
    path = gate_json(
        tmp_path / "in.json", [{"name": "numpy", "extra_info": None}, {"name": "x", "extra_info": {"gate": good}}]
    )
    code, out, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    assert code == ExitCode.OK, err
    assert NAMES[0] in out and "Traceback" not in err


def test_only_extra_info_null_means_no_gate_figures(tmp_path: Path, small_baseline: Path) -> None:
    path = gate_json(tmp_path / "in.json", [{"name": "test_x", "extra_info": None}])
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    check_error(code, err, ExitCode.BAD_INPUT, "carries gate figures")


@pytest.mark.parametrize(
    ("benchmarks", "words"),
    [
        ([{"name": "t", "extra_info": 5}], '"extra_info" that is not an object'),
        ([{"name": "t", "extra_info": {"gate": [1, 2]}}], 'extra_info "gate" that is not an object'),
        ([{"name": "t", "extra_info": {"gate": {"norm": 1.0}}}], "gate figures with no name"),
        ([3], "benchmark #0 is not an object"),
    ],
    ids=["extra-info-number", "gate-list", "gate-no-name", "entry-number"],
)
def test_malformed_entries_are_bad_input(tmp_path: Path, small_baseline: Path, benchmarks: object, words: str) -> None:
    path = gate_json(tmp_path / "in.json", benchmarks)
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    check_error(code, err, ExitCode.BAD_INPUT, words)


@pytest.mark.parametrize("where", ["from-json", "baseline"])
def test_deeply_nested_json_is_bad_input(tmp_path: Path, small_baseline: Path, where: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    argv = (
        ["--baseline", str(small_baseline), "--from-json", str(path)]
        if where == "from-json"
        else ["--baseline", str(path), *only(NAMES[:1])]
    )
    code, _, err = run_gate(argv)
    check_error(code, err, ExitCode.BAD_INPUT, "nested too deeply")


def test_non_utf8_json_is_bad_input(tmp_path: Path, small_baseline: Path) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(b'{"benchmarks": ["\xff\xfe"]}')
    code, _, err = run_gate(["--baseline", str(small_baseline), "--from-json", str(path)])
    check_error(code, err, ExitCode.BAD_INPUT, "is not readable")


def test_baseline_with_a_nan_figure_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    entry = '{"norm": NaN, "vs_numpy": 1, "vs_fill": 1, "tolerance": 0.4}'
    head = json.dumps({"format": BASELINE_FORMAT, "cpu": "x"})[:-1]
    path.write_text(f'{head}, "benchmarks": {{"{NAMES[0]}": {entry}}}}}')
    code, _, err = run_gate(["--baseline", str(path), *only(NAMES[:1])])
    check_error(code, err, ExitCode.BAD_INPUT, "no positive finite 'norm'")


@pytest.mark.parametrize("option", ["--baseline-dir", "--baseline"])
def test_unwritable_baseline_location_is_refused_before_measuring(tmp_path: Path, option: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    target = blocker / "baselines" if option == "--baseline-dir" else blocker / "base.json"
    measured: list[str] = []

    def never(case: cases.Case, out: object) -> cases.Call:
        measured.append(case.name)
        return cases.xinit_call(case, out)  # type: ignore[arg-type]

    code, out, err = run_gate([option, str(target), "--update-baseline", *only(NAMES[:1])], xinit_factory=never)
    check_error(code, err, ExitCode.BAD_INPUT, f"{blocker} is not a directory")
    assert measured == [] and out == ""


# --- one options type per mode; the other mode's options are refused ---------------------------
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--repo", "."], "--repo belongs to the A/B gate; add --against REF, or leave it out"),
        (["--threshold", "1.2"], "--threshold belongs to the A/B gate; add --against REF"),
        (["--confidence", "0.95"], "--confidence belongs to the A/B gate; add --against REF"),
        (["--rounds", "3"], "--rounds belongs to the A/B gate"),
        (["--pairs", "0"], "--pairs belongs to the A/B gate"),
        (
            ["--rounds", "3", "--pairs", "8"],
            "--rounds, --pairs belong to the A/B gate; add --against REF, or leave them",
        ),
    ],
)
def test_ab_options_without_against_are_refused_by_name(
    tmp_path: Path, small_baseline: Path, extra: list[str], words: str
) -> None:
    # Dropped without a word, such an option would make a run that reads like an A/B run measure
    # against a baseline instead; it is refused before anything is measured.
    measured: list[str] = []

    def never(case: cases.Case, out: object) -> cases.Call:
        measured.append(case.name)
        return cases.xinit_call(case, out)  # type: ignore[arg-type]

    code, out, err = run_gate(["--baseline", str(small_baseline), *only(NAMES[:1]), *extra], xinit_factory=never)
    check_error(code, err, ExitCode.BAD_INPUT, words)
    assert measured == [] and out == ""


def test_each_options_type_holds_its_own_modes_options_and_the_cli_names_them_all() -> None:
    ab_fields = {f.name for f in dataclasses.fields(ABOptions)}
    baseline_fields = {f.name for f in dataclasses.fields(BaselineOptions)}
    assert ab_fields & baseline_fields == {"only"}  # the one option both modes take
    assert ab_fields == {"against", "only", *gate_cli.AB_FLAGS}
    assert baseline_fields == {"only", *gate_cli.BASELINE_FLAGS}


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: ABOptions(5), TypeError, "against must be a git revision (str), got 5"),  # type: ignore[arg-type]
        (lambda: ABOptions("HEAD", only=NAMES[0]), TypeError, "only must be a sequence of benchmark names"),
        (lambda: ABOptions("HEAD", rounds="3"), TypeError, "rounds must be an int, got '3'"),  # type: ignore[arg-type]
        (lambda: ABOptions("HEAD", threshold=True), TypeError, "threshold must be a real number, got True"),
        (lambda: ABOptions("HEAD", repo=3), TypeError, "repo must be a path"),  # type: ignore[arg-type]
        (lambda: ABOptions("HEAD", only=["nope"]), GateError, "unknown benchmark name"),
        (lambda: ABOptions("HEAD", confidence=0.4), GateError, "--confidence must be in (0.5, 1), got 0.4"),
        (lambda: BaselineOptions(quick="yes"), TypeError, "quick must be a bool"),  # type: ignore[arg-type]
        (lambda: BaselineOptions(repeats=2.5), TypeError, "repeats must be an int or None"),  # type: ignore[arg-type]
        (lambda: BaselineOptions(repeats=2), GateError, "--repeats must be at least 3, got 2"),
        (lambda: BaselineOptions(threads=0), ValueError, "threads must be an int in [1, "),
        (lambda: BaselineOptions(from_json=7), TypeError, "from_json must be a path"),  # type: ignore[arg-type]
        (lambda: BaselineOptions(only=("nope",)), GateError, "unknown benchmark name"),
    ],
)
def test_options_are_checked_when_made(make: Callable[[], object], error: type[Exception], words: str) -> None:
    with pytest.raises(error) as caught:
        make()
    assert words in str(caught.value)
    if error is GateError:
        assert caught.value.code == ExitCode.BAD_INPUT  # type: ignore[attr-defined]


def test_options_keep_what_they_are_given_as_paths_and_tuples(tmp_path: Path) -> None:
    options = BaselineOptions(from_json=str(tmp_path / "in.json"), only=[NAMES[0]], repeats=3)
    assert options.from_json == tmp_path / "in.json" and options.only == (NAMES[0],)
    assert options.baseline is None and options.threads == 1
    ab_options = ABOptions("HEAD", repo=str(tmp_path), only=list(NAMES))
    assert ab_options.repo == tmp_path and [c.name for c in ab_options.cases()] == NAMES
    assert len(ABOptions("HEAD").cases()) > len(NAMES)  # every case of the A/B table when none is named
