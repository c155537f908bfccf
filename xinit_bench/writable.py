"""The writability probe of the library and the CLI: can this file, or a file in this folder, be written?

Re-exported by :mod:`xinit_bench.validation`, whose contract it follows: the
probe runs before any work starts, so that a path that cannot be written is
refused in the caller's message instead of after minutes of drawing.

Examples
--------
>>> writable_problem(Path("/no/such/folder/w.npy"))
'directory /no/such/folder does not exist'
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["writable_problem"]


def writable_problem(path: Path, *, folder: bool = False, make_parents: bool = False) -> str | None:
    """Why ``path`` could not be written, or ``None``: the one writability probe of the library and the CLI.

    A *file* (``folder=False``): an existing file is opened for append, which
    changes nothing; for a new one a temporary sibling is created and removed.
    A *folder* (``folder=True``), existing or to be created: the nearest
    existing directory -- ``path`` itself, else its parent, else (with
    ``make_parents``) any ancestor -- must let a temporary file be created
    there.  A real write is the only test that sees a read-only file system
    and, for root, what :func:`os.access` cannot.  Nothing is left behind.

    Returns
    -------
    str or None
        A clause for the caller's message (``"is a directory"``,
        ``"directory /x does not exist"``, ``"cannot write in /x: Permission denied"``),
        or ``None`` when the path is writable.
    """
    if not folder and path.is_dir():
        return "is a directory"
    if folder and path.exists():
        if not path.is_dir():
            return f"{path} is not a directory"
        target = path
    else:
        target = path.parent if str(path.parent) else Path(".")
        while make_parents and not target.exists() and target != target.parent:
            target = target.parent
        if target.exists() and not target.is_dir():
            return f"{target} is not a directory"
        if not target.is_dir():
            return f"directory {target} does not exist"
    try:
        if not folder and path.exists():
            with open(path, "a"):
                pass
        else:
            with tempfile.NamedTemporaryFile(dir=target, prefix=".xinit-probe-", suffix=".tmp"):
                pass
    except OSError as exc:
        return f"cannot write in {target}: {exc.strerror or exc}"
    return None
