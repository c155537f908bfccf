"""float32 to float16 and bfloat16 bits: one rounding, to nearest-even, after a clamp.

A half-precision fill (docs/design.md, "Half precision") computes each
element exactly as the float32 fill does, from the same words, then

.. math:: h = \\operatorname{rne}_h(\\min(\\max(x, \\ell_h), u_h)),

where :math:`\\ell_h, u_h` are half values (so exactly float32 values) at the
ends of the sampler's support.  Rounding is monotone and the identity on half
values, so this equals ``clip(x.astype(h), l_h, u_h)``, the contract the tests
check against NumPy's and ml_dtypes' own conversions.

Bit layouts (IEEE 754-2008 binary16; bfloat16 is the top half of a binary32):

==========  ====  ========  ========  =======================================
format      sign  exponent  fraction  from a float32 ``u`` (bits)
==========  ====  ========  ========  =======================================
binary16    1     5 (15)    10        rebias the exponent by 127 - 15 = 112,
                                      drop 13 fraction bits with RNE
bfloat16    1     8 (127)   7         drop the low 16 bits with RNE
==========  ====  ========  ========  =======================================

RNE of dropping ``k`` low bits is ``(u + 2**(k-1) - 1 + lsb) >> k`` with
``lsb`` the lowest kept bit (a tie rounds to the even neighbour); a carry out
of the fraction steps the exponent, which is the correctly rounded result,
infinity included.  binary16 values below ``2**-14`` are subnormal:
``round(|x| * 2**24)`` units of ``2**-24`` (the product is exact).

**NaN.**  No sampler makes a NaN (every parameter is checked finite before a
kernel runs).  Should one reach these functions, it stays a NaN: the clamp
compares with ``>``/``<``, which are false for a NaN, and the conversion
returns a quiet NaN of the same sign.
"""

from __future__ import annotations

import numpy as np

from ._jit import f32_as_i32, jit

_LOW32 = np.int64(0xFFFFFFFF)


@jit
def bf16_bits(x):
    """The bfloat16 nearest to the float32 ``x`` (ties to even), as its 16 bits in an int64."""
    u = np.int64(f32_as_i32(x)) & _LOW32
    if (u & 0x7FFFFFFF) > 0x7F800000:  # NaN: keep sign and top payload, set the quiet bit
        return (u >> 16) | 0x40
    return (u + 0x7FFF + ((u >> 16) & 1)) >> 16


@jit
def f16_bits(x):
    """The binary16 nearest to the float32 ``x`` (ties to even), as its 16 bits in an int64."""
    u = np.int64(f32_as_i32(x)) & _LOW32
    sign = (u >> 16) & 0x8000
    a = u & 0x7FFFFFFF
    if a > 0x7F800000:
        return sign | 0x7E00
    if a >= 0x477FF000:  # |x| >= 65520, the midpoint above the largest binary16 (65504): infinity
        return sign | 0x7C00
    if a < 0x38800000:  # |x| < 2**-14: a subnormal (or zero, or the smallest normal after rounding up)
        return sign | np.int64(np.rint(np.float32(abs(x)) * np.float32(16777216.0)))
    a = a - 0x38000000
    return sign | ((a + 0xFFF + ((a >> 13) & 1)) >> 13)


@jit
def round_into(src, dst, lo, hi, bfloat16):
    """``dst[i] = bits(rne(clamp(src[i], lo, hi)))``: float32 ``src``, uint16 ``dst`` of the same size."""
    for i in range(src.size):
        x = src[i]
        if x > hi:
            x = hi
        if x < lo:
            x = lo
        dst[i] = np.uint16(bf16_bits(x) if bfloat16 else f16_bits(x))
