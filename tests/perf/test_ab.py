"""The A/B gate (``xinit-bench gate --against REF``): its statistics, its REF handling and its refusals.

The bounds are checked against ``scipy.stats.binom``; the verdict logic on
synthetic paired ratios.  The REF handling runs on small throw-away git
repositories (a commit that is not a package, one that does not build, one
whose library lacks every case), each reported as an environment error
(exit 3) in one line.  One end-to-end run gates the working tree against
its own ``HEAD`` on one case.  No test asserts a wall-clock time; the
detection of a real slowdown is ``benchmarks/gate_stability.py``'s job (see
the README's gate section).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from xinit_bench import cli
from xinit_bench.cli import gate as gate_cli
from xinit_bench.perf import ab, ab_worker, abstats, cases, refenv
from xinit_bench.perf.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def run_gate(argv: list[str]) -> tuple[int, str, str]:
    """Run the gate in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    args = cli.build_parser().parse_args(["gate", *argv])
    code = gate_cli.execute(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def check_error(code: int, err: str, expected: ExitCode, words: str) -> None:
    assert code == expected, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("xinit-bench gate: error: "), err
    assert words in err, err


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private reference cache, so the tests neither read nor fill the user's."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(refenv.CACHE_ENV, str(folder))
    return folder


# --- statistics ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [10, 12, 24, 40, 101])
@pytest.mark.parametrize("alpha", [0.01, 0.001, 5e-4])
def test_order_statistic_rank_is_the_sign_test_bound(n: int, alpha: float) -> None:
    k = abstats.order_statistic_rank(n, alpha)
    # P(x_(k) > median) = P(Binomial(n, 1/2) <= k - 1): within alpha, and k + 1 would not be
    if k > 0:
        assert stats.binom.cdf(k - 1, n, 0.5) <= alpha * (1 + 1e-12)
    assert stats.binom.cdf(k, n, 0.5) > alpha
    assert (k > 0) == (n >= abstats.min_pairs(alpha))


def test_bounds_bracket_the_median() -> None:
    ratios = [1.0 + 0.01 * i for i in range(-12, 12)]
    b = abstats.ratio_bounds(ratios, 0.001)
    assert b.lower < b.median < b.upper
    assert b.lower == sorted(ratios)[abstats.order_statistic_rank(24, 0.001) - 1]
    assert b.upper == sorted(ratios)[24 - abstats.order_statistic_rank(24, 0.001)]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -1.0])
def test_bounds_refuse_impossible_ratios(bad: float) -> None:
    with pytest.raises(ValueError, match="positive and finite"):
        abstats.ratio_bounds([1.0] * 23 + [bad], 0.001)


def test_too_few_pairs_is_refused() -> None:
    with pytest.raises(ValueError, match="too few"):
        abstats.ratio_bounds([1.0] * 5, 0.001)


def judge(ref: list[float], tree: list[float]) -> ab.ABRow:
    alpha = ab.check_plan(20, 3, 8, ab.DEFAULT_THRESHOLD, ab.DEFAULT_CONFIDENCE)
    return ab._judge(
        "normal-float32-1M", {"ref": ref, "tree": tree, "ref_wall": ref, "tree_wall": tree}, None, alpha, 1.15, {}
    )


def test_a_clear_slowdown_fails_and_noise_does_not() -> None:
    ref = [1.0 + 0.02 * ((i * 7) % 5) for i in range(24)]
    slowed = [1.5 * r * (1 + 0.03 * ((i * 3) % 4 - 1.5)) for i, r in enumerate(ref)]
    assert judge(ref, slowed).status == "REGRESSION"
    # an unchanged tree with 10 % noise on each sample and a few 2x bursts stays "ok"
    noisy = [r * (1 + 0.1 * ((i * 5) % 3 - 1)) for i, r in enumerate(ref)]
    noisy[3] *= 2.0
    noisy[11] *= 2.0
    row = judge(ref, noisy)
    assert row.status == "ok" and row.lower is not None and row.lower < 1.15
    # much faster is "improved", never a failure
    assert judge(ref, [r / 1.6 for r in ref]).status == "improved"


def test_gate_cases_cover_every_scheme_dtype_and_entry_point() -> None:
    names = {c.name for c in ab.ab_cases()}
    for scheme in cases.ALL_SCHEMES:  # the +-100 sigma cut included; new rows of the table join by themselves
        for dtype in cases.CASE_DTYPES if scheme != "philox_words" else cases.DTYPES:  # float16, bfloat16 too
            assert f"{scheme}-{dtype}-1K" in names  # serial entry points
            assert f"{scheme}-{dtype}-1M" in names  # parallel entry points
    assert "truncated_normal_wide-float32-1M" in names


# --- refusals before any work: exit 2 ----------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--threshold", "0.9"], "--threshold must be a finite ratio above 1"),
        (["--threshold", "nan"], "--threshold must be a finite ratio above 1"),
        (["--confidence", "1.5"], "--confidence must be in (0.5, 1)"),
        (["--rounds", "0"], "--rounds and --pairs must be at least 1"),
        (["--rounds", "1", "--pairs", "4"], "too few"),
        (["--from-json", "x.json"], "does not take --from-json"),
        (["--update-baseline"], "does not take --update-baseline"),
        (["--quick"], "does not take --quick"),
        (["--threads", "2"], "does not take --threads"),
        (["--only", "gaussian-float32-1M"], "unknown benchmark name"),
    ],
)
def test_bad_options_are_refused(cache: Path, extra: list[str], words: str) -> None:
    code, out, err = run_gate(["--against", "HEAD", "--repo", str(ROOT), *extra])
    check_error(code, err, ExitCode.BAD_INPUT, words)
    assert out == "" and not cache.exists()  # refused before installing anything


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--baseline", "base.json"], "--against measures both sides itself; it does not take --baseline"),
        (["--baseline-dir", "baselines"], "--against measures both sides itself; it does not take --baseline-dir"),
        (["--repeats", "5"], "--against measures both sides itself; it does not take --repeats"),
        (["--threads", "1"], "--against measures on one thread; it does not take --threads"),
        (["--quick", "--threads", "1"], "--against measures both sides itself; it does not take --quick, --threads"),
    ],
)
def test_every_baseline_option_is_refused_by_name(cache: Path, extra: list[str], words: str) -> None:
    # Every baseline-mode option given with --against is named beside --against, even one that
    # would change nothing (--threads 1): the command line says what the run does.
    code, out, err = run_gate(["--against", "HEAD", "--repo", str(ROOT), *extra])
    check_error(code, err, ExitCode.BAD_INPUT, words)
    assert out == "" and not cache.exists()


def test_unknown_ref_is_bad_input(cache: Path) -> None:
    code, _, err = run_gate(["--against", "no-such-branch-xyz", "--repo", str(ROOT)])
    check_error(code, err, ExitCode.BAD_INPUT, "no such commit")


# --- the environment: exit 3 -------------------------------------------------------------
def test_not_a_repository(tmp_path: Path, cache: Path) -> None:
    code, _, err = run_gate(["--against", "HEAD", "--repo", str(tmp_path)])
    check_error(code, err, ExitCode.ENVIRONMENT, "is not a git repository")


def git_repo(folder: Path, files: dict[str, str]) -> Path:
    """A one-commit repository holding ``files``."""
    folder.mkdir()
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"]):
        subprocess.run(["git", "-C", str(folder), *command], check=True, capture_output=True)
    return folder


PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
[project]
name = "{name}"
version = "0.0.1"
[tool.setuptools]
packages = ["{package}"]
"""


def test_ref_without_a_build_file(tmp_path: Path, cache: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"README": "nothing to build\n"})
    code, _, err = run_gate(["--against", "HEAD", "--repo", str(repo), "--only", "normal-float32-1K"])
    check_error(code, err, ExitCode.ENVIRONMENT, "cannot be built: it has no pyproject.toml")


@pytest.mark.slow
def test_ref_that_does_not_build(tmp_path: Path, cache: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"pyproject.toml": "[project\nname = broken\n"})
    code, _, err = run_gate(["--against", "HEAD", "--repo", str(repo), "--only", "normal-float32-1K"])
    check_error(code, err, ExitCode.ENVIRONMENT, "cannot be built: pip install failed")


@pytest.mark.slow
def test_ref_without_the_package(tmp_path: Path, cache: Path) -> None:
    files = {"pyproject.toml": PYPROJECT.format(name="other", package="other"), "other/__init__.py": ""}
    repo = git_repo(tmp_path / "repo", files)
    code, _, err = run_gate(["--against", "HEAD", "--repo", str(repo), "--only", "normal-float32-1K"])
    check_error(code, err, ExitCode.ENVIRONMENT, "is too old: its build installs no xinit_bench package")


@pytest.mark.slow
def test_ref_whose_library_lacks_every_case(tmp_path: Path, cache: Path) -> None:
    files = {
        "pyproject.toml": PYPROJECT.format(name="xinit-bench", package="xinit_bench"),
        "xinit_bench/__init__.py": '"""An early commit: no samplers yet."""\n',
    }
    repo = git_repo(tmp_path / "repo", files)
    code, _, err = run_gate(
        ["--against", "HEAD", "--repo", str(repo), "--only", "normal-float32-1K", "--rounds", "2", "--pairs", "6"]
    )
    check_error(code, err, ExitCode.ENVIRONMENT, "is too old to compare: it can run none of the cases")
    assert "xinit_bench.normal does not exist" in err


# --- the worker: a file run by path ---------------------------------------------------------
def test_worker_is_the_script_run_by_path_and_times_the_working_tree(tmp_path: Path) -> None:
    import xinit_bench

    worker = ab._Worker("working-tree", dict(os.environ), str(tmp_path))  # the environment run_ab gives it
    try:
        # python <file> <kernels>: no code string on the command line
        assert worker.proc.args == [sys.executable, str(ab.WORKER), str(ab.kernels_folder())]
        assert ab.WORKER == ROOT / "xinit_bench" / "perf" / "ab_worker.py"
        worker.send({"op": "setup", "cases": ["normal-float32-1K", "normal-float32-2K"], "min_sample_time": 0.0})
        ready = worker.receive()
        assert ready == {"lacks": {}, "library": str(Path(xinit_bench.__file__).resolve().parent)}
        for _ in range(2):
            worker.send({"op": "sample", "case": "normal-float32-2K"})
            sample = worker.receive()
            assert set(sample) == {"cpu", "wall"} and sample["wall"] > 0.0 and sample["cpu"] >= 0.0
    finally:
        worker.close()
    assert worker.proc.returncode == 0


def test_worker_boot_leaves_its_folder_off_the_path_and_serves_from_the_private_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python puts a script's folder first on sys.path; xinit_bench/perf holds cases.py, timing.py,
    # errors.py..., which must not shadow a top-level module of the same name in the worker.
    monkeypatch.setattr(sys, "path", [str(ab_worker.HERE), *sys.path])
    serve = ab_worker.boot([str(ab.WORKER), str(ab.kernels_folder())])
    assert str(ab_worker.HERE) not in sys.path
    assert serve.__module__ == "_xinit_tree.perf.ab_worker" and serve is not ab_worker.serve
    assert Path(sys.modules["_xinit_tree.perf.ab_worker"].__file__ or "") == ab.WORKER


def test_worker_without_its_kernels_folder_says_how_to_run_it(tmp_path: Path) -> None:
    for argv in ([], [str(tmp_path / "no-such-folder")]):
        proc = subprocess.run(
            [sys.executable, str(ab.WORKER), *argv], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.startswith(f"usage: python {ab.WORKER} KERNELS_FOLDER"), proc.stderr


def test_worker_and_asv_share_one_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    # benchmarks/tree.py runs the loader that sits beside the worker; the worker has no copy of its own
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.tree

    loader = ab.WORKER.with_name("treeload.py")
    assert benchmarks.tree._tree_module(ROOT).__code__.co_filename == str(loader)
    for user in (ab.WORKER, Path(ab.__file__), ROOT / "benchmarks" / "tree.py"):
        assert "ModuleType(" not in user.read_text(), f"{user} builds a package of its own"


# --- end to end ----------------------------------------------------------------------------
@pytest.mark.slow
def test_gate_against_head_on_one_case(tmp_path: Path, cache: Path) -> None:
    # The library of HEAD against the working tree's: the kernels are the same code, so a
    # failure here would be a false alarm.  Exit code and report, never a time.
    target = tmp_path / "gate.json"
    # HEAD as the gate resolves it, read just before (a commit made while the gate runs moves HEAD)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    code, out, err = run_gate(
        [
            *["--against", "HEAD", "--only", "normal-float32-1M", "--rounds", "2", "--pairs", "6"],
            "--repo",
            str(ROOT),
            "--json",
            str(target),
        ]
    )
    assert code == ExitCode.OK, out + err
    assert "normal-float32-1M" in out and "passed" in err
    data = json.loads(target.read_text())
    assert data["mode"] == "against" and data["exit_code"] == 0
    assert data["commit"] == commit.stdout.strip()
    (row,) = data["benchmarks"]
    assert row["name"] == "normal-float32-1M" and row["n"] == 12 and row["status"] in ("ok", "improved")
    assert row["lower"] <= row["ratio"] <= row["upper"]
    assert len(data["samples"]["normal-float32-1M"]["ref"]) == 12
    # the reference is cached by commit: installed once, with its own Numba cache
    site = cache / "refs" / data["commit"] / "site"
    assert (site / ".complete").is_file() and (site / "xinit_bench" / "__init__.py").is_file()
    assert any((cache / "refs" / data["commit"] / "numba").rglob("*.nbi"))


def test_command_line_reports_a_bad_ref_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "xinit_bench.cli", "gate", "--against", "HEAD", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, refenv.CACHE_ENV: str(tmp_path / "cache")},
    )
    assert proc.returncode == ExitCode.ENVIRONMENT
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "is not a git repository" in proc.stderr
