r"""Pairs of inputs with a set correlation, and the correlation of their images, for the Monte Carlo.

With ``c0`` given, the ``B`` examples of a batch are ``P = B / 2`` pairs:
example ``p`` (row block ``p``) is ``x_a`` and example ``P + p`` is its partner
``x_b``.  Both are drawn as Gaussians and then set, by Gram-Schmidt, to

.. math::

    x_a = \sqrt{m q^0}\, u,\qquad x_b = \sqrt{m q^0}\,\bigl(c^0 u + \sqrt{1 - (c^0)^2}\, v\bigr),

with ``u``, ``v`` orthonormal and ``m`` the entries of one example: each has
second moment ``|x|^2 / m = q^0`` and their correlation is ``c^0``, exactly up
to the rounding of the dtype.  Every pair goes through the same weights.  At a
layer with outputs ``y`` (a row block per example) the network's measured
correlation is the pooled ratio

.. math::

    \hat c = \frac{\sum_p \langle y_{a,p}, y_{b,p}\rangle}
                  {\sqrt{\sum_p |y_{a,p}|^2 \, \sum_p |y_{b,p}|^2}},

the empirical counterpart of mean-field theory's ``c = q_{ab} / \sqrt{q_{aa} q_{bb}}``
(Poole et al. 2016, eq. (4)); sums in float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..validation import check_real

__all__ = ["check_c0", "check_pairs", "correlation", "pair_inputs"]

Buffer = NDArray[np.floating[Any]]


def check_c0(c0: Any) -> float | None:
    """``c0`` as a float in [-1, 1], or None.

    Raises
    ------
    TypeError
        Not a real number.
    ValueError
        NaN, infinite or outside [-1, 1].

    Examples
    --------
    >>> check_c0(0.5), check_c0(None)
    (0.5, None)
    """
    if c0 is None:
        return None
    v = check_real("c0", c0, minimum=-1.0)
    if v > 1.0:
        raise ValueError(f"c0 must be a finite real number in [-1, 1], got {c0!r}")
    return v


def check_pairs(c0: float | None, batch: int, entries: int) -> None:
    """Refuse (``ValueError``) a batch or an input that cannot hold pairs with correlation ``c0``.

    The batch must be even (``B / 2`` pairs), and an input of one entry per
    example has no direction orthogonal to ``x_a``, so it only pairs at
    ``c0 = +-1``.
    """
    if c0 is None:
        return
    if batch % 2:
        raise ValueError(f"batch must be even when c0 is given (the examples are pairs), got batch={batch}")
    if entries < 2 and abs(c0) < 1.0:
        raise ValueError(
            f"c0 must be -1 or 1 for inputs of one entry per example (no second direction to pair with), got c0={c0!r}"
        )


def pair_inputs(x: Buffer, c0: float, q0: float) -> None:
    """Set the Gaussian rows of ``x`` (B, m) in place to ``B / 2`` pairs of second moment ``q0``, correlation ``c0``."""
    B, m = x.shape
    P = B // 2
    a = x[:P].astype(np.float64)
    u = a / np.linalg.norm(a, axis=1, keepdims=True)
    y = c0 * u
    if abs(c0) < 1.0:
        w = x[P:].astype(np.float64)
        w -= np.einsum("ij,ij->i", w, u)[:, None] * u
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        y += math.sqrt(1.0 - c0 * c0) * w
    s = math.sqrt(m * q0)
    np.multiply(u, s, out=u)
    np.multiply(y, s, out=y)
    x[:P] = u
    x[P:] = y


def correlation(y: Buffer, sq_a: float, sq_b: float, bias: Buffer | None = None) -> float:
    r"""The pooled correlation of the two halves of ``y`` (rows: the ``x_a`` blocks, then the ``x_b`` blocks).

    ``sq_a``, ``sq_b`` are the float64 sums of squares of the two halves.
    With ``bias`` (one value per column) the values are ``y + bias``, without
    forming them: :math:`\sum (y_a + b)(y_b + b) = \sum y_a y_b + \sum_j b_j
    \sum_i (y_{a,ij} + y_{b,ij}) + (\text{rows}/2) |b|^2`.
    """
    h = y.shape[0] // 2
    ya, yb = y[:h], y[h:]
    cross = float(np.einsum("ij,ij->", ya, yb, dtype=np.float64))
    if bias is not None:
        b = bias.astype(np.float64)
        cross += float(b @ (ya.sum(axis=0, dtype=np.float64) + yb.sum(axis=0, dtype=np.float64)))
        cross += h * float(b @ b)
    return cross / math.sqrt(sq_a * sq_b)
