"""``xinit-bench compile``: what it compiled, what it loaded, and what the cache then holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xinit_bench.cli", "compile", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
        check=False,
    )


def test_compile_writes_json_and_a_second_run_compiles_nothing(tmp_path: Path) -> None:
    first = _cli("--groups", "fills", "--dtypes", "float32", "--json", "first.json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    data = json.loads((tmp_path / "first.json").read_text())
    assert {s["kernel"] for s in data["signatures"]} >= {"serial_uniform", "fill_truncated_normal_tail"}
    assert data["compiled"] + data["loaded"] == len(data["signatures"])
    assert data["cache"]["warm"] == data["cache"]["total"] == len(data["signatures"])
    lines = first.stdout.strip().splitlines()
    assert "signatures ready" in lines[0]
    assert lines[-1].startswith(f"kernel cache: {len(data['signatures'])} of {len(data['signatures'])} signatures")

    # Every signature is now in the cache: a fresh process loads each and compiles none (Numba's
    # cache-miss count, not a guess from CPU time: the first load also pays Numba's start-up).
    second = _cli("--groups", "fills", "--dtypes", "float32", "--json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["compiled"] == 0 and again["loaded"] == len(again["signatures"])
    assert not any(s["compiled"] for s in again["signatures"])


def test_compile_covers_the_qr_of_orthogonal_with_the_same_report(tmp_path: Path) -> None:
    proc = _cli("--groups", "orthogonal", "--json", "qr.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "qr.json").read_text())
    names = {(s["kernel"], s["dtype"]) for s in data["signatures"]}
    assert names == {
        ("serial_householder_q", "float64"),
        ("householder_q", "float64"),
        ("householder_q_batch", "float64"),
    }
    assert data["cache"]["warm"] == data["cache"]["total"] == 3
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("xinit-bench compile: 3 kernel signatures ready")
    assert lines[-1].startswith("kernel cache: 3 of 3 signatures warm")


def test_compile_refuses_bad_options_in_one_line(tmp_path: Path) -> None:
    bad = _cli("--groups", "nope", cwd=tmp_path)
    assert bad.returncode == 2 and "\n" not in bad.stderr.strip() and "Traceback" not in bad.stderr
    assert list(tmp_path.iterdir()) == []
