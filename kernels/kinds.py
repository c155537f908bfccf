"""The sampler kinds: one vocabulary from the kernels to the reference, the API and the CLI.

A *kind* is the per-block transform a fill applies to the Philox words (see
``fill.py``).  Inside Numba it is an integer literal, which selects the
transform at compile time; everywhere else it is the name.  :data:`KINDS`
maps one to the other, and the named constants are its values, so that
``KINDS["truncated_normal"] == TRUNCATED_NORMAL``.

=============================  =================================  ===================================
name                           entry point                        values
=============================  =================================  ===================================
``uniform``                    ``fill_uniform``                   ``[low, high)``
``symmetric_uniform``          ``fill_symmetric_uniform``         ``(-bound, bound)``, mean exactly 0
``normal``                     ``fill_normal``                    Box-Muller
``truncated_normal_central``   ``fill_truncated_normal_central``  inverse CDF, central series only
``truncated_normal``           ``fill_truncated_normal``          inverse CDF, float64, every series
``truncated_normal_tail``      ``fill_truncated_normal_tail``     the same bits without branches
``bits``                       ``fill_bits``                      the raw uint32 words
=============================  =================================  ===================================

The integers are part of the compiled kernels' identity (they index
``fill.SERIAL_BELOW`` and ``fill.TWO_PASS_F64``); new kinds take new numbers.
This module imports nothing, so the names can be listed without loading Numba.
"""

from __future__ import annotations

UNIFORM = 0
SYMMETRIC_UNIFORM = 1
NORMAL = 2
TRUNCATED_NORMAL_CENTRAL = 3
TRUNCATED_NORMAL = 4
BITS = 5
TRUNCATED_NORMAL_TAIL = 6

#: name -> kernel kind, in kind order.
KINDS: dict[str, int] = {
    "uniform": UNIFORM,
    "symmetric_uniform": SYMMETRIC_UNIFORM,
    "normal": NORMAL,
    "truncated_normal_central": TRUNCATED_NORMAL_CENTRAL,
    "truncated_normal": TRUNCATED_NORMAL,
    "bits": BITS,
    "truncated_normal_tail": TRUNCATED_NORMAL_TAIL,
}
