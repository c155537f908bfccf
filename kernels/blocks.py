"""The per-block transforms of the fills: four Philox words to the values of one block.

One function per (kind, output dtype), collected in :data:`BLOCK_TRANSFORMS`.
A float32 transform returns four values (one word each; a Box-Muller pair
uses two words), a float64 transform two (two words each; a normal pair uses
all four).  ``p`` is the kind's params tuple (see ``fill.py``).  They are plain
Python functions: ``fill.py`` marks them for inlining into the Numba IR of its
loops, where LLVM vectorises them.
"""

from __future__ import annotations

import numpy as np
from numba import types

from . import convert as cv
from . import transforms as tf
from ._jit import inline_ir
from .kinds import (
    BITS,
    NORMAL,
    SYMMETRIC_UNIFORM,
    TRUNCATED_NORMAL,
    TRUNCATED_NORMAL_CENTRAL,
    TRUNCATED_NORMAL_TAIL,
    UNIFORM,
)

__all__ = ["BLOCK_TRANSFORMS"]


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
#: distribution means adding a kind (``kinds.py``), two rows here, and its
#: entry points and table rows in ``fill.py``.
BLOCK_TRANSFORMS = {
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
