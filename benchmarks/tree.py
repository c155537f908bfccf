"""The working tree's measurement code, loaded beside the library under test.

asv installs the library of the commit it benchmarks, but times it with the
suite of the working tree.  The case table, the NumPy references and the
bandwidth fill must then come from the working tree too (an older commit may
lack them, or define them differently), while every xinit-bench call goes to
the installed library.  :func:`load` imports ``<tree>/xinit_bench/perf/<name>.py``
under the synthetic package ``_xinit_tree``, whose ``__path__`` is the
working tree's ``xinit_bench/`` (and ``_xinit_tree.kernels`` is ``<tree>/kernels``,
which ``reference.py`` reads its coefficients from).  ``perf`` refers to its
siblings by relative imports, so they resolve inside ``_xinit_tree``, and to
the library under test by a lazy ``import xinit_bench``, which resolves to
the installed one.  The package ``__init__`` files of the tree are not run.
:func:`module` imports other working-tree modules the same way (``reference``).

Nothing here imports Numba or runs a kernel at import.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

#: The root of the working tree this file belongs to.
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "_xinit_tree"


def _package(name: str, folder: Path) -> types.ModuleType:
    """An empty package ``name`` whose submodules are found in ``folder``."""
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name, f"working-tree copy of {folder}")
        module.__path__ = [str(folder)]
        module.__package__ = name
        sys.modules[name] = module
    return module


def module(name: str, root: Path = ROOT) -> types.ModuleType:
    """The working tree's ``xinit_bench.<name>`` (e.g. ``"perf.cases"``, ``"reference"``), imported once.

    Raises
    ------
    NotImplementedError
        If the working tree's module cannot be imported (asv then skips the benchmark).
    """
    top = _package(PACKAGE, root / "xinit_bench")
    top.kernels = _package(f"{PACKAGE}.kernels", root / "kernels")
    top.perf = _package(f"{PACKAGE}.perf", root / "xinit_bench" / "perf")
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ImportError as exc:
        raise NotImplementedError(f"the working tree's xinit_bench.{name} cannot be imported: {exc}") from None


def load(name: str, root: Path = ROOT) -> types.ModuleType:
    """The working tree's ``xinit_bench.perf.<name>`` (e.g. ``"cases"``); see :func:`module`."""
    return module(f"perf.{name}", root)
