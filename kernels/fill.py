"""Parallel fills of a flat output buffer: ``fill_*(out, key, offset, params)``.

Contract (docs/design.md, "The random stream").  ``out`` is a 1-d C-contiguous
float32 or float64 array; ``key = (k0, k1, stream)`` are three ``np.uint32``;
``offset`` is the stream position of ``out[0]``; ``params`` is a plain tuple of
floats of ``out``'s dtype (float64 for ``fill_truncated_normal``).  Element
``i`` depends only on ``(key, offset + i)``, so a fill gives the same bits on
any thread count or chunking, and a fill of a slice equals that slice of a
larger fill.  Kernels allocate nothing, raise nothing and keep no state;
validation happens in ``xinit_bench`` before any kernel runs.

**Word layout.**  Philox block ``j`` (four words) yields the elements
``j * E .. j * E + E - 1``, with ``E = 4`` for float32 (one word each; a normal
pair uses two) and ``E = 2`` for float64 (two words each; a normal pair uses
all four).

==========================  =================================  ===================================================
entry point                 params                             element
==========================  =================================  ===================================================
``fill_uniform``            ``(low, width, high_below)``       ``min(low + width u, high_below)``, ``u`` in [0, 1)
``fill_symmetric_uniform``  ``(bound, bound_below)``           ``clip(bound v, +-bound_below)``, ``v`` in (-1, 1)
``fill_normal``             ``(mean, std)``                    ``mean + std z``, Box-Muller
``fill_truncated_normal``   ``(p0, dp, mean, scale, lo, hi)``  ``clip(mean + scale Phi^-1(p0 + dp u), lo, hi)``
``fill_bits``               ``()``                             the raw uint32 word (uint32 ``out``)
==========================  =================================  ===================================================

``fill_truncated_normal`` computes the inverse CDF in float64 with a branch
per tail series.  Two branch-free variants, chosen by the caller from the
largest ``w = -log(4 p (1 - p))`` the grid of ``u`` can reach, are faster:
``fill_truncated_normal_central`` (``w < 5`` in float32, ``< 6.25`` in
float64; its own float32 maths and params in ``out``'s dtype) and
``fill_truncated_normal_tail`` (``w < 16`` for float32 output, ``< 36`` for
float64 -- e.g. torch's ``trunc_normal_(std=0.02)``, which cuts at +-100
sigma).  The tail variant gives the same bits as ``fill_truncated_normal``.

Execution: outputs of fewer than ``SERIAL_BELOW[kind]`` elements run on the
calling thread (a ``prange`` launch costs 2-12 us); larger ones are cut into
``CHUNK``-element pieces run in ``prange``.  The inner loop writes through a
0-based slice of whole Philox blocks, which LLVM vectorises (docs/design.md,
"Kernel facts").

Each entry point fills one *kind* (``kinds.py``: the names shared with
``xinit_bench.reference.philox_fill`` and the rest of the library);
:data:`FILLS` maps every kind name to its entry point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from numba import prange, types
from numba.extending import overload

from . import convert as cv
from . import transforms as tf
from ._jit import inline_ir, parallel
from .kinds import (
    BITS,
    KINDS,
    NORMAL,
    SYMMETRIC_UNIFORM,
    TRUNCATED_NORMAL,
    TRUNCATED_NORMAL_CENTRAL,
    TRUNCATED_NORMAL_TAIL,
    UNIFORM,
)
from .philox import block_words

#: ``(k0, k1, stream)``: the Philox key words and the stream number (counter word 2).
Key = tuple[np.uint32, np.uint32, np.uint32]


def _by_kind(values):
    """A tuple indexed by kind number from a ``{kind name: value}`` dict that names every kind."""
    assert set(values) == set(KINDS)
    return tuple(values[name] for name, _ in sorted(KINDS.items(), key=lambda item: item[1]))


#: Elements per chunk of the parallel loop (a multiple of 4).
CHUNK = 1 << 16
#: Below this many elements a fill runs serially (measured: 8-16 K for
#: uniform, about 4 K for the transcendental transforms, where a ``prange``
#: launch's 2-12 us stops dominating; docs/design.md, "Kernel facts").
SERIAL_BELOW = _by_kind({
    "uniform": 16384, "symmetric_uniform": 16384, "normal": 4096, "truncated_normal_central": 4096,
    "truncated_normal": 2048, "bits": 16384, "truncated_normal_tail": 2048,
})


# --- the per-block transforms, one per (kind, dtype) --------------------------
def _uniform_f32(w0, w1, w2, w3, p):
    return (
        min(p[0] + p[1] * cv.unit_f32(w0), p[2]),
        min(p[0] + p[1] * cv.unit_f32(w1), p[2]),
        min(p[0] + p[1] * cv.unit_f32(w2), p[2]),
        min(p[0] + p[1] * cv.unit_f32(w3), p[2]),
    )


def _uniform_f64(w0, w1, w2, w3, p):
    return (
        min(p[0] + p[1] * cv.unit_f64(w0, w1), p[2]),
        min(p[0] + p[1] * cv.unit_f64(w2, w3), p[2]),
    )


@inline_ir
def _clip_sym(x, b):
    return max(min(x, b), -b)


def _symmetric_f32(w0, w1, w2, w3, p):
    return (
        _clip_sym(p[0] * cv.signed_f32(w0), p[1]),
        _clip_sym(p[0] * cv.signed_f32(w1), p[1]),
        _clip_sym(p[0] * cv.signed_f32(w2), p[1]),
        _clip_sym(p[0] * cv.signed_f32(w3), p[1]),
    )


def _symmetric_f64(w0, w1, w2, w3, p):
    return (
        _clip_sym(p[0] * cv.signed_f64(w0, w1), p[1]),
        _clip_sym(p[0] * cv.signed_f64(w2, w3), p[1]),
    )


def _normal_f32(w0, w1, w2, w3, p):
    z0, z1 = tf.box_muller_f32(cv.unit_pos_f32(w0), cv.top24(w1))
    z2, z3 = tf.box_muller_f32(cv.unit_pos_f32(w2), cv.top24(w3))
    return p[0] + p[1] * z0, p[0] + p[1] * z1, p[0] + p[1] * z2, p[0] + p[1] * z3


def _normal_f64(w0, w1, w2, w3, p):
    z0, z1 = tf.box_muller_f64(cv.unit_pos_f64(w0, w1), cv.bits53(w2, w3))
    return p[0] + p[1] * z0, p[0] + p[1] * z1


@inline_ir
def _clip(x, lo, hi):
    return max(min(x, hi), lo)


@inline_ir
def _trunc_central_f32_one(w, p):
    x = tf.ndtri_central_f32(p[0] + p[1] * cv.unit_open_f32(w))
    return _clip(p[2] + p[3] * x, p[4], p[5])


def _trunc_central_f32(w0, w1, w2, w3, p):
    return (
        _trunc_central_f32_one(w0, p),
        _trunc_central_f32_one(w1, p),
        _trunc_central_f32_one(w2, p),
        _trunc_central_f32_one(w3, p),
    )


@inline_ir
def _trunc_central_f64_one(wa, wb, p):
    x = tf.ndtri_central_f64(p[0] + p[1] * cv.unit_open_f64(wa, wb))
    return _clip(p[2] + p[3] * x, p[4], p[5])


def _trunc_central_f64(w0, w1, w2, w3, p):
    return _trunc_central_f64_one(w0, w1, p), _trunc_central_f64_one(w2, w3, p)


@inline_ir
def _trunc_f32_one(w, p):
    # The general path computes in float64 (params are float64) and rounds once.
    u = np.float64(cv.unit_open_f32(w))
    x = tf.ndtri_f64(p[0] + p[1] * u)
    return np.float32(_clip(p[2] + p[3] * x, p[4], p[5]))


def _trunc_f32(w0, w1, w2, w3, p):
    return _trunc_f32_one(w0, p), _trunc_f32_one(w1, p), _trunc_f32_one(w2, p), _trunc_f32_one(w3, p)


@inline_ir
def _trunc_f64_one(wa, wb, p):
    x = tf.ndtri_f64(p[0] + p[1] * cv.unit_open_f64(wa, wb))
    return _clip(p[2] + p[3] * x, p[4], p[5])


def _trunc_f64(w0, w1, w2, w3, p):
    return _trunc_f64_one(w0, w1, p), _trunc_f64_one(w2, w3, p)


@inline_ir
def _trunc_tail_f32_one(w, p):
    # As _trunc_f32_one: float64 maths, one rounding.  The float32 grid keeps
    # w below 16 whenever the caller picks this kind.
    u = np.float64(cv.unit_open_f32(w))
    x = tf.ndtri_f64_tail1(p[0] + p[1] * u)
    return np.float32(_clip(p[2] + p[3] * x, p[4], p[5]))


def _trunc_tail_f32(w0, w1, w2, w3, p):
    return (
        _trunc_tail_f32_one(w0, p),
        _trunc_tail_f32_one(w1, p),
        _trunc_tail_f32_one(w2, p),
        _trunc_tail_f32_one(w3, p),
    )


@inline_ir
def _trunc_tail_f64_one(wa, wb, p):
    x = tf.ndtri_f64_tail2(p[0] + p[1] * cv.unit_open_f64(wa, wb))
    return _clip(p[2] + p[3] * x, p[4], p[5])


def _trunc_tail_f64(w0, w1, w2, w3, p):
    return _trunc_tail_f64_one(w0, w1, p), _trunc_tail_f64_one(w2, w3, p)


def _bits_u32(w0, w1, w2, w3, p):
    return w0, w1, w2, w3


#: (kind, output dtype) -> block transform.  Extending xinit-bench with a
#: distribution means adding a kind (``kinds.py``), two rows here, an entry
#: point below and its row of ``FILLS``.
_BLOCK_TRANSFORMS = {
    (UNIFORM, types.float32): _uniform_f32,
    (UNIFORM, types.float64): _uniform_f64,
    (SYMMETRIC_UNIFORM, types.float32): _symmetric_f32,
    (SYMMETRIC_UNIFORM, types.float64): _symmetric_f64,
    (NORMAL, types.float32): _normal_f32,
    (NORMAL, types.float64): _normal_f64,
    (TRUNCATED_NORMAL_CENTRAL, types.float32): _trunc_central_f32,
    (TRUNCATED_NORMAL_CENTRAL, types.float64): _trunc_central_f64,
    (TRUNCATED_NORMAL, types.float32): _trunc_f32,
    (TRUNCATED_NORMAL, types.float64): _trunc_f64,
    (BITS, types.uint32): _bits_u32,
    (TRUNCATED_NORMAL_TAIL, types.float32): _trunc_tail_f32,
    (TRUNCATED_NORMAL_TAIL, types.float64): _trunc_tail_f64,
}


def block_values(kind, out, w0, w1, w2, w3, params):
    """The ``E`` values that Philox block words ``w0..w3`` give (Numba only)."""
    raise NotImplementedError("block_values is only callable from Numba code")


@overload(block_values, inline="always", prefer_literal=True)
def _block_values_impl(kind, out, w0, w1, w2, w3, params):
    if not isinstance(kind, types.IntegerLiteral):
        return None
    transform = inline_ir(_BLOCK_TRANSFORMS[(kind.literal_value, out.dtype)])

    def impl(kind, out, w0, w1, w2, w3, params):
        return transform(w0, w1, w2, w3, params)

    return impl


# --- the skeleton ----------------------------------------------------------------
@inline_ir
def _store_block(body, j, vals):
    e = len(vals)
    for t in range(e):
        body[e * j + t] = vals[t]


#: Philox blocks per tile of the float64 two-pass loop (4 KiB: stays in L1).
TILE_BLOCKS = 256
#: Kinds whose float64 fill runs in two passes per tile.  It pays where the
#: transform is cheap (uniform: 0.24x -> 0.33x of a float64 fill, measured
#: on 64M elements); for normal and truncated normal the second pass's heavy
#: float64 maths dominates and one pass was faster (measured).
TWO_PASS_F64 = _by_kind({
    "uniform": True, "symmetric_uniform": True, "normal": False, "truncated_normal_central": False,
    "truncated_normal": False, "bits": False, "truncated_normal_tail": False,
})


@inline_ir
def _fill_blocks(kind, body, block, key, params):
    """Fill whole blocks ``block, block + 1, ...`` into the 0-based ``body``.

    float32: one pass, 4 elements per block.  float64 (``TWO_PASS_F64``
    kinds): a float64 slot holds
    exactly the two words it consumes, so each 4 KiB tile is filled in two
    passes over L1: raw words through a uint32 view of the output (pure uint32
    code, which LLVM vectorises 16 lanes wide), then each slot's words are
    converted in place (8 lanes).  In one pass the 64-bit conversions forced
    8 lanes on the Philox rounds too, halving their throughput.
    """
    e = 4 if body.itemsize == 4 else 2
    nfull = body.size // e
    if e == 4 or not TWO_PASS_F64[kind]:
        for j in range(nfull):
            w0, w1, w2, w3 = block_words(block + j, key)
            _store_block(body, j, block_values(kind, body, w0, w1, w2, w3, params))
        return
    for t0 in range(0, nfull, TILE_BLOCKS):
        t1 = min(nfull, t0 + TILE_BLOCKS)
        tile = body[t0 * 2 : t1 * 2]
        words = tile.view(np.uint32)
        for j in range(t1 - t0):
            w0, w1, w2, w3 = block_words(block + t0 + j, key)
            words[4 * j] = w0
            words[4 * j + 1] = w1
            words[4 * j + 2] = w2
            words[4 * j + 3] = w3
        for j in range(t1 - t0):
            vals = block_values(kind, tile, words[4 * j], words[4 * j + 1], words[4 * j + 2], words[4 * j + 3], params)
            _store_block(tile, j, vals)


@inline_ir
def fill_range(kind, out, key, start, params):
    """Serially fill ``out`` (0-based view) with stream positions ``start ...``."""
    n = out.size
    if n == 0:
        return
    e = 4 if out.itemsize == 4 else 2
    block = start // e
    head = (e - start % e) % e
    if head > n:
        head = n
    if head > 0:
        w0, w1, w2, w3 = block_words(block, key)
        vals = block_values(kind, out, w0, w1, w2, w3, params)
        r = start % e
        for t in range(head):
            out[t] = vals[r + t]
        block += 1
    nfull = (n - head) // e
    _fill_blocks(kind, out[head : head + nfull * e], block, key, params)
    done = head + nfull * e
    if done < n:
        w0, w1, w2, w3 = block_words(block + nfull, key)
        vals = block_values(kind, out, w0, w1, w2, w3, params)
        for t in range(n - done):
            out[done + t] = vals[t]


@inline_ir
def _fill(kind, out, key, offset, params):
    n = out.size
    if n < SERIAL_BELOW[kind]:
        fill_range(kind, out, key, offset, params)
        return
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in prange(nchunks):
        s = c * CHUNK
        e = min(n, s + CHUNK)
        fill_range(kind, out[s:e], key, offset + s, params)


@parallel
def fill_uniform(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Uniform on ``[low, high)``: ``params = (low, high - low, nextafter(high, low))``."""
    _fill(UNIFORM, out, key, offset, params)


@parallel
def fill_symmetric_uniform(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Uniform on ``(-bound, bound)``, mean exactly 0: ``params = (bound, nextafter(bound, 0))``."""
    _fill(SYMMETRIC_UNIFORM, out, key, offset, params)


@parallel
def fill_normal(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Normal: ``params = (mean, std)``."""
    _fill(NORMAL, out, key, offset, params)


@parallel
def fill_truncated_normal_central(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Truncated normal by the branch-free central inverse CDF (see module docstring)."""
    _fill(TRUNCATED_NORMAL_CENTRAL, out, key, offset, params)


@parallel
def fill_truncated_normal_tail(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """``fill_truncated_normal`` without branches, for grids that keep ``w`` below 16 (float32) or 36 (float64)."""
    _fill(TRUNCATED_NORMAL_TAIL, out, key, offset, params)


@parallel
def fill_truncated_normal(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Truncated normal by the float64 inverse CDF with tail branches."""
    _fill(TRUNCATED_NORMAL, out, key, offset, params)


@parallel
def fill_bits(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """The raw Philox words: ``out`` is uint32 and ``params`` is ``()``."""
    _fill(BITS, out, key, offset, params)


#: kind name -> entry point.
FILLS = {
    "uniform": fill_uniform,
    "symmetric_uniform": fill_symmetric_uniform,
    "normal": fill_normal,
    "truncated_normal_central": fill_truncated_normal_central,
    "truncated_normal": fill_truncated_normal,
    "bits": fill_bits,
    "truncated_normal_tail": fill_truncated_normal_tail,
}
assert set(FILLS) == set(KINDS)

