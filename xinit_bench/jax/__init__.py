"""JAX initialisers, ``init(key, shape, dtype)``, with the bits of the NumPy API.

Needs ``jax`` (the ``jax`` extra); ``import xinit_bench`` does not import
this module.  The factories have the names, signatures and laws of
``jax.nn.initializers``: :func:`glorot_normal`, :func:`he_normal` and
:func:`lecun_normal` are **truncated** normals (at ±2 parent std, variance
exactly ``scale / n``), :func:`variance_scaling`'s ``"normal"`` is
untruncated, and :func:`uniform` is :math:`U[0, \\text{scale})`.  The layout is
JAX's, ``in_axis=-2, out_axis=-1``.  Flax takes them as they are::

    flax.linen.Dense(128, kernel_init=xinit_bench.jax.he_normal())

- **Keys.** A key maps to a library seed by :func:`seed_of_key` (its
  ``jax.random.key_data`` words as one big-endian integer), so a key gives
  the same bits on every call, thread count and machine:
  ``he_normal()(jax.random.key(3), shape)`` equals
  ``xinit_bench.he_truncated_normal(shape, seed=3, layout="jax")``.
- **Tracing.** Outside a trace the array is built on the host and returned
  as a ``jax.Array``; under ``jax.jit`` and ``jax.vmap`` it goes through
  ``jax.pure_callback`` (a vmap over keys calls the host once per key).
- **Half precision.** bfloat16 and float16 are the library's half contract:
  the float32 fill rounded once and clamped into the support.
"""

from __future__ import annotations

from . import initializers
from .initializers import *  # noqa: F403 - the names of initializers.__all__, listed there once

__all__: list[str] = []
__all__ += initializers.__all__
