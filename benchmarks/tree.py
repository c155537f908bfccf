"""The working tree's measurement code, loaded beside the library under test.

asv installs the library of the commit it benchmarks, but times it with the
suite of the working tree.  The case table, the NumPy references and the
bandwidth fill must then come from the working tree too (an older commit may
lack them, or define them differently), while every xinit-bench call goes to
the installed library.  :func:`load` imports ``<tree>/xinit_bench/perf/<name>.py``
as ``_xinit_tree.perf.<name>``, and :func:`module` any other working-tree
module the same way (``reference``, ``runtime``): the package-building code
is ``xinit_bench/perf/treeload.py``, the loader that the A/B gate's workers
use too, run here by path because the ``xinit_bench`` that this process can
import is the benchmarked commit's, not the working tree's.

Nothing here imports Numba or runs a kernel at import.
"""

from __future__ import annotations

import functools
import runpy
import types
from collections.abc import Callable
from pathlib import Path

#: The root of the working tree this file belongs to.
ROOT = Path(__file__).resolve().parents[1]
#: The private package name of the working tree's ``xinit_bench``.
PACKAGE = "_xinit_tree"


@functools.cache
def _tree_module(root: Path) -> Callable[[str, Path, Path], types.ModuleType]:
    """``tree_module`` of ``root``'s loader (see the module docstring)."""
    loader = runpy.run_path(str(root / "xinit_bench" / "perf" / "treeload.py"))
    assert loader["PACKAGE"] == PACKAGE
    tree_module: Callable[[str, Path, Path], types.ModuleType] = loader["tree_module"]
    return tree_module


def module(name: str, root: Path = ROOT) -> types.ModuleType:
    """The working tree's ``xinit_bench.<name>`` (e.g. ``"perf.cases"``, ``"reference"``), imported once.

    Raises
    ------
    NotImplementedError
        If the working tree's module cannot be imported (asv then skips the benchmark).
    """
    try:
        return _tree_module(root)(name, root / "xinit_bench", root / "kernels")
    except ImportError as exc:
        raise NotImplementedError(f"the working tree's xinit_bench.{name} cannot be imported: {exc}") from None


def load(name: str, root: Path = ROOT) -> types.ModuleType:
    """The working tree's ``xinit_bench.perf.<name>`` (e.g. ``"cases"``); see :func:`module`."""
    return module(f"perf.{name}", root)
