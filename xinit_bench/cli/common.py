"""Helpers every ``xinit-bench`` subcommand shares.

* Usage errors are one line on stderr, ``<prog>: error: <message>``, with exit
  status 2 (:class:`UsageError`, :func:`fail`, :func:`one_line_errors`), and
  come before any work and before any file is written.
* ``--json [PATH]`` (:func:`add_json_option`): without PATH, JSON on stdout
  instead of the tables; with PATH, the tables as usual and JSON in PATH.
  Output paths are checked for writability up front (:func:`check_writable`).
* A progress bar on stderr, only when stderr is a terminal (:func:`progress`).
* Tables on stdout with a fixed width when stdout is not a terminal (:func:`console`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ..validation import writable_problem

#: The value ``--json`` takes when given without a PATH: JSON goes to stdout.
STDOUT = "-"
#: Exit status of a usage error.
USAGE = 2


class UsageError(Exception):
    """A bad option or option value: reported in one line with exit status 2."""


def fail(prog: str, message: str, code: int = USAGE) -> int:
    """Write ``<prog>: error: <message>`` on stderr and return ``code``."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    return code


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make argparse report its own errors (bad int, unknown choice...) in one line, exit 2."""

    def error(message: str) -> NoReturn:
        parser.exit(USAGE, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def comma_choices(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """An argparse ``type`` for a non-empty comma-separated list of ``allowed`` values."""

    def parse(text: str) -> tuple[str, ...]:
        values = tuple(part.strip() for part in text.split(",") if part.strip())
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"{text!r}: allowed values are {', '.join(allowed)}")
        return values

    return parse


def add_json_option(parser: argparse.ArgumentParser | Any, what: str = "the results") -> None:
    """Add ``--json [PATH]`` to ``parser`` (or an argument group)."""
    parser.add_argument(
        "--json",
        nargs="?",
        const=STDOUT,
        default=None,
        metavar="PATH",
        help=f"write {what} as JSON to PATH (the tables still print), or without PATH to stdout instead of the tables",
    )


def check_writable(path: Path, option: str) -> None:
    """Refuse, before any work, an output file that could not be written.

    An existing file is opened for append (which changes nothing); for a new
    one, a temporary sibling is created and removed, so no file is left behind.

    Raises
    ------
    UsageError
        If ``path`` is a directory, its directory does not exist, or the file
        cannot be opened for writing there.
    """
    problem = writable_problem(path)
    if problem is not None:
        raise UsageError(f"{option} {path}: {problem}")


def json_target(value: str | None, option: str = "--json") -> Path | None:
    """The ``--json`` value: ``None`` (not given), ``Path("-")`` for stdout, or a checked file path."""
    if value is None:
        return None
    path = Path(value)
    if value != STDOUT:
        check_writable(path, option)
    return path


def to_stdout(target: Path | None) -> bool:
    """Whether ``target`` (from :func:`json_target`) means JSON on stdout instead of the tables."""
    return target is not None and str(target) == STDOUT


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def emit_json(data: Any, target: Path, *, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Write ``data`` as JSON to ``out`` (``target`` is ``-``) or to the file ``target``, saying so on ``err``.

    Raises
    ------
    UsageError
        If the file cannot be written.
    """
    text = json.dumps(finite(data), indent=2) + "\n"
    if to_stdout(target):
        (sys.stdout if out is None else out).write(text)
        return
    try:
        target.write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    (sys.stderr if err is None else err).write(f"wrote {target}\n")


def console(out: TextIO | None = None, width: int = 132) -> Any:
    """A rich console on ``out`` (default stdout), ``width`` columns wide when it is not a terminal."""
    from rich.console import Console

    stream = sys.stdout if out is None else out
    return Console(file=stream, width=None if stream.isatty() else width)


@dataclass
class Progress:
    """Callbacks of a progress bar: :meth:`advance` by one step, :meth:`set_total`, :meth:`update`."""

    advance: Callable[[str], None]
    set_total: Callable[[int], None]
    update: Callable[[int, int], None]


def _silent() -> Progress:
    return Progress(lambda _label: None, lambda _n: None, lambda _done, _total: None)


@contextlib.contextmanager
def progress(description: str, enabled: bool = True, unit: str = "") -> Iterator[Progress]:
    """A transient rich progress bar on stderr, shown only when stderr is a terminal.

    ``unit`` is printed after the count (e.g. ``"layer passes"``); each
    :meth:`Progress.advance` shows its label beside the bar.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    err = Console(stderr=True)
    if not enabled or not err.is_terminal:
        yield _silent()
        return
    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None, label="")
        yield Progress(
            lambda label: bar.update(task, advance=1, label=label),
            lambda n: bar.update(task, total=n),
            lambda done, total: bar.update(task, completed=done, total=total),
        )


def fmt(value: float | None, spec: str) -> str:
    """``spec.format(value)``, or ``"-"`` for ``None``."""
    return "-" if value is None else spec.format(value)
