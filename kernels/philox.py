"""Philox4x32-10, the counter-based bit generator of Salmon et al. (2011).

``philox4x32_10(c0, c1, c2, c3, k0, k1)`` maps a 128-bit counter and a 64-bit
key to four uint32 words.  It keeps no state: the words for any counter can be
computed independently, which is what makes a fill reproducible on any
thread count.

A round is

.. math::

    (c_0, c_1, c_2, c_3) \\leftarrow
    (\\mathrm{hi}(M_1 c_2) \\oplus c_1 \\oplus k_0,\\;
     \\mathrm{lo}(M_1 c_2),\\;
     \\mathrm{hi}(M_0 c_0) \\oplus c_3 \\oplus k_1,\\;
     \\mathrm{lo}(M_0 c_0)),

followed by the Weyl key bump :math:`k_0 \\mathrel{+}= W_0, k_1 \\mathrel{+}= W_1`;
ten rounds are applied.  The constants :math:`M_0, M_1, W_0, W_1` are those of
the paper and of Random123.  Known-answer vectors: ``tests/data/``.

**Counter layout used by xinit-bench.**  For Philox block ``j`` (64-bit) of
stream ``s``: ``c0 = lo32(j)``, ``c1 = hi32(j)``, ``c2 = s``, ``c3 = 0``
(``c3`` is reserved for rejection redraws; no sampler uses it today).

Implementation note (docs/design.md, "Kernel facts"): Numba widens
``uint32 op uint32`` to 64 bits, so every result is cast back to
``np.uint32``; otherwise LLVM does not vectorise the loop.

References
----------
J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers:
as easy as 1, 2, 3", SC11.  https://doi.org/10.1145/2063384.2063405
"""

from __future__ import annotations

import numpy as np

from ._jit import inline_ir, jit

PHILOX_M0 = np.uint32(0xD2511F53)
PHILOX_M1 = np.uint32(0xCD9E8D57)
PHILOX_W0 = np.uint32(0x9E3779B9)
PHILOX_W1 = np.uint32(0xBB67AE85)
ROUNDS = 10

_LO32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_M0_64 = np.uint64(PHILOX_M0)
_M1_64 = np.uint64(PHILOX_M1)
_W0_64 = np.uint64(PHILOX_W0)
_W1_64 = np.uint64(PHILOX_W1)


@inline_ir
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on 32-bit words held in 64-bit lanes; returns the four words as ``np.uint32``.

    Arguments are unsigned integers whose low 32 bits are the words.  Only
    the low 32 bits of every lane are kept meaningful: the products'
    high halves (``lo`` of the paper) and the key sums are left unmasked,
    because the one operation that reads above bit 31 is the multiplication,
    and its operand is masked first.  LLVM turns that masked 64-bit multiply
    into one ``vpmuludq`` per 8 lanes, so the rounds need no shuffle between
    32- and 64-bit lanes (docs/design.md, "Kernel facts").
    """
    c0 = np.uint64(c0)
    c1 = np.uint64(c1)
    c2 = np.uint64(c2)
    c3 = np.uint64(c3)
    k0 = np.uint64(k0)
    k1 = np.uint64(k1)
    for _ in range(ROUNDS):
        p0 = (c0 & _LO32) * _M0_64
        p1 = (c2 & _LO32) * _M1_64
        c0, c1, c2, c3 = (p1 >> _SHIFT32) ^ c1 ^ k0, p1, (p0 >> _SHIFT32) ^ c3 ^ k1, p0
        k0 = k0 + _W0_64
        k1 = k1 + _W1_64
    return np.uint32(c0 & _LO32), np.uint32(c1 & _LO32), np.uint32(c2 & _LO32), np.uint32(c3 & _LO32)


@inline_ir
def block_words(block, key):
    """The four words of Philox block ``block`` (int) for ``key = (k0, k1, stream)``."""
    j = np.uint64(block)
    return philox4x32_10(j & _LO32, j >> _SHIFT32, key[2], np.uint64(0), key[0], key[1])


@jit
def philox_block(counter, key):
    """Philox4x32-10 of one counter (4 x uint32 array) under ``key`` (2 x uint32 array)."""
    out = np.empty(4, np.uint32)
    out[0], out[1], out[2], out[3] = philox4x32_10(counter[0], counter[1], counter[2], counter[3], key[0], key[1])
    return out
