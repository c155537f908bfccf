"""``xinit-bench gains``: the critical gain of every activation under each criterion, beside PyTorch's."""

from __future__ import annotations

import argparse
import math
from typing import Any, TextIO

from .. import propagation as prop
from .common import UsageError, add_json_option, console, fail, json_target, one_line_errors
from .output import write_outputs

PROG = "xinit-bench gains"


def setup_arguments(subparsers: Any) -> None:
    """Add ``gains`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
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
    add_json_option(g, "the table")
    g.set_defaults(func=run)
    one_line_errors(g)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench gains``."""
    try:
        json_to = json_target(args.json)
        if not (math.isfinite(args.q) and args.q > 0):
            raise UsageError(f"--q must be finite and > 0, got {args.q}")
        rows = prop.gain_table(args.q)
    except (UsageError, ValueError, TypeError) as exc:
        return fail(PROG, str(exc))
    data = {
        "q": args.q,
        "rows": [
            {
                "activation": r["activation"],
                "pytorch": r["pytorch"],
                **{crit: r[crit].to_dict() for crit in prop.CRITERIA},
                "forward_scales": r["forward_scales"].to_dict(),
                "eoc_xi_q": _json_number(r["eoc_xi_q"]),
            }
            for r in rows
        ],
    }
    write_outputs(json_to, data, lambda: print_gains(rows, args.q))
    return 0


def _json_number(value: float | None) -> float | str | None:
    return value if value is None or math.isfinite(value) else str(value)


def _xi(value: float) -> str:
    """A depth scale in at most 5 characters: ``inf``, ``-`` for NaN (an unstable q*), else 3 digits."""
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}" if value < 1e3 else f"{value:.0e}"


def _fixed_point(cg: prop.CriticalGain) -> str:
    """The first word of the edge-of-chaos note: stable, marginal, unstable or infeasible."""
    return cg.note.split(":")[0].split(" ")[0] if cg.note else "-"


def print_gains(rows: list[dict[str, Any]], q: float, out: TextIO | None = None) -> None:
    """Print the gain table of :func:`~xinit_bench.propagation.gain_table` on ``out`` (default stdout).

    The table fits 100 columns: the edge-of-chaos sigma_w, which is the
    backward gain (both set chi_1 = 1), is not repeated, and the edge-of-chaos
    notes that say more than "stable fixed point" follow the table, one line
    per activation; every field is in ``--json``.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"critical gains g (Var[W] = g^2 / fan_in) at q* = {q:g}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    heads = (
        ("activation", "left"),
        ("torch", "right"),
        ("forward\ng", "right"),
        ("chi_1\nat q*", "right"),
        ("phase", "left"),
        ("xi_q", "right"),
        ("xi_c", "right"),
        ("backward\ng", "right"),
        ("EoC\nsigma_b", "right"),
        ("EoC fixed\npoint", "left"),
    )
    for head, justify in heads:
        table.add_column(head, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    notes = []
    for r in rows:
        fwd, bwd, eoc = (r[c] for c in prop.CRITERIA)
        torch = "-" if r["pytorch"] is None else f"{r['pytorch']:.4f}"
        table.add_row(
            escape(r["activation"]),
            torch,
            f"{fwd.gain:.4f}",
            f"{fwd.chi1:.4f}",
            fwd.phase,
            _xi(r["forward_scales"].xi_q),
            _xi(r["forward_scales"].xi_c),
            f"{bwd.gain:.4f}",
            f"{eoc.bias_std:.4f}" if eoc.feasible else "-",
            _fixed_point(eoc),
        )
        if eoc.note and eoc.note != "stable fixed point":
            notes.append(f"  {r['activation']}: {eoc.note}")
    con = console(out)
    con.print(table)
    for line in notes:
        con.print(escape(line), highlight=False)
    con.print(
        escape(
            "forward: g^2 E[phi(sqrt(q*) z)^2] = q*;  backward: chi_1 = g^2 E[phi'^2] = 1;  edge of chaos (EoC): "
            "chi_1 = 1 with a bias sigma_b that puts q* on the length map; its sigma_w is the backward g ('-' for "
            "sigma_b where none exists).\n"
            "chi_1 at q*: g^2 E[phi'(sqrt(q*) z)^2] of the forward gain, the per-layer gradient factor "
            "(Schoenholz et al. 2017); phase: ordered (chi_1 < 1 - 1e-3, gradients vanish as chi_1^L), "
            "critical (|chi_1 - 1| <= 1e-3) or chaotic (chi_1 > 1 + 1e-3, gradients explode).  "
            "Only the backward and edge-of-chaos gains are critical by construction.\n"
            "xi_q, xi_c: depth scales of the forward-gain network without bias at q* (Schoenholz et al. 2017): "
            "lengths settle as exp(-l/xi_q), xi_q = -1/ln(d q^l/d q^(l-1)), '-' where that slope is above 1 and q* "
            "is unstable; the correlation of two inputs settles as exp(-l/xi_c), xi_c = -1/ln(chi_c), and such a "
            "network trains to a depth of about 6 xi_c.  Both are inf at chi_1 = 1, so at the edge of chaos "
            "xi_c is infinite by construction (its xi_q is in --json).  "
            "torch: torch.nn.init.calculate_gain, '-' where PyTorch rejects the name."
        ),
        highlight=False,
    )
