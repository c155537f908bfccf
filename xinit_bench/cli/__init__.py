"""The ``xinit-bench`` command line.

Subcommands, one module each (``setup_arguments(subparsers)`` adds the
subcommand and sets ``func=run``; ``run(args)`` returns the exit code):
``bench`` (throughput against NumPy, the raw generator and the memory-bandwidth
limit, and a verdict on the speed targets), ``models``
(whole-model init of PyTorch models against torch), ``gate``
(CI regression gate), ``propagate`` and ``gains`` (variance propagation
study), ``info`` (versions, threading layer, CPU, threads, the kernel cache), ``compile``
(every kernel into the on-disk cache), ``to-zarr`` (a tensor
larger than memory into a zarr store, chunk by chunk), ``checkpoint`` (a
random Hugging Face checkpoint of a config, shard by shard), ``sigprop``
(signal propagation at step 0 of a model built from a config, per preset).  Tables by
default; ``--json`` alone prints JSON instead, ``--json PATH`` writes it
beside the tables.  Usage errors are one line on stderr with exit status 2,
naming the CLI's flags (``--shape``), not the library's keywords (``shape=``).
Tables fit 100 columns.
The CLI, unlike the library, may set the thread count (``--threads``) and
records what it used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import bench, checkpoint, compile, gains, gate, info, models, phase, propagate, sigprop, to_zarr, train
from .common import UsageError, fail, flag_names, one_line_errors, use_flags

__all__ = ["build_parser", "main"]

COMMANDS = (bench, models, gate, propagate, gains, info, compile, to_zarr, checkpoint, sigprop, phase, train)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``xinit-bench`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="xinit-bench",
        description="Fast, bit-reproducible weight initialisation: benchmarks, CI gate, variance propagation.",
    )
    one_line_errors(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.setup_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``xinit-bench``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    use_flags(*flag_names(_subparser(parser, args.command)))
    try:
        return int(args.func(args))
    except UsageError as exc:  # an output that could not be written at the end of a run
        return fail(f"xinit-bench {args.command}", str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``command`` (its flags name the library's parameters in error messages)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    return parser
