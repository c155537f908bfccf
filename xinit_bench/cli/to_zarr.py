"""``xinit-bench to-zarr``: write an initialisation larger than memory to a zarr store, chunk by chunk.

Before any chunk is written it prints what it will do: the bytes and chunks,
the free disk space (a store that would not fit is refused) and an estimate of
the peak memory.  Then a progress bar, and a summary with the throughput;
with ``--dry-run``, a line saying that nothing was written instead.
``--resume`` continues an interrupted run; the bytes are those of one
uninterrupted run.  The library's refusals name the CLI's flags
(``--chunks must have one entry per axis ...``; see :func:`.common.cli_message`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..schemes import NAMED_SCHEMES
from .common import (
    UsageError,
    add_flags,
    add_json_option,
    console,
    emit_json,
    fail,
    json_target,
    one_line_errors,
    progress,
    to_stdout,
)

#: Exit status of a run that the machine stopped (a disk that filled, a folder that became read-only).
ENVIRONMENT = 3

DTYPES = ("float32", "float64", "float16", "bfloat16")
#: The schemes and raw samplers (xinit_bench.dask.FUNCTIONS without the aliases), named without importing dask.
SCHEMES = (*NAMED_SCHEMES, "variance_scaling", "uniform", "normal", "truncated_normal")


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated ints, e.g. 200000,50000") from None
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated ints, e.g. 200000,50000")
    return values


def _chunks(text: str) -> Any:
    return "auto" if text == "auto" else _ints(text)


def _param(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE, e.g. gain=0.5 or mode=fan_out")
    value = value.strip()
    parsed: Any = value
    if value.lower() in ("true", "false"):
        parsed = value.lower() == "true"
    else:
        for kind in (int, float):
            try:
                parsed = kind(value)
                break
            except ValueError:
                continue
    return name.strip(), parsed


def setup_arguments(subparsers: Any) -> None:
    """Add ``to-zarr`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "to-zarr",
        help="write an initialisation (larger than memory if need be) to a zarr store, chunk by chunk",
        description=(
            "Write xinit_bench.<scheme>(shape, seed=...) to a zarr store a few chunks at a time, each chunk "
            "equal to the local fill's block bit for bit. Checks the free disk space and prints a memory "
            "estimate first; --resume skips the chunks already written. bfloat16 is stored as uint16 with "
            "the attribute xinit_bench.dtype = bfloat16 (zarr 3 has no bfloat16 type). Needs the dask extra."
        ),
    )
    p.add_argument("store", metavar="OUT.zarr", help="the store's directory (it must not exist, unless --overwrite)")
    p.add_argument("--scheme", choices=SCHEMES, default="he_normal", help="scheme or raw sampler")
    p.add_argument("--shape", type=_ints, required=True, help="global shape, comma-separated (e.g. 200000,50000)")
    p.add_argument(
        "--chunks",
        type=_chunks,
        default="auto",
        help="chunk shape, comma-separated, or auto (whole rows, about 64 MiB a chunk)",
    )
    p.add_argument("--dtype", choices=DTYPES, default="float32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a keyword argument of the scheme (gain=0.5, mode=fan_out, std=0.02, absolute=true); repeatable",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace an existing zarr store")
    mode.add_argument("--resume", action="store_true", help="continue an interrupted run: write the missing chunks")
    p.add_argument("--workers", type=int, default=2, help="chunks filled and written at once (default 2)")
    p.add_argument("--dry-run", action="store_true", help="check and print the plan, write nothing")
    add_json_option(p, "the plan and the result")
    p.set_defaults(func=run)
    one_line_errors(p)


def _check_json_apart(json_to: Path | None, store: str) -> None:
    """Refuse, before any work, a ``--json`` file that is the store or lies inside it (the write would clobber it)."""
    if json_to is None or str(json_to) == "-":
        return
    target, folder = json_to.resolve(), Path(store).resolve()
    if target == folder or folder in target.parents:
        raise UsageError(f"--json {json_to}: is the store {store} or inside it; write the JSON elsewhere")


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench to-zarr``."""
    _check_json_apart(None if args.json is None else Path(args.json), args.store)
    json_to = json_target(args.json)  # a bad path raises UsageError: one line and exit 2, from main()
    try:
        from .. import dask as xd
        from ..dask.stores import size_text
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    kwargs = dict(args.param)
    add_flags({name: f"--param {name}" for name in kwargs})  # the library names them as keywords
    try:
        plan = xd.plan_zarr(
            args.store,
            args.scheme,
            args.shape,
            chunks=args.chunks,
            seed=args.seed,
            dtype=args.dtype,
            overwrite=args.overwrite,
            resume=args.resume,
            workers=args.workers,
            **kwargs,
        )
    except (TypeError, ValueError, OSError) as exc:  # every refusal comes before any chunk is written
        raise UsageError(str(exc)) from None
    data: dict[str, Any] = {
        "store": str(plan.path),
        "dry_run": bool(args.dry_run),
        "scheme": args.scheme,
        "shape": list(plan.recipe.shape),
        "dtype": plan.recipe.dtype,
        "chunks": list(plan.chunks),
        "chunks_total": plan.total_chunks,
        "chunks_to_write": len(plan.missing),
        "bytes_total": plan.bytes_total,
        "bytes_to_write": plan.bytes_to_write,
        "free_bytes": plan.free_bytes,
        "memory_estimate_bytes": plan.memory_estimate,
    }
    quiet = to_stdout(json_to)
    out = console()
    if not quiet:
        out.print(
            f"to-zarr: {args.scheme}{plan.recipe.shape} {plan.recipe.dtype} -> {plan.path}: "
            f"{size_text(plan.bytes_total)} in {plan.total_chunks} chunks of {plan.chunks} "
            f"({size_text(plan.chunk_bytes)} each)",
            soft_wrap=True,
        )
        out.print(
            f"  disk: {size_text(plan.bytes_to_write)} to write ({len(plan.missing)} chunks), "
            f"{size_text(plan.free_bytes)} free; "
            f"memory: about {size_text(plan.memory_estimate)} peak ({args.workers} chunks in flight)",
            soft_wrap=True,
        )
    if args.dry_run:
        data["result"] = None
        if not quiet:
            out.print(f"  dry run: nothing was written ({plan.path} untouched)", highlight=False, soft_wrap=True)
    else:
        done = [plan.total_chunks - len(plan.missing)]

        def update(count: int, total: int) -> None:
            done[0] = count
            bar.update(count, total)

        try:
            with progress("to-zarr", unit="chunks") as bar:
                result = xd.write_zarr(plan, progress=update)
        except OSError as exc:  # the disk filled, or the store became unwritable, mid-write
            return fail(
                "xinit-bench to-zarr",
                f"writing {plan.path} stopped after {done[0]} of {plan.total_chunks} chunks: "
                f"{exc.strerror or exc}; free the space or fix the folder, then run the same command with --resume",
                ENVIRONMENT,
            )
        data["result"] = result.to_dict()
        if not quiet:
            rate = result.bytes_written / result.seconds / 2**30 if result.seconds > 0 else 0.0
            out.print(
                f"  wrote {result.chunks_written} chunks ({size_text(result.bytes_written)}) "
                f"in {result.seconds:.1f} s, "
                f"{rate:.2f} GiB/s; skipped {result.chunks_skipped} already written",
                soft_wrap=True,
            )
    if json_to is not None:
        emit_json(data, json_to)
    return 0
