"""asv stability check: ``asv continuous`` reports a real 1.5x slowdown and nothing between two unchanged commits.

The asv counterpart of ``gate_stability.py``.  In a scratch clone of the
repository it makes two commits on top of REF (default ``HEAD``):

``unchanged``
    an empty commit: the same tree as REF under another hash, so asv builds,
    installs and times it as a separate commit;
``slowed``
    REF with one kernel doing 1.5x its work (``gate_stability.SLOWDOWN``:
    ``launch.fill_flat`` runs the ``--kind`` kernel once on the whole output
    and again on its first half, rewriting the same bits).

It then runs, in that clone, the maintainer's PR check of the README::

    asv continuous --factor F --interleave-rounds -b REGEX REF unchanged
    asv continuous --factor F --interleave-rounds -b REGEX REF slowed

in one virtualenv environment (the newest numpy/numba/scipy: the oldest-versions
entry of the matrix is about compatibility, not about this check), with the
results, environments and machine file kept inside the scratch folder.  The
first must exit 0 and report "BENCHMARKS NOT SIGNIFICANTLY CHANGED"; the second
must exit 1 and flag only ``xinit`` rows whose call goes through the slowed
kernel, and at least the 1M and 16M rows of its own class.

Prints asv's comparison tables and a summary; exits 0 only if both verdicts
are the expected ones.  asv imports every module of this folder; nothing here
runs at import.

Usage (from the repository root)::

    python benchmarks/asv_stability.py                       # both series against HEAD
    python benchmarks/asv_stability.py --series unchanged --bench 'Normal\\.time_fill'
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __package__:  # imported (asv's discovery, the tests)
    from .gate_stability import SLOWDOWN, busy_core  # the one definition of the slowed variant and the load
else:  # run as a script
    sys.path.insert(0, str(ROOT))
    from benchmarks.gate_stability import SLOWDOWN, busy_core

#: The README's PR check: every commit-dependent ``time_`` row (the ``numpy``
#: and ``fill`` lines come from the working tree, the same code for both
#: commits, and are left to ``--bench 'time_'``).
DEFAULT_BENCH = r"time_(fill|call)\('xinit'"

#: The benchmark classes whose ``xinit`` call goes through each kernel kind
#: (``NamedSchemes`` rows are matched by their scheme parameter instead).
#: ``TorchTruncatedNormal`` cuts at +-100 std, which the library routes to the
#: normal kernel (stream version 2).
CLASSES_OF_KIND = {
    "normal": ("Normal", "TorchTruncatedNormal"),
    "uniform": ("Uniform", "SymmetricUniform"),
    "truncated_normal": ("TruncatedNormal",),
}

#: One row of ``asv compare``'s table: change mark, before, after, ratio, name.
_ROW = re.compile(r"^\|\s*(?P<mark>[+\-x!]?)\s*\|[^|]*\|[^|]*\|\s*(?P<ratio>[^|]*?)\s*\|\s*(?P<name>[^|]+?)\s*\|$")


@dataclass(frozen=True)
class Row:
    """A benchmark ``asv continuous`` listed as changed."""

    mark: str  # "+" slower, "-" faster, "x"/"!" failed
    ratio: float | None
    name: str  # e.g. bench_samplers.Normal.time_fill('xinit', 'float32', 1048576)


def parse_changes(output: str) -> list[Row]:
    """The rows of the comparison table in ``asv continuous`` output (header and rules skipped)."""
    rows = []
    for line in output.splitlines():
        m = _ROW.match(line.strip())
        if m is None or m["name"].startswith("Benchmark") or set(m["name"]) <= {"-"}:
            continue
        try:
            ratio: float | None = float(m["ratio"])
        except ValueError:
            ratio = None
        rows.append(Row(m["mark"], ratio, m["name"]))
    return rows


def uses_kind(name: str, kind: str) -> bool:
    """Whether the benchmark row ``name`` is an ``xinit`` call that goes through the ``kind`` kernel."""
    if "('xinit'" not in name:
        return False
    if ".NamedSchemes." in name:
        scheme = name.split("(", 1)[1].split(",")[1].strip(" '")
        if kind == "normal":
            return scheme.endswith("_normal") and "truncated" not in scheme
        if kind == "truncated_normal":
            return "truncated" in scheme
        return scheme.endswith("_uniform")
    return any(f".{cls}." in name for cls in CLASSES_OF_KIND.get(kind, ()))


def verdict(series: str, code: int, output: str, kind: str) -> tuple[bool, str]:
    """Whether one ``asv continuous`` run gave the expected verdict, and a one-line reason."""
    rows = parse_changes(output)
    slower = [r for r in rows if r.mark == "+"]
    failed = [r for r in rows if r.mark in ("x", "!")]
    if failed:
        return False, f"{len(failed)} benchmark(s) failed: {', '.join(r.name for r in failed[:3])}"
    if series == "unchanged":
        if code == 0 and not slower and "NOT SIGNIFICANTLY CHANGED" in output:
            return True, "nothing reported"
        return False, f"exit {code}, {len(slower)} reported slower: " + ", ".join(f"{r.name} {r.ratio}" for r in slower)
    wrong = [r for r in slower if not uses_kind(r.name, kind)]
    cls = CLASSES_OF_KIND[kind][0]
    own = [r for r in slower if f".{cls}.time_fill('xinit'" in r.name]
    big = {size for size in ("1048576", "16777216") for r in own if r.name.endswith(f", {size})")}
    if code != 1:
        return False, f"exit {code}, expected 1"
    if wrong:
        return False, "flagged rows that do not use the slowed kernel: " + ", ".join(r.name for r in wrong)
    if big != {"1048576", "16777216"}:
        return False, f"{cls}'s 1M and 16M rows not both flagged (flagged: {', '.join(r.name for r in own)})"
    ratios = ", ".join(f"{r.ratio:.2f}" for r in slower if r.ratio is not None)
    return True, f"{len(slower)} rows reported slower, all through the {kind!r} kernel (ratios {ratios})"


def _read_conf(path: Path) -> dict[str, object]:
    """asv.conf.json (JSON with ``//`` comment lines, as asv reads it)."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    conf: dict[str, object] = json.loads(text)
    return conf


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def prepare(folder: Path, ref: str, kind: str) -> tuple[Path, Path]:
    """The scratch clone with the ``unchanged`` and ``slowed`` branches on REF, and its asv config."""
    repo = folder / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(repo)], check=True)
    who = ["-c", "user.name=asv stability", "-c", "user.email=asv-stability@localhost"]
    _git(repo, "checkout", "--quiet", "-B", "unchanged", ref)
    _git(repo, *who, "commit", "--quiet", "--allow-empty", "-m", "unchanged: the same tree as REF")
    _git(repo, "checkout", "--quiet", "-B", "slowed", ref)
    launch = repo / "xinit_bench" / "launch.py"
    launch.write_text(launch.read_text() + SLOWDOWN.format(kind=kind))
    _git(repo, *who, "commit", "--quiet", "-am", f"slowed: the {kind!r} kernel does 1.5x its work")
    # The benchmarks that run are REF's own, for both commits.
    _git(repo, "checkout", "--quiet", "--detach", ref)
    conf = _read_conf(repo / "asv.conf.json")
    conf.update(
        repo=str(repo),
        branches=["unchanged", "slowed"],
        matrix={"req": {}},
        env_dir=str(folder / "env"),
        results_dir=str(folder / "results"),
        html_dir=str(folder / "html"),
        benchmark_dir=str(repo / "benchmarks"),
    )
    conf.pop("exclude", None)
    config = folder / "asv.json"
    config.write_text(json.dumps(conf, indent=2))
    return repo, config


def run_series(
    asv: list[str], config: Path, env: dict[str, str], ref: str, branch: str, args: argparse.Namespace
) -> tuple[int, str, float]:
    """One ``asv continuous`` run; its output is streamed and returned."""
    command = [
        *asv,
        "continuous",
        "--config",
        str(config),
        "--factor",
        str(args.factor),
        "--interleave-rounds",
        "-b",
        args.bench,
        *[a for attr in args.attribute for a in ("-a", attr)],
        ref,
        branch,
    ]
    print("$ " + " ".join(command), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=config.parent
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if not args.quiet or line.startswith(("|", "BENCH", "SOME", "PERF")):
            print(line, end="", flush=True)
    code = proc.wait()
    return code, "".join(lines), time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; return 0 if both series gave the expected verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--against", default="HEAD", help="the reference revision (default HEAD)")
    parser.add_argument("--series", choices=("both", "slowed", "unchanged"), default="both")
    parser.add_argument("--kind", default="normal", choices=sorted(CLASSES_OF_KIND), help="kernel the variant slows")
    parser.add_argument("--factor", type=float, default=1.25, help="asv continuous --factor (default 1.25)")
    parser.add_argument("--bench", default=DEFAULT_BENCH, help=f"asv -b regex (default {DEFAULT_BENCH!r})")
    parser.add_argument("-a", "--attribute", action="append", default=[], help="asv -a override, e.g. rounds=2")
    parser.add_argument("--folder", type=Path, help="scratch folder to use and keep (default: a temporary one)")
    parser.add_argument("--quiet", action="store_true", help="print only asv's comparison table and verdicts")
    parser.add_argument("--load", action="store_true", help="keep the last CPU busy with a pinned loop meanwhile")
    args = parser.parse_args(argv)
    if args.factor <= 1.0:
        parser.error("--factor must be above 1")

    asv_bin = shutil.which("asv", path=str(Path(sys.executable).parent)) or shutil.which("asv")
    if asv_bin is None:
        print("asv_stability: asv is not installed (pip install asv virtualenv)", file=sys.stderr)
        return 3
    try:
        ref = _git(ROOT, "rev-parse", "--verify", f"{args.against}^{{commit}}")
    except subprocess.CalledProcessError:
        print(f"asv_stability: {args.against!r} is not a commit of this repository", file=sys.stderr)
        return 2
    series = ["unchanged", "slowed"] if args.series == "both" else [args.series]
    keep = args.folder is not None
    folder = args.folder.resolve() if keep else Path(tempfile.mkdtemp(prefix="xinit-asv-stability-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _, config = prepare(folder, ref, args.kind)
        # asv keeps its machine file in $HOME: a scratch home leaves the user's own untouched.
        (folder / "home").mkdir(exist_ok=True)
        env = {**os.environ, "HOME": str(folder / "home")}
        subprocess.run(
            [asv_bin, "machine", "--yes", "--config", str(config)], env=env, cwd=folder, check=True, capture_output=True
        )
        results = []
        with busy_core(4 * 3600.0) if args.load else nullcontext():
            for name in series:
                code, output, seconds = run_series([asv_bin], config, env, ref, name, args)
                ok, why = verdict(name, code, output, args.kind)
                results.append(ok)
                verdict_text = "as expected" if ok else "WRONG"
                print(f"{name}: exit {code}, {seconds / 60:.1f} min: {verdict_text}: {why}", flush=True)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
