"""The propagation figure: forward and backward second moments, layer by layer, as a PNG.

matplotlib is the optional ``plot`` extra (``pip install 'xinit-bench[plot]'``);
it is imported inside :func:`write_plot`, so this module imports without it.
:func:`matplotlib_available` lets a caller refuse a plot before a long run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from .presets import PresetResult

__all__ = ["BACKWARD", "FORWARD", "matplotlib_available", "write_plot"]

#: (statistic, axis label) of the two panels.
FORWARD = ("pre_sq", r"pre-activation second moment $q^l$")
BACKWARD = ("grad_act_sq", r"back-propagated gradient $\mathbb{E}[(\partial L/\partial a^l)^2]$")


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (without importing it)."""
    return importlib.util.find_spec("matplotlib") is not None


def write_plot(result: PresetResult, path: Path) -> None:
    """Write the forward and backward panels of ``result`` as a PNG (matplotlib, Agg).

    Theory is drawn as lines, Monte Carlo means as points with +- 1 standard
    error bars, on a log y axis; non-positive or non-finite values (underflow,
    overflow) are left out.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for i, (label, (sim, theory)) in enumerate(result.runs.items()):
        color = f"C{i}"
        layers = np.arange(1, sim.depth + 1)
        for ax, (stat, axis_label) in zip(axes, (FORWARD, BACKWARD), strict=True):
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
