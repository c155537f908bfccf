"""``xinit-bench phase``: the order-to-chaos phase diagram of a deep MLP, or the ``schoenholz2017`` preset.

Over a grid of (sigma_w^2, sigma_b^2) it computes chi_1, the critical line
chi_1 = 1, the depth scales xi_c and xi_q and the fixed points q* and c*
(:func:`xinit_bench.propagation.phase.phase_diagram`), prints a short
summary, and writes a PNG (``--plot``) and JSON (``--json``).  On request,
Monte Carlo cells are measured and overlaid with their c^L.  ``--preset
schoenholz2017`` draws tanh's xi_c against sigma_w^2 instead
(:func:`xinit_bench.propagation.phasemc.schoenholz2017`).

Bad options exit with status 2 and a one-line message, before any work and
before any file is written; so does a grid too large for memory or time.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, TextIO

from ..propagation import ACTIVATIONS
from ..propagation.phase import MAX_SECONDS, PhaseDiagram, phase_diagram
from ..propagation.phasemc import MC_DEFAULTS, XiCurves, schoenholz2017
from ..propagation.plot import matplotlib_available
from .common import UsageError, add_json_option, console, fail, json_target, one_line_errors, progress
from .output import plot_target, write_outputs

PROG = "xinit-bench phase"
PRESETS = ("schoenholz2017",)
#: Rows of the critical line shown in the table (the rest is in --json).
_LINE_ROWS = 8


def setup_arguments(subparsers: Any) -> None:
    """Add ``phase`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "phase",
        help="order-to-chaos phase diagram over (sigma_w^2, sigma_b^2): chi_1, the critical line, xi_c, q*, c*",
        description=(
            "Mean-field phase diagram of a deep MLP with Var[W] = sigma_w^2/n and bias variance sigma_b^2: "
            "chi_1 per cell, the order-to-chaos line chi_1 = 1 (root finding per row), the depth scales "
            "xi_c and xi_q and the fixed points q* and c* (Poole et al. 2016; Schoenholz et al. 2017). "
            "--monte-carlo measures c^L at a few cells; --preset schoenholz2017 plots tanh's xi_c "
            "against sigma_w^2 instead."
        ),
        epilog=(
            "examples:\n"
            "  xinit-bench phase --activation tanh --plot phase-tanh.png\n"
            "  xinit-bench phase --activation relu --sigma-w2 1 3 21 --sigma-b2 0 0.5 11 --json\n"
            "  xinit-bench phase --activation tanh --monte-carlo 1.5,0.05 3,0.05 --plot phase.png\n"
            "  xinit-bench phase --preset schoenholz2017 --plot xi.png --json xi.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", choices=PRESETS, help="reproduce a paper's figure instead of a grid")
    p.add_argument("--activation", help=f"one of {', '.join(ACTIVATIONS)} (default: tanh)")
    p.add_argument("--param", type=float, help="leaky_relu negative slope or elu alpha")
    p.add_argument("--sigma-w2", nargs=3, metavar=("LO", "HI", "N"), help="weight-variance axis (default: 0.5 4 29)")
    p.add_argument("--sigma-b2", nargs=3, metavar=("LO", "HI", "N"), help="bias-variance axis (default: 0 0.3 13)")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=MAX_SECONDS,
        help=f"refuse a grid estimated to take longer (default: {MAX_SECONDS:g})",
    )
    mc = p.add_argument_group("Monte Carlo")
    mc.add_argument(
        "--monte-carlo",
        nargs="+",
        type=_cell,
        metavar="W2,B2",
        help="cells (sigma_w^2,sigma_b^2) at which to measure c^L of random networks",
    )
    mc.add_argument("--no-monte-carlo", action="store_true", help="with --preset: the theory lines only")
    for name, what in (("depth", "layers"), ("width", "units"), ("batch", "examples (pairs x 2)")):
        mc.add_argument(f"--{name}", type=int, help=f"{what} (default: {MC_DEFAULTS[name]})")
    mc.add_argument("--repeats", type=int, help=f"independent networks (default: {MC_DEFAULTS['repeats']})")
    mc.add_argument("--seed", type=int, help="seed: the same seed gives the same bits (default: 0)")
    mc.add_argument("--c0", type=float, help=f"input correlation of the pairs (default: {MC_DEFAULTS['c0']})")
    out = p.add_argument_group("output")
    out.add_argument("--plot", type=Path, metavar="PATH", help="write the figure as a PNG")
    add_json_option(out)
    p.set_defaults(func=run)
    one_line_errors(p)


def _cell(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        w2, b2 = (float(v) for v in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a cell W2,B2 (two numbers, comma-separated)") from None
    return (w2, b2)


def _grid(option: str, values: list[str] | None) -> tuple[float, float, int] | None:
    if values is None:
        return None
    lo_s, hi_s, n_s = values
    try:
        lo, hi = float(lo_s), float(hi_s)
    except ValueError:
        raise UsageError(f"{option} LO HI N: LO and HI must be numbers, got {lo_s!r} {hi_s!r}") from None
    try:
        n = int(n_s)
    except ValueError:
        raise UsageError(f"{option} LO HI N: N must be an integer, got {n_s!r}") from None
    return (lo, hi, n)


def _mc_options(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in MC_DEFAULTS if getattr(args, k) is not None}


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench phase``."""
    try:
        json_to = json_target(args.json)
        plot_to = plot_target(args.plot, matplotlib_available)
        if not (args.max_seconds > 0):
            raise UsageError(f"--max-seconds must be > 0, got {args.max_seconds}")
        if args.preset is not None:
            given = [
                flag
                for flag, v in (
                    ("--activation", args.activation),
                    ("--param", args.param),
                    ("--sigma-b2", args.sigma_b2),
                    ("--monte-carlo", args.monte_carlo),
                    ("--depth", args.depth),
                    ("--c0", args.c0),
                )
                if v is not None
            ]
            if given:
                raise UsageError(
                    f"--preset {args.preset} fixes the activation, sigma_b^2 values and the Monte Carlo cells; "
                    f"drop {', '.join(given)} (--sigma-w2, --width, --batch, --repeats and --seed combine with it)"
                )
            return _run_preset(args, json_to, plot_to)
        if args.no_monte_carlo:
            raise UsageError("--no-monte-carlo is for --preset; without it, give no --monte-carlo cells")
        grid: dict[str, Any] = {}
        for key, option in (("sigma_w2", "--sigma-w2"), ("sigma_b2", "--sigma-b2")):
            axis = _grid(option, getattr(args, key))
            if axis is not None:
                grid[key] = axis
        mc_only = [f"--{k}" for k in _mc_options(args)]
        if mc_only and not args.monte_carlo:
            raise UsageError(f"{', '.join(mc_only)} set the Monte Carlo; give --monte-carlo W2,B2 cells too")
        with progress(f"phase {args.activation or 'tanh'}", unit="cells") as bar:
            diagram = phase_diagram(
                "tanh" if args.activation is None else args.activation,
                param=args.param,
                progress=bar.update,
                monte_carlo=args.monte_carlo,
                monte_carlo_options=_mc_options(args) or None,
                max_seconds=args.max_seconds,
                **grid,
            )
    except (UsageError, ValueError, TypeError) as exc:
        return fail(PROG, str(exc))
    from ..propagation.phaseplot import write_phase_plot

    write_outputs(
        json_to,
        diagram.to_dict(),
        lambda: print_phase(diagram),
        plot_to=plot_to,
        draw=lambda path: write_phase_plot(diagram, path),
    )
    return 0


def _run_preset(args: argparse.Namespace, json_to: Path | None, plot_to: Path | None) -> int:
    kwargs: dict[str, Any] = {
        k: getattr(args, k) for k in ("width", "batch", "repeats", "seed") if getattr(args, k) is not None
    }
    axis = _grid("--sigma-w2", args.sigma_w2)
    if axis is not None:
        kwargs["sigma_w2"] = axis
    try:
        with progress("phase schoenholz2017", unit="cells") as bar:
            curves = schoenholz2017(progress=bar.update, monte_carlo=not args.no_monte_carlo, **kwargs)
    except (ValueError, TypeError) as exc:
        return fail(PROG, str(exc))
    from ..propagation.phaseplot import write_xi_plot

    write_outputs(
        json_to,
        curves.to_dict(),
        lambda: print_preset(curves),
        plot_to=plot_to,
        draw=lambda path: write_xi_plot(curves, path),
    )
    return 0


def _f(v: float | None, spec: str = "{:.4g}") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return "inf" if math.isinf(v) else spec.format(v)


def _table(title: str, heads: tuple[str, ...]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for head in heads:
        table.add_column(head, justify="right", no_wrap=True)
    return table


def print_phase(d: PhaseDiagram, out: TextIO | None = None) -> None:
    """Print the summary of a :class:`~xinit_bench.propagation.phase.PhaseDiagram` (at most 100 columns)."""
    import numpy as np
    from rich.markup import escape

    con = console(out)
    w, b = d.sigma_w2, d.sigma_b2
    counts = ", ".join(f"{k} {v}" for k, v in d.counts().items())
    con.print(
        escape(
            f"{d.activation}: {b.size} x {w.size} cells, sigma_w^2 in [{w[0]:g}, {w[-1]:g}], "
            f"sigma_b^2 in [{b[0]:g}, {b[-1]:g}]\ncells: {counts}"
        ),
        highlight=False,
    )
    table = _table("order-to-chaos line chi_1 = 1", ("sigma_b^2", "sigma_w^2", "chi_1 left", "chi_1 right"))
    on_grid = np.flatnonzero(np.isin(d.line_sigma_b2, b))
    for k in on_grid[np.unique(np.linspace(0, on_grid.size - 1, min(_LINE_ROWS, on_grid.size)).round().astype(int))]:
        j = int(np.searchsorted(b, d.line_sigma_b2[k]))
        root = float(d.line_sigma_w2[k])
        i = int(np.searchsorted(w, root)) if math.isfinite(root) else -1
        left = float(d.chi_1[j, i - 1]) if 0 < i <= w.size else None
        right = float(d.chi_1[j, i]) if 0 <= i < w.size else None
        table.add_row(f"{b[j]:.4g}", _f(root, "{:.6f}"), _f(left), _f(right))
    con.print(table)
    if d.edge_of_chaos is not None:
        con.print(
            escape(
                "edge of chaos of critical_gain at q* = 1: (sigma_w^2, sigma_b^2) = "
                f"({d.edge_of_chaos[0]:.6f}, {d.edge_of_chaos[1]:.6f})"
            ),
            highlight=False,
        )
    if d.monte_carlo:
        mc = _table(
            "Monte Carlo c^L against theory", ("sigma_w^2", "sigma_b^2", "L", "c0", "c^L", "+- se", "theory", "z")
        )
        for m in d.monte_carlo:
            mc.add_row(
                f"{m['sigma_w2']:g}",
                f"{m['sigma_b2']:g}",
                str(m["depth"]),
                f"{m['c0']:g}",
                f"{m['c_measured']:.5f}",
                f"{m['c_se']:.2g}",
                f"{m['c_theory']:.5f}",
                _f(m["z"], "{:+.2f}"),
            )
        con.print(mc)
    con.print(
        escape(
            "chi_1 left/right: the grid's chi_1 on either side of the root (the root comes from the theory, "
            "not from the grid).  Every cell's chi_1, xi_c, xi_q, q* and c* are in --json."
        ),
        highlight=False,
    )


def print_preset(c: XiCurves, out: TextIO | None = None) -> None:
    """Print the summary of the ``schoenholz2017`` preset (at most 100 columns)."""
    from rich.markup import escape

    con = console(out)
    table = _table(
        f"{c.activation}: xi_c against sigma_w^2 (Schoenholz et al. 2017)",
        ("sigma_b^2", "critical sigma_w^2", "sigma_w^2", "phase", "L", "xi_c MC", "+- se", "theory", "MC/theory"),
    )
    for k, b2 in enumerate(c.sigma_b2):
        pts: list[dict[str, Any] | None] = [m for m in c.monte_carlo if m["sigma_b2"] == b2]
        pts = pts or [None]
        for n, m in enumerate(pts):
            first = (f"{b2:g}", _f(float(c.critical_sigma_w2[k]), "{:.5f}")) if n == 0 else ("", "")
            if m is None:
                table.add_row(*first, "-", "-", "-", "-", "-", "-", "-")
                continue
            ratio = None if m["xi_c"] is None else m["xi_c"] / m["xi_c_theory"]
            table.add_row(
                *first,
                f"{m['sigma_w2']:g}",
                m["phase"],
                str(m["depth"]),
                _f(m["xi_c"], "{:.3f}"),
                _f(m["xi_c_se"], "{:.2g}"),
                _f(m["xi_c_theory"], "{:.3f}"),
                _f(ratio, "{:.3f}"),
            )
    con.print(table)
    con.print(
        escape(
            f"Monte Carlo: width {c.width}, {c.repeats} networks of {c.batch // 2} input pairs; xi_c from the slope "
            "of ln|c^l - c*| over the layers where it stands 5 standard errors clear of the noise."
        ),
        highlight=False,
    )
