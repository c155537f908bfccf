"""``xinit-bench propagate --preset pennington2017|xiao2018``: the Jacobian-spectrum presets.

The presets of :mod:`xinit_bench.propagation.jacpresets`: a table of the
normalised variance of ``JJ^T``'s eigenvalues per network and depth against
the free-probability prediction, a PNG
(:func:`~xinit_bench.propagation.jacplot.write_jacobian_plot`) and, on
request, JSON.  ``--repeats`` and ``--seed`` as for the other presets;
``--width`` sets the MLP width (channels of the CNN) and ``--depth`` the
largest depth of the ladder 2, 8, 32, 128.  Bad options exit with status 2
before any work.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from .. import propagation as prop
from .common import UsageError, console, fail, json_target, progress
from .output import plot_target, write_outputs

#: The depths of a Jacobian preset, cut at ``--depth``.
LADDER = (2, 8, 32, 128)
#: Options that describe a network and do not apply to a Jacobian preset.
_FIXED = ("activation", "param", "init", "gain", "widths", "bias_std", "dtype", "input_second_moment", "batch")


def _kwargs(args: argparse.Namespace) -> dict[str, Any]:
    given = [f"--{k.replace('_', '-')}" for k in _FIXED if getattr(args, k, None) is not None]
    if args.net is not None or args.speed:
        raise UsageError(f"--preset {args.preset} is a preset; drop --net and --speed")
    if given:
        raise UsageError(
            f"--preset {args.preset} fixes the network; drop {', '.join(given)} "
            "(only --repeats, --seed, --width and --depth combine with it)"
        )
    out: dict[str, Any] = {}
    for k, low in (("repeats", 1), ("seed", 0), ("width", 2), ("depth", 1)):
        v = getattr(args, k)
        if v is not None and v < low:
            raise UsageError(f"--{k} must be >= {low}, got {v}")
    if args.repeats is not None:
        out["repeats"] = args.repeats
    if args.seed is not None:
        out["seed"] = args.seed
    if args.width is not None:
        out["width" if args.preset == "pennington2017" else "channels"] = args.width
    if args.depth is not None:
        out["depths"] = (*(d for d in LADDER if d < args.depth), args.depth)
    return out


def run_jacobian(args: argparse.Namespace, prog: str) -> int:
    """Handler of a Jacobian preset of ``xinit-bench propagate``."""
    from ..propagation.plot import matplotlib_available

    try:
        json_to = json_target(args.json)
        kwargs = _kwargs(args)
        default = Path(f"propagation-{args.preset}.png")
        plot_to = None if args.no_plot else plot_target(args.plot or default, matplotlib_available, no_plot_switch=True)
    except (UsageError, ValueError, TypeError) as exc:
        return fail(prog, str(exc))
    try:
        with progress(f"propagate {args.preset}", unit="layers") as bar:
            result = prop.run_jacobian_preset(args.preset, progress=bar.update, **kwargs)
    except (ValueError, TypeError) as exc:
        return fail(prog, str(exc))
    from ..propagation.jacplot import write_jacobian_plot

    data = result.to_dict()
    data["plot"] = None if plot_to is None else str(plot_to)
    # The JSON first: a run of minutes keeps its numbers even if the figure fails.
    write_outputs(
        json_to,
        data,
        lambda: print_jacobian(result),
        plot_to=plot_to,
        draw=lambda path: write_jacobian_plot(result, path),
        json_first=True,
    )
    return 0


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def print_jacobian(result: prop.JacobianPresetResult) -> None:
    """The table of ``result``: one row per network and depth (fits 100 columns)."""
    from rich.markup import escape
    from rich.table import Table

    con = console()
    con.print(f"[bold]xinit-bench propagate[/bold]  {escape(result.name)}: {escape(result.description)}")
    table = Table(
        title="Var/m1^2 of the eigenvalues of JJ^T per network; m1 = mean eigenvalue",
        title_justify="left",
        caption="measured: mean ± standard error over networks; ratio: measured / theory",
        caption_justify="left",
    )
    for head in ("network", "L", "theory", "measured", "ratio", "m1 theory", "m1 measured"):
        table.add_column(head, justify="left" if head == "network" else "right")
    for row in result.rows():
        th, m, se = row["theory_normalised_var"], row["normalised_var"], row["normalised_var_se"]
        measured = _num(m) if se is None else f"{m:.4g} ± {se:.2g}"
        ratio = "-" if th is None or th < 1e-12 else f"{m / th:.3f}"
        table.add_row(
            escape(row["network"]),
            str(row["depth"]),
            _num(th),
            measured,
            ratio,
            _num(row["theory_mean"]),
            _num(row["mean"]),
        )
    con.print(table)
    for note in result.notes:
        con.print(escape(f"  {note}"))
