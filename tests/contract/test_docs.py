"""The documentation's promises: every Python block of the README and ``docs/`` runs as written.

Every fenced block whose info string is ``python`` in ``README.md`` and
``docs/*.md`` is executed on its own, in a fresh namespace (no block relies
on an earlier block of its page), with a temporary folder as the working
directory, so a block may write files (a memmap, a zarr store) but may not
need any file, name or download that it does not make itself.  Blocks that
import torch, dask, zarr, distributed or matplotlib (directly or through
``xinit_bench.torch`` / ``xinit_bench.dask``) are skipped only when that
package is not installed.  ``bash`` and ``console`` blocks are shown, never run.

The extractor is checked against a plain count of the opening fences, so
that a page cannot pass by yielding no blocks at all.  Two more checks: every
subcommand registered in the CLI's argparse is named as ``xinit-bench <name>``
in the README or ``docs/``, with a section of its own in ``docs/cli.md``;
and every relative link of these pages points at a file and heading that exist.
"""

from __future__ import annotations

import argparse
import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: A fence line: three or more backticks or tildes, then the info string.
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")

#: The packages a block needs, by the top-level module or xinit_bench submodule it imports.
OPTIONAL: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "dask": ("dask",),
    "distributed": ("distributed",),
    "zarr": ("zarr",),
    "matplotlib": ("matplotlib",),
    "keras": ("keras",),
    "jax": ("jax",),
    "flax": ("flax",),
    "sklearn": ("sklearn",),
    "transformers": ("transformers",),
    "safetensors": ("safetensors",),
    "xinit_bench.torch": ("torch",),
    "xinit_bench.dask": ("dask", "distributed", "zarr"),
    "xinit_bench.keras": ("keras",),
    "xinit_bench.jax": ("jax",),
}


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, the lines of its opening and closing fences (1-based), its text."""

    info: str
    line: int
    code: str
    end: int = field(default=0, compare=False)


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced code block of a Markdown text, in order (a fence closes with the same or a longer fence)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, info, start = opening["fence"], opening["info"].lower(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not (
            lines[i].strip().startswith(fence[0] * len(fence)) and set(lines[i].strip()) == {fence[0]}
        ):
            body.append(lines[i])
            i += 1
        blocks.append(Block(info, start + 1, "\n".join(body) + "\n", end=i + 1))
        i += 1  # past the closing fence
    return blocks


def python_blocks(text: str) -> list[Block]:
    """The fenced blocks whose info string is ``python``."""
    return [b for b in fenced_blocks(text) if b.info == "python"]


def without_code(text: str) -> str:
    """The text with its fenced blocks blanked out (their lines kept empty, so line numbers hold)."""
    lines = text.splitlines()
    for block in fenced_blocks(text):
        for k in range(block.line - 1, min(block.end, len(lines))):
            lines[k] = ""
    return "\n".join(lines)


def needed_packages(code: str) -> list[str]:
    """The optional packages that ``code`` imports, directly or through an xinit_bench adapter."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    needed: list[str] = []
    for module in sorted(modules):
        for prefix in (module, module.split(".")[0], ".".join(module.split(".")[:2])):
            for package in OPTIONAL.get(prefix, ()):
                if package not in needed:
                    needed.append(package)
    return needed


def _cases() -> list[pytest.param]:
    cases = []
    for page in PAGES:
        for block in python_blocks(page.read_text(encoding="utf-8")):
            name = f"{page.relative_to(ROOT)}:{block.line}"
            cases.append(pytest.param(name, block.code, id=name))
    return cases


# --- the extractor --------------------------------------------------------------------------
def test_extractor_finds_exactly_the_python_blocks() -> None:
    text = (
        "Intro.\n\n"
        "```python\nx = 1\n```\n\n"
        "```bash\npip install xinit-bench\n```\n\n"
        "````markdown\n```python\nnot = 'a block of its own'\n```\n````\n\n"
        "```console\n$ xinit-bench gains\n```\n\n"
        "```python\ny = 2\nz = 3\n```\n"
    )
    assert python_blocks(text) == [Block("python", 3, "x = 1\n"), Block("python", 21, "y = 2\nz = 3\n")]
    assert [b.info for b in fenced_blocks(text)] == ["python", "bash", "markdown", "console", "python"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_fence_is_extracted(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    opened = len(re.findall(r"^```python[ \t]*$", text, flags=re.MULTILINE))
    blocks = python_blocks(text)
    assert len(blocks) == opened, f"{page.name}: {opened} python fences, {len(blocks)} blocks extracted"
    assert all(b.code.strip() for b in blocks), f"{page.name}: an empty python block"


def test_the_pages_have_python_blocks() -> None:
    assert python_blocks((ROOT / "README.md").read_text(encoding="utf-8")), "README.md has no python block"
    # The pages that document an API show it in code; each must have a block that runs.
    for name in ("api", "torch", "dask", "propagation", "stream"):
        assert python_blocks((ROOT / "docs" / f"{name}.md").read_text(encoding="utf-8")), f"docs/{name}.md"
    assert len(_cases()) >= 10


def test_needed_packages_sees_the_adapters() -> None:
    assert needed_packages("import numpy as np\nimport xinit_bench as xb\n") == []
    assert needed_packages("from xinit_bench import torch as xt\n") == ["torch"]
    assert needed_packages("import xinit_bench.dask as xbd\n") == ["dask", "distributed", "zarr"]
    assert needed_packages("from torch import nn\nimport matplotlib.pyplot as plt\n") == ["matplotlib", "torch"]


# --- the blocks, run ------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "code"), _cases())
def test_python_block_runs(name: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for package in needed_packages(code):
        pytest.importorskip(package)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})


# --- the command line -----------------------------------------------------------------------
def _subcommands() -> list[str]:
    from xinit_bench.cli import build_parser

    actions = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return sorted(actions[0].choices)


def test_every_subcommand_is_documented() -> None:
    commands = _subcommands()
    assert {"bench", "gate", "propagate", "gains", "info", "compile", "models", "to-zarr"} <= set(commands)
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    missing = [c for c in commands if not re.search(rf"xinit-bench {re.escape(c)}\b", text)]
    assert not missing, f"subcommands named nowhere in README.md or docs/: {missing}"
    cli = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\S+)\s*$", without_code(cli), flags=re.MULTILINE))
    assert set(commands) <= sections, f"docs/cli.md lacks a section for {sorted(set(commands) - sections)}"


# --- links ----------------------------------------------------------------------------------
def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", without_code(page.read_text(encoding="utf-8")), flags=re.MULTILINE):
        base, k = slug(heading), 1
        name = base
        while name in found:
            name, k = f"{base}-{k}", k + 1
        found.add(name)
    return found


def test_slug_matches_github() -> None:
    assert slug("The CI regression gate: `xinit-bench gate --against REF`") == (
        "the-ci-regression-gate-xinit-bench-gate---against-ref"
    )
    assert slug("Half precision: float16 and bfloat16") == "half-precision-float16-and-bfloat16"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", without_code(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        missing_anchor = bool(anchor) and file.suffix == ".md" and file.exists() and anchor not in anchors(file)
        if not file.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.name}: broken links {broken}"
