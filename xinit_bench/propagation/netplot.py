"""The figure of a network run: forward and backward second moments per entry, theory and Monte Carlo, and their ratio.

Three panels in the style of :func:`~xinit_bench.propagation.plot.write_plot`
(theory lines, Monte Carlo points with +- 1 standard-error bars, log y), plus
a third, linear panel of Monte Carlo / theory for both passes, so that a 20%
drift is visible.  matplotlib is imported inside :func:`write_network_plot`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .netpresets import NetworkPresetResult

__all__ = ["write_network_plot"]


def write_network_plot(result: NetworkPresetResult, path: Path) -> None:
    """Write ``result`` as a PNG at ``path`` (matplotlib, Agg).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15.0, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    panels = (
        ("forward", r"second moment of the output $\mathbb{E}[x_k^2]$"),
        ("backward", r"gradient second moment $\mathbb{E}[(\partial L/\partial x_k)^2]$"),
    )
    for i, (label, (_net, sim, theory)) in enumerate(result.runs.items()):
        color = f"C{i}"
        k = np.arange(1, sim.depth + 1)
        every = max(1, sim.depth // 60)
        for ax, (stat, axis_label) in zip(axes[:2], panels, strict=True):
            th = np.asarray(getattr(theory, stat), dtype=np.float64)
            m = np.asarray(getattr(sim, stat))
            se = np.asarray(getattr(sim, f"{stat}_se"))
            ok = np.isfinite(th) & (th > 0)
            ax.plot(k[ok], th[ok], "-", color=color, lw=1.6, label=f"{label}: theory")
            pts = np.isfinite(m) & (m > 0) & (np.arange(sim.depth) % every == every - 1)
            err = np.vstack([np.minimum(se[pts], 0.9 * m[pts]), se[pts]]) if np.all(np.isfinite(se[pts])) else None
            ax.errorbar(
                k[pts],
                m[pts],
                yerr=err,
                fmt="o",
                ms=3.5,
                mfc="none",
                mew=1.0,
                color=color,
                ecolor=color,
                elinewidth=0.9,
                capsize=1.5,
                label=f"{label}: Monte Carlo ({sim.repeats} nets x {sim.batch}, ± 1 SE)",
            )
            ax.set_yscale("log")
            ax.set_xlabel("entry $k$ (layer or residual block)")
            ax.set_ylabel(axis_label)
            ax.grid(True, which="major", alpha=0.3)
        for stat, marker in (("forward", "o"), ("backward", "s")):
            th = np.asarray(getattr(theory, stat), dtype=np.float64)
            r = np.asarray(getattr(sim, stat)) / th
            rse = np.asarray(getattr(sim, f"{stat}_se")) / th
            pts = np.isfinite(r) & (np.arange(sim.depth) % every == every - 1)
            axes[2].errorbar(
                k[pts],
                r[pts],
                yerr=rse[pts] if np.all(np.isfinite(rse[pts])) else None,
                fmt=marker,
                ms=3.0,
                mfc="none" if stat == "forward" else color,
                color=color,
                elinewidth=0.8,
                capsize=1.0,
                label=f"{label}: {stat}",
            )
    axes[2].axhline(1.0, color="k", lw=0.8)
    for edge in (0.8, 1.2):
        axes[2].axhline(edge, color="k", lw=0.6, ls=":")
    axes[2].set_ylim(0.5, 1.5)
    axes[2].set_xlabel("entry $k$ (layer or residual block)")
    axes[2].set_ylabel("Monte Carlo / theory (dotted: ±20%)")
    axes[2].grid(True, alpha=0.3)
    axes[0].set_title("forward")
    axes[1].set_title("backward (unit-variance gradient at the top)")
    axes[2].set_title("ratio (forward: open, backward: filled)")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"{result.name}: {result.description}", fontsize=11)
    fig.savefig(path, dpi=110)
