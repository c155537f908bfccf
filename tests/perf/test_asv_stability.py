"""The verdicts of ``benchmarks/asv_stability.py`` on ``asv continuous`` output (asv itself is not run here)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEADER = (
    "| Change   | Before [33b58295] <main>   | After [cb0ea180] <slowed>   |   Ratio | Benchmark (Parameter)   |\n"
    "|----------|----------------------------|-----------------------------|---------|-------------------------|\n"
)


def row(mark: str, ratio: str, name: str) -> str:
    return f"| {mark:<8} | 1.20±0.05ms | 1.80±0.04ms | {ratio:>7} | bench_samplers.{name} |\n"


@pytest.fixture(scope="module")
def stability() -> ModuleType:
    sys.path.insert(0, str(ROOT))
    try:
        return importlib.import_module("benchmarks.asv_stability")
    finally:
        sys.path.remove(str(ROOT))


def slowed_output(*rows: str) -> str:
    return HEADER + "".join(rows) + "\nSOME BENCHMARKS HAVE CHANGED SIGNIFICANTLY.\nPERFORMANCE DECREASED.\n"


def test_parse_changes_reads_marks_ratios_and_names(stability: ModuleType) -> None:
    text = slowed_output(
        row("+", "1.52", "Normal.time_fill('xinit', 'float32', 1048576)"),
        row("-", "0.77", "Uniform.time_fill('numpy', 'float64', 1024)"),
        row("x", "n/a", "NamedSchemes.time_call('xinit', 'xavier_normal', 'float32')"),
    )
    rows = stability.parse_changes(text)
    assert [(r.mark, r.ratio) for r in rows] == [("+", 1.52), ("-", 0.77), ("x", None)]
    assert rows[0].name == "bench_samplers.Normal.time_fill('xinit', 'float32', 1048576)"


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("bench_samplers.Normal.time_fill('xinit', 'float32', 1024)", "normal", True),
        ("bench_samplers.TorchTruncatedNormal.time_fill('xinit', 'float64', 16777216)", "normal", True),
        ("bench_samplers.TruncatedNormal.time_fill('xinit', 'float32', 1024)", "normal", False),
        ("bench_samplers.Normal.time_fill('numpy', 'float32', 1024)", "normal", False),
        ("bench_samplers.NamedSchemes.time_call('xinit', 'kaiming_normal', 'float32')", "normal", True),
        ("bench_samplers.NamedSchemes.time_call('xinit', 'xavier_truncated_normal', 'float32')", "normal", False),
        (
            "bench_samplers.NamedSchemes.time_call('xinit', 'xavier_truncated_normal', 'float32')",
            "truncated_normal",
            True,
        ),
        ("bench_samplers.NamedSchemes.time_call('xinit', 'lecun_uniform', 'float64')", "uniform", True),
        ("bench_samplers.SymmetricUniform.time_fill('xinit', 'float64', 1024)", "uniform", True),
    ],
)
def test_uses_kind(stability: ModuleType, name: str, kind: str, expected: bool) -> None:
    assert stability.uses_kind(name, kind) is expected


def test_unchanged_passes_only_when_nothing_is_reported(stability: ModuleType) -> None:
    quiet = HEADER + "\nBENCHMARKS NOT SIGNIFICANTLY CHANGED.\n"
    assert stability.verdict("unchanged", 0, quiet, "normal")[0]
    faster = HEADER + row("-", "0.63", "TruncatedNormal.time_fill('xinit', 'float32', 1024)")
    faster += "\nSOME BENCHMARKS HAVE CHANGED SIGNIFICANTLY.\nPERFORMANCE INCREASED.\n"
    # A false "faster" is a false alarm too: the two commits are the same tree.
    ok, why = stability.verdict("unchanged", 0, faster, "normal")
    assert not ok
    ok, why = stability.verdict(
        "unchanged", 1, slowed_output(row("+", "1.95", "Normal.time_fill('numpy', 'float32', 1024)")), "normal"
    )
    assert not ok and "1 reported slower" in why


def test_slowed_needs_the_big_rows_and_nothing_else(stability: ModuleType) -> None:
    big = [
        row("+", "1.49", "Normal.time_fill('xinit', 'float32', 1048576)"),
        row("+", "1.51", "Normal.time_fill('xinit', 'float64', 16777216)"),
    ]
    ok, why = stability.verdict("slowed", 1, slowed_output(*big), "normal")
    assert ok, why
    assert not stability.verdict("slowed", 0, slowed_output(*big), "normal")[0]
    assert not stability.verdict("slowed", 1, slowed_output(big[0]), "normal")[0]
    stray = row("+", "1.30", "Uniform.time_fill('xinit', 'float32', 1024)")
    ok, why = stability.verdict("slowed", 1, slowed_output(*big, stray), "normal")
    assert not ok and "do not use the slowed kernel" in why
    failed = row("x", "n/a", "Normal.time_fill('xinit', 'float32', 1024)")
    assert not stability.verdict("slowed", 1, slowed_output(*big, failed), "normal")[0]


def test_prepare_makes_the_two_commits_and_a_one_environment_config(stability: ModuleType, tmp_path: Path) -> None:
    import json
    import subprocess

    if not (ROOT / ".git").exists():
        pytest.skip("needs the project's git repository (a checkout, not an unpacked archive)")
    ref = stability._git(ROOT, "rev-parse", "HEAD")
    repo, config = stability.prepare(tmp_path, ref, "normal")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout

    # "unchanged" is REF's tree under a new hash; "slowed" differs from REF only in launch.py, by the variant.
    assert git("rev-parse", "unchanged^{tree}") == git("rev-parse", f"{ref}^{{tree}}")
    assert git("rev-parse", "unchanged^").strip() == ref != git("rev-parse", "unchanged").strip()
    assert git("diff", "--name-only", ref, "slowed").split() == ["xinit_bench/launch.py"]
    assert stability.SLOWDOWN.format(kind="normal").strip() in git("show", "slowed:xinit_bench/launch.py")
    assert git("rev-parse", "HEAD").strip() == ref  # the benchmarks that run are REF's
    conf = json.loads(config.read_text())
    assert conf["repo"] == str(repo) and conf["matrix"] == {"req": {}} and "exclude" not in conf
    assert conf["benchmark_dir"] == str(repo / "benchmarks")
    assert all(Path(conf[k]).is_relative_to(tmp_path) for k in ("env_dir", "results_dir", "html_dir"))
