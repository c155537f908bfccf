"""``xinit-bench propagate``: forward/backward variance through a deep MLP, Monte Carlo against theory.

Runs a preset (``--preset glorot2010|he2015``) or an explicit network through
:func:`xinit_bench.propagation.simulate` and
:func:`~xinit_bench.propagation.predict`, prints a per-layer table (theory,
Monte Carlo mean ± standard error, and their ratio), writes a PNG
(:func:`xinit_bench.propagation.plot.write_plot`) and, on request, JSON.

Bad options exit with status 2 and a one-line message, before any work and
before any file is written.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import propagation as prop
from ..propagation.plot import matplotlib_available, write_plot
from .common import UsageError, add_json_option, console, fail, json_target, one_line_errors, progress
from .output import plot_target, write_outputs

PROG = "xinit-bench propagate"
#: Options that describe the network; a preset fixes them.
_NETWORK_OPTIONS = (
    "activation",
    "param",
    "init",
    "gain",
    "depth",
    "width",
    "widths",
    "bias_std",
    "dtype",
    "input_second_moment",
)
#: (statistic, table heading) of the columns.
_FORWARD = ("pre_sq", "q^l")
_BACKWARD = ("grad_act_sq", "E[(dL/da^l)^2]")
_WEIGHT = ("weight_grad_var", "Var[dL/dW^l]")
_DEFAULT_DEPTH, _DEFAULT_WIDTH = 20, 256


def setup_arguments(subparsers: Any) -> None:
    """Add ``propagate`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "propagate",
        help="forward/backward variance through a deep MLP: Monte Carlo against mean-field theory",
        description=(
            "Measure, layer by layer, the pre-activation second moment q^l, the back-propagated "
            "gradient second moment and the weight-gradient variance of random MLPs by Monte Carlo "
            "(mean ± standard error over --repeats networks), beside the mean-field prediction. "
            "Give a --preset that reproduces a paper, or describe the network with the options below."
        ),
        epilog=(
            "examples:\n"
            "  xinit-bench propagate --preset he2015\n"
            "  xinit-bench propagate --preset glorot2010 --plot glorot.png --json results.json\n"
            "  xinit-bench propagate --preset pennington2017 --width 256 --depth 32\n"
            "  xinit-bench propagate --activation tanh --init lecun_normal --gain 1.4674 --bias-std 0.3885 --depth 50\n"
            "  xinit-bench propagate --activation gelu --widths 784,512,512,10 --bias-std 0.1 --no-plot --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--preset",
        choices=(*prop.PRESETS, *prop.NETWORK_PRESETS, *prop.JACOBIAN_PRESETS),
        help="reproduce a paper's experiment (pennington2017, xiao2018: the Jacobian's singular values)",
    )
    p.add_argument(
        "--net", type=Path, metavar="FILE", help="a network file (JSON or TOML: residual, LayerNorm, conv layers)"
    )
    p.add_argument(
        "--speed", action="store_true", help="time the network Monte Carlo against its bare GEMMs (medians of 5)"
    )
    net = p.add_argument_group("network (without --preset)")
    net.add_argument("--activation", help=f"one of {', '.join(prop.ACTIVATIONS)} (default: relu)")
    net.add_argument("--param", type=float, help="leaky_relu negative slope or elu alpha")
    net.add_argument("--init", help=f"one of {', '.join(prop.INIT_NAMES)} (default: he_normal)")
    net.add_argument("--gain", type=float, help="override the scheme's default gain")
    net.add_argument("--depth", type=int, help=f"number of layers (default: {_DEFAULT_DEPTH})")
    net.add_argument("--width", type=int, help=f"units per layer and of the input (default: {_DEFAULT_WIDTH})")
    net.add_argument("--widths", type=_int_list, help="explicit n_0,n_1,...,n_L (instead of --depth/--width)")
    net.add_argument("--bias-std", type=float, help="standard deviation of the biases (default: 0)")
    net.add_argument("--dtype", choices=("float32", "float64"), help="GEMM dtype (default: float32)")
    net.add_argument("--input-second-moment", type=float, help="q^0 of the Gaussian input (default: 1)")
    sampling = p.add_argument_group("sampling")
    sampling.add_argument("--batch", type=int, help="examples per network (default: 256, or the preset's)")
    sampling.add_argument("--repeats", type=int, help="independent networks (default: 4, or the preset's)")
    sampling.add_argument(
        "--seed", type=int, help="seed: the same seed gives the same bits (default: 0, or the preset's)"
    )
    out = p.add_argument_group("output")
    plot = out.add_mutually_exclusive_group()
    plot.add_argument(
        "--plot",
        type=Path,
        metavar="PATH",
        help="PNG to write (default: propagation-<preset or activation-init>.png in the cwd)",
    )
    plot.add_argument("--no-plot", action="store_true", help="write no PNG")
    add_json_option(out)
    p.set_defaults(func=run)
    one_line_errors(p)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def _plot_path(args: argparse.Namespace, stem: str) -> Path | None:
    """``--plot``, by default ``propagation-<stem>.png`` in the cwd, checked (:func:`~.output.plot_target`)."""
    if args.no_plot:
        return None
    path = args.plot if args.plot is not None else Path(f"propagation-{stem}.png")
    return plot_target(path, matplotlib_available, no_plot_switch=True)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench propagate``."""
    if args.preset in prop.JACOBIAN_PRESETS:
        from .propagate_jacobian import run_jacobian

        return run_jacobian(args, PROG)
    if args.net is not None or args.speed or args.preset in prop.NETWORK_PRESETS:
        return _run_network(args)
    try:
        json_to = json_target(args.json)
        if args.preset is not None:
            given = [f"--{k.replace('_', '-')}" for k in _NETWORK_OPTIONS if getattr(args, k) is not None]
            if given:
                raise UsageError(
                    f"--preset {args.preset} fixes the network; drop {', '.join(given)} "
                    "(only --batch, --repeats and --seed combine with a preset)"
                )
            plot_to = _plot_path(args, args.preset)
            runner = _preset_runner(args)
        else:
            runner, stem = _explicit_runner(args)
            plot_to = _plot_path(args, stem)
    except (UsageError, ValueError, TypeError) as exc:
        return fail(PROG, str(exc))

    try:
        with progress(f"propagate {args.preset or 'network'}", unit="layer passes") as bar:
            result = runner(bar.update)
    except (ValueError, TypeError) as exc:
        # simulate validates everything before it runs (memory estimate included).
        return fail(PROG, str(exc))

    data = result.to_dict()
    data["plot"] = None if plot_to is None else str(plot_to)
    write_outputs(
        json_to, data, lambda: print_propagation(result), plot_to=plot_to, draw=lambda path: write_plot(result, path)
    )
    return 0


Runner = Callable[[Callable[[int, int], None]], prop.PresetResult]


def _preset_runner(args: argparse.Namespace) -> Runner:
    kwargs = {k: getattr(args, k) for k in ("batch", "repeats", "seed") if getattr(args, k) is not None}
    for k, v in kwargs.items():
        if v < (0 if k == "seed" else 1):
            raise UsageError(f"--{k} must be >= {0 if k == 'seed' else 1}, got {v}")
    name = args.preset

    def run(tick: Callable[[int, int], None]) -> prop.PresetResult:
        return prop.run_preset(name, progress=tick, **kwargs)

    return run


def _explicit_runner(args: argparse.Namespace) -> tuple[Runner, str]:
    activation = "relu" if args.activation is None else args.activation
    init = "he_normal" if args.init is None else args.init
    if args.widths is not None:
        if args.depth is not None or args.width is not None:
            raise UsageError("give --widths or --depth/--width, not both")
        shape: dict[str, Any] = {"widths": args.widths}
    else:
        shape = {
            "depth": _DEFAULT_DEPTH if args.depth is None else args.depth,
            "width": _DEFAULT_WIDTH if args.width is None else args.width,
        }
    net: dict[str, Any] = {
        "init": init,
        "gain": args.gain,
        "bias_std": 0.0 if args.bias_std is None else args.bias_std,
        "input_second_moment": 1.0 if args.input_second_moment is None else args.input_second_moment,
        "param": args.param,
        **shape,
    }
    # predict validates the activation, widths, init, gain, bias and q^0 at once, with the
    # same messages as simulate, and costs microseconds.
    theory = prop.predict(activation, **net)
    sim_opts: dict[str, Any] = {
        "batch": 256 if args.batch is None else args.batch,
        "repeats": 4 if args.repeats is None else args.repeats,
        "seed": 0 if args.seed is None else args.seed,
        "dtype": args.dtype or "float32",
    }
    widths = theory.widths

    def run(tick: Callable[[int, int], None]) -> prop.PresetResult:
        sim = prop.simulate(activation, progress=tick, **net, **sim_opts)
        description = (
            f"{theory.activation}, {theory.init}, widths {_widths_label(widths)}, "
            f"bias std {net['bias_std']:g}, {sim.dtype}"
        )
        return prop.PresetResult("custom", description, {theory.init: (sim, theory)})

    stem = f"{prop.get_activation(activation, args.param).name}-{init.lower()}"
    return run, stem


def _widths_label(widths: tuple[int, ...]) -> str:
    if len(set(widths)) == 1:
        return f"{len(widths) - 1} x {widths[0]}"
    return ",".join(str(w) for w in widths)


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def _measured(mean: float, se: float) -> str:
    return _fmt(mean) if not math.isfinite(se) else f"{_fmt(mean)} ± {se:.2g}"


def _ratio(measured: float, theory: float) -> str:
    if theory == 0 or not (math.isfinite(measured) and math.isfinite(theory)):
        return "-"
    return f"{measured / theory:.3f}"


def print_propagation(result: prop.PresetResult) -> None:
    """Print the per-layer tables of each run of ``result`` on stdout.

    Two tables per run, so that each fits 100 columns: the forward and
    backward second moments, then the weight-gradient variance.
    """
    from rich.markup import escape
    from rich.table import Table

    con = console()
    con.print(f"[bold]xinit-bench propagate[/bold]  {escape(result.name)}: {escape(result.description)}")
    for label, (sim, theory) in result.runs.items():
        title = (
            f"{label}: {sim.activation}, {sim.init}, widths {_widths_label(sim.widths)}, "
            f"batch {sim.batch} x {sim.repeats} repeats, seed {sim.seed}, {sim.dtype}"
        )
        groups = ((_FORWARD, _BACKWARD), (_WEIGHT,))
        for number, group in enumerate(groups):
            table = Table(
                title=escape(title if number == 0 else f"{label}: weight gradients"),
                title_justify="left",
                caption="measured: Monte Carlo mean ± standard error over repeats; ratio: measured / theory"
                if number == 0
                else None,
                caption_justify="left",
            )
            table.add_column("layer", justify="right")
            for _stat, head in group:
                table.add_column(escape(f"{head} theory"), justify="right")
                table.add_column("measured", justify="right")
                table.add_column("ratio", justify="right")
            for l in range(sim.depth):
                cells = [str(l + 1)]
                for stat, _head in group:
                    t = float(getattr(theory, stat)[l])
                    m, se = float(sim.mean[stat][l]), float(sim.se[stat][l])
                    cells += [_fmt(t), _measured(m, se), _ratio(m, t)]
                table.add_row(*cells)
            con.print(table)
        if sim.singular_value_mean is not None:
            expected = (result.expected_singular_value_mean or {}).get(label)
            sv = ", ".join(f"{s:.3f}" for s in sim.singular_value_mean)
            tail = "" if expected is None else f"; quarter-circle law {expected:.3f}"
            con.print(escape(f"  mean singular value of W^l, layers 1..{sim.depth}: {sv}{tail}"))


def _run_network(args: argparse.Namespace) -> int:
    """``--net FILE``, a network preset, or ``--speed``: the network study (``xinit_bench.propagation.Network``)."""
    from ..propagation.netplot import write_network_plot

    try:
        json_to = json_target(args.json)
        chosen = [
            f for f, on in (("--net", args.net is not None), ("--preset", args.preset), ("--speed", args.speed)) if on
        ]
        if len(chosen) > 1:
            raise UsageError(f"give one of --net, --preset and --speed, not {' and '.join(chosen)}")
        given = [f"--{k.replace('_', '-')}" for k in _NETWORK_OPTIONS if k != "dtype" and getattr(args, k) is not None]
        if given:
            raise UsageError(f"{chosen[0]} describes the network; drop {', '.join(given)}")
        opts = {k: getattr(args, k) for k in ("batch", "repeats", "seed") if getattr(args, k) is not None}
        for k, v in opts.items():
            if v < (0 if k == "seed" else 1):
                raise UsageError(f"--{k} must be >= {0 if k == 'seed' else 1}, got {v}")
        if args.speed:
            return _speed(args, json_to)
        if args.net is not None:
            net = prop.load_network(args.net)
            stem = args.net.stem
        else:
            stem = args.preset
        plot_to = _plot_path(args, stem)
    except (UsageError, ValueError, TypeError, OSError) as exc:
        return fail(PROG, str(exc))
    try:
        with progress(f"propagate {stem}", unit="layer passes") as bar:
            if args.net is not None:
                runs = prop.netpresets.run_network(
                    {stem: net},
                    opts.get("batch", 256),
                    opts.get("repeats", 4),
                    opts.get("seed", 0),
                    bar.update,
                    args.dtype or "float32",
                )
                result = prop.NetworkPresetResult(stem, f"network file {args.net}", runs)
            else:
                result = prop.run_network_preset(args.preset, progress=bar.update, **opts)
    except (ValueError, TypeError) as exc:
        return fail(PROG, str(exc))
    data = result.to_dict()
    data["plot"] = None if plot_to is None else str(plot_to)
    write_outputs(
        json_to,
        data,
        lambda: _print_network(result),
        plot_to=plot_to,
        draw=lambda path: write_network_plot(result, path),
    )
    return 0


def _print_network(result: prop.NetworkPresetResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = console()
    con.print(f"[bold]xinit-bench propagate[/bold]  {escape(result.name)}: {escape(result.description)}")
    for label, (_net, sim, theory) in result.runs.items():
        table = Table(
            title=escape(f"{label}: batch {sim.batch} x {sim.repeats} repeats, seed {sim.seed}, {sim.dtype}"),
            title_justify="left",
            caption="measured: Monte Carlo mean ± standard error over repeats; ratio: measured / theory",
            caption_justify="left",
        )
        for head in ("entry", "E[x^2] theory", "measured", "ratio", "E[(dL/dx)^2] theory", "measured", "ratio"):
            table.add_column(escape(head), justify="left" if head == "entry" else "right")
        for k, name in enumerate(sim.labels):
            cells = [escape(name)]
            for stat in ("forward", "backward"):
                t = float(getattr(theory, stat)[k])
                m, se = float(getattr(sim, stat)[k]), float(getattr(sim, f"{stat}_se")[k])
                cells += [_fmt(t), _measured(m, se), _ratio(m, t)]
            table.add_row(*cells)
        con.print(table)
    for note in result.notes:
        con.print(escape(f"  {note}"))


def _speed(args: argparse.Namespace, json_to: Path | None) -> int:
    rows = []
    with progress("propagate --speed", unit="networks") as bar:
        nets = prop.speed_networks()
        for i, (name, (net, batch)) in enumerate(nets.items()):
            rows.append(prop.measure_network_speed(net, name=name, batch=args.batch or batch, runs=5))
            bar.update(i + 1, len(nets))
    data = {
        "runs": [
            {
                "network": r.name,
                "batch": r.batch,
                "simulate_seconds": r.simulate_seconds,
                "bare_seconds": r.bare_seconds,
                "ratio_of_medians": r.ratio,
            }
            for r in rows
        ]
    }
    write_outputs(json_to, data, lambda: _print_speed(rows))
    return 0


def _print_speed(rows: list[prop.NetworkSpeed]) -> None:
    import statistics

    from rich.table import Table

    table = Table(
        title="network Monte Carlo against its bare operations, medians of 5, same run",
        title_justify="left",
        caption="bare: the same GEMMs forward and backward (and im2col for conv), on buffers of the same shapes",
        caption_justify="left",
    )
    for head in ("network", "batch", "simulate (s)", "bare (s)", "ratio"):
        table.add_column(head, justify="left" if head == "network" else "right")
    for r in rows:
        table.add_row(
            r.name,
            str(r.batch),
            f"{statistics.median(r.simulate_seconds):.4f}",
            f"{statistics.median(r.bare_seconds):.4f}",
            f"{r.ratio:.2f}",
        )
    console().print(table)
