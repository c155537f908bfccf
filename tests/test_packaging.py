"""The built wheel holds every module of the source tree, and a reinstall keeps the kernel cache.

The test suite runs against an editable install, which imports straight from
the source folders, so a package missing from ``[tool.setuptools] packages``
passes every other test and is only absent for users who ``pip install`` the
project (and for asv, which installs wheels): ``xinit_bench.propagation`` was
missing that way, and asv skipped the propagation benchmark on every commit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def source_modules() -> set[str]:
    """Installed paths (``xinit_bench/...py``) of every module in the source tree, via package-dir."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = {Path(src): pkg for pkg, src in config["package-dir"].items()}
    found = set()
    for src_root, pkg in mapped.items():
        for path in (ROOT / src_root).rglob("*.py"):
            rel = path.relative_to(ROOT / src_root)
            if "__pycache__" in rel.parts:
                continue
            # a sub-folder of a mapped folder is only a package of its own if it has an __init__.py
            if not (path.parent / "__init__.py").exists():
                continue
            found.add("/".join([*pkg.split("."), *rel.parts]))
    return found


def test_every_package_folder_is_declared() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    folders = {m.rsplit("/", 1)[0].replace("/", ".") for m in source_modules()}
    assert folders <= declared, f"packages missing from pyproject.toml: {sorted(folders - declared)}"


def test_wheel_contains_every_module(tmp_path: Path) -> None:
    # Build from a copy of just the sources: setuptools reuses a build/ folder
    # left in the tree, which can hold modules the current config would omit.
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.nbi", "*.nbc")
    for folder in ("xinit_bench", "kernels"):
        shutil.copytree(ROOT / folder, src / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("xinit_bench-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = {n for n in zf.namelist() if n.endswith(".py")}
        assert "xinit_bench/py.typed" in zf.namelist()
    missing = source_modules() - in_wheel
    assert not missing, f"modules not in the wheel: {sorted(missing)}"


_SITE = r"""
import json, site, sys
import os
print(json.dumps([p for p in [*site.getsitepackages(), site.getusersitepackages()] if os.path.isdir(p)]))
"""


@pytest.mark.slow
def test_reinstalling_unchanged_sources_keeps_the_kernel_cache(tmp_path: Path) -> None:
    """``pip install .``, ``xinit-bench compile``, ``pip install '.[plot]'``: the second compile compiles nothing.

    A fresh virtual environment whose site-packages sees this interpreter's
    (a ``.pth`` file: numba, numpy and the rest without a download), the
    project installed into it from a copy of the sources, not editable, as a
    user gets it.  The reinstall rewrites every file (pip sets no mtimes), and
    Numba's cache index must still match: it is keyed on each source file's
    content.  About 2.5 minutes of CPU on the 2-core development VM, nearly
    all of it the first compile.
    """
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.nbi", "*.nbc")
    for folder in ("xinit_bench", "kernels"):
        shutil.copytree(ROOT / folder, src / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=600)
    python = venv / "bin" / "python"
    site_dirs = json.loads(subprocess.run([sys.executable, "-c", _SITE], capture_output=True, text=True).stdout)
    (purelib,) = json.loads(subprocess.run([str(python), "-c", _SITE], capture_output=True, text=True).stdout)[:1]
    Path(purelib, "_outer_site.pth").write_text("\n".join(site_dirs) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CACHE", "PYTHONPATH", "VIRTUAL_ENV"))}

    def pip_install(target: str) -> None:
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        proc = subprocess.run(
            [*pip, "--no-deps", "--no-build-isolation", target],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]

    def compile_json() -> dict[str, Any]:
        proc = subprocess.run(
            [str(venv / "bin" / "xinit-bench"), "compile", "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=1800,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    pip_install(str(src))
    where = subprocess.run(
        [str(python), "-c", "import xinit_bench.kernels.fill as f; print(f.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.strip()
    installed = Path(where)
    assert installed.is_relative_to(venv), where  # the installed copy, not the editable tree
    first = compile_json()
    cache = first["cache"]
    assert isinstance(cache, dict) and cache["warm"] == cache["total"] == len(first["signatures"])
    assert cache["folders"] == [str(installed.parent / "__pycache__")]
    stamp = installed.stat().st_mtime_ns

    pip_install(f"{src}[plot]")
    assert installed.stat().st_mtime_ns != stamp  # pip rewrote the file: a timestamp-keyed cache would be lost
    second = compile_json()
    assert second["compiled"] == 0, [s for s in second["signatures"] if s["compiled"]]
    assert second["loaded"] == len(second["signatures"])
