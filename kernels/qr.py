"""Householder QR with the orthogonal factor formed: the same bits on any thread count and any x86-64 CPU.

``householder_q(a, rdiag)`` overwrites the float64 ``(m, n)`` matrix ``a``
(C-contiguous, ``m >= n``) with the thin factor ``Q`` of ``a = Q R`` and
writes the diagonal of ``R`` to ``rdiag``.  ``Q`` is the product of
Householder reflectors (Golub & Van Loan, *Matrix Computations*, 4th ed.,
sec. 5.1-5.2), blocked in compact WY form (Schreiber & Van Loan 1989):

.. math:: H_j = I - \\tau_j v_j v_j^{\\mathsf T},\\qquad
          H_{j_0} H_{j_0+1} \\cdots H_{j_1 - 1} = I - V T V^{\\mathsf T},

with ``v_j`` scaled to ``v_jj = 1``, ``T`` upper triangular.  The reflector of
a column ``x`` is LAPACK's ``dlarfg``: :math:`\\beta = -\\operatorname{sign}(x_0)
\\lVert x\\rVert_2`, :math:`\\tau = (\\beta - x_0) / \\beta`, :math:`v = x / (x_0 -
\\beta)` below the diagonal, so ``R_jj = beta``; the caller applies the sign
fix.  ``T`` is built column by column as ``dlarft`` does,
:math:`T_{0:l,\\,l} = -\\tau_l\\, T_{0:l,0:l}\\, V_{:,0:l}^{\\mathsf T} v_l`.
The factor is formed backwards, panel by panel (as ``dorgqr``):
:math:`Q \\leftarrow (I - V T V^{\\mathsf T})\\,Q`.

**Why the bits cannot move.**  Every floating-point operation, and its order,
is written out here; nothing calls BLAS or LAPACK, and the kernels are
compiled without ``fastmath``, so LLVM may neither reassociate a sum nor fuse
a multiply and an add (docs/design.md, "The random stream"):

* every long loop runs over the *columns* of a row (``w[c] += v * a[c]``): it
  vectorises across independent elements, and each element's own sum runs
  over the rows in one order fixed by the code, whatever the vector width
  (SSE2, AVX2, AVX-512), so the vector and scalar tails of a loop agree;
* the one reduction along a column, a column's sum of squares, keeps eight
  partial sums (element ``t`` of the column goes to lane ``t mod 8``) added
  in a fixed tree;
* the parallel loop (:func:`_trailing_parallel`, behind :func:`householder_q`) splits
  only the columns of a trailing update, into the column blocks of
  ``CHUNK_COLS``: the columns are independent and each is computed by the
  same serial code, so the split changes no bit.  The panels, whose columns
  depend on one another, run on one thread.

The serial and parallel entry points compute every element with the same
operations, so they give the same bits (``tests/core/test_orthogonal.py``).

**Speed.**  About ``(8/3) n^3`` flops for an ``n x n`` matrix, nearly all in
the two block-reflector products of each panel (``W = V^T A``, ``A -= V (T W)``),
whose inner loops make eight multiplies and eight adds per 4-wide vector
from nine loads and one store.  The drivers work on a copy of the matrix in
column blocks (one more ``m x n`` float64), so that a chunk's rows are one
contiguous stream: at ``n = 4096`` that made the serial QR 1.24x faster
(10.7 s of CPU instead of 13.2 s on the 2-core Zen 3 VM, same bits).
"""

from __future__ import annotations

import numpy as np
from numba import prange
from numpy.typing import NDArray

from ._jit import jit, parallel
from .qr_panel import (
    CHUNK_COLS,
    PANEL,
    _build_t,
    _factor_panel,
    _from_blocks,
    _load_v,
    _panel_columns,
    _store_panel,
    _to_blocks,
)

__all__ = ["CHUNK_COLS", "PANEL", "householder_q", "householder_q_batch", "serial_householder_q"]


# --- the blocked update of a chunk of columns ------------------------------------
@jit
def _apply_chunk(a, row0, c0, c1, v, t, transpose, w_from, u_from, wbuf, xbuf):
    """``a[row0:, c0:c1] -= V (op(T) (V^T a[row0:, c0:c1]))`` for rows ``row0 + u_from ...``.

    ``op(T)`` is ``T^T`` when ``transpose`` (applying ``Q^T``, the
    factorisation) and ``T`` otherwise (forming ``Q``).  The product ``V^T a``
    sums rows ``w_from ...`` of the block, in order; rows above ``w_from``
    are zero in ``a`` (when forming ``Q``), and rows above ``u_from`` are
    rows of ``R`` that nothing reads again (when factorising).  ``wbuf`` and
    ``xbuf`` are ``(b, c1 - c0)`` scratch.  Each element of the result
    depends only on its own column, so any split of the columns gives the
    same bits.
    """
    rows, b = v.shape
    width = c1 - c0
    wk = wbuf
    xk = xbuf
    wk[:, :] = 0.0
    # W = V^T A: each pass adds the products of eight rows, summed as a fixed tree, to W[k, :]; then the rows left
    i = w_from
    while i + 8 <= rows:
        a0 = a[row0 + i, c0:c1]
        a1 = a[row0 + i + 1, c0:c1]
        a2 = a[row0 + i + 2, c0:c1]
        a3 = a[row0 + i + 3, c0:c1]
        a4 = a[row0 + i + 4, c0:c1]
        a5 = a[row0 + i + 5, c0:c1]
        a6 = a[row0 + i + 6, c0:c1]
        a7 = a[row0 + i + 7, c0:c1]
        for k in range(b):
            v0, v1, v2, v3 = v[i, k], v[i + 1, k], v[i + 2, k], v[i + 3, k]
            v4, v5, v6, v7 = v[i + 4, k], v[i + 5, k], v[i + 6, k], v[i + 7, k]
            wrow = wk[k]
            for c in range(width):
                wrow[c] = wrow[c] + (
                    ((v0 * a0[c] + v1 * a1[c]) + (v2 * a2[c] + v3 * a3[c]))
                    + ((v4 * a4[c] + v5 * a5[c]) + (v6 * a6[c] + v7 * a7[c]))
                )
        i += 8
    while i < rows:
        ai = a[row0 + i, c0:c1]
        for k in range(b):
            vik = v[i, k]
            wrow = wk[k]
            for c in range(width):
                wrow[c] = wrow[c] + vik * ai[c]
        i += 1
    # X = op(T) W, each X[k, :] a sum over l ascending
    for k in range(b):
        xrow = xk[k]
        xrow[:] = 0.0
        lo, hi = (0, k + 1) if transpose else (k, b)
        for l in range(lo, hi):
            tkl = t[l, k] if transpose else t[k, l]
            wrow = wk[l]
            for c in range(width):
                xrow[c] = xrow[c] + tkl * wrow[c]
    # A -= V X: each row subtracts the products of eight k, summed as a fixed tree, per pass; then the k left
    for i in range(u_from, rows):
        arow = a[row0 + i, c0:c1]
        vrow = v[i]
        k = 0
        while k + 8 <= b:
            v0, v1, v2, v3 = vrow[k], vrow[k + 1], vrow[k + 2], vrow[k + 3]
            v4, v5, v6, v7 = vrow[k + 4], vrow[k + 5], vrow[k + 6], vrow[k + 7]
            x0, x1, x2, x3 = xk[k], xk[k + 1], xk[k + 2], xk[k + 3]
            x4, x5, x6, x7 = xk[k + 4], xk[k + 5], xk[k + 6], xk[k + 7]
            for c in range(width):
                arow[c] = arow[c] - (
                    ((v0 * x0[c] + v1 * x1[c]) + (v2 * x2[c] + v3 * x3[c]))
                    + ((v4 * x4[c] + v5 * x5[c]) + (v6 * x6[c] + v7 * x7[c]))
                )
            k += 8
        while k < b:
            vk = vrow[k]
            xr = xk[k]
            for c in range(width):
                arow[c] = arow[c] - vk * xr[c]
            k += 1


# --- the steps of the drivers ----------------------------------------------------------
@jit
def _chunks(first, last):
    """Number of column blocks that hold columns of ``[first, last)`` (0 when it is empty)."""
    if first >= last:
        return 0
    return (last + CHUNK_COLS - 1) // CHUNK_COLS - first // CHUNK_COLS


@jit
def _factor_step(ab, o, j0, b, t, rdiag, work):
    """Factor the panel of columns ``j0 .. j0 + b`` (columns ``o ..`` of block ``ab``, already updated).

    Returns the panel's ``V`` and writes its ``T``.  ``work`` is ``(3 + PANEL, PANEL)`` scratch: ``tau``,
    ``beta``, one row for :func:`_factor_panel` and the Gram matrix of :func:`_build_t`.
    """
    rows = ab.shape[0] - j0
    p = np.empty((rows, b))
    for i in range(rows):
        src = ab[j0 + i, o : o + b]
        dst = p[i]
        for c in range(b):
            dst[c] = src[c]
    tau = work[0, :b]
    beta = work[1, :b]
    _factor_panel(p, tau, beta, work[2])
    _build_t(p, tau, t, work[3:])
    for c in range(b):
        rdiag[j0 + c] = beta[c]
    return p


@jit
def _trailing_chunk(blk, n, j0, q, v, t, factorising):
    """The ``q``-th block of the columns right of the panel at ``j0``, updated by the panel's block reflector."""
    b = v.shape[1]
    first = j0 + b
    bq = first // CHUNK_COLS + q
    c0 = first - bq * CHUNK_COLS if q == 0 else 0
    c1 = min(CHUNK_COLS, n - bq * CHUNK_COLS)
    wbuf = np.empty((b, c1 - c0))
    xbuf = np.empty((b, c1 - c0))
    if factorising:
        _apply_chunk(blk[bq], j0, c0, c1, v, t, True, 0, b, wbuf, xbuf)
    else:
        _apply_chunk(blk[bq], j0, c0, c1, v, t, False, b, 0, wbuf, xbuf)


@jit
def _form_step(ab, o, j0, b):
    """The panel's ``V`` (for forming columns ``j0 .. j0 + b`` of ``Q``), from below the diagonal."""
    v = np.empty((ab.shape[0] - j0, b))
    _load_v(ab, o, j0, b, v)
    return v


# --- the drivers ---------------------------------------------------------------------
# One driver, :func:`_householder_q`, runs the panels; each trailing update goes to :func:`_trailing_serial`
# or :func:`_trailing_parallel`, which run the same compiled :func:`_trailing_chunk` per chunk of columns.
@jit
def _trailing_serial(blk, n, j0, v, t, factorising):
    """Every chunk right of the panel at ``j0``, one after the other, on the calling thread."""
    for q in range(_chunks(j0 + v.shape[1], n)):
        _trailing_chunk(blk, n, j0, q, v, t, factorising)


@parallel
def _trailing_parallel(blk, n, j0, v, t, factorising):
    """Every chunk right of the panel at ``j0``, the chunks split among the threads (independent columns)."""
    for q in prange(_chunks(j0 + v.shape[1], n)):
        _trailing_chunk(blk, n, j0, q, v, t, factorising)


@jit
def _trailing(blk, n, j0, v, t, factorising, threads):
    if threads:
        _trailing_parallel(blk, n, j0, v, t, factorising)
    else:
        _trailing_serial(blk, n, j0, v, t, factorising)


@jit
def _householder_q(a, rdiag, threads):
    """The QR of ``a`` (see :func:`householder_q`); ``threads`` sends the trailing updates to the threads."""
    m, n = a.shape
    panels = (n + PANEL - 1) // PANEL
    blk = np.zeros(((n + CHUNK_COLS - 1) // CHUNK_COLS, m, CHUNK_COLS))
    _to_blocks(a, blk)
    ts = np.zeros((panels, PANEL, PANEL))
    work = np.zeros((3 + PANEL, PANEL))
    for pi in range(panels):
        j0 = pi * PANEL
        b = min(PANEL, n - j0)
        ab, o = blk[j0 // CHUNK_COLS], j0 % CHUNK_COLS
        p = _factor_step(ab, o, j0, b, ts[pi], rdiag, work)
        _trailing(blk, n, j0, p, ts[pi], True, threads)
        _store_panel(ab, o, j0, p, work[1, :b])
    for pi in range(panels - 1, -1, -1):
        j0 = pi * PANEL
        b = min(PANEL, n - j0)
        ab, o = blk[j0 // CHUNK_COLS], j0 % CHUNK_COLS
        v = _form_step(ab, o, j0, b)
        _trailing(blk, n, j0, v, ts[pi], False, threads)
        _panel_columns(ab, o, j0, v, ts[pi], work[3:])
    _from_blocks(blk, a)


@jit
def householder_q(a: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """``a`` (``(m, n)``, ``m >= n``) becomes the thin ``Q`` of ``a = Q R``; ``rdiag`` gets ``diag(R)``.

    The chunks of each trailing update run in parallel; the bits equal
    :func:`serial_householder_q`'s.  Works on a blocked copy of ``a`` (one more
    ``m x n`` of memory).
    """
    _householder_q(a, rdiag, True)


@jit
def serial_householder_q(a: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """:func:`householder_q` on the calling thread (the same bits)."""
    _householder_q(a, rdiag, False)


@parallel
def householder_q_batch(a: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """:func:`serial_householder_q` of each ``a[k]`` (``(batch, m, n)``), the matrices in parallel."""
    for k in prange(a.shape[0]):
        _householder_q(a[k], rdiag[k], False)
