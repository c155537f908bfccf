"""The orthogonal rows of the bench: the case table, the per-side worker processes, the CLI's options and table.

Structure only: what is timed, how the rows are named and reported, and that
every side's call really makes an orthogonal matrix -- never how fast.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xinit_bench.cli import bench as cli_bench
from xinit_bench.cli import build_parser
from xinit_bench.perf import bench, qr_bench, qr_cases
from xinit_bench.perf.qr_cases import QRCase

pytestmark = pytest.mark.structure


def test_flops_are_geqrf_plus_forming_q() -> None:
    # Golub & Van Loan sec. 5.2.2: 2 m n^2 - 2/3 n^3 for the factorisation of m x n; forming Q costs as much.
    for n in (1, 7, 1024):
        geqrf = 2 * n * n**2 - 2 / 3 * n**3
        assert qr_cases.flops(n) == pytest.approx(2 * geqrf, rel=1e-15)
        assert QRCase(n, "float32").flops == qr_cases.flops(n)


def test_the_table_holds_the_rows_the_bench_and_asv_time() -> None:
    assert [c.name for c in qr_cases.DEFAULT_QR_CASES] == [
        "orthogonal-float32-1024x1024",
        "orthogonal-float32-4096x4096",
    ]
    assert {(c.n, c.dtype) for c in qr_cases.ALL_QR_CASES} == {
        (n, d) for n in (256, 1024, 4096) for d in ("float32", "float64")
    }
    assert qr_cases.GATE_QR_SIZE == 256 and qr_cases.TORCH_BOUND == 3.0
    with pytest.raises(ValueError, match="dtype must be one of"):
        QRCase(8, "float16")
    with pytest.raises(ValueError, match="side must be one of"):
        qr_cases.side_call("cupy", QRCase(8, "float32"))


@pytest.mark.parametrize("side", qr_cases.SIDES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_side_makes_an_orthogonal_matrix_of_the_dtype(side: str, dtype: str) -> None:
    if side == "torch":
        pytest.importorskip("torch")
    n = 24
    q = np.asarray(qr_cases.side_call(side, QRCase(n, dtype), seed=3)())
    assert q.shape == (n, n) and q.dtype == np.dtype(dtype)
    gram = q.astype(np.float64).T @ q.astype(np.float64)
    # float32 entries carry a relative error of 2**-24 each; a Gram entry sums n of them: n * 2**-23 bounds it
    tol = n * 2.0**-23 if dtype == "float32" else n * 2.0**-50
    assert np.abs(gram - np.eye(n)).max() <= tol


def test_the_worker_protocol_times_one_call_per_line_and_reports_a_missing_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    qr_bench.worker_main("xinit", out=out, requests=["8 float64 1\n", "8 float64 2\n"])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"ready": "xinit"}
    assert all(set(line) == {"wall", "cpu"} and line["wall"] > 0 for line in lines[1:]) and len(lines) == 3

    def missing(side: str, case: QRCase, seed: int) -> Any:
        raise qr_cases.SideMissing("torch is not installed: no module named torch")

    monkeypatch.setattr(qr_bench, "side_call", missing)
    out = io.StringIO()
    qr_bench.worker_main("torch", out=out, requests=["8 float32 0\n"])
    assert json.loads(out.getvalue().splitlines()[1]) == {"missing": "torch is not installed: no module named torch"}


def test_measure_qr_runs_each_side_in_its_own_process_and_takes_medians() -> None:
    sides = ("xinit", "lapack")
    (row,) = qr_bench.measure_qr([QRCase(16, "float64")], repeats=5, threads=1, sides=sides)
    assert set(row.wall) == set(sides) == set(row.cpu) and row.missing == {}
    assert row.gflops("xinit") == pytest.approx(qr_cases.flops(16) / row.wall["xinit"] / 1e9)
    assert row.over("xinit", "lapack") == pytest.approx(row.wall["xinit"] / row.wall["lapack"])
    assert row.over("xinit", "torch") is None and row.within_bound is None  # torch was not asked for
    d = row.to_dict()
    assert d["name"] == "orthogonal-float64-16x16" and set(d["sides"]) == set(sides) and d["threads"] == 1


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"repeats": 4}, "repeats must be at least 5"),
        ({"threads": 0}, "threads must be"),
        ({"sides": ("gpu",)}, "sides"),
    ],
)
def test_measure_qr_refuses_bad_settings_before_starting_a_worker(kwargs: dict[str, Any], match: str) -> None:
    settings: dict[str, Any] = {"repeats": 5, "threads": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        qr_bench.measure_qr([QRCase(8, "float32")], **settings)


def _cases(*argv: str) -> tuple[tuple[int, str], ...]:
    args = build_parser().parse_args(["bench", *argv])
    config = cli_bench.config_from(args)
    return tuple((c.n, c.dtype) for c in config.orthogonal)


def test_the_cli_adds_the_rows_by_default_and_on_request_only() -> None:
    assert _cases() == ((1024, "float32"), (4096, "float32"))
    assert _cases("--no-orthogonal") == ()
    assert _cases("--schemes", "normal") == ()  # a chosen list without them
    assert _cases("--schemes", "orthogonal", "--dtypes", "float64") == ((1024, "float64"), (4096, "float64"))
    assert len(_cases("--full")) == 6
    assert _cases("--orthogonal-sizes", "64,128") == ((64, "float32"), (128, "float32"))
    config = cli_bench.config_from(build_parser().parse_args(["bench", "--schemes", "orthogonal"]))
    assert config.schemes == () and config.steps() == 2  # no fill case, two rows


def test_a_config_without_fills_or_rows_is_still_refused() -> None:
    with pytest.raises(ValueError, match="schemes must not be empty"):
        bench.BenchConfig(schemes=())


def _report(xinit: float, torch: float) -> bench.BenchReport:
    row = qr_bench.QRResult(QRCase(1024, "float32"), 5, 2, load="1.00 1.00 1.00")
    row.wall = {"xinit": xinit, "torch": torch, "lapack": 0.2}
    row.cpu = dict.fromkeys(row.wall, 0.1)
    env = {"cpu_key": "x86_64-test-avx2", "threads": 2, "threading_layer": "tbb", "numpy": "2", "numba": "0.6"}
    report = bench.BenchReport(environment=env, config={"repeats": 5})
    report.orthogonal = [row]
    return report


def test_the_table_marks_a_row_above_three_times_torch() -> None:
    ok, slow = io.StringIO(), io.StringIO()
    cli_bench.print_report(_report(0.12, 0.06), out=ok)
    cli_bench.print_report(_report(0.40, 0.06), out=slow)  # 6.7x torch's time: a deliberate miss
    assert "orthogonal: 1 of 1 rows within 3x torch's time" in ok.getvalue()
    assert "2.00" in ok.getvalue() and "2.00!" not in ok.getvalue()
    assert "orthogonal: 0 of 1 rows within 3x torch's time" in slow.getvalue() and "6.67!" in slow.getvalue()
    gflops = qr_cases.flops(1024) / 0.12 / 1e9
    assert f"{gflops:.1f}" in ok.getvalue()
    assert max(len(line) for line in ok.getvalue().splitlines()) <= 100


def test_the_cli_run_prints_the_rows_and_writes_them_to_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = ["--schemes", "orthogonal", "--orthogonal-sizes", "32", "--dtypes", "float32", "--threads", "1"]
    proc = subprocess.run(
        [sys.executable, "-m", "xinit_bench.cli", "bench", *argv, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "orthogonal (n, n)" in proc.stdout and "speed targets" not in proc.stdout
    (row,) = json.loads(out.read_text())["orthogonal"]
    assert row["name"] == "orthogonal-float32-32x32" and row["repeats"] == 5
    assert set(row["sides"]) | set(row["missing"]) == set(qr_cases.SIDES)


def test_bad_orthogonal_sizes_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "xinit_bench.cli", "bench", "--orthogonal-sizes", "0,x"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "--orthogonal-sizes" in proc.stderr and "Traceback" not in proc.stderr
