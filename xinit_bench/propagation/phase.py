r"""The order-to-chaos phase diagram of a deep MLP over a grid of :math:`(\sigma_w^2, \sigma_b^2)`.

Every cell of the grid is one call of
:func:`~xinit_bench.propagation.correlation.depth_scales`: the fixed points
:math:`q^*` of the length map and :math:`c^*` of the correlation map, the
gradient factor :math:`\chi_1 = \sigma_w^2\,\mathbb{E}[\phi'(\sqrt{q^*}z)^2]`,
the slope :math:`\chi_c` of the correlation map at :math:`c^*` and the depth
scales :math:`\xi_q`, :math:`\xi_c = -1/\ln\chi_c` (Poole et al. 2016;
Schoenholz et al. 2017, section 3).  A cell whose length map has no finite
fixed point (ReLU with :math:`\sigma_w^2 \ge 2`) is marked unbounded and its
numbers are NaN.

The order-to-chaos line :math:`\chi_1 = 1` is a curve
:math:`\sigma_w^2(\sigma_b^2)`, one root per row of the grid: the grid's own
:math:`\chi_1` brackets it and Brent's method finds it on the theory (not by
contouring the grid), to :data:`LINE_XTOL` in :math:`\sigma_w^2`.

References
----------
.. [1] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential
   expressivity in deep neural networks through transient chaos", NeurIPS.
   https://arxiv.org/abs/1606.05340 (Fig. 2).
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232 (Fig. 1).
.. [3] Brent (1973), "Algorithms for Minimization without Derivatives", ch. 4.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..activations import Activation, get_activation
from ..runtime import available_memory
from ..validation import check_callable, check_int, check_real
from .correlation import DepthScales, depth_scales
from .phaseline import (
    LINE_RTOL,
    LINE_XTOL,
    Grid,
    _axis,
    _dense_line,
    _edge_of_chaos,
    _from_json,
    _line,
    _to_json,
    critical_line,
    line_rows,
)

__all__ = [
    "BYTES_PER_CELL",
    "LINE_RTOL",
    "LINE_XTOL",
    "MAX_SECONDS",
    "Grid",
    "PhaseDiagram",
    "critical_line",
    "estimate_grid",
    "line_rows",
    "phase_diagram",
]

Array = NDArray[np.float64]
Progress = Callable[[int, int], None]

#: Bytes the result holds per cell: six float64 arrays, the bounded mask and the phase name (9 UCS-4 characters).
BYTES_PER_CELL = 6 * 8 + 1 + 9 * 4
#: The arrays of a :class:`PhaseDiagram`, each of shape ``(len(sigma_b2), len(sigma_w2))``.
FIELDS = ("chi_1", "chi_c", "xi_c", "xi_q", "q_star", "c_star")
_DEFAULT_W2: Grid = (0.5, 4.0, 29)
_DEFAULT_B2: Grid = (0.0, 0.3, 13)
#: Default time limit of a grid, in estimated seconds.
MAX_SECONDS = 3600.0


@dataclass(frozen=True)
class PhaseDiagram:
    r"""Result of :func:`phase_diagram`.

    Attributes
    ----------
    activation : str
        The activation's label.
    sigma_w2, sigma_b2 : ndarray
        The grid's axes.
    chi_1, chi_c, xi_c, xi_q, q_star, c_star : ndarray
        Shape ``(len(sigma_b2), len(sigma_w2))``: row ``j`` is
        :math:`\sigma_b^2 = ` ``sigma_b2[j]``, column ``i`` is
        :math:`\sigma_w^2 = ` ``sigma_w2[i]`` (an image with the origin at the
        lower left).  NaN where the cell is unbounded; ``xi_c`` and ``xi_q``
        are ``inf`` on the critical line.
    bounded : ndarray of bool
        Whether the length map has a finite fixed point in the cell.
    phase : ndarray of str
        ``"ordered"``, ``"critical"``, ``"chaotic"`` or ``"unbounded"``.
    line_sigma_b2, line_sigma_w2 : ndarray
        The order-to-chaos line :math:`\chi_1 = 1`: at each ``line_sigma_b2[k]``
        (the grid's rows and more, :func:`line_rows`), the root
        ``line_sigma_w2[k]`` (NaN where the grid's :math:`\sigma_w^2` range holds none).
    edge_of_chaos : tuple of float or None
        :math:`(\sigma_w^2, \sigma_b^2)` of ``critical_gain(activation,
        "edge_of_chaos")`` at :math:`q^* = 1`, when it is feasible and its fixed
        point stable (then it lies on the line); None otherwise.
    monte_carlo : tuple of dict
        Measured cells (:mod:`xinit_bench.propagation.phasemc`), empty unless asked for.
    """

    activation: str
    sigma_w2: Array
    sigma_b2: Array
    chi_1: Array
    chi_c: Array
    xi_c: Array
    xi_q: Array
    q_star: Array
    c_star: Array
    bounded: NDArray[np.bool_]
    phase: NDArray[np.str_]
    line_sigma_b2: Array
    line_sigma_w2: Array
    edge_of_chaos: tuple[float, float] | None
    monte_carlo: tuple[dict[str, Any], ...] = field(default=())

    @property
    def shape(self) -> tuple[int, int]:
        """``(len(sigma_b2), len(sigma_w2))``."""
        return (self.sigma_b2.size, self.sigma_w2.size)

    def counts(self) -> dict[str, int]:
        """How many cells are in each phase."""
        return {p: int(np.count_nonzero(self.phase == p)) for p in ("ordered", "critical", "chaotic", "unbounded")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: arrays as nested lists, NaN and infinities as None (``+inf`` depth scales as "inf")."""
        out: dict[str, Any] = {"activation": self.activation, "shape": list(self.shape)}
        for name in ("sigma_w2", "sigma_b2", *FIELDS, "line_sigma_b2", "line_sigma_w2"):
            out[name] = _to_json(getattr(self, name))
        out["bounded"] = self.bounded.tolist()
        out["phase"] = self.phase.tolist()
        out["counts"] = self.counts()
        out["edge_of_chaos"] = None if self.edge_of_chaos is None else list(self.edge_of_chaos)
        out["monte_carlo"] = [dict(m) for m in self.monte_carlo]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhaseDiagram:
        """The diagram :meth:`to_dict` wrote (after a JSON round trip)."""
        arrays = {
            name: _from_json(data[name]) for name in ("sigma_w2", "sigma_b2", *FIELDS, "line_sigma_b2", "line_sigma_w2")
        }
        eoc = data["edge_of_chaos"]
        return cls(
            activation=str(data["activation"]),
            bounded=np.asarray(data["bounded"], dtype=np.bool_).reshape(arrays["chi_1"].shape),
            phase=np.asarray(data["phase"], dtype=np.str_).reshape(arrays["chi_1"].shape),
            edge_of_chaos=None if eoc is None else (float(eoc[0]), float(eoc[1])),
            monte_carlo=tuple(dict(m) for m in data.get("monte_carlo", ())),
            **arrays,
        )


def estimate_grid(cells: int, rows: int, seconds_per_cell: float) -> tuple[int, float]:
    """``(bytes, seconds)`` a grid of ``cells`` cells and ``rows`` rows of the line will take.

    Memory is :data:`BYTES_PER_CELL` per cell; time is one
    :func:`~xinit_bench.propagation.correlation.depth_scales` call per cell
    and about 40 evaluations of chi_1 per grid row for the line (its rows,
    four times as many rows between them, and Brent's method), each at
    ``seconds_per_cell``: an overestimate, since chi_1 alone skips c*.
    """
    return cells * BYTES_PER_CELL, (cells + 40 * rows) * seconds_per_cell


def _check_budget(n_w: int, n_b: int, probe: Callable[[], float], max_memory: int | None, max_seconds: float) -> None:
    """Refuse a grid whose memory or time estimate exceeds the limits, before computing it."""
    cells = n_w * n_b
    need, _ = estimate_grid(cells, n_b, 0.0)
    limit = int(0.8 * available_memory()) if max_memory is None else max_memory
    if need > limit:
        raise ValueError(
            f"sigma_w2 and sigma_b2 must give a grid that fits in memory: {n_b} x {n_w} = {cells} cells need an "
            f"estimated {need / 2**30:.2f} GiB ({need} bytes); the limit is {limit / 2**30:.2f} GiB "
            f"({'80% of available memory' if max_memory is None else 'max_memory'}). Use fewer points."
        )
    per_cell = probe()
    _, seconds = estimate_grid(cells, n_b, per_cell)
    if seconds > max_seconds:
        raise ValueError(
            f"sigma_w2 and sigma_b2 must give a grid that runs within max_seconds={max_seconds:g}: {n_b} x {n_w} = "
            f"{cells} cells take an estimated {seconds:.3g} s ({per_cell * 1e3:.3g} ms per cell, timed on its corner "
            "and middle cells). Use fewer points or raise max_seconds."
        )


def phase_diagram(
    activation: str | Activation,
    *,
    sigma_w2: Grid = _DEFAULT_W2,
    sigma_b2: Grid = _DEFAULT_B2,
    param: float | None = None,
    progress: Progress | None = None,
    monte_carlo: Sequence[tuple[float, float]] | None = None,
    monte_carlo_options: dict[str, Any] | None = None,
    max_memory: int | None = None,
    max_seconds: float = MAX_SECONDS,
) -> PhaseDiagram:
    r"""The phase diagram of an MLP with ``activation`` over a grid of :math:`(\sigma_w^2, \sigma_b^2)`.

    For weights of variance :math:`\sigma_w^2/n` and biases of variance
    :math:`\sigma_b^2`, each cell holds the mean-field fixed points and depth
    scales of :func:`~xinit_bench.propagation.correlation.depth_scales`:

    .. math::

        q^* = \sigma_w^2\,\mathbb{E}[\phi(\sqrt{q^*}z)^2] + \sigma_b^2, \qquad
        \chi_1 = \sigma_w^2\,\mathbb{E}[\phi'(\sqrt{q^*}z)^2], \qquad
        \xi_c = -1/\ln\chi_c,

    with :math:`\chi_c = \chi_1` in the ordered phase (:math:`c^* = 1`).
    The line :math:`\chi_1 = 1` is found per row by :func:`critical_line`.

    Parameters
    ----------
    activation : str or Activation
        One of :data:`~xinit_bench.activations.ACTIVATIONS`.
    sigma_w2, sigma_b2 : (lo, hi, n)
        The axes (``numpy.linspace(lo, hi, n)``): ``sigma_w2`` values > 0,
        ``sigma_b2`` values >= 0; ``n >= 1`` with ``lo == hi`` when ``n == 1``
        and ``hi > lo`` otherwise.
    param : float, optional
        Activation parameter (leaky_relu slope, elu alpha).
    progress : callable, optional
        Called as ``progress(done, total)`` after each cell.
    monte_carlo : sequence of (sigma_w2, sigma_b2), optional
        Cells to measure by Monte Carlo (:func:`~xinit_bench.propagation.phasemc.measure_cells`);
        their measured :math:`c^L` beside the theory's go in ``monte_carlo``.
    monte_carlo_options : dict, optional
        ``depth``, ``width``, ``batch``, ``repeats``, ``seed``, ``c0`` of the
        Monte Carlo (defaults :data:`~xinit_bench.propagation.phasemc.MC_DEFAULTS`).
    max_memory : int, optional
        Refuse a grid whose result exceeds this many bytes (default 80% of available memory).
    max_seconds : float
        Refuse a grid estimated to take longer (default 3600): the estimate is
        the mean time of three cells times the cells and the line's evaluations.

    Returns
    -------
    PhaseDiagram

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        An unknown activation, a bad axis, or a grid too large for ``max_memory``
        or ``max_seconds`` (with the estimate), before the grid is computed.

    Examples
    --------
    >>> d = phase_diagram("tanh", sigma_w2=(0.5, 2.0, 4), sigma_b2=(0.0, 0.0, 1))
    >>> d.phase.tolist()  # (1, 0) is tanh's critical point itself: q* = 0 and chi_1 = 1
    [['ordered', 'critical', 'chaotic', 'chaotic']]
    >>> round(float(d.line_sigma_w2[0]), 6)
    1.0
    """
    act = get_activation(activation, param)
    ws = _axis("sigma_w2", sigma_w2, minimum=0.0, strict=True)
    bs = _axis("sigma_b2", sigma_b2, minimum=0.0, strict=False)
    check_callable("progress", progress, optional=True)
    limit = None if max_memory is None else check_int("max_memory", max_memory, minimum=0)
    max_s = check_real("max_seconds", max_seconds, positive=True, allow_inf=True)
    cells = _mc_cells(monte_carlo)
    from .phasemc import check_cells, check_mc_options, measure_cells

    mc_options = check_mc_options(monte_carlo_options)
    check_cells(act, cells)

    known: dict[tuple[int, int], DepthScales] = {}

    def probe() -> float:
        picks = {(0, 0), (bs.size - 1, ws.size - 1), (bs.size // 2, ws.size // 2)}
        t0 = time.perf_counter()
        for j, i in picks:
            known[j, i] = depth_scales(act, float(ws[i]), float(bs[j]))
        return (time.perf_counter() - t0) / len(picks)

    _check_budget(ws.size, bs.size, probe, limit, max_s)

    shape = (bs.size, ws.size)
    arrays = {name: np.full(shape, math.nan) for name in FIELDS}
    chi_all = np.full(shape, math.nan)  # chi_1 with the unbounded cells' large-q limit, to bracket the line
    bounded = np.zeros(shape, dtype=np.bool_)
    phase = np.full(shape, "unbounded", dtype="<U9")
    total, done = ws.size * bs.size, 0
    for j, b in enumerate(bs):
        for i, w in enumerate(ws):
            ds = known.pop((j, i), None) or depth_scales(act, float(w), float(b))
            chi_all[j, i] = ds.chi_1
            if ds.bounded:
                bounded[j, i] = True
                phase[j, i] = ds.phase
                for name in FIELDS:
                    arrays[name][j, i] = float(getattr(ds, name))
            done += 1
            if progress is not None:
                progress(done, total)
    if ws.size > 1:
        line_b, line = _dense_line(act, bs, ws, chi_all, _line(act, bs, ws, chi_all))
    else:  # one column brackets nothing: the line is there only if that column is exactly critical
        line_b, line = bs.copy(), np.where(chi_all[:, 0] == 1.0, ws[0], math.nan)
    measured: tuple[dict[str, Any], ...] = ()
    if cells:
        measured = tuple(measure_cells(act, cells, **mc_options))
    return PhaseDiagram(
        activation=act.label,
        sigma_w2=ws,
        sigma_b2=bs,
        bounded=bounded,
        phase=phase,
        line_sigma_b2=line_b,
        line_sigma_w2=line,
        edge_of_chaos=_edge_of_chaos(act),
        monte_carlo=measured,
        **arrays,
    )


def _mc_cells(cells: Any) -> list[tuple[float, float]]:
    if cells is None:
        return []
    if not isinstance(cells, (list, tuple)):
        raise TypeError(f"monte_carlo must be None or a sequence of (sigma_w2, sigma_b2) pairs, got {cells!r}")
    out = []
    for k, cell in enumerate(cells):
        if not isinstance(cell, (list, tuple)) or len(cell) != 2:
            raise TypeError(f"monte_carlo[{k}] must be a (sigma_w2, sigma_b2) pair, got {cell!r}")
        out.append(
            (
                check_real(f"monte_carlo[{k}][0]", cell[0], positive=True),
                check_real(f"monte_carlo[{k}][1]", cell[1], minimum=0.0),
            )
        )
    return out
