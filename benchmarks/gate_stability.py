"""Gate stability check: the A/B gate catches a real 1.5x slowdown and raises no false alarm, under load.

Two series of ``xinit-bench gate --against REF`` runs (default REF: ``HEAD``),
each gate run a fresh process, while a busy loop pinned to the last CPU keeps
that core fully loaded:

``slowed``
    The working tree is replaced by a *variant* of REF in which one kernel
    does 1.5x its work: ``launch.fill_flat`` runs the ``--kind`` kernel
    (default ``normal``) once on the whole output and once more on its first
    half, which rewrites the same bits (so the variant is still correct).  The
    variant is built from ``git archive REF`` with that one edit and
    installed with ``pip install --no-deps --target`` into a temporary
    folder put first on ``PYTHONPATH``.  Every run must exit 1 and flag only
    rows of that kind.
``unchanged``
    REF itself, installed the same way without the edit, against REF: the
    unchanged tree.  Every run must exit 0.

Prints one line per run (exit code, seconds, the slowed kind's ratios and
lower bounds, the largest ratio of any other row) and a summary; exits 0 only
if every run gave the expected verdict.

Usage (from the repository root)::

    python benchmarks/gate_stability.py                    # 10 + 10 runs against HEAD
    python benchmarks/gate_stability.py --series slowed --runs 3 -- --only normal-float32-1M

asv imports every module of this folder; nothing here runs at import.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: The busy loop: pin to one CPU, spin until a deadline.
_BUSY = """
import os, sys, time
cpu = int(sys.argv[1])
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {cpu})
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    pass
"""

#: Appended to the variant's ``xinit_bench/launch.py``: every fill of ``kind``
#: runs its kernel a second time on the first half of the output.
SLOWDOWN = """

# --- gate_stability.py variant: the {kind!r} kernel does 1.5x its work -------------
_unslowed_fill_flat = fill_flat


def fill_flat(kind, flat, key, offset, params):  # type: ignore[no-redef]
    _unslowed_fill_flat(kind, flat, key, offset, params)
    if kind == {kind!r}:
        _unslowed_fill_flat(kind, flat[: flat.size // 2], key, offset, params)
"""


def _other_core() -> int:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    return cpus[-1]


@contextmanager
def busy_core(seconds: float) -> Iterator[int]:
    """Keep the last CPU busy with a pinned loop (at most ``seconds``) while the block runs; yields that CPU."""
    core = _other_core()
    busy = subprocess.Popen([sys.executable, "-c", _BUSY, str(core), str(seconds)])
    print(f"busy loop pid {busy.pid} pinned to CPU {core}", flush=True)
    try:
        yield core
    finally:
        busy.kill()
        busy.wait()


def build_variant(ref: str, kind: str | None, folder: Path, repo: Path = ROOT) -> Path:
    """Install REF, with the ``kind`` kernel slowed 1.5x (``None``: unchanged), into ``folder/site``.

    Returns the site folder.  Its kernels are compiled into its own cache once
    here (``xinit-bench compile``), so that no gate run pays for it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    source, site = folder / "src", folder / "site"
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", ref], capture_output=True, check=True)
    (folder / "src.tar").write_bytes(archive.stdout)
    with tarfile.open(folder / "src.tar") as tar:
        tar.extractall(source)  # our own commit
    if kind is not None:
        launch = source / "xinit_bench" / "launch.py"
        launch.write_text(launch.read_text() + SLOWDOWN.format(kind=kind))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(source)],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    subprocess.run([sys.executable, "-m", "xinit_bench.cli", "compile"], env=env, cwd=folder, check=True)
    return site


def gate_once(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, dict[str, Any] | None, str]:
    """One gate run: (exit code, seconds, parsed JSON or None, stderr)."""
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    seconds = time.perf_counter() - t0
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        data = None
    return proc.returncode, seconds, data, proc.stderr


def summarise(data: dict[str, Any] | None, kind: str) -> tuple[str, list[str]]:
    """A one-line digest of a gate run and the names of the rows it flagged."""
    if data is None:
        return "no JSON", []
    rows = [r for r in data["benchmarks"] if r["ratio"] is not None]
    mine = [r for r in rows if r["name"].startswith(f"{kind}-")]
    others = [r for r in rows if not r["name"].startswith(f"{kind}-")]
    flagged = [r["name"] for r in rows if r["status"] == "REGRESSION"]
    parts = [f"{r['name'].removeprefix(kind + '-')} {r['ratio']:.3f} (lower {r['lower']:.3f})" for r in mine]
    worst = max(others, key=lambda r: r["ratio"], default=None)
    if worst is not None:
        parts.append(f"largest other {worst['ratio']:.3f} ({worst['name']}, lower {worst['lower']:.3f})")
    return "; ".join(parts), flagged


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stability check; return 0 if every gate run gave the expected verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="gate runs per series (default 10)")
    parser.add_argument("--series", choices=("both", "slowed", "unchanged"), default="both")
    parser.add_argument("--against", default="HEAD", help="the reference revision (default HEAD)")
    parser.add_argument("--kind", default="normal", help="the kernel kind the variant slows (default normal)")
    parser.add_argument("--no-load", action="store_true", help="do not start the busy loop")
    parser.add_argument("--max-seconds", type=float, default=7200.0, help="the busy loop's own time limit")
    parser.add_argument("gate_args", nargs="*", help="extra gate arguments (after --)")
    args = parser.parse_args(argv)

    # Resolved once: a commit made while the check runs must not move the reference.
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{args.against}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    args.against = commit
    base = [sys.executable, "-m", "xinit_bench.cli", "gate", "--against", commit, "--repo", str(ROOT), "--json"]
    command = [*base, *args.gate_args]
    series = ["slowed", "unchanged"] if args.series == "both" else [args.series]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="xinit-gate-stability-") as tmp:
        folder = Path(tmp)
        envs: dict[str, dict[str, str]] = {}
        for name in series:
            slowed = args.kind if name == "slowed" else None
            what = f"with the {args.kind!r} kernel slowed 1.5x" if slowed else "unchanged"
            print(f"building {args.against} {what} ...", flush=True)
            site = build_variant(args.against, slowed, folder / name)
            envs[name] = {**os.environ, "PYTHONPATH": str(site)}
        with nullcontext() if args.no_load else busy_core(args.max_seconds):
            for name in series:
                good = 0
                for run in range(1, args.runs + 1):
                    code, seconds, data, err = gate_once(command, envs[name], folder)
                    digest, flagged = summarise(data, args.kind)
                    if name == "slowed":
                        ok = code == 1 and bool(flagged) and all(f.startswith(f"{args.kind}-") for f in flagged)
                    else:
                        ok = code == 0
                    good += ok
                    if data is None:
                        sys.stderr.write(err)
                    print(
                        f"{name} run {run:2d}/{args.runs}: exit {code} ({'as expected' if ok else 'WRONG'}), "
                        f"{seconds:5.1f} s, flagged {len(flagged)}: {digest}",
                        flush=True,
                    )
                expected = "caught" if name == "slowed" else "passed (no false alarm)"
                print(
                    f"{name}: {good}/{args.runs} runs {expected}{'' if args.no_load else ', the other core busy'}",
                    flush=True,
                )
                failures += args.runs - good
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
