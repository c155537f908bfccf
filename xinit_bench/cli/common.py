"""Helpers every ``xinit-bench`` subcommand shares.

* Usage errors are one line on stderr, ``<prog>: error: <message>``, with exit
  status 2 (:class:`UsageError`, :func:`fail`, :func:`one_line_errors`), and
  come before any work and before any file is written.
* ``--json [PATH]`` (:func:`add_json_option`): without PATH, JSON on stdout
  instead of the tables; with PATH, the tables as usual and JSON in PATH.
  Output paths are checked for writability up front (:func:`check_writable`).
* A progress bar on stderr, only when stderr is a terminal (:func:`progress`).
* Tables on stdout at most :data:`WIDTH` columns wide (:func:`console`).
* The library names its parameters as Python does (``shape must ...``,
  ``overwrite=True``); an error message reaches the user with the CLI's
  flags instead (``--shape must ...``, ``--overwrite``): :func:`use_flags`
  takes the mapping from the subcommand's own parser, once, and :func:`fail`
  applies it (:func:`cli_message`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ..validation import writable_problem

#: The value ``--json`` takes when given without a PATH: JSON goes to stdout.
STDOUT = "-"
#: Exit status of a usage error.
USAGE = 2
#: Widest table, in columns, on a terminal or not: wider tables wrap or drop columns (the rest is in --json).
WIDTH = 100

#: Python parameter name -> the CLI's name for it, for the subcommand being run (:func:`use_flags`).
_FLAGS: dict[str, str] = {}
#: The parameters among them that are switches (``overwrite=True`` reads ``--overwrite``).
_SWITCHES: set[str] = set()


class UsageError(Exception):
    """A bad option or option value: reported in one line with exit status 2."""


def fail(prog: str, message: str, code: int = USAGE) -> int:
    """Write ``<prog>: error: <message>`` on stderr, in the CLI's names (:func:`cli_message`), and return ``code``."""
    sys.stderr.write(f"{prog}: error: {cli_message(message)}\n")
    return code


def flag_names(parser: argparse.ArgumentParser) -> tuple[dict[str, str], set[str]]:
    """``{dest: flag}`` for every option of ``parser`` (its metavar for a positional), and the switches among them.

    A plural flag also stands for its singular where the library uses that
    (``--dtypes`` for ``dtype``, ``--sizes`` for ``size``).
    """
    names: dict[str, str] = {}
    switches: set[str] = set()
    for action in parser._actions:
        if action.dest in (argparse.SUPPRESS, "help"):
            continue
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs:
            names[action.dest] = longs[0]
        elif not action.option_strings:
            names[action.dest] = str(action.metavar or action.dest)
        else:
            continue
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            switches.add(action.dest)
    for dest, flag in list(names.items()):
        if dest.endswith("s") and dest[:-1] not in names:
            names[dest[:-1]] = flag
    return names, switches


def use_flags(names: Mapping[str, str], switches: set[str] | frozenset[str] = frozenset()) -> None:
    """Set the mapping :func:`cli_message` applies (called by ``main`` for the subcommand it runs).

    ``names`` maps a Python parameter name to its CLI spelling; a command adds
    names that only it knows (``to-zarr``'s ``--param NAME``) with :func:`add_flags`.
    """
    _FLAGS.clear()
    _FLAGS.update(names)
    _SWITCHES.clear()
    _SWITCHES.update(switches)


def add_flags(names: Mapping[str, str]) -> None:
    """Add names to the mapping of :func:`use_flags` without replacing the parser's."""
    for name, flag in names.items():
        _FLAGS.setdefault(name, flag)


def cli_message(message: str, names: Mapping[str, str] | None = None, switches: set[str] | None = None) -> str:
    """``message`` with the library's parameter names in the CLI's spelling.

    Three forms are rewritten, and only these, so that prose is left alone:
    a switch written as a keyword (``overwrite=True`` -> ``--overwrite``,
    ``=False`` -> ``no --overwrite``); a bare keyword (``pass seed= or
    generator=`` -> ``pass --seed or generator=``); and a parameter that is
    the subject of a clause, at the start of the message or after ``: `` or
    ``; `` (``shape[1] must be ...`` -> ``--shape[1] must be ...``).  A value
    echoed back as ``name=value`` (``got batch=256, repeats=8``) is left as
    it is.  Names are the mapping of :func:`use_flags` unless given.

    Examples
    --------
    >>> cli_message("store must not exist unless overwrite=True", {"store": "OUT.zarr", "overwrite": "--overwrite"},
    ...             {"overwrite"})
    'OUT.zarr must not exist unless --overwrite'
    >>> cli_message("chunks must have one entry per axis, got (7, 3, 1)", {"chunks": "--chunks"})
    '--chunks must have one entry per axis, got (7, 3, 1)'
    """
    table = _FLAGS if names is None else names
    flags = _SWITCHES if switches is None else switches
    if not table:
        return message
    words = "|".join(re.escape(n) for n in sorted(table, key=len, reverse=True))

    def keyword(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if value in ("True", "False"):
            if name not in flags:
                return match.group(0)
            return table[name] if value == "True" else f"no {table[name]}"
        return table[name]  # a bare keyword: nothing follows the "="

    out = re.sub(rf"(?<![\w.-])({words})=(True|False|(?=[\s,;:)]|$))", keyword, message)
    return re.sub(
        rf"(^|: |; )({words})(?=(\[\d+\])? must\b)",
        lambda m: m.group(1) + table[m.group(2)],
        out,
    )


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


def console(out: TextIO | None = None, width: int = WIDTH) -> Any:
    """A rich console on ``out`` (default stdout), ``width`` columns wide, or the terminal's width if narrower."""
    import shutil

    from rich.console import Console

    stream = sys.stdout if out is None else out
    if stream.isatty():
        width = min(width, shutil.get_terminal_size((width, 24)).columns)
    return Console(file=stream, width=width)


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
