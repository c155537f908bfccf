r"""The figure of a Jacobian preset: spectral densities per network kind, and the normalised variance against depth.

One panel per activation (or per kernel kind for a CNN preset) with the
density of ``log10`` of the squared singular values at every depth (one
colour per depth; solid for Gaussian, dashed for orthogonal weights), the
closed forms where they exist (the Fuss-Catalan law of a linear Gaussian
network, drawn in ``log10 x`` as ``\rho(x)\,x \ln 10``; a point mass as a
vertical line), and a last panel of ``Var/m_1^2`` against depth, Monte Carlo
points (mean +- 1 SE over networks) with the prediction as lines.
matplotlib is imported inside :func:`write_jacobian_plot`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .jacpresets import JacobianPresetResult, log_histogram

__all__ = ["write_jacobian_plot"]


def _group(label: str) -> tuple[str, str]:
    """``("relu", "orthogonal")`` from ``"relu, orthogonal"``."""
    head, _, tail = label.rpartition(", ")
    return head, tail


def write_jacobian_plot(result: JacobianPresetResult, path: Path) -> None:
    """Write ``result`` as a PNG at ``path`` (matplotlib, Agg).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups: dict[str, list[str]] = {}
    for label in result.runs:
        groups.setdefault(_group(label)[0], []).append(label)
    fig = Figure(figsize=(4.6 * (len(groups) + 1), 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(groups) + 1)
    depths = sorted({d for by in result.runs.values() for d in by})
    cmap = {d: f"C{i}" for i, d in enumerate(depths)}
    for ax, (group, labels) in zip(axes[:-1], groups.items(), strict=True):
        for label in labels:
            style = "-" if _group(label)[1].lower() == "gaussian" else "--"
            for depth, r in result.runs[label].items():
                if r.singular_values is None:
                    continue
                closed = r.theory_density()
                if closed is not None and r.theory is not None and r.theory.closed_form == "point_mass":
                    # a point mass: the measured values sit on it to rounding, a histogram would be one spike
                    ax.axvline(math.log10(float(closed[0][0])), color=cmap[depth], lw=1.3, ls=style)
                    continue
                dens, edges = log_histogram(r)
                mid = 0.5 * (edges[1:] + edges[:-1])
                ax.plot(mid, dens, style, color=cmap[depth], lw=1.3)
                if closed is not None:
                    x, rho = closed
                    ok = (x > 0) & np.isfinite(rho)
                    ax.plot(np.log10(x[ok]), rho[ok] * x[ok] * math.log(10.0), ":", color="k", lw=1.0)
        ax.set_title(group)
        ax.set_xlabel(r"$\log_{10}\sigma^2$ (squared singular values of $J$)")
        ax.set_ylabel("density (log scale)")
        ax.set_yscale("log")
        ax.set_ylim(bottom=1e-3)
        ax.set_xlim(-6.0, ax.get_xlim()[1])
        for d in depths:
            ax.plot([], [], "-", color=cmap[d], label=f"L = {d}")
        ax.plot([], [], "-", color="0.3", label="Gaussian")
        others = sorted({_group(label)[1] for label in labels} - {"gaussian", "Gaussian"})
        ax.plot([], [], "--", color="0.3", label=", ".join(others) or "orthogonal")
        ax.plot([], [], ":", color="k", label="closed form (vertical: point mass)")
        ax.legend(fontsize=7, loc="upper left")
    ax = axes[-1]
    for i, (label, by_depth) in enumerate(result.runs.items()):
        ds = np.array(list(by_depth))
        m = np.array([r.normalised_var_mean for r in by_depth.values()])
        se = np.array([r.normalised_var_se if r.repeats > 1 else 0.0 for r in by_depth.values()])
        th = [r.theory_normalised_var for r in by_depth.values()]
        color = f"C{i}"
        floor = 1e-3
        ax.errorbar(ds, np.maximum(m, floor), yerr=se, fmt="o", ms=4, color=color, label=f"{label}")
        if all(t is not None for t in th):
            t = np.array(th, dtype=np.float64)
            ax.plot(ds, np.maximum(t, floor), "-", color=color, lw=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.minorticks_off()
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"$\mathrm{Var}[\sigma^2] / m_1^2$ (points; below $10^{-3}$ drawn at $10^{-3}$)")
    ax.set_title("spread of the spectrum against depth")
    ax.legend(fontsize=7)
    fig.suptitle(result.description, fontsize=10)
    fig.savefig(path, dpi=110)
