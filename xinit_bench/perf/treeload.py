"""A tree's ``xinit_bench/`` under the private package name ``_xinit_tree``, beside the library under test.

Two programs time one library with the measurement code of another tree:

* asv (``benchmarks/tree.py``) installs the library of the commit it
  benchmarks, but times it with the working tree's case table, NumPy
  references and bandwidth fill (an older commit may lack them, or define
  them differently);
* each worker of the A/B gate (:mod:`.ab_worker`) imports either the
  reference commit's library or the working tree's, and both run the working
  tree's measurement code, so that only the library differs.

:func:`tree_module` imports ``<xinit folder>/<name>.py`` as
``_xinit_tree.<name>``: ``_xinit_tree`` is an empty package whose
``__path__`` is that ``xinit_bench/`` folder, ``_xinit_tree.perf`` its
``perf/`` and ``_xinit_tree.kernels`` the kernels folder (``reference.py``
reads its coefficients from there).  The measurement modules refer to their
siblings by relative imports, which resolve inside ``_xinit_tree``, and to the
library under test only by a lazy ``import xinit_bench``, which resolves to
whichever library comes first on ``sys.path``.  The tree's package
``__init__`` files are not run.

This module imports nothing of the library, neither at import nor later, and
has no side effect at import: its callers run this file by path
(``runpy.run_path``), because the ``xinit_bench`` they could import may be
another commit's.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

__all__ = ["PACKAGE", "install", "tree_module"]

#: The private name of the tree's ``xinit_bench`` package.
PACKAGE = "_xinit_tree"


def _package(name: str, folder: Path) -> types.ModuleType:
    """The empty package ``name`` whose submodules are found in ``folder`` (made once per process)."""
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name, f"working-tree copy of {folder}")
        module.__path__ = [str(folder)]
        module.__package__ = name
        sys.modules[name] = module
    return module


def install(xinit_folder: Path, kernels_folder: Path) -> types.ModuleType:
    """Register ``_xinit_tree`` (on ``xinit_folder``) with its ``kernels`` and ``perf`` subpackages; return it.

    A package that is already registered is kept: one process loads one tree.
    """
    top = _package(PACKAGE, xinit_folder)
    for name, folder in (("kernels", kernels_folder), ("perf", xinit_folder / "perf")):
        setattr(top, name, _package(f"{PACKAGE}.{name}", folder))
    return top


def tree_module(name: str, xinit_folder: Path, kernels_folder: Path) -> types.ModuleType:
    """The tree's ``xinit_bench.<name>`` (e.g. ``"perf.cases"``, ``"reference"``) as ``_xinit_tree.<name>``.

    Raises
    ------
    ImportError
        If the tree's module, or one it imports, cannot be imported.
    """
    install(xinit_folder, kernels_folder)
    return importlib.import_module(f"{PACKAGE}.{name}")
