"""``xinit-bench train``: does the initialisation decide whether a network trains?

Two ways in, one of them per call:

* ``--preset NAME`` runs one of the study's presets
  (:mod:`xinit_bench.training.presets`): its table, ``--plot`` its figure,
  ``--json`` every run's record.
* Without a preset, ``--inits A,B`` trains one MLP (``--widths``,
  ``--activation``, ``--dataset``) under each init for ``--seeds`` seeds with
  the optimiser, learning rate, batch size and budget given
  (:func:`xinit_bench.training.train_many`), and prints the final test
  accuracy per init (mean and s.d. over the seeds) with the steps to
  ``--target``.

Every option is checked before any training; an unknown preset, init,
optimiser or activation names the closest, and a missing torch or
scikit-learn names ``pip install 'xinit-bench[train]'``.
"""

from __future__ import annotations

import argparse
import difflib
import statistics
from pathlib import Path
from typing import Any

from ..propagation.plot import matplotlib_available
from .common import UsageError, add_flags, add_json_option, console, fail, fmt, json_target, one_line_errors
from .output import plot_target, write_outputs

PROG = "xinit-bench train"
INSTALL = "pip install 'xinit-bench[train]'"


def setup_arguments(subparsers: Any) -> None:
    """Add ``train`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    g = subparsers.add_parser(
        "train",
        help="train MLPs on bundled data under several inits: does the init decide whether a network trains?",
        description=(
            "Trains MLPs with torch on the CPU on bundled data (scikit-learn's digits, or a synthetic "
            "teacher-student task), each weight drawn by xinit_bench from key_for_name(seed, name), and records "
            "per-epoch loss and accuracy, steps and seconds to a target accuracy and per-layer gradient norms. "
            "Either --preset NAME, or --inits with the model and optimiser options below. One seed and thread "
            "count reproduce a run's curves exactly."
        ),
        epilog=(
            "examples:\n"
            "  xinit-bench train --preset keras-mlp --seeds 10 --plot keras-mlp.png --json keras-mlp.json\n"
            "  xinit-bench train --inits glorot_uniform,zeros --widths 128,64 --activation relu --epochs 5"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("--preset", metavar="NAME", help="a preset of the study (keras-mlp, depth, trainability)")
    g.add_argument("--seeds", type=int, metavar="N", help="number of seeds, 0..N-1 (default: the preset's, or 3)")
    g.add_argument("--processes", type=int, metavar="N", help="worker processes (default: as many as are faster)")
    g.add_argument("--small", action="store_true", help="the preset's reduced size (the one the tests run)")
    g.add_argument("--plot", metavar="PATH", help="write the preset's figure (PNG) to PATH (needs matplotlib)")
    run = g.add_argument_group("a run without a preset")
    run.add_argument("--inits", metavar="A,B", help="comma-separated inits (glorot_uniform, zeros, he_normal, ...)")
    run.add_argument("--widths", default="128,64", metavar="W,W", help="hidden widths (default: 128,64)")
    run.add_argument("--activation", default="relu", help="activation of the hidden layers (default: relu)")
    run.add_argument("--dataset", default="digits", help="digits or teacher (default: digits)")
    run.add_argument("--optimizer", default="adam", help="adam or sgd (default: adam)")
    run.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 1e-3)")
    run.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    run.add_argument("--epochs", type=int, default=10, help="epochs (default: 10)")
    run.add_argument("--steps", type=int, help="at most this many optimisation steps")
    run.add_argument("--target", type=float, default=0.9, help="test accuracy whose steps are counted (default 0.9)")
    run.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden layer (default: 0)")
    run.add_argument("--threads", type=int, default=1, help="torch threads per run (default: 1)")
    add_json_option(g, "every run's record")
    g.set_defaults(func=run_command)
    one_line_errors(g)


def _training() -> Any:
    """The training package, or a UsageError naming the extra when torch or scikit-learn is missing."""
    try:
        from .. import training
        from ..training import data

        data.require_extras("torch", "sklearn")
    except ImportError as exc:
        message = str(exc)
        raise UsageError(message if INSTALL in message else f"{message}; {INSTALL}") from None
    return training


def _presets() -> Any:
    """The presets module of the training study."""
    import importlib

    try:
        presets = importlib.import_module("xinit_bench.training.presets")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.endswith("training.presets"):
            raise UsageError("--preset: this install has no training presets") from None
        raise
    return presets


def _preset_name(presets: Any, name: str) -> str:
    names = tuple(presets.PRESETS)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"--preset must be one of {', '.join(names)}, got {name!r}{hint}")
    return name


def _ints(flag: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{flag} must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise UsageError(f"{flag} must be comma-separated integers >= 1, got {text!r}")
    return values


def run_command(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench train``."""
    add_flags({"target_accuracy": "--target"})
    try:
        json_to = json_target(args.json)
        plot = plot_target(Path(args.plot) if args.plot else None, matplotlib_available)
        for flag, value in (("--seeds", args.seeds), ("--processes", args.processes)):
            if value is not None and value < 1:
                raise UsageError(f"{flag} must be >= 1, got {value}")
        if (args.preset is None) == (args.inits is None):
            raise UsageError("give --preset NAME or --inits A,B (one of them)")
        if args.preset is None and plot is not None:
            raise UsageError("--plot draws a preset's figure: give --preset")
        if args.preset is None and args.small:
            raise UsageError("--small is a preset's reduced size: give --preset")
        training = _training()
        if args.preset is not None:
            presets = _presets()
            name = _preset_name(presets, args.preset)

            def job() -> Any:
                return presets.run_preset(
                    name, seeds=args.seeds, processes=args.processes, progress=True, small=args.small
                )

        else:
            job = _custom(training, args)
        result = job()
    except (UsageError, ValueError, TypeError) as exc:
        return fail(PROG, str(exc))
    if args.preset is not None:
        return _report_preset(args.preset, result, json_to, plot)
    return _report_custom(result, args, json_to)


def _custom(training: Any, args: argparse.Namespace) -> Any:
    """Check the options of a run without a preset; the callable that trains it."""
    inits = tuple(part.strip() for part in args.inits.split(",") if part.strip())
    if not inits:
        raise UsageError(f"--inits must name at least one init, got {args.inits!r}")
    for init in inits:
        training.inits.check_init(init)
    spec = training.MLPSpec(_ints("--widths", args.widths), args.activation, dropout=args.dropout)
    if args.dataset not in training.DATASETS:
        close = difflib.get_close_matches(args.dataset, training.DATASETS, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"--dataset must be one of {', '.join(training.DATASETS)}, got {args.dataset!r}{hint}")
    config = training.TrainConfig(
        args.optimizer,
        args.lr,
        args.batch_size,
        epochs=args.epochs,
        steps=args.steps,
        target_accuracy=args.target,
        threads=args.threads,
    )
    seeds = args.seeds if args.seeds is not None else 3
    dataset = training.load_dataset(args.dataset)
    jobs = [(spec, init, seed) for init in inits for seed in range(seeds)]

    def job() -> Any:
        return config, dataset, training.train_many(jobs, config, dataset, processes=args.processes, progress=True)

    return job


def _report_custom(result: Any, args: argparse.Namespace, json_to: Path | None) -> int:
    config, dataset, records = result
    data = {"dataset": dataset.to_dict(), "config": config.to_dict(), "records": [r.to_dict() for r in records]}
    write_outputs(json_to, data, lambda: _print_custom(config, dataset, records))
    return 0


def _print_custom(config: Any, dataset: Any, records: list[Any]) -> None:
    from rich.table import Table

    first = records[0]
    table = Table(
        title=(
            f"{dataset.name}: {'-'.join(map(str, first.widths))} {first.activation}, {config.optimizer} "
            f"lr {config.lr:g}, batch {config.batch_size}, {first.epochs} epochs, threads {first.threads}"
        )
    )
    for heading in ("init", "seeds", "test acc mean", "s.d.", f"reached {config.target_accuracy:g}", "steps"):
        table.add_column(heading, justify="left" if heading == "init" else "right")
    for init in dict.fromkeys(r.init for r in records):
        runs = [r for r in records if r.init == init]
        final = [r.test_accuracy[-1] for r in runs]
        sd = statistics.stdev(final) if len(final) > 1 else None
        reached = [r.steps_to_target for r in runs if r.steps_to_target is not None]
        steps = statistics.median(reached) if reached else None
        table.add_row(
            init,
            str(len(runs)),
            f"{statistics.fmean(final):.4f}",
            fmt(sd, "{:.4f}"),
            f"{len(reached)}/{len(runs)}",
            "did not reach" if steps is None else f"{steps:g}",
        )
    console().print(table)


def _report_preset(name: str, result: Any, json_to: Path | None, plot: Path | None) -> int:
    def tables() -> None:
        table = result.table()
        if isinstance(table, str):
            print(table)
        else:
            console().print(table)

    data = {"preset": name, **result.to_dict()}
    data.setdefault("records", [r.to_dict() for r in result.records])
    write_outputs(json_to, data, tables, plot_to=plot, draw=lambda path: result.plot(str(path)))
    return 0
