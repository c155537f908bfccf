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
* the parallel loops (:func:`householder_q` with ``parallel=True``) split
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

import math

import numpy as np
from numba import prange
from numpy.typing import NDArray

from ._jit import jit, parallel

__all__ = ["CHUNK_COLS", "PANEL", "householder_q", "householder_q_batch", "serial_householder_q"]

#: Columns per panel: the reflectors blocked into one ``I - V T V^T``.
PANEL = 32
#: Columns of a trailing update per work item (the parallel split), and the width of the column blocks of
#: the working copy: a multiple of ``PANEL``, so that a panel lies inside one block.
CHUNK_COLS = 64
assert CHUNK_COLS % PANEL == 0


# --- the panel, unblocked -------------------------------------------------------
@jit
def _column_sumsq(p, start, col):
    """``sum(p[start:, col] ** 2)`` with eight partial sums, element ``t`` in lane ``t % 8``, in a fixed tree."""
    rows = p.shape[0]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    i = start
    while i + 8 <= rows:
        x0, x1, x2, x3 = p[i, col], p[i + 1, col], p[i + 2, col], p[i + 3, col]
        x4, x5, x6, x7 = p[i + 4, col], p[i + 5, col], p[i + 6, col], p[i + 7, col]
        s0 += x0 * x0
        s1 += x1 * x1
        s2 += x2 * x2
        s3 += x3 * x3
        s4 += x4 * x4
        s5 += x5 * x5
        s6 += x6 * x6
        s7 += x7 * x7
        i += 8
    left = rows - i  # 0..7 elements, to lanes 0, 1, ... in order
    if left > 0:
        s0 += p[i, col] * p[i, col]
    if left > 1:
        s1 += p[i + 1, col] * p[i + 1, col]
    if left > 2:
        s2 += p[i + 2, col] * p[i + 2, col]
    if left > 3:
        s3 += p[i + 3, col] * p[i + 3, col]
    if left > 4:
        s4 += p[i + 4, col] * p[i + 4, col]
    if left > 5:
        s5 += p[i + 5, col] * p[i + 5, col]
    if left > 6:
        s6 += p[i + 6, col] * p[i + 6, col]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@jit
def _factor_panel(p, tau, beta, w):
    """Householder QR of the ``(rows, b)`` panel ``p`` in place; ``rows >= b``.

    On return ``p`` holds ``V`` with explicit zeros above and ones on the
    diagonal (ready for the blocked updates), ``tau[k]`` and ``beta[k] = R_kk``
    the reflectors' scalars.  ``w`` is scratch of ``b`` floats.
    """
    rows, b = p.shape
    for k in range(b):
        alpha = p[k, k]
        sigma = _column_sumsq(p, k + 1, k)
        if sigma == 0.0:  # x is already a multiple of e_1 (probability 0 for a Gaussian column): H = I
            t = 0.0
            r = alpha
        else:
            norm = math.sqrt(alpha * alpha + sigma)
            r = -norm if alpha >= 0.0 else norm
            t = (r - alpha) / r
            d = alpha - r
            for i in range(k + 1, rows):
                p[i, k] = p[i, k] / d
        tau[k] = t
        beta[k] = r
        p[k, k] = 1.0
        width = b - k - 1
        if width > 0 and t != 0.0:
            # w = v^T p[k:, k+1:] (over the rows in order), then p[k:, k+1:] -= v (tau w)^T
            acc = w[:width]
            head = p[k, k + 1 : b]
            for c in range(width):
                acc[c] = head[c]
            for i in range(k + 1, rows):
                vi = p[i, k]
                row = p[i, k + 1 : b]
                for c in range(width):
                    acc[c] = acc[c] + vi * row[c]
            for c in range(width):
                acc[c] = t * acc[c]
            for c in range(width):
                head[c] = head[c] - acc[c]
            for i in range(k + 1, rows):
                vi = p[i, k]
                row = p[i, k + 1 : b]
                for c in range(width):
                    row[c] = row[c] - vi * acc[c]
        for i in range(k):  # the zeros above the unit diagonal of V
            p[i, k] = 0.0


@jit
def _build_t(v, tau, t, gram):
    """The upper triangular ``T`` of ``I - V T V^T = H_0 ... H_{b-1}`` (``dlarft``, forward, columnwise).

    ``gram`` is ``(b, b)`` scratch for :math:`V^{\\mathsf T} V`, summed over the rows of ``V`` in order.
    """
    rows, b = v.shape
    gram[:, :] = 0.0
    for i in range(rows):
        vrow = v[i]
        for k in range(b):
            vik = vrow[k]
            g = gram[k]
            for c in range(b):
                g[c] = g[c] + vik * vrow[c]
    t[:, :] = 0.0
    for l in range(b):
        tl = tau[l]
        t[l, l] = tl
        for k in range(l):
            # T[k, l] = sum_{q=k}^{l-1} T[k, q] (-tau_l G[q, l]), q ascending
            s = 0.0
            for q in range(k, l):
                s = s + t[k, q] * (-tl * gram[q, l])
            t[k, l] = s


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


@jit
def _panel_columns(ab, o, j0, v, t, s):
    """Columns ``j0 .. j0 + b`` of ``Q`` (columns ``o ..`` of block ``ab``): :math:`E - V (T V_1^{\\mathsf T})`.

    ``V_1`` is the top ``b x b`` of ``V``; rows above ``j0`` are zero.  ``s`` is ``(b, b)`` scratch.
    """
    rows, b = v.shape
    for k in range(b):  # S = T V_1^T: S[k, c] = sum_{l=k}^{c} T[k, l] V[c, l], l ascending
        for c in range(b):
            acc = 0.0
            for l in range(k, c + 1):
                acc = acc + t[k, l] * v[c, l]
            s[k, c] = acc
    for i in range(j0):
        ab[i, o : o + b] = 0.0
    for i in range(rows):
        out = ab[j0 + i, o : o + b]
        vrow = v[i]
        for c in range(b):
            out[c] = 1.0 if i == c else 0.0
        for k in range(b):
            vk = vrow[k]
            srow = s[k]
            for c in range(b):
                out[c] = out[c] - vk * srow[c]


@jit
def _load_v(ab, o, j0, b, v):
    """``V`` of the panel at column ``j0`` (columns ``o ..`` of block ``ab``), from below the diagonal."""
    rows = v.shape[0]
    for i in range(rows):
        src = ab[j0 + i, o : o + b]
        dst = v[i]
        for c in range(b):
            dst[c] = src[c] if i > c else (1.0 if i == c else 0.0)


@jit
def _store_panel(ab, o, j0, p, beta):
    """Put the panel's reflectors back below the diagonal (columns ``o ..`` of block ``ab``), ``diag(R)`` on it."""
    rows, b = p.shape
    for i in range(rows):
        dst = ab[j0 + i, o : o + b]
        src = p[i]
        for c in range(b):
            if i > c:
                dst[c] = src[c]
            elif i == c:
                dst[c] = beta[c]


# --- the blocked layout ------------------------------------------------------------------
# The drivers work on a copy of ``a`` in column blocks: column ``j`` is ``blk[j // CHUNK_COLS, :, j % CHUNK_COLS]``,
# so each chunk of a trailing update is one contiguous ``(m, CHUNK_COLS)`` array whose rows the hardware prefetches
# as one stream (in ``a`` itself they lie ``8 n`` bytes apart).  The layout moves values, never changes one.
@jit
def _to_blocks(a, blk):
    m, n = a.shape
    for q in range(blk.shape[0]):
        c0 = q * CHUNK_COLS
        width = min(CHUNK_COLS, n - c0)
        block = blk[q]
        for i in range(m):
            src = a[i, c0 : c0 + width]
            dst = block[i]
            for c in range(width):
                dst[c] = src[c]


@jit
def _from_blocks(blk, a):
    m, n = a.shape
    for q in range(blk.shape[0]):
        c0 = q * CHUNK_COLS
        width = min(CHUNK_COLS, n - c0)
        block = blk[q]
        for i in range(m):
            src = block[i]
            dst = a[i, c0 : c0 + width]
            for c in range(width):
                dst[c] = src[c]


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
# The two drivers are the same code with the chunk loops as ``prange`` or ``range``:
# each chunk runs the same compiled function either way.
@parallel
def householder_q(a: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """``a`` (``(m, n)``, ``m >= n``) becomes the thin ``Q`` of ``a = Q R``; ``rdiag`` gets ``diag(R)``.

    The chunks of each trailing update run in parallel; the bits equal
    :func:`serial_householder_q`'s.  Works on a blocked copy of ``a`` (one more
    ``m x n`` of memory).
    """
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
        for q in prange(_chunks(j0 + b, n)):
            _trailing_chunk(blk, n, j0, q, p, ts[pi], True)
        _store_panel(ab, o, j0, p, work[1, :b])
    for pi in range(panels - 1, -1, -1):
        j0 = pi * PANEL
        b = min(PANEL, n - j0)
        ab, o = blk[j0 // CHUNK_COLS], j0 % CHUNK_COLS
        v = _form_step(ab, o, j0, b)
        for q in prange(_chunks(j0 + b, n)):
            _trailing_chunk(blk, n, j0, q, v, ts[pi], False)
        _panel_columns(ab, o, j0, v, ts[pi], work[3:])
    _from_blocks(blk, a)


@jit
def serial_householder_q(a: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """:func:`householder_q` on the calling thread (the same bits)."""
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
        for q in range(_chunks(j0 + b, n)):
            _trailing_chunk(blk, n, j0, q, p, ts[pi], True)
        _store_panel(ab, o, j0, p, work[1, :b])
    for pi in range(panels - 1, -1, -1):
        j0 = pi * PANEL
        b = min(PANEL, n - j0)
        ab, o = blk[j0 // CHUNK_COLS], j0 % CHUNK_COLS
        v = _form_step(ab, o, j0, b)
        for q in range(_chunks(j0 + b, n)):
            _trailing_chunk(blk, n, j0, q, v, ts[pi], False)
        _panel_columns(ab, o, j0, v, ts[pi], work[3:])
    _from_blocks(blk, a)


@parallel
def householder_q_batch(a: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """:func:`serial_householder_q` of each ``a[k]`` (``(batch, m, n)``), the matrices in parallel."""
    for k in prange(a.shape[0]):
        serial_householder_q(a[k], rdiag[k])
