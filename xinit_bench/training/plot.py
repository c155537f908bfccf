r"""The training study's figures (matplotlib, the ``plot`` extra, imported lazily) and tables (rich).

* ``keras-mlp``: test accuracy per epoch, one curve per init, the band
  mean :math:`\pm` 1 s.d. over the seeds.
* ``depth``: the same per (depth, activation) panel.
* ``trainability``: test accuracy after the step budget per
  :math:`(\sigma_w^2, L)` cell, with :math:`6\xi_c` and :math:`2 \cdot 6\xi_c`
  from the theory drawn over it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .grid import FAR, six_xi

# A preset's result (:class:`.presets.PresetResult`) is taken as ``Any``: the presets import this module, and the
# layer test counts a type-only import as a dependency too, so naming the class here would be an import cycle.
PresetResult = Any

__all__ = ["results_table", "write_figure"]


def _caption(result: PresetResult) -> str:
    head = f"{result.preset.name}: {result.preset.description}\n{result.preset.settings()}"
    n = len(result.seeds)
    return head if n == 1 else f"{head};\nband = mean ± 1 s.d. over {n} seeds"  # one seed has no band


def _band_axes(ax: Any, result: PresetResult, labels: list[str], names: list[str]) -> None:
    bands = result.bands()
    for k, (lab, name) in enumerate(zip(labels, names, strict=True)):
        b = bands[lab]
        epochs = np.arange(1, len(b.mean) + 1)
        ax.plot(epochs, b.mean, "-o", ms=3, color=f"C{k % 10}", label=f"{name} ({b.mean[-1]:.3f})")
        ax.fill_between(epochs, b.lower, b.upper, color=f"C{k % 10}", alpha=0.2, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.0, 1.02)
    ax.grid(True, alpha=0.3)


def _curves(result: PresetResult, fig: Any) -> None:
    ax = fig.subplots(1, 1)
    labels = [a.label for a in result.preset.arms]
    _band_axes(ax, result, labels, labels)
    ax.legend(fontsize=8, loc="lower right", title="init (final mean)")


def _depth_panels(result: PresetResult, fig: Any) -> None:
    arms = result.preset.arms
    depths = sorted({a.spec.depth - 1 for a in arms})
    acts = list(dict.fromkeys(a.spec.activation for a in arms))
    axes = np.atleast_2d(fig.subplots(len(depths), len(acts), squeeze=False, sharey=True))
    for i, d in enumerate(depths):
        for j, act in enumerate(acts):
            chosen = [a for a in arms if a.spec.depth - 1 == d and a.spec.activation == act]
            ax = axes[i, j]
            _band_axes(ax, result, [a.label for a in chosen], [str(a.init) for a in chosen])
            ax.set_title(f"{act}, {d} hidden layers", fontsize=10)
            ax.legend(fontsize=6, loc="upper left", ncol=2)


def _grid(result: PresetResult, fig: Any) -> None:
    verdict = result.verdict()
    assert verdict is not None
    g = verdict.grid
    ax = fig.subplots(1, 1)
    sw = np.asarray(g.sigma_w2)
    ds = np.asarray(g.depths, dtype=np.float64)
    # Cell edges halfway between the grid values (the outer ones mirrored), so each cell is centred on its value.
    sw_edges = np.concatenate([[1.5 * sw[0] - 0.5 * sw[1]], (sw[:-1] + sw[1:]) / 2, [1.5 * sw[-1] - 0.5 * sw[-2]]])
    d_edges = np.concatenate([[ds[0] / 2], (ds[:-1] + ds[1:]) / 2, [1.5 * ds[-1] - 0.5 * ds[-2]]])
    mesh = ax.pcolormesh(sw_edges, d_edges, verdict.accuracy, cmap="viridis", vmin=0.0, vmax=1.0, shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"test accuracy after {result.preset.config.steps} SGD steps")
    fine = np.linspace(sw_edges[0], sw_edges[-1], 61)
    curve = six_xi(g.activation, tuple(fine.tolist()), g.sigma_b2, "xi_c")
    top = d_edges[-1]
    ax.plot(fine, np.where(np.isfinite(curve), curve, 10 * top), "w-", lw=2.2, label=r"$6\xi_c$ (theory)")
    ax.plot(fine, np.where(np.isfinite(curve), FAR * curve, 10 * top), "w--", lw=1.4, label=rf"${FAR:g} \times 6\xi_c$")
    for i, d in enumerate(ds):
        for j, s in enumerate(sw):
            if verdict.trains[i, j]:
                ax.plot(s, d, "k.", ms=3)
    if ds[-1] >= 8 * ds[0]:
        ax.set_yscale("log")  # depths spread over a decade or more: equal ratios, equal heights
    ax.set_yticks(ds, [f"{d:g}" for d in ds])
    ax.minorticks_off()
    ax.set_ylim(d_edges[0], top)
    ax.set_xlim(sw_edges[0], sw_edges[-1])
    ax.set_xlabel(r"$\sigma_w^2$ (weights $N(0, \sigma_w^2/n)$)")
    ax.set_ylabel("depth L (hidden layers)")
    ax.legend(loc="upper right", fontsize=8, facecolor="0.3", labelcolor="white")
    ax.set_title(
        f"dot: accuracy >= {g.threshold:g}; sigma_b2 = {g.sigma_b2:g}\n{verdict.sentence()}", fontsize=7.5, wrap=True
    )


def write_figure(result: PresetResult, path: Path) -> None:
    """Write the figure of ``result`` as a PNG (matplotlib, Agg).

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install 'xinit-bench[plot]'``).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - the plot extra is in dev
        raise ImportError("the training figures need matplotlib: pip install 'xinit-bench[plot]'") from exc
    grid = result.preset.grid is not None
    depth = result.preset.name == "depth" and len({a.spec.activation for a in result.preset.arms}) > 1
    size = (7.5, 6.0) if grid else ((13.0, 7.5) if depth else (7.5, 5.0))
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    if grid:
        _grid(result, fig)
    elif result.preset.name == "depth":
        _depth_panels(result, fig)
    else:
        _curves(result, fig)
    fig.suptitle(_caption(result), fontsize=9)
    fig.savefig(path, dpi=110)


def _mean_sd(values: list[float]) -> str:
    arr = np.asarray(values, dtype=np.float64)
    sd = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return f"{arr.mean():.3f} ± {sd:.3f}"


def results_table(result: PresetResult) -> Any:
    """A rich Table: per arm the seeds, final test accuracy (mean ± s.d.) and steps to the target."""
    from rich.table import Table

    table = Table(title=_caption(result), title_justify="left")
    verdict = result.verdict()
    if verdict is not None:
        table.add_column("L \\ sigma_w2", justify="right")
        for s in verdict.grid.sigma_w2:
            table.add_column(f"{s:.3g}", justify="right")
        for i, d in enumerate(verdict.grid.depths):
            table.add_row(str(d), *(f"{a:.2f}" for a in verdict.accuracy[i]))
        table.add_row("6 xi_c", *(f"{c:.0f}" if math.isfinite(c) else "inf" for c in verdict.curve))
        table.caption = verdict.sentence()
        return table
    finals: dict[str, list[float]] = {}
    for r, lab in zip(result.records, result.labels, strict=True):
        finals.setdefault(lab, []).append(r.test_accuracy[-1])
    steps = {row.label: row for row in result.steps()}
    target = result.preset.config.target_accuracy
    table.add_column("arm")
    table.add_column("seeds", justify="right")
    table.add_column("final test accuracy (mean ± s.d.)", justify="right")
    table.add_column(f"steps to {target:.0%} (median, reached/seeds)" if target else "steps", justify="right")
    for lab, vals in finals.items():
        table.add_row(lab, str(len(vals)), _mean_sd(vals), steps[lab].cell())
    table.caption = "\n".join(c.sentence() for c in result.comparisons())
    return table
