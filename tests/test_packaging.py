"""The built wheel holds every module of the source tree.

The test suite runs against an editable install, which imports straight from
the source folders, so a package missing from ``[tool.setuptools] packages``
passes every other test and is only absent for users who ``pip install`` the
project (and for asv, which installs wheels): ``xinit_bench.propagation`` was
missing that way, and asv skipped the propagation benchmark on every commit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

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
