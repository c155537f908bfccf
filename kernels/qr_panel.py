"""The panel kernels of :mod:`xinit_bench.kernels.qr`: the unblocked panel QR, ``T``, and the blocked layout.

:func:`_factor_panel` is the Householder QR of one panel of at most
:data:`PANEL` columns (LAPACK's ``dgeqr2`` with ``dlarfg``'s reflector),
:func:`_build_t` its compact WY factor ``T`` (``dlarft``), and
:func:`_panel_columns` the panel's own columns of ``Q`` (``dorg2r`` on the
panel).  The blocked layout keeps the matrix in column blocks of
:data:`CHUNK_COLS` so that each chunk of a trailing update is contiguous.
Every sum runs in an order fixed by the code, as :mod:`.qr` explains; no
function here runs in parallel.
"""

from __future__ import annotations

import math

from ._jit import jit

__all__ = ["CHUNK_COLS", "PANEL"]

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


# --- the panel's own columns of Q, and moving panels in and out ---------------------------
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
def _copy_blocks(a, blk, into_blocks):
    """Copy ``a`` into its column blocks ``blk`` (``into_blocks``) or the blocks back into ``a``."""
    m, n = a.shape
    for q in range(blk.shape[0]):
        c0 = q * CHUNK_COLS
        width = min(CHUNK_COLS, n - c0)
        block = blk[q]
        for i in range(m):
            row = a[i, c0 : c0 + width]
            brow = block[i]
            if into_blocks:
                for c in range(width):
                    brow[c] = row[c]
            else:
                for c in range(width):
                    row[c] = brow[c]


@jit
def _to_blocks(a, blk):
    _copy_blocks(a, blk, True)


@jit
def _from_blocks(blk, a):
    _copy_blocks(a, blk, False)
