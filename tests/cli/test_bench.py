"""``xinit-bench bench``: the JSON report's shape, the opt-in wide truncation, and clean errors.

No speed is asserted here (speed is the benchmarks' business): only that
every requested case is measured against both references in the same run
and that the ratios are the quotients of the times reported beside them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xinit_bench.perf import cases


def run_cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xinit_bench.cli", "bench", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def test_json_report_covers_each_case_against_both_references(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = run_cli(
        "--sizes",
        "64K",
        "--schemes",
        "truncated_normal,truncated_normal_wide",
        "--dtypes",
        "float32",
        "--no-scaling",
        "--no-small-call",
        "--json",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert json.loads(out.read_text()) == report
    assert [r["name"] for r in report["results"]] == [
        "truncated_normal-float32-64K",
        "truncated_normal_wide-float32-64K",
    ]
    for r in report["results"]:
        for timer in ("wall", "cpu"):
            t = r[timer]["seconds"]
            assert all(t[impl] > 0 and math.isfinite(t[impl]) for impl in ("xinit", "numpy", "fill"))
            assert r[timer]["xinit_over_numpy"] == pytest.approx(t["numpy"] / t["xinit"], rel=1e-12)
            assert r[timer]["xinit_over_fill"] == pytest.approx(t["fill"] / t["xinit"], rel=1e-12)


def test_wide_scheme_is_torchs_trunc_normal_default() -> None:
    # torch.nn.init.trunc_normal_(std=0.02) cuts at the absolute a=-2, b=2.
    assert cases.truncation("truncated_normal_wide") * cases.NORMAL_STD == pytest.approx(2.0)
    assert cases.truncation("truncated_normal") == 2.0
    assert "truncated_normal_wide" not in cases.SCHEMES  # not in the default run, nor in the gate's baseline
    case = cases.Case.from_name("truncated_normal_wide-float32-1M")
    assert (case.scheme, case.dtype, case.size) == ("truncated_normal_wide", "float32", 1 << 20)
    buf = cases.allocate(case)
    cases.xinit_call(case, buf)()
    assert np.all(np.abs(buf) <= np.float32(2.0))
    # At +-100 sigma the cut removes nothing, so the std is 0.02; for a normal
    # sample the sample std has standard error sigma / sqrt(2 n): allow 5 of them.
    assert abs(buf.std() - cases.NORMAL_STD) < 5 * cases.NORMAL_STD / math.sqrt(2 * buf.size)


@pytest.mark.parametrize(
    "argv,words",
    [
        (("--schemes", "nope"), "allowed values are"),
        (("--dtypes", "float16"), "allowed values are"),
        (("--sizes", "0"), "--sizes"),
        (("--sizes", ","), "no size given"),
        (("--sizes", "1<<100000"), "too large"),
        (("--sizes", "1<<100000000000"), "too large"),
        (("--sizes", "1<<40"), "memory is available"),
        (("--json", "no/such/dir/bench.json"), "does not exist"),
        (("-o", "no/such/dir/bench.json"), "does not exist"),
        (("--json", "."), "is a directory"),
        (("--threads", "100000"), "threads must be an int in [1, "),
    ],
)
def test_bad_arguments_exit_2_without_traceback(argv: tuple[str, ...], words: str, tmp_path: Path) -> None:
    # The smallest real run: a bad argument must be refused before even this starts.
    fast = ("--sizes", "1K", "--schemes", "uniform", "--dtypes", "float32", "--no-scaling", "--no-small-call")
    proc = run_cli(*fast, *argv, cwd=tmp_path)
    assert proc.returncode == 2
    assert words in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_json_path_writes_the_file_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = run_cli(
        "--sizes",
        "1K",
        "--schemes",
        "normal",
        "--dtypes",
        "float32",
        "--no-scaling",
        "--no-small-call",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "M samples/s" in proc.stdout and "speed targets" in proc.stdout
    assert "issue" not in proc.stdout
    report = json.loads(out.read_text())
    assert [r["name"] for r in report["results"]] == ["normal-float32-1K"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_words_scheme_writes_the_raw_philox_words(dtype: str) -> None:
    # The generator's own row: the buffer holds random_bits' words, one per 4 bytes.
    import xinit_bench as xb

    case = cases.Case("philox_words", dtype, 5000)
    buf = cases.allocate(case)
    cases.xinit_call(case, buf)()
    words = buf.view(np.uint32)
    assert np.array_equal(words, xb.random_bits(words.size, seed=cases.DEFAULT_SEED))
    assert "philox_words" in cases.EXTRA_SCHEMES and "philox_words" not in cases.SCHEMES
