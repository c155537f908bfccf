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

Execution.  Every kind has two entry points with the same values:
``serial_<kind>`` fills on the calling thread, and ``fill_<kind>`` cuts
outputs of ``SERIAL_BELOW[kind]`` elements or more into ``CHUNK``-element
pieces run in ``prange`` (a launch costs 2-12 us, so smaller outputs run
serially there too).  Both call one compiled serial loop per (kind, dtype),
``_serial``, whose inner loop writes through a 0-based slice of whole Philox
blocks, which LLVM vectorises (docs/design.md, "Kernel facts").  The two are
compiled separately and only when first called, so a process that only makes
small tensors never compiles a parallel kernel, and one that does compiles
the transform once, not once per execution path.

Each entry point fills one *kind* (``kinds.py``: the names shared with
``xinit_bench.reference.philox_fill`` and the rest of the library);
:data:`FILLS` and :data:`SERIAL_FILLS` map every kind name to its entry points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange, types
from numba.extending import overload
from numpy.typing import NDArray

from ._jit import inline_ir, jit, parallel
from .blocks import BLOCK_TRANSFORMS
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
SERIAL_BELOW = _by_kind(
    {
        "uniform": 16384,
        "symmetric_uniform": 16384,
        "normal": 4096,
        "truncated_normal_central": 4096,
        "truncated_normal": 2048,
        "bits": 16384,
        "truncated_normal_tail": 2048,
    }
)


#: The same transforms, marked for inlining into the Numba IR of the loop that
#: calls them (wrapped once here: a new wrapper per compilation would be
#: typed anew every time).
_INLINED = {key: inline_ir(fn) for key, fn in BLOCK_TRANSFORMS.items()}
#: The transform of the partial blocks at both ends of a range (at most two
#: blocks per call, so their speed does not matter).  The branch-free tail
#: kind takes the branchy kind's transform there: it gives the same bits for
#: every grid the tail kind serves (tests/kernels/test_fill.py, whose offsets
#: start and end the fill in partial blocks), and it
#: calls the float64 inverse CDF instead of inlining four copies of both
#: series, which took a quarter of the float32 tail kernel's compile time.
_EDGE = dict(_INLINED)
for _dtype in (types.float32, types.float64):
    _EDGE[(TRUNCATED_NORMAL_TAIL, _dtype)] = _INLINED[(TRUNCATED_NORMAL, _dtype)]


# --- the skeleton ----------------------------------------------------------------
@inline_ir
def _store_block(body, j, vals):
    e = len(vals)
    for t in range(e):
        body[e * j + t] = vals[t]


#: Philox blocks per tile of the float64 two-pass loop (4 KiB: stays in L1).
TILE_BLOCKS = 256
#: Kinds whose float64 fill runs in two passes per tile.  None does today:
#: it paid for the uniform kinds (0.24x -> 0.33x of a float64 fill) while the
#: Philox rounds ran in 32-bit lanes that the 64-bit conversions halved; with
#: the rounds in 64-bit lanes (``philox.py``) one pass is faster (float64
#: uniform 0.32x -> 0.56x, symmetric uniform 0.29x -> 0.47x of the fill,
#: 64M elements, 2 threads, medians of 5 in one run).  For normal and
#: truncated normal the second pass's float64 maths dominated and one pass was
#: always faster.  The path stays for a kind whose transform is cheap.
TWO_PASS_F64 = _by_kind(
    {
        "uniform": False,
        "symmetric_uniform": False,
        "normal": False,
        "truncated_normal_central": False,
        "truncated_normal": False,
        "bits": False,
        "truncated_normal_tail": False,
    }
)


@inline_ir
def _one_pass(transform, body, block, key, params):
    """Fill whole blocks ``block, block + 1, ...`` into the 0-based ``body``, one pass."""
    e = 4 if body.itemsize == 4 else 2
    for j in range(body.size // e):
        w0, w1, w2, w3 = block_words(block + j, key)
        _store_block(body, j, transform(w0, w1, w2, w3, params))


@inline_ir
def _two_pass(transform, body, block, key, params):
    """As :func:`_one_pass` for float64, in two passes over each 4 KiB tile.

    A float64 slot holds exactly the two words it consumes, so each tile is
    filled with raw words through a uint32 view of the output (pure uint32
    code, which LLVM vectorises 16 lanes wide), then each slot's words are
    converted in place (8 lanes).  In one pass the 64-bit conversions forced
    8 lanes on the Philox rounds too, halving their throughput.
    """
    nfull = body.size // 2
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
            vals = transform(words[4 * j], words[4 * j + 1], words[4 * j + 2], words[4 * j + 3], params)
            _store_block(tile, j, vals)


@inline_ir
def _partial_blocks(transform, out, key, params, head_block, head_skip, head, tail_block, tail_at):
    """The partial blocks at both ends of a range, through one call site of the transform."""
    for k in range(2):
        if k == 0:
            blk, skip, count, dst = head_block, head_skip, head, 0
        else:
            blk, skip, count, dst = tail_block, 0, out.size - tail_at, tail_at
        if count > 0:
            w0, w1, w2, w3 = block_words(blk, key)
            vals = transform(w0, w1, w2, w3, params)
            for t in range(count):
                out[dst + t] = vals[skip + t]


@inline_ir
def _range_layout(out, start):
    """``(block, skip, head, first_full_block, nfull, tail_at)`` of filling ``out`` from stream position ``start``."""
    n = out.size
    e = 4 if out.itemsize == 4 else 2
    block = start // e
    skip = start % e
    head = min((e - skip) % e, n)
    first = block + 1 if head > 0 else block
    nfull = (n - head) // e
    return block, skip, head, first, nfull, head + nfull * e


def _serial(kind, out, key, start, params):
    """Serially fill ``out`` (0-based) with stream positions ``start ...`` of ``kind`` (Numba only)."""
    raise NotImplementedError("_serial is only callable from Numba code")


@overload(_serial, prefer_literal=True)
def _serial_impl(kind, out, key, start, params):
    # Not inlined: one compiled function per (kind, dtype), which every entry
    # point and both execution paths call.  Inlining it (and dispatching the
    # transform through an inline overload) made Numba type the whole
    # transform chain a dozen times per entry point: 12.9 s of CPU to compile
    # the float32 central truncated normal, against 2.4 s this way.
    if not isinstance(kind, types.IntegerLiteral):
        return None
    transform = _INLINED[(kind.literal_value, out.dtype)]
    edge = _EDGE[(kind.literal_value, out.dtype)]
    body_pass = _two_pass if out.dtype == types.float64 and TWO_PASS_F64[kind.literal_value] else _one_pass

    def impl(kind, out, key, start, params):
        if out.size == 0:
            return
        block, skip, head, first, nfull, tail_at = _range_layout(out, start)
        body_pass(transform, out[head:tail_at], first, key, params)
        _partial_blocks(edge, out, key, params, block, skip, head, first + nfull, tail_at)

    return impl


@jit
def serial_uniform(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Uniform on ``[low, high)`` on the calling thread: :func:`fill_uniform`'s values without a parallel launch."""
    _serial(UNIFORM, out, key, offset, params)


@jit
def serial_symmetric_uniform(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Symmetric uniform on the calling thread: :func:`fill_symmetric_uniform`'s values without a parallel launch."""
    _serial(SYMMETRIC_UNIFORM, out, key, offset, params)


@jit
def serial_normal(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Normal on the calling thread: :func:`fill_normal`'s values without a parallel launch."""
    _serial(NORMAL, out, key, offset, params)


@jit
def serial_truncated_normal_central(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Central truncated normal on the calling thread: the values of :func:`fill_truncated_normal_central`."""
    _serial(TRUNCATED_NORMAL_CENTRAL, out, key, offset, params)


@jit
def serial_truncated_normal_tail(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Branch-free tail truncated normal on the calling thread: the values of :func:`fill_truncated_normal_tail`."""
    _serial(TRUNCATED_NORMAL_TAIL, out, key, offset, params)


@jit
def serial_truncated_normal(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Truncated normal with tail branches on the calling thread: the values of :func:`fill_truncated_normal`."""
    _serial(TRUNCATED_NORMAL, out, key, offset, params)


@jit
def serial_bits(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Raw words on the calling thread: :func:`fill_bits`'s values without a parallel launch."""
    _serial(BITS, out, key, offset, params)


@inline_ir
def _fill(serial, below, out, key, offset, params):
    """Run ``serial`` on ``CHUNK``-element pieces in ``prange``, or on the calling thread below ``below`` elements."""
    n = out.size
    if n < below:
        serial(out, key, offset, params)
        return
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in prange(nchunks):
        s = c * CHUNK
        e = min(n, s + CHUNK)
        serial(out[s:e], key, offset + s, params)


@parallel
def fill_uniform(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Uniform on ``[low, high)``: ``params = (low, high - low, nextafter(high, low))``."""
    _fill(serial_uniform, SERIAL_BELOW[UNIFORM], out, key, offset, params)


@parallel
def fill_symmetric_uniform(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Uniform on ``(-bound, bound)``, mean exactly 0: ``params = (bound, nextafter(bound, 0))``."""
    _fill(serial_symmetric_uniform, SERIAL_BELOW[SYMMETRIC_UNIFORM], out, key, offset, params)


@parallel
def fill_normal(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Normal: ``params = (mean, std)``."""
    _fill(serial_normal, SERIAL_BELOW[NORMAL], out, key, offset, params)


@parallel
def fill_truncated_normal_central(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Truncated normal by the branch-free central inverse CDF (see module docstring)."""
    _fill(serial_truncated_normal_central, SERIAL_BELOW[TRUNCATED_NORMAL_CENTRAL], out, key, offset, params)


@parallel
def fill_truncated_normal_tail(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """``fill_truncated_normal`` without branches, for grids that keep ``w`` below 16 (float32) or 36 (float64)."""
    _fill(serial_truncated_normal_tail, SERIAL_BELOW[TRUNCATED_NORMAL_TAIL], out, key, offset, params)


@parallel
def fill_truncated_normal(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """Truncated normal by the float64 inverse CDF with tail branches."""
    _fill(serial_truncated_normal, SERIAL_BELOW[TRUNCATED_NORMAL], out, key, offset, params)


@parallel
def fill_bits(out: NDArray[Any], key: Key, offset: int, params: tuple[Any, ...]) -> None:
    """The raw Philox words: ``out`` is uint32 and ``params`` is ``()``."""
    _fill(serial_bits, SERIAL_BELOW[BITS], out, key, offset, params)


#: kind name -> parallel entry point (serial below ``SERIAL_BELOW[kind]`` elements).
FILLS = {
    "uniform": fill_uniform,
    "symmetric_uniform": fill_symmetric_uniform,
    "normal": fill_normal,
    "truncated_normal_central": fill_truncated_normal_central,
    "truncated_normal": fill_truncated_normal,
    "bits": fill_bits,
    "truncated_normal_tail": fill_truncated_normal_tail,
}
#: kind name -> serial entry point: the same values, on the calling thread only.
SERIAL_FILLS = {
    "uniform": serial_uniform,
    "symmetric_uniform": serial_symmetric_uniform,
    "normal": serial_normal,
    "truncated_normal_central": serial_truncated_normal_central,
    "truncated_normal": serial_truncated_normal,
    "bits": serial_bits,
    "truncated_normal_tail": serial_truncated_normal_tail,
}
assert set(FILLS) == set(SERIAL_FILLS) == set(KINDS)
