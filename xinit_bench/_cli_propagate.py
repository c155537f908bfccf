"""The ``propagate`` and ``gains`` subcommands of ``xinit-bench``.

:func:`register` adds both to the CLI's subparsers; each sets
``func=<handler>``, a callable ``(args) -> int`` returning the exit code.

* ``propagate`` runs a preset (``--preset glorot2010|he2015``) or an explicit
  network through :func:`xinit_bench.propagation.simulate` and
  :func:`~xinit_bench.propagation.predict`, prints a per-layer table (theory,
  Monte Carlo mean ± standard error, and their ratio), writes a PNG (forward
  and backward panels, log y axis) and, on request, JSON.
* ``gains`` prints :func:`~xinit_bench.propagation.gain_table`: the critical
  gain of every activation under each criterion, beside PyTorch's.

Bad options exit with status 2 and a one-line message, before any work and
before any file is written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import propagation as prop

__all__ = ["register", "run_gains", "run_propagate", "write_plot"]

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
#: (statistic, table heading, axis label) of the columns and panels.
_FORWARD = ("pre_sq", "q^l", r"pre-activation second moment $q^l$")
_BACKWARD = ("grad_act_sq", "E[(dL/da^l)^2]", r"back-propagated gradient $\mathbb{E}[(\partial L/\partial a^l)^2]$")
_WEIGHT = ("weight_grad_var", "Var[dL/dW^l]", "")
_DEFAULT_DEPTH, _DEFAULT_WIDTH = 20, 256


def register(subparsers: Any) -> None:
    """Add ``propagate`` and ``gains`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
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
            "  xinit-bench propagate --activation tanh --init xavier_normal --gain 1.5925 --depth 50 --width 512\n"
            "  xinit-bench propagate --activation gelu --widths 784,512,512,10 --bias-std 0.1 --no-plot --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", choices=tuple(prop.PRESETS), help="reproduce a paper's experiment")
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
    run = p.add_argument_group("sampling")
    run.add_argument("--batch", type=int, help="examples per network (default: 256, or the preset's)")
    run.add_argument("--repeats", type=int, help="independent networks (default: 4, or the preset's)")
    run.add_argument("--seed", type=int, help="seed: the same seed gives the same bits (default: 0, or the preset's)")
    out = p.add_argument_group("output")
    plot = out.add_mutually_exclusive_group()
    plot.add_argument(
        "--plot",
        type=Path,
        metavar="PATH",
        help="PNG to write (default: propagation-<preset or activation-init>.png in the cwd)",
    )
    plot.add_argument("--no-plot", action="store_true", help="write no PNG")
    out.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the results as JSON to PATH, or to stdout (instead of the tables) without PATH",
    )
    p.set_defaults(func=run_propagate)
    _one_line_errors(p)

    g = subparsers.add_parser(
        "gains",
        help="critical gain of every activation under each criterion, beside PyTorch's",
        description=(
            "Gains g (Var[W] = g^2/fan_in) from mean-field theory: 'forward' keeps q* a fixed point "
            "of the length map (g^2 E[phi^2] = q*), 'backward' keeps the gradient second moment "
            "(chi_1 = g^2 E[phi'^2] = 1), 'edge of chaos' does both with a bias sigma_b and "
            "reports whether that needs sigma_b^2 < 0 (infeasible) and whether q* is stable."
        ),
    )
    g.add_argument("--q", type=float, default=1.0, help="the fixed point q* (default: 1)")
    g.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the table as JSON to PATH, or to stdout (instead of the table) without PATH",
    )
    g.set_defaults(func=run_gains)
    _one_line_errors(g)


# --- argument handling -------------------------------------------------------------------
class _UsageError(Exception):
    """A bad option, reported in one line with exit status 2."""


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make argparse report its own errors (bad int, unknown choice...) in one line, exit 2."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def _fail(prog: str, message: str) -> int:
    sys.stderr.write(f"{prog}: error: {message}\n")
    return 2


def _check_writable(path: Path, option: str) -> None:
    """Refuse before any work a file that could not be written (missing directory, a directory)."""
    if path.is_dir():
        raise _UsageError(f"{option} {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise _UsageError(f"{option} {path}: directory {parent} does not exist")


def _json_target(value: str | None) -> Path | None:
    """``--json`` value: None (not given), Path('-') for stdout, or a file path."""
    if value is None:
        return None
    path = Path(value)
    if value != "-":
        _check_writable(path, "--json")
    return path


def _plot_path(args: argparse.Namespace, stem: str) -> Path | None:
    if args.no_plot:
        return None
    path = args.plot if args.plot is not None else Path(f"propagation-{stem}.png")
    if path.suffix.lower() != ".png":
        raise _UsageError(f"--plot {path}: the plot is a PNG; give a path ending in .png")
    _check_writable(path, "--plot")
    return path


# --- propagate ---------------------------------------------------------------------------
def run_propagate(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench propagate``."""
    prog = "xinit-bench propagate"
    try:
        json_to = _json_target(args.json)
        if args.preset is not None:
            given = [f"--{k.replace('_', '-')}" for k in _NETWORK_OPTIONS if getattr(args, k) is not None]
            if given:
                raise _UsageError(
                    f"--preset {args.preset} fixes the network; drop {', '.join(given)} "
                    "(only --batch, --repeats and --seed combine with a preset)"
                )
            plot_to = _plot_path(args, args.preset)
            run = _preset_runner(args)
        else:
            run, stem = _explicit_runner(args)
            plot_to = _plot_path(args, stem)
    except (_UsageError, ValueError, TypeError) as exc:
        return _fail(prog, str(exc))

    try:
        with _progress(f"propagate {args.preset or 'network'}") as tick:
            result = run(tick)
    except (ValueError, TypeError) as exc:
        # simulate validates everything before it runs (memory estimate included).
        return _fail(prog, str(exc))

    data = result.to_dict()
    data["plot"] = None if plot_to is None else str(plot_to)
    to_stdout = json_to is not None and str(json_to) == "-"
    if not to_stdout:
        print_propagation(result)
    if plot_to is not None:
        write_plot(result, plot_to)
        sys.stderr.write(f"wrote {plot_to}\n")
    if json_to is not None:
        _emit_json(data, json_to, to_stdout)
    return 0


Runner = Callable[[Callable[[int, int], None]], prop.PresetResult]


def _preset_runner(args: argparse.Namespace) -> Runner:
    kwargs = {k: getattr(args, k) for k in ("batch", "repeats", "seed") if getattr(args, k) is not None}
    for k, v in kwargs.items():
        if v < (0 if k == "seed" else 1):
            raise _UsageError(f"--{k} must be >= {0 if k == 'seed' else 1}, got {v}")
    name = args.preset

    def run(tick: Callable[[int, int], None]) -> prop.PresetResult:
        return prop.run_preset(name, progress=tick, **kwargs)

    return run


def _explicit_runner(args: argparse.Namespace) -> tuple[Runner, str]:
    activation = "relu" if args.activation is None else args.activation
    init = "he_normal" if args.init is None else args.init
    if args.widths is not None:
        if args.depth is not None or args.width is not None:
            raise _UsageError("give --widths or --depth/--width, not both")
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


@contextlib.contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr over layers and repeats; yields ``tick(done, total)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda _done, _total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("layer passes"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield tick


def _finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def _measured(mean: float, se: float) -> str:
    return _fmt(mean) if not math.isfinite(se) else f"{_fmt(mean)} ± {se:.2g}"


def _ratio(measured: float, theory: float) -> str:
    if theory == 0 or not (math.isfinite(measured) and math.isfinite(theory)):
        return "-"
    return f"{measured / theory:.3f}"


def print_propagation(result: prop.PresetResult) -> None:
    """Print one per-layer table per run of ``result`` on stdout."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]xinit-bench propagate[/bold]  {escape(result.name)}: {escape(result.description)}")
    for label, (sim, theory) in result.runs.items():
        table = Table(
            title=escape(
                f"{label}: {sim.activation}, {sim.init}, widths {_widths_label(sim.widths)}, "
                f"batch {sim.batch} x {sim.repeats} repeats, seed {sim.seed}, {sim.dtype}"
            ),
            title_justify="left",
            caption="measured: Monte Carlo mean ± standard error over repeats; ratio: measured / theory",
            caption_justify="left",
        )
        table.add_column("layer", justify="right")
        for _stat, head, _axis in (_FORWARD, _BACKWARD, _WEIGHT):
            table.add_column(escape(f"{head} theory"), justify="right")
            table.add_column("measured", justify="right")
            table.add_column("ratio", justify="right")
        for l in range(sim.depth):
            cells = [str(l + 1)]
            for stat, _head, _axis in (_FORWARD, _BACKWARD, _WEIGHT):
                t = float(getattr(theory, stat)[l])
                m, se = float(sim.mean[stat][l]), float(sim.se[stat][l])
                cells += [_fmt(t), _measured(m, se), _ratio(m, t)]
            table.add_row(*cells)
        console.print(table)
        if sim.singular_value_mean is not None:
            expected = (result.expected_singular_value_mean or {}).get(label)
            sv = ", ".join(f"{s:.3f}" for s in sim.singular_value_mean)
            tail = "" if expected is None else f"; quarter-circle law {expected:.3f}"
            console.print(escape(f"  mean singular value of W^l, layers 1..{sim.depth}: {sv}{tail}"))


# --- plot --------------------------------------------------------------------------------
def write_plot(result: prop.PresetResult, path: Path) -> None:
    """Write the forward and backward panels of ``result`` as a PNG (matplotlib, Agg).

    Theory is drawn as lines, Monte Carlo means as points with ± 1 standard
    error bars, on a log y axis; non-positive or non-finite values (underflow,
    overflow) are left out.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for i, (label, (sim, theory)) in enumerate(result.runs.items()):
        color = f"C{i}"
        layers = np.arange(1, sim.depth + 1)
        for ax, (stat, _head, axis_label) in zip(axes, (_FORWARD, _BACKWARD)):
            th = np.asarray(getattr(theory, stat), dtype=np.float64)
            ok = np.isfinite(th) & (th > 0)
            ax.plot(layers[ok], th[ok], "-", color=color, lw=1.6, label=f"{label}: theory")
            m, se = sim.mean[stat], sim.se[stat]
            ok = np.isfinite(m) & (m > 0)
            err = None
            if np.all(np.isfinite(se[ok])):
                err = np.vstack([np.minimum(se[ok], 0.9 * m[ok]), se[ok]])
            mc_label = f"{label}: Monte Carlo ({sim.repeats} nets x {sim.batch}, ± 1 SE)"
            ax.errorbar(
                layers[ok],
                m[ok],
                yerr=err,
                fmt="o",
                ms=4.5,
                mfc="none",
                mew=1.2,
                color=color,
                ecolor=color,
                elinewidth=1.0,
                capsize=2.0,
                label=mc_label,
            )
            ax.set_yscale("log")
            ax.set_xlabel("layer $l$")
            ax.set_ylabel(axis_label)
            ax.grid(True, which="major", alpha=0.3)
    axes[0].set_title("forward")
    axes[1].set_title("backward (unit-variance gradient at the top)")
    for ax in axes:
        ax.legend(fontsize=8)
    sim0 = next(iter(result.runs.values()))[0]
    if sim0.depth <= 12:
        for ax in axes:
            ax.set_xticks(np.arange(1, sim0.depth + 1))
    title = f"{result.name}: {result.description}"
    svs = [
        (label, sim.singular_value_mean)
        for label, (sim, _t) in result.runs.items()
        if sim.singular_value_mean is not None
    ]
    if svs:
        expected = result.expected_singular_value_mean or {}
        title += "\nmean singular value of W: " + ", ".join(
            f"{label} {float(np.mean(sv)):.2f}"
            + (f" (quarter-circle law {expected[label]:.2f})" if label in expected else "")
            for label, sv in svs
        )
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=110)


# --- gains -------------------------------------------------------------------------------
def run_gains(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench gains``."""
    prog = "xinit-bench gains"
    try:
        json_to = _json_target(args.json)
        if not (math.isfinite(args.q) and args.q > 0):
            raise _UsageError(f"--q must be finite and > 0, got {args.q}")
        rows = prop.gain_table(args.q)
    except (_UsageError, ValueError, TypeError) as exc:
        return _fail(prog, str(exc))
    data = {
        "q": args.q,
        "rows": [
            {
                "activation": r["activation"],
                "pytorch": r["pytorch"],
                **{crit: r[crit].to_dict() for crit in prop.CRITERIA},
            }
            for r in rows
        ],
    }
    to_stdout = json_to is not None and str(json_to) == "-"
    if not to_stdout:
        print_gains(rows, args.q)
    if json_to is not None:
        _emit_json(data, json_to, to_stdout)
    return 0


def _slope(cg: prop.CriticalGain) -> str:
    tag = "" if cg.stable else " unstable"
    return f"{cg.length_slope:.3f}{tag}"


def print_gains(rows: list[dict[str, Any]], q: float) -> None:
    """Print the gain table of :func:`~xinit_bench.propagation.gain_table` on stdout."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(
        title=f"critical gains g (Var[W] = g^2 / fan_in) at q* = {q:g}",
        title_justify="left",
        caption=escape(
            "forward: g^2 E[phi(sqrt(q*) z)^2] = q*;  backward: chi_1 = g^2 E[phi'^2] = 1;  edge of chaos: "
            "chi_1 = 1 with a bias sigma_b that puts q* on the length map.\n"
            "slope at q*: d q^l / d q^(l-1) of the forward-criterion network at q*; above 1 the fixed "
            "point is unstable and q drifts away geometrically with depth.  pytorch: torch.nn.init.calculate_gain, '-' where PyTorch rejects the name."
        ),
        caption_justify="left",
    )
    for column in (
        "activation",
        "pytorch",
        "forward g",
        "slope at q*",
        "backward g",
        "EoC sigma_w",
        "EoC sigma_b",
        "edge of chaos",
    ):
        table.add_column(column, justify="left" if column in ("activation", "edge of chaos") else "right")
    for r in rows:
        fwd, bwd, eoc = (r[c] for c in prop.CRITERIA)
        torch = "-" if r["pytorch"] is None else f"{r['pytorch']:.4f}"
        table.add_row(
            escape(r["activation"]),
            torch,
            f"{fwd.gain:.4f}",
            _slope(fwd),
            f"{bwd.gain:.4f}",
            f"{eoc.gain:.4f}" if eoc.feasible else "-",
            f"{eoc.bias_std:.4f}" if eoc.feasible else "-",
            escape(eoc.note),
        )
    console.print(table)


def _emit_json(data: Any, json_to: Path, to_stdout: bool) -> None:
    """Write ``data`` as JSON to stdout (``--json -``) or to ``json_to``."""
    text = json.dumps(_finite(data), indent=2) + "\n"
    if to_stdout:
        sys.stdout.write(text)
    else:
        json_to.write_text(text)
        sys.stderr.write(f"wrote {json_to}\n")
