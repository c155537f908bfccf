"""uint32 words to floats on fixed, exactly representable grids.

Every conversion is exact: the integer is at most as wide as the float's
significand (24 bits for float32, 53 for float64), so the only rounding in a
sampler happens in the transform that follows.

==================  ======================================  ===================
function            value                                   range
==================  ======================================  ===================
``unit_f32``        ``(w >> 8) * 2**-24``                   ``[0, 1)``
``unit_pos_f32``    ``((w >> 8) + 1) * 2**-24``             ``(0, 1]`` (for log)
``unit_open_f32``   ``(2 (w >> 9) + 1) * 2**-24``           ``(0, 1)``, symmetric
``signed_f32``      ``(2 (w >> 8) + 1 - 2**24) * 2**-24``   ``(-1, 1)``, symmetric
``*_f64``           the same with ``k = bits53(wa, wb)``    (53-bit grid)
==================  ======================================  ===================

``bits53(wa, wb) = (wa >> 5) * 2**26 + (wb >> 6)``: the top 27 and 26 bits of
two words, the usual construction of a double in ``[0, 1)`` (as in the
reference Mersenne Twister's ``genrand_res53``).  A grid symmetric about 0
(``signed_*``) gives a symmetric uniform with mean exactly 0 that never hits
``+-1``; the open grid (``unit_open_*``) never gives 0 or 1, so an inverse CDF
never returns an infinity.
"""

from __future__ import annotations

import numpy as np

from ._jit import inline_ir

TWO_M24_F32 = np.float32(2.0**-24)
TWO_M53_F64 = np.float64(2.0**-53)
_B8 = np.uint32(8)
_B9 = np.uint32(9)
_B5 = np.uint32(5)
_B6 = np.uint32(6)
_B26 = np.uint64(26)
_B1 = np.int64(1)


@inline_ir
def top24(w):
    """The top 24 bits of ``w`` as an int64 in ``[0, 2**24)``."""
    return np.int64(np.uint32(w >> _B8))


@inline_ir
def bits53(wa, wb):
    """53 random bits from two words, as an int64 in ``[0, 2**53)``."""
    return np.int64((np.uint64(np.uint32(wa >> _B5)) << _B26) | np.uint64(np.uint32(wb >> _B6)))


@inline_ir
def unit_f32(w):
    return np.float32(np.int32(top24(w))) * TWO_M24_F32


@inline_ir
def unit_pos_f32(w):
    return np.float32(np.int32(top24(w) + 1)) * TWO_M24_F32


@inline_ir
def unit_open_f32(w):
    k = np.int64(np.uint32(w >> _B9))
    return np.float32(np.int32(2 * k + 1)) * TWO_M24_F32


@inline_ir
def signed_f32(w):
    return np.float32(np.int32(2 * top24(w) + 1 - (1 << 24))) * TWO_M24_F32


@inline_ir
def unit_f64(wa, wb):
    return np.float64(bits53(wa, wb)) * TWO_M53_F64


@inline_ir
def unit_pos_f64(wa, wb):
    return np.float64(bits53(wa, wb) + 1) * TWO_M53_F64


@inline_ir
def unit_open_f64(wa, wb):
    return np.float64(2 * (bits53(wa, wb) >> _B1) + 1) * TWO_M53_F64


@inline_ir
def signed_f64(wa, wb):
    return np.float64(2 * bits53(wa, wb) + 1 - (1 << 53)) * TWO_M53_F64
