r"""The phase-diagram figures as PNGs: the :math:`(\sigma_w^2, \sigma_b^2)` plane and the depth scale :math:`\xi_c`.

matplotlib is the optional ``plot`` extra; it is imported inside the writers,
so this module imports without it
(:func:`~xinit_bench.propagation.plot.matplotlib_available` says whether it is there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .phase import PhaseDiagram
from .phasemc import XiCurves

__all__ = ["XI_LEVELS", "write_phase_plot", "write_xi_plot"]

#: The xi_c contours drawn on the phase diagram, in layers.
XI_LEVELS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


def _figure(size: tuple[float, float], panels: int) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, panels, squeeze=False)[0]


def _edges(x: np.ndarray) -> np.ndarray:
    """Cell edges around the points ``x`` of a uniform axis (one point: a unit-free cell of width 1e-3)."""
    if x.size == 1:
        return np.array([x[0] - 5e-4, x[0] + 5e-4])
    h = x[1] - x[0]
    return np.concatenate(([x[0] - h / 2], x + h / 2))


def _line(ax: Any, d: PhaseDiagram, *, label: bool) -> None:
    ok = np.isfinite(d.line_sigma_w2)
    ax.plot(
        d.line_sigma_w2[ok],
        d.line_sigma_b2[ok],
        "-",
        color="black",
        lw=2.0,
        label=r"$\chi_1 = 1$ (root of the theory)" if label else None,
    )
    if d.edge_of_chaos is not None:
        w, b = d.edge_of_chaos
        inside = d.sigma_w2[0] <= w <= d.sigma_w2[-1] and d.sigma_b2[0] <= b <= d.sigma_b2[-1]
        if inside:
            ax.plot(
                [w],
                [b],
                "*",
                ms=14,
                mfc="gold",
                mec="black",
                label=r"edge of chaos of critical_gain ($q^*=1$)" if label else None,
            )


def write_phase_plot(diagram: PhaseDiagram, path: Path) -> None:
    r"""Write the phase diagram as a PNG: :math:`\ln\chi_1` with the critical line and :math:`\xi_c`; :math:`c^*`.

    Left: a heatmap of :math:`\ln\chi_1` (blue ordered, red chaotic, grey
    unbounded), the line :math:`\chi_1 = 1`, dotted :math:`\xi_c` contours at
    :data:`XI_LEVELS`, the edge-of-chaos point, and the Monte Carlo cells with
    their measured :math:`c^L` (theory in brackets).  Right: :math:`c^*` with
    :math:`q^*` contours and the same line.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    fig, (ax, ax2) = _figure((12.0, 5.0), 2)
    X, Y = _edges(diagram.sigma_w2), _edges(diagram.sigma_b2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_chi = np.log(diagram.chi_1)
    log_chi = np.where(diagram.bounded & np.isfinite(log_chi), log_chi, np.nan)
    span = float(np.nanmax(np.abs(log_chi))) if np.isfinite(log_chi).any() else 1.0
    span = span if span > 0 else 1.0
    cmap = colormaps["RdBu_r"].with_extremes(bad="0.8")
    mesh = ax.pcolormesh(X, Y, np.ma.masked_invalid(log_chi), cmap=cmap, norm=Normalize(-span, span), shading="flat")
    fig.colorbar(mesh, ax=ax, label=r"$\ln \chi_1$  (< 0 ordered, > 0 chaotic)")
    if diagram.sigma_w2.size > 1 and diagram.sigma_b2.size > 1:
        xi = np.where(np.isfinite(diagram.xi_c), diagram.xi_c, np.nan)
        levels = [v for v in XI_LEVELS if np.nanmin(xi, initial=np.inf) < v < np.nanmax(xi, initial=-np.inf)]
        if levels:
            cs = ax.contour(
                diagram.sigma_w2, diagram.sigma_b2, xi, levels=levels, colors="black", linestyles=":", linewidths=1.0
            )
            ax.clabel(cs, fmt=lambda v: rf"$\xi_c$={v:g}", fontsize=7)
    _line(ax, diagram, label=True)
    for m in diagram.monte_carlo:
        ax.plot([m["sigma_w2"]], [m["sigma_b2"]], "o", ms=7, mfc="white", mec="black")
        ax.annotate(
            f"$c^{{{m['depth']}}}$={m['c_measured']:.3f}\n({m['c_theory']:.3f})",
            (m["sigma_w2"], m["sigma_b2"]),
            xytext=(5, 5),
            textcoords="offset points",
            fontsize=7,
        )
    ax.set_title(r"$\ln\chi_1$, the critical line and $\xi_c$ contours")
    ax.legend(fontsize=8, loc="upper left")

    cstar = np.where(diagram.bounded, diagram.c_star, np.nan)
    mesh2 = ax2.pcolormesh(
        X,
        Y,
        np.ma.masked_invalid(cstar),
        cmap=colormaps["viridis"].with_extremes(bad="0.8"),
        vmin=min(0.0, float(np.nanmin(cstar, initial=0.0))),
        vmax=1.0,
        shading="flat",
    )
    fig.colorbar(mesh2, ax=ax2, label=r"$c^*$  (1 in the ordered phase)")
    if diagram.sigma_w2.size > 1 and diagram.sigma_b2.size > 1:
        q = np.where(diagram.bounded, diagram.q_star, np.nan)
        if np.isfinite(q).any() and np.nanmax(q) > np.nanmin(q):
            cs2 = ax2.contour(diagram.sigma_w2, diagram.sigma_b2, q, levels=6, colors="white", linewidths=0.8)
            ax2.clabel(cs2, fmt=lambda v: f"$q^*$={v:.2g}", fontsize=7)
    _line(ax2, diagram, label=False)
    ax2.set_title(r"$c^*$ with $q^*$ contours")
    for a in (ax, ax2):
        a.set_xlabel(r"$\sigma_w^2$")
        a.set_ylabel(r"$\sigma_b^2$")
    fig.suptitle(
        f"{diagram.activation}: mean-field phase diagram of a deep MLP (Poole et al. 2016; Schoenholz et al. 2017)"
    )
    fig.savefig(path, dpi=110)


def write_xi_plot(curves: XiCurves, path: Path) -> None:
    r"""Write :math:`\xi_c` (and :math:`\xi_q`) against :math:`\sigma_w^2` at each :math:`\sigma_b^2` as a PNG.

    Theory as lines (:math:`\xi_c` solid, :math:`\xi_q` dashed), the
    critical :math:`\sigma_w^2` of each :math:`\sigma_b^2` as a dotted
    vertical line (where :math:`\xi_c` diverges), and Monte Carlo estimates of
    :math:`\xi_c` as points with their fit's standard error, on a log axis.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    fig, (ax,) = _figure((8.0, 5.0), 1)
    for k, b2 in enumerate(curves.sigma_b2):
        color = f"C{k}"
        xi = curves.xi_c[k]
        ok = np.isfinite(xi) & (xi > 0)
        ax.plot(curves.sigma_w2[ok], xi[ok], "-", color=color, lw=1.6, label=rf"$\sigma_b^2$={b2:g}: $\xi_c$ theory")
        xq = curves.xi_q[k]
        okq = np.isfinite(xq) & (xq > 0)
        ax.plot(curves.sigma_w2[okq], xq[okq], "--", color=color, lw=1.0, alpha=0.7)
        crit = curves.critical_sigma_w2[k]
        if np.isfinite(crit):
            ax.axvline(crit, color=color, ls=":", lw=1.0)
        pts = [m for m in curves.monte_carlo if m["sigma_b2"] == b2 and m["xi_c"] is not None]
        if pts:
            ax.errorbar(
                [m["sigma_w2"] for m in pts],
                [m["xi_c"] for m in pts],
                yerr=[m["xi_c_se"] or 0.0 for m in pts],
                fmt="o",
                ms=5,
                mfc="none",
                color=color,
                capsize=2.0,
                label=rf"$\sigma_b^2$={b2:g}: Monte Carlo",
            )
    ax.set_yscale("log")
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"depth scale (layers): $\xi_c$ solid, $\xi_q$ dashed")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(
        f"{curves.activation}: the correlation depth scale diverges at the critical line (dotted)\n"
        f"Monte Carlo: width {curves.width}, {curves.repeats} networks, slope of "
        r"$\ln|c^l - c^*|$ over depth (ordered phase)",
        fontsize=10,
    )
    fig.savefig(path, dpi=110)
