"""``xinit-bench checkpoint``: a randomly initialised Hugging Face checkpoint from a config, shard by shard.

Before any file is written it prints what it will do: the shard plan (how
many shards, of what size), the free disk space (a checkpoint that would not
fit is refused) and an estimate of the peak memory.  Then a progress bar in
GB/s, and a summary with the throughput; with ``--dry-run``, a line saying
that nothing was written instead.  ``--resume`` continues an interrupted run;
the bytes are those of one uninterrupted run.  The library's refusals name
the CLI's flags (see :func:`.common.cli_message`).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .common import UsageError, add_json_option, console, emit_json, json_target, one_line_errors, to_stdout

DTYPES = ("float32", "float64", "float16", "bfloat16")


def setup_arguments(subparsers: Any) -> None:
    """Add ``checkpoint`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "checkpoint",
        help="write a randomly initialised checkpoint of a Hugging Face config to sharded safetensors",
        description=(
            "Build the config's model on the meta device and write its initial weights as Hugging Face "
            "safetensors shards with model.safetensors.index.json and config.json, each tensor equal to "
            "xinit_bench.torch.init_module's for the preset and seed, bit for bit. Memory holds about one shard "
            "per worker whatever the model's size. Checks the free disk space and prints the shard plan and a "
            "memory estimate first; --resume writes only the missing shards. Needs the torch and hf extras."
        ),
    )
    p.add_argument("config", metavar="CONFIG", help="a config.json, or a folder holding one")
    p.add_argument(
        "directory", metavar="OUT_DIR", help="the checkpoint's folder (it must not exist, unless --overwrite)"
    )
    p.add_argument(
        "--preset", required=True, help="the init preset: auto (from the config's model_type), gpt2, llama, ..."
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=DTYPES, default=None, help="every floating-point tensor in this dtype")
    p.add_argument(
        "--max-shard-size", default="5GB", help="largest shard: bytes or a size such as 5GB or 500MiB (default 5GB)"
    )
    p.add_argument("--workers", type=int, default=1, help="processes writing shards at once (default 1)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint")
    mode.add_argument("--resume", action="store_true", help="continue an interrupted run: write the missing shards")
    p.add_argument("--dry-run", action="store_true", help="check and print the plan, write nothing")
    add_json_option(p, "the plan and the result")
    p.set_defaults(func=run)
    one_line_errors(p)


def _gib(n: int | float) -> str:
    return f"{n / 2**30:.2f} GiB"


@contextlib.contextmanager
def _bar(enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar of bytes on stderr, in GB/s, shown only when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

    err = Console(stderr=True)
    if not enabled or not err.is_terminal:
        yield lambda _done, _total: None
        return
    with Progress(
        TextColumn("checkpoint"),
        BarColumn(),
        DownloadColumn(binary_units=False),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("checkpoint", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench checkpoint``."""
    json_to = json_target(args.json)  # a bad path raises UsageError: one line and exit 2, from main()
    try:
        from ..torch import checkpoint as ck
    except ImportError as exc:
        raise UsageError(f"{exc} (the torch extra)") from None
    try:
        plan = ck.plan_checkpoint(
            args.config,
            args.preset,
            args.seed,
            args.directory,
            dtype=args.dtype,
            max_shard_size=args.max_shard_size,
            workers=args.workers,
            resume=args.resume,
            overwrite=args.overwrite,
        )
    except (TypeError, ValueError, OSError, ImportError) as exc:  # every refusal comes before any file is written
        raise UsageError(str(exc)) from None
    data: dict[str, Any] = {
        "directory": str(plan.directory),
        "dry_run": bool(args.dry_run),
        "preset": args.preset,
        "seed": args.seed,
        "dtype": plan.record["dtype"],
        "fingerprint": plan.fingerprint,
        "shards_total": len(plan.shards),
        "shards_to_write": len(plan.missing),
        "total_size": plan.total_size,
        "bytes_to_write": plan.bytes_to_write,
        "disk_bytes": plan.disk_bytes,
        "free_bytes": plan.free_bytes,
        "memory_estimate_bytes": plan.memory_estimate,
        "shards": plan.summary(),
        "not_stored": plan.not_stored,
    }
    quiet = to_stdout(json_to)
    out = console()
    if not quiet:
        tensors = sum(len(s.tensors) for s in plan.shards)
        out.print(
            f"checkpoint: {args.config} -> {plan.directory}: {tensors} tensors, {plan.total_size / 1e9:.3f} GB in "
            f"{len(plan.shards)} shards of at most {plan.largest_shard / 1e9:.3f} GB ({args.preset}, seed {args.seed}, "
            f"{plan.record['dtype'] or 'the model dtypes'})",
            soft_wrap=True,
            highlight=False,
        )
        out.print(
            f"  disk: {_gib(plan.disk_bytes)} to write ({len(plan.missing)} shards), {_gib(plan.free_bytes)} free; "
            f"memory: about {_gib(plan.memory_estimate)} peak ({plan.processes} shard(s) at once)",
            soft_wrap=True,
            highlight=False,
        )
        if plan.not_stored:
            shown = ", ".join(f"{k} ({v})" for k, v in list(plan.not_stored.items())[:4])
            more = f" and {len(plan.not_stored) - 4} more" if len(plan.not_stored) > 4 else ""
            out.print(f"  not stored: {shown}{more}", soft_wrap=True, highlight=False)
    if args.dry_run:
        data["result"] = None
        if not quiet:
            out.print(f"  dry run: nothing was written ({plan.directory} untouched)", highlight=False, soft_wrap=True)
    else:
        with _bar(not quiet) as update:
            result = ck.write_checkpoint(plan, progress=update)
        data["result"] = result.to_dict()
        if not quiet:
            out.print(
                f"  wrote {result.shards_written} shards ({result.bytes_written / 1e9:.3f} GB) in "
                f"{result.seconds:.1f} s, {result.gb_per_s:.2f} GB/s; skipped {result.shards_skipped} already written",
                soft_wrap=True,
                highlight=False,
            )
    if json_to is not None:
        emit_json(data, json_to)
    return 0
