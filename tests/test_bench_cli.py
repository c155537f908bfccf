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

from xinit_bench import bench


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xinit_bench.cli", "bench", *argv], capture_output=True, text=True, timeout=600
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
    assert bench.truncation("truncated_normal_wide") * bench.NORMAL_STD == pytest.approx(2.0)
    assert bench.truncation("truncated_normal") == 2.0
    assert "truncated_normal_wide" not in bench.SCHEMES  # not in the default run, nor in the gate's baseline
    case = bench.Case.from_name("truncated_normal_wide-float32-1M")
    assert (case.scheme, case.dtype, case.size) == ("truncated_normal_wide", "float32", 1 << 20)
    buf = bench.allocate(case)
    bench.xinit_call(case, buf)()
    assert np.all(np.abs(buf) <= np.float32(2.0))
    # At +-100 sigma the cut removes nothing, so the std is 0.02; for a normal
    # sample the sample std has standard error sigma / sqrt(2 n): allow 5 of them.
    assert abs(buf.std() - bench.NORMAL_STD) < 5 * bench.NORMAL_STD / math.sqrt(2 * buf.size)


@pytest.mark.parametrize(
    "argv,words",
    [
        (("--schemes", "nope"), "allowed values are"),
        (("--dtypes", "float16"), "allowed values are"),
        (("--sizes", "0"), "--sizes"),
    ],
)
def test_bad_arguments_exit_2_without_traceback(argv: tuple[str, ...], words: str) -> None:
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert words in proc.stderr and "Traceback" not in proc.stderr
