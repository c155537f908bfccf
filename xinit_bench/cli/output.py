"""The output tail of the subcommands that print tables, draw a figure and write JSON.

Two steps, one on each side of the work:

* before it, :func:`plot_target` checks ``--plot PATH`` (a ``.png`` path that
  can be written, and matplotlib importable), as
  :func:`~xinit_bench.cli.common.json_target` checks ``--json``, so that a bad
  path is a usage error and nothing has been computed or written;
* after it, :func:`write_outputs` prints the tables (unless the JSON goes to
  stdout in their place), draws the figure and says ``wrote PATH`` on stderr,
  and writes the JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import UsageError, check_writable, emit_json, to_stdout

#: How to get matplotlib, in the message that refuses ``--plot`` without it.
PLOT_EXTRA = "the optional 'plot' extra (pip install 'xinit-bench[plot]')"


def plot_target(path: Path | None, available: Callable[[], bool], *, no_plot_switch: bool = False) -> Path | None:
    """The ``--plot`` value, checked before any work: ``None`` (no figure) or a PNG path that can be written.

    Parameters
    ----------
    path
        The figure's path, or ``None`` for no figure.
    available
        Whether matplotlib can be imported
        (:func:`xinit_bench.propagation.plot.matplotlib_available`).
    no_plot_switch
        The command draws a figure by default and has ``--no-plot``; the
        message that refuses a missing matplotlib points to it.

    Raises
    ------
    UsageError
        If ``path`` does not end in ``.png``, could not be written
        (:func:`~xinit_bench.cli.common.check_writable`), or matplotlib is
        missing; checked in that order.
    """
    if path is None:
        return None
    if path.suffix.lower() != ".png":
        raise UsageError(f"--plot {path}: the plot is a PNG; give a path ending in .png")
    check_writable(path, "--plot")
    if not available():
        raise UsageError(f"--plot needs matplotlib, {PLOT_EXTRA}" + ("; or pass --no-plot" if no_plot_switch else ""))
    return path


def write_outputs(
    json_to: Path | None,
    data: Any,
    tables: Callable[[], None],
    *,
    plot_to: Path | None = None,
    draw: Callable[[Path], None] | None = None,
    json_first: bool = False,
) -> None:
    """Print ``tables()`` unless ``json_to`` is stdout, draw the figure to ``plot_to``, write ``data`` to ``json_to``.

    Parameters
    ----------
    json_to
        From :func:`~xinit_bench.cli.common.json_target`: ``None`` (no JSON),
        ``-`` (JSON on stdout instead of the tables) or a checked file.
    data
        What the JSON holds (:func:`~xinit_bench.cli.common.emit_json`).
    tables
        Prints the human-readable report on stdout.
    plot_to, draw
        The figure's path from :func:`plot_target` and what draws it there;
        the figure is written, and ``wrote PATH`` said on stderr, only when
        ``plot_to`` is not ``None``.
    json_first
        Write the JSON before the figure, so that a long run keeps its
        numbers even if drawing fails.

    Raises
    ------
    TypeError
        If ``plot_to`` is given without ``draw``.
    UsageError
        If the JSON file cannot be written.
    """
    if plot_to is not None and draw is None:
        raise TypeError(f"write_outputs: plot_to={plot_to} needs draw, a callable that writes the figure, got None")
    if not to_stdout(json_to):
        tables()

    def figure() -> None:
        if plot_to is not None and draw is not None:
            draw(plot_to)
            sys.stderr.write(f"wrote {plot_to}\n")

    def numbers() -> None:
        if json_to is not None:
            emit_json(data, json_to)

    for step in (numbers, figure) if json_first else (figure, numbers):
        step()
