"""Work-list fills: many runs of one kind, in many buffers, in one launch.

A *run* is ``count`` consecutive elements of one stream written to
consecutive memory: ``(address, count, position, key, params)``.  One launch
fills a whole list of runs, which serves three callers:

* an N-d block of a C-order tensor, which is a set of contiguous runs (a
  shard of a weight, a chunk of a dask array);
* every tensor of one (kind, dtype) in a model, so that small tensors pay
  no launch each;
* half-precision outputs (:mod:`.half`), for which each run is filled in
  float32 into a scratch buffer of at most ``CHUNK`` elements and rounded
  into the 16-bit output.

Every run calls the same serial fill (``fill.SERIAL_FILLS``) as a plain fill
of the same positions, so a run gives the bits of the matching slice of the
whole fill.  Runs are addressed by raw addresses (a NumPy array's
``ctypes.data``, a torch tensor's ``data_ptr()``), which keeps the argument
types fixed -- so the kernels stay in Numba's on-disk cache -- and lets a
torch bfloat16 tensor be written without a NumPy view.  The caller
(``xinit_bench.launch.fill_runs``) guarantees every address and count: runs
inside live buffers of the right dtype, split to at most ``CHUNK``
elements, no two overlapping.

Arguments: ``addresses``, ``counts``, ``positions`` are int64 arrays of the
run count ``m``; ``keys`` is uint32 ``(m, 3)`` (k0, k1, stream); ``params`` is
``(m, P)`` in the kind's params dtype (see ``fill.py``), with ``P`` the kind's
:data:`PARAMS`; ``like`` is an empty array of the output dtype.  Half entry
points take float32 params, ``clamps`` float32 ``(m, 2)`` and ``bfloat16``
(else binary16).

For each kind there are four entry points: ``runs_<kind>`` (parallel over
runs), ``serial_runs_<kind>``, and the same two with ``half_`` for 16-bit
outputs.  :data:`RUNS` maps ``(kind name, parallel, half)`` to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange, types
from numba.extending import intrinsic
from numba.np.numpy_support import carray
from numba.np.unsafe.ndarray import to_fixed_tuple as _to_fixed_tuple

from ._jit import inline_ir, jit, parallel
from .fill import (
    CHUNK,
    serial_normal,
    serial_symmetric_uniform,
    serial_truncated_normal,
    serial_truncated_normal_central,
    serial_truncated_normal_tail,
    serial_uniform,
)
from .half import round_into

__all__ = ["CHUNK", "PARAMS", "RUNS"]

#: Params per element of each kind that runs serve (``fill.py``'s params tuples).
PARAMS = {
    "uniform": 3,
    "symmetric_uniform": 2,
    "normal": 2,
    "truncated_normal_central": 6,
    "truncated_normal": 6,
    "truncated_normal_tail": 6,
}


def _pointer_typing(typingctx, address, like):
    """The int64 ``address`` as a pointer to ``like``'s dtype."""
    if not isinstance(address, types.Integer) or not isinstance(like, types.Array):
        return None
    target = types.CPointer(like.dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(target))

    return target(address, like), codegen


_pointer: Any = intrinsic(_pointer_typing)
#: Numba's ``to_fixed_tuple(array, length)`` (an intrinsic whose stub mypy misreads).
to_fixed_tuple: Any = _to_fixed_tuple


@inline_ir
def _native(serial, nparams, like, addresses, counts, positions, keys, params):
    for i in prange(addresses.size):
        out = carray(_pointer(addresses[i], like), (counts[i],))
        key = (keys[i, 0], keys[i, 1], keys[i, 2])
        serial(out, key, positions[i], to_fixed_tuple(params[i], nparams))


@inline_ir
def _half(serial, nparams, like, addresses, counts, positions, keys, params, clamps, bfloat16):
    for i in prange(addresses.size):
        n = counts[i]
        out = carray(_pointer(addresses[i], like), (n,))
        scratch = np.empty(n, np.float32)
        key = (keys[i, 0], keys[i, 1], keys[i, 2])
        serial(scratch, key, positions[i], to_fixed_tuple(params[i], nparams))
        round_into(scratch, out, clamps[i, 0], clamps[i, 1], bfloat16)


# --- uniform ----------------------------------------------------------------------
@parallel
def runs_uniform(like, addresses, counts, positions, keys, params):
    _native(serial_uniform, 3, like, addresses, counts, positions, keys, params)


@jit
def serial_runs_uniform(like, addresses, counts, positions, keys, params):
    _native(serial_uniform, 3, like, addresses, counts, positions, keys, params)


@parallel
def half_runs_uniform(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_uniform, 3, like, addresses, counts, positions, keys, params, clamps, bfloat16)


@jit
def serial_half_runs_uniform(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_uniform, 3, like, addresses, counts, positions, keys, params, clamps, bfloat16)


# --- symmetric uniform ------------------------------------------------------------
@parallel
def runs_symmetric_uniform(like, addresses, counts, positions, keys, params):
    _native(serial_symmetric_uniform, 2, like, addresses, counts, positions, keys, params)


@jit
def serial_runs_symmetric_uniform(like, addresses, counts, positions, keys, params):
    _native(serial_symmetric_uniform, 2, like, addresses, counts, positions, keys, params)


@parallel
def half_runs_symmetric_uniform(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_symmetric_uniform, 2, like, addresses, counts, positions, keys, params, clamps, bfloat16)


@jit
def serial_half_runs_symmetric_uniform(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_symmetric_uniform, 2, like, addresses, counts, positions, keys, params, clamps, bfloat16)


# --- normal -----------------------------------------------------------------------
@parallel
def runs_normal(like, addresses, counts, positions, keys, params):
    _native(serial_normal, 2, like, addresses, counts, positions, keys, params)


@jit
def serial_runs_normal(like, addresses, counts, positions, keys, params):
    _native(serial_normal, 2, like, addresses, counts, positions, keys, params)


@parallel
def half_runs_normal(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_normal, 2, like, addresses, counts, positions, keys, params, clamps, bfloat16)


@jit
def serial_half_runs_normal(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_normal, 2, like, addresses, counts, positions, keys, params, clamps, bfloat16)


# --- truncated normal, central series ---------------------------------------------
@parallel
def runs_truncated_normal_central(like, addresses, counts, positions, keys, params):
    _native(serial_truncated_normal_central, 6, like, addresses, counts, positions, keys, params)


@jit
def serial_runs_truncated_normal_central(like, addresses, counts, positions, keys, params):
    _native(serial_truncated_normal_central, 6, like, addresses, counts, positions, keys, params)


@parallel
def half_runs_truncated_normal_central(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_truncated_normal_central, 6, like, addresses, counts, positions, keys, params, clamps, bfloat16)


@jit
def serial_half_runs_truncated_normal_central(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_truncated_normal_central, 6, like, addresses, counts, positions, keys, params, clamps, bfloat16)


# --- truncated normal, every series -----------------------------------------------
@parallel
def runs_truncated_normal(like, addresses, counts, positions, keys, params):
    _native(serial_truncated_normal, 6, like, addresses, counts, positions, keys, params)


@jit
def serial_runs_truncated_normal(like, addresses, counts, positions, keys, params):
    _native(serial_truncated_normal, 6, like, addresses, counts, positions, keys, params)


@parallel
def half_runs_truncated_normal(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_truncated_normal, 6, like, addresses, counts, positions, keys, params, clamps, bfloat16)


@jit
def serial_half_runs_truncated_normal(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_truncated_normal, 6, like, addresses, counts, positions, keys, params, clamps, bfloat16)


# --- truncated normal, branch-free tail -------------------------------------------
@parallel
def runs_truncated_normal_tail(like, addresses, counts, positions, keys, params):
    _native(serial_truncated_normal_tail, 6, like, addresses, counts, positions, keys, params)


@jit
def serial_runs_truncated_normal_tail(like, addresses, counts, positions, keys, params):
    _native(serial_truncated_normal_tail, 6, like, addresses, counts, positions, keys, params)


@parallel
def half_runs_truncated_normal_tail(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_truncated_normal_tail, 6, like, addresses, counts, positions, keys, params, clamps, bfloat16)


@jit
def serial_half_runs_truncated_normal_tail(like, addresses, counts, positions, keys, params, clamps, bfloat16):
    _half(serial_truncated_normal_tail, 6, like, addresses, counts, positions, keys, params, clamps, bfloat16)


#: ``(kind name, parallel, half)`` -> entry point.
RUNS = {
    (name, par, half): globals()[f"{'' if par else 'serial_'}{'half_' if half else ''}runs_{name}"]
    for name in PARAMS
    for par in (True, False)
    for half in (True, False)
}
