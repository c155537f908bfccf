r"""The order-to-chaos line of a deep MLP, and the grid helpers the phase diagram and its Monte Carlo share.

The line :math:`\chi_1 = 1` is a curve :math:`\sigma_w^2(\sigma_b^2)`, one
root per row: :math:`\chi_1` on a row of the grid brackets it and Brent's
method [1]_ finds it on the theory (not by contouring the grid), to
:data:`LINE_XTOL` in :math:`\sigma_w^2` (Poole et al. 2016; Schoenholz et al.
2017, section 3).

References
----------
.. [1] Brent (1973), "Algorithms for Minimization without Derivatives", ch. 4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from ..activations import Activation, get_activation
from ..gauss import moment
from ..validation import check_int, check_real
from .correlation import depth_scales, fixed_point_q
from .critical import critical_gain

__all__ = ["LINE_RTOL", "LINE_XTOL", "Grid", "critical_line", "line_rows"]

Array = NDArray[np.float64]
#: A grid axis as ``(lo, hi, n)``: ``n`` points from ``lo`` to ``hi`` inclusive (``numpy.linspace``).
Grid = tuple[float, float, int]

#: Absolute and relative tolerance of the root finder on the critical line, in sigma_w^2.
LINE_XTOL = 1e-10
LINE_RTOL = 1e-12


def _to_json(a: Array) -> Any:
    """Nested lists with NaN as None and +inf as the string "inf" (JSON has neither)."""
    obj = np.asarray(a, dtype=object)
    obj[np.isnan(a)] = None
    obj[np.isposinf(a)] = "inf"
    obj[np.isneginf(a)] = "-inf"
    return obj.tolist()


def _from_json(v: Any) -> Array:
    obj = np.asarray(v, dtype=object)
    obj[obj == None] = math.nan  # noqa: E711 -- elementwise comparison of an object array
    return obj.astype(np.float64)


def _axis(name: str, spec: Any, *, minimum: float, strict: bool) -> Array:
    """The points of a grid axis ``(lo, hi, n)``, after checking it."""
    if not isinstance(spec, (tuple, list)) or len(spec) != 3:
        raise TypeError(f"{name} must be a (lo, hi, n) tuple, got {spec!r}")
    lo = check_real(f"{name}[0]", spec[0], minimum=None if strict else minimum, positive=strict)
    hi = check_real(f"{name}[1]", spec[1], minimum=None if strict else minimum, positive=strict)
    n = check_int(f"{name}[2]", spec[2], minimum=1)
    if n == 1 and lo != hi:
        raise ValueError(f"{name} must have lo == hi when n == 1, got {tuple(spec)!r}")
    if n > 1 and not hi > lo:
        raise ValueError(f"{name} must have hi > lo when n > 1, got {tuple(spec)!r}")
    return np.linspace(lo, hi, n)


def _chi_1(act: Activation, w2: float, b2: float) -> float:
    r"""chi_1 of one cell from the length map's fixed point alone (no c*, which costs far more).

    :math:`\sigma_w^2\,\mathbb{E}[\phi'(\sqrt{q^*}z)^2]`, the value ``depth_scales`` reports; for an
    unbounded cell, its large-q limit as ``depth_scales`` gives it.
    """
    q = fixed_point_q(act, w2, b2)
    if not math.isfinite(q):
        return float(depth_scales(act, w2, b2).chi_1)
    return w2 * moment(act, q, "dphi2")


def critical_line(
    activation: str | Activation,
    sigma_b2: Sequence[float] | Array,
    sigma_w2_range: tuple[float, float],
    *,
    param: float | None = None,
    points: int = 33,
) -> Array:
    r"""The order-to-chaos line: for each :math:`\sigma_b^2`, the :math:`\sigma_w^2` where :math:`\chi_1 = 1`.

    :math:`\chi_1(\sigma_w^2) - 1` at fixed :math:`\sigma_b^2` is bracketed on
    ``points`` equally spaced values of ``sigma_w2_range`` (the first sign
    change from below, going up in :math:`\sigma_w^2`) and its root found by
    Brent's method [1]_ on the theory, to ``LINE_XTOL + LINE_RTOL *
    sigma_w2``.  Unbounded cells take :math:`\chi_1`'s large-:math:`q` limit, so
    ReLU's line is :math:`\sigma_w^2 = 2` at every :math:`\sigma_b^2`.

    Parameters
    ----------
    activation : str or Activation
    sigma_b2 : sequence of float
        Bias variances, each >= 0.
    sigma_w2_range : (float, float)
        ``(lo, hi)`` with ``0 < lo < hi``: where to look.
    param : float, optional
        Activation parameter.
    points : int
        Bracketing points, >= 2.

    Returns
    -------
    ndarray
        :math:`\sigma_w^2` per :math:`\sigma_b^2`; NaN where the range holds no root.

    Examples
    --------
    >>> critical_line("relu", [0.0, 0.1], (1.0, 3.0)).tolist()
    [2.0, 2.0]
    """
    act = get_activation(activation, param)
    b2s = np.asarray([check_real("sigma_b2", b, minimum=0.0) for b in np.ravel(np.asarray(sigma_b2, dtype=object))])
    if not isinstance(sigma_w2_range, (tuple, list)) or len(sigma_w2_range) != 2:
        raise TypeError(f"sigma_w2_range must be a (lo, hi) tuple, got {sigma_w2_range!r}")
    lo = check_real("sigma_w2_range[0]", sigma_w2_range[0], positive=True)
    hi = check_real("sigma_w2_range[1]", sigma_w2_range[1], positive=True)
    if not hi > lo:
        raise ValueError(f"sigma_w2_range must have hi > lo, got {tuple(sigma_w2_range)!r}")
    ws = np.linspace(lo, hi, check_int("points", points, minimum=2))
    chi = np.array([[_chi_1(act, float(w), float(b2)) for w in ws] for b2 in b2s]).reshape(b2s.size, ws.size)
    return _line(act, b2s, ws, chi)


def _line(act: Activation, b2s: Array, ws: Array, chi: Array) -> Array:
    """The root of each row of ``chi`` (chi_1 on the grid ``ws``), refined on the theory."""
    out = np.full(b2s.size, math.nan)
    for j, b2 in enumerate(b2s):
        out[j] = _root_in_row(act, float(b2), ws, chi[j])
    return out


def line_rows(bs: Array) -> Array:
    """The sigma_b^2 values of the drawn line: the grid's rows, four times as dense, and 7 rows near ``bs[0]``.

    The line can bend sharply at the lowest sigma_b^2 (tanh's rises like a square root from (1, 0)), so
    ``bs[0] + (bs[-1] - bs[0]) * 10^k`` for ``k`` from -4 to -1 are added there.
    """
    if bs.size < 2:
        return bs.copy()
    lo, hi = float(bs[0]), float(bs[-1])
    extra = (np.linspace(lo, hi, 4 * (bs.size - 1) + 1), lo + (hi - lo) * np.geomspace(1e-4, 1e-1, 7))
    return np.unique(np.concatenate([bs, *extra]))


def _dense_line(act: Activation, bs: Array, ws: Array, chi: Array, grid_line: Array) -> tuple[Array, Array]:
    """The line at :func:`line_rows`: grid rows as found, the rows between bracketed near their neighbours' roots."""
    rows = line_rows(bs)
    out = np.full(rows.size, math.nan)
    h = float(ws[1] - ws[0])
    for k, b2 in enumerate(rows):
        j = int(np.searchsorted(bs, b2))
        if j < bs.size and bs[j] == b2:
            out[k] = grid_line[j]
            continue
        near = grid_line[max(j - 1, 0) : j + 1]
        if near.size == 2 and np.isfinite(near).all():
            a, c = max(float(ws[0]), float(near.min()) - h), min(float(ws[-1]), float(near.max()) + h)
            if _chi_1(act, a, float(b2)) < 1.0 < _chi_1(act, c, float(b2)):
                out[k] = optimize.brentq(
                    lambda w, b2=float(b2): _chi_1(act, w, b2) - 1.0, a, c, xtol=LINE_XTOL, rtol=LINE_RTOL
                )
                continue
        out[k] = _root_in_row(act, float(b2), ws, np.array([_chi_1(act, float(w), float(b2)) for w in ws]))
    return rows, out


def _root_in_row(act: Activation, b2: float, ws: Array, chi: Array) -> float:
    """The first crossing of chi_1 = 1 from below along one row."""
    for i in range(ws.size):
        if chi[i] == 1.0:
            return float(ws[i])
        if i + 1 < ws.size and chi[i] < 1.0 < chi[i + 1]:
            root: float = optimize.brentq(
                lambda w: _chi_1(act, w, b2) - 1.0, float(ws[i]), float(ws[i + 1]), xtol=LINE_XTOL, rtol=LINE_RTOL
            )
            return root
    return math.nan


def _edge_of_chaos(act: Activation) -> tuple[float, float] | None:
    """``(sigma_w^2, sigma_b^2)`` of the edge of chaos at q* = 1 when it is feasible and stable."""
    try:
        eoc = critical_gain(act, "edge_of_chaos")
    except ValueError:
        return None
    if not (eoc.feasible and eoc.stable):
        return None
    return (eoc.gain**2, eoc.bias_std**2)
