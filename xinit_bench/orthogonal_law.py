"""The checks and layouts of the structured initialisers, and their one rounding to the output dtype.

:func:`check_orthogonal` checks a call of :func:`xinit_bench.orthogonal.orthogonal`
(and of its lazy dask form) and says how its shape is read as a batch of
``rows x cols`` matrices (:class:`Matrices`); :func:`check_identity`,
:func:`check_dirac` and :func:`check_sparse` check the arguments of
:mod:`xinit_bench.structures`' three.  :func:`begin` is the tail that
every structured initialiser shares -- the dtype, ``out`` and ``region``, the
scales that must fit the dtype, the seed or generator -- and allocates the
output only once every check has passed.  :func:`store` rounds the float64
values once to the output dtype, through float32 with round-to-odd for the
half types (Boldo & Melquiond 2008), and clamps them.

References
----------
S. Boldo, G. Melquiond, "Emulation of FMA and correctly rounded sums: proved
algorithms using rounding to odd", IEEE Trans. Computers 57 (2008).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._rng import Generator, check_source
from .half import half_info
from .regions import check_region
from .validation import (
    ParameterRangeError,
    Shape,
    allocate,
    check_choice,
    check_int,
    check_out,
    check_real,
    check_shape,
    is_half,
    resolve_dtype,
)

__all__ = [
    "LAYOUTS",
    "Layout",
    "Matrices",
    "OrthogonalCall",
    "Scale",
    "begin",
    "check_conv_shape",
    "check_dirac",
    "check_gain",
    "check_identity",
    "check_matrix_shape",
    "check_orthogonal",
    "check_sparse",
    "store",
]

#: How a tensor is read as a matrix: torch's ``(shape[0], rest)`` or Keras'/JAX's ``(rest, shape[column_axis])``.
Layout = Literal["torch", "keras"]
LAYOUTS: tuple[Layout, ...] = ("torch", "keras")

Bounds = tuple[tuple[int, int], ...]

#: A scale that must fit the output dtype (:func:`check_scale`): ``(name, value, the argument as given)``.
Scale = tuple[str, float, str]

#: Largest ``|z|`` of the float64 normal kernel, rounded up (``sqrt(-2 log 2**-53)`` = 8.57).
Z_MAX_F64 = 8.6


# --- argument checks -------------------------------------------------------------------
def _axis(name: str, value: Any, ndim: int) -> int:
    """``value`` as an axis of an ``ndim``-d shape, in ``[0, ndim)``; negative axes count from the end."""
    a = check_int(name, value, minimum=-ndim, maximum=ndim - 1, what=f"an axis in [{-ndim}, {ndim}) of the shape")
    return a % ndim


def check_scale(dt: np.dtype[Any], name: str, value: float, given: str) -> None:
    """Refuse a scale ``value`` (a gain, a largest sample) that overflows ``dt`` or is a nonzero subnormal there."""
    if is_half(dt):
        info = half_info(dt)
        largest, smallest = info.max, info.smallest_normal
    else:
        fi = np.finfo(dt)
        largest, smallest = float(fi.max), float(fi.smallest_normal)
    if value > largest:
        raise ParameterRangeError(f"{name} must fit {dt.name} (at most {largest:g}), got {given}")
    if 0 < value < smallest:
        raise ParameterRangeError(
            f"{name} must be 0 or at least {dt.name}'s smallest normal number {smallest:g}, got {given}"
        )


def check_matrix_shape(shape: Any) -> Shape:
    """``shape`` checked as exactly two dimensions, as torch's ``eye_`` and ``sparse_`` require."""
    dims = check_shape(shape)
    if len(dims) != 2:
        raise ValueError(f"shape must have 2 dimensions (Only tensors with 2 dimensions are supported), got {dims}")
    return dims


def check_conv_shape(shape: Any, why: str) -> Shape:
    """``shape`` checked as 3, 4 or 5 dimensions (a 1-, 2- or 3-d convolution kernel); ``why`` ends the message."""
    dims = check_shape(shape)
    if len(dims) not in (3, 4, 5):
        raise ValueError(f"shape must have 3, 4 or 5 dimensions ({why}), got {dims} of {len(dims)}")
    return dims


def check_gain(gain: Any) -> tuple[float, Scale]:
    """``gain`` checked as a finite real ``>= 0``, and the scale by which :func:`begin` checks it against the dtype."""
    g = check_real("gain", gain, minimum=0.0)
    return g, ("gain", g, f"gain={gain!r}")


def check_identity(shape: Any, gain: Any) -> tuple[Shape, float, list[Scale]]:
    """The shape (exactly 2-d), the gain and the scales of a call of :func:`xinit_bench.structures.identity`."""
    dims = check_matrix_shape(shape)
    g, scale = check_gain(gain)
    return dims, g, [scale]


def check_dirac(shape: Any, groups: Any) -> tuple[Shape, int]:
    """The shape (3-5 dims, ``shape[0]`` divisible by ``groups``) and ``groups >= 1`` of a call of ``dirac``."""
    dims = check_conv_shape(shape, "Only tensors with 3, 4, or 5 dimensions are supported")
    k = check_int("groups", groups, minimum=1)
    if dims[0] % k:
        raise ValueError(f"groups must divide shape[0] = {dims[0]}, got {k}")
    return dims, k


def check_sparse(shape: Any, sparsity: Any, std: Any) -> tuple[Shape, float, float, list[Scale]]:
    """The shape (exactly 2-d), ``sparsity`` in ``[0, 1)``, ``std >= 0`` and the scales of a call of ``sparse``.

    The scales are ``std`` and the largest sample the float64 normal kernel
    can give, :data:`Z_MAX_F64` times ``std``: both must fit the dtype.
    """
    dims = check_matrix_shape(shape)
    s = check_real("sparsity", sparsity, minimum=0.0)
    if not s < 1.0:
        raise ValueError(f"sparsity must be a finite real number in [0, 1), got {sparsity!r}")
    sd = check_real("std", std, minimum=0.0)
    scales = [(f"{Z_MAX_F64} std (the largest sample)", Z_MAX_F64 * sd, f"std={std!r}"), ("std", sd, f"std={std!r}")]
    return dims, s, sd, scales


@dataclass(frozen=True)
class Begun:
    """What :func:`begin` hands back: the dtype, the output array, its shape and the region's bounds."""

    dtype: np.dtype[Any]
    out: NDArray[Any]
    out_dims: Shape
    bounds: Bounds | None


def begin(
    dims: Shape,
    dtype: DTypeLike | None,
    out: Any,
    region: Any,
    scales: Sequence[Scale],
    source: tuple[Any, Generator | None] | None,
) -> Begun:
    """The checks every structured initialiser ends with, then the output allocated (the first state change).

    ``scales`` are ``(name, value, given)`` triples that must fit the dtype
    (:func:`check_scale`); ``source`` the ``(seed, generator)`` pair of a
    random initialiser, None for a deterministic one.
    """
    dt = resolve_dtype(dtype, out)
    out_dims, bounds = (dims, None) if region is None else check_region(region, dims)
    if out is not None:
        check_out(out, out_dims, dt)
    for name, value, given in scales:
        check_scale(dt, name, value, given)
    if source is not None:
        check_source(*source)
    return Begun(dt, allocate(out_dims, dt) if out is None else out, out_dims, bounds)


# --- rounding once -----------------------------------------------------------------------
def _round_to_odd_f32(x: NDArray[np.float64]) -> NDArray[np.float32]:
    """``x`` rounded to float32 by round-to-odd: truncate, and set the last bit when inexact.

    Rounding this to a format with at least two fewer significand bits (float16:
    11, bfloat16: 8; float32 has 24) to nearest-even gives the correctly rounded
    result of ``x`` itself (Boldo & Melquiond 2008), so one rounding is kept.
    """
    f = x.astype(np.float32)
    back = f.astype(np.float64)
    bits = f.view(np.uint32)
    bits = np.where(np.abs(back) > np.abs(x), bits - np.uint32(1), bits)  # RNE went away from zero: truncate
    bits = np.where(back != x, bits | np.uint32(1), bits)
    result: NDArray[np.float32] = bits.astype(np.uint32).view(np.float32)
    return result


def _largest_at_most(dt: np.dtype[Any], g: float) -> float:
    """The largest value of ``dt`` that is ``<= g`` (``g >= 0`` and fits ``dt``)."""
    if is_half(dt):
        return half_info(dt).below(g, strict=False)
    v = dt.type(g)
    if float(v) > g:
        v = np.nextafter(v, dt.type(0))
    return float(v)


def store(values: NDArray[np.float64], out: NDArray[Any], bound: float | None) -> None:
    """``out[...] = values`` rounded once to ``out.dtype`` (nearest-even), clamped into ``[-hi, hi]``.

    ``hi`` is the largest value of ``out.dtype`` not above ``bound``; no clamp when ``bound`` is None.
    """
    dt = out.dtype
    hi = None if bound is None else _largest_at_most(dt, bound)
    if dt == np.float64:
        np.copyto(out, values)
        if hi is not None:
            np.clip(out, -hi, hi, out=out)
        return
    if dt == np.float32:
        np.copyto(out, values, casting="same_kind")
        if hi is not None:
            np.clip(out, np.float32(-hi), np.float32(hi), out=out)
        return
    odd = _round_to_odd_f32(values)
    if hi is not None:  # half values are float32 values: clamp-then-round equals round-then-clamp
        np.clip(odd, np.float32(-hi), np.float32(hi), out=odd)
    out[...] = odd.astype(dt)


# --- the matrices of a shape ---------------------------------------------------------------
class Matrices:
    """How a shape is read as a batch of ``rows x cols`` matrices, and back."""

    def __init__(self, dims: Shape, layout: Layout, column_axis: int | None, batch_axis: int | None) -> None:
        self.dims = dims
        self.batch_axis = batch_axis
        self.batch = 1 if batch_axis is None else dims[batch_axis]
        sub = dims if batch_axis is None else dims[:batch_axis] + dims[batch_axis + 1 :]
        self.sub = sub
        if layout == "torch":
            self.column_axis: int | None = None
            self.rows, self.cols = sub[0], math.prod(sub[1:])
        else:
            assert column_axis is not None
            ca = column_axis if batch_axis is None or column_axis < batch_axis else column_axis - 1
            self.column_axis = ca
            self.cols = sub[ca]
            self.rows = math.prod(sub[:ca] + sub[ca + 1 :])
        self.tall = self.rows >= self.cols
        self.m, self.n = max(self.rows, self.cols), min(self.rows, self.cols)

    def to_tensor(self, q: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(k, m, n)`` factors (already scaled) as the ``k`` matrices' block of the tensor (batch axis in place)."""
        k = q.shape[0]
        mats = q if self.tall else q.transpose(0, 2, 1)  # (k, rows, cols)
        if self.column_axis is None:
            block = mats.reshape((k, *self.sub))
        else:
            ca = self.column_axis
            others = self.sub[:ca] + self.sub[ca + 1 :]
            block = np.moveaxis(mats.reshape((k, *others, self.cols)), -1, 1 + ca)
        return block[0] if self.batch_axis is None else np.moveaxis(block, 0, self.batch_axis)


@dataclass(frozen=True)
class OrthogonalCall:
    """A checked call of ``orthogonal``: its matrices, the gain as a float and the layout's names."""

    spec: Matrices
    gain: float
    layout: Layout
    column_axis: int | None
    batch_axis: int | None


def check_orthogonal(shape: Any, gain: Any, layout: Any, column_axis: Any, batch_axis: Any) -> OrthogonalCall:
    """Check the shape, gain and layout arguments of ``orthogonal`` (the errors its docstring lists).

    The dtype, the gain against it, ``out``, ``region`` and the seed are the callers' to check (:func:`begin`).
    """
    dims = check_shape(shape)
    nd = len(dims)
    if nd < 2:
        raise ValueError(
            f"shape must have 2 or more dimensions (Only tensors with 2 or more dimensions are supported), got {dims}"
        )
    g = check_real("gain", gain, minimum=0.0)
    lay: Layout = "keras" if check_choice("layout", layout, LAYOUTS) == "keras" else "torch"
    if column_axis is not None and lay != "keras":
        raise ValueError(
            f"column_axis must be None with layout='torch' (it goes with layout='keras'), got {column_axis!r}"
        )
    cax = None if lay == "torch" else (nd - 1 if column_axis is None else _axis("column_axis", column_axis, nd))
    bax = None if batch_axis is None else _axis("batch_axis", batch_axis, nd)
    if bax is not None:
        if nd < 3:
            raise ValueError(
                f"batch_axis must go with a shape of 3 or more dimensions (each matrix has 2 or more), got {dims}"
            )
        if cax == bax:
            raise ValueError(f"batch_axis must be another axis than column_axis, got axis {bax} for both")
    return OrthogonalCall(Matrices(dims, lay, cax, bax), g, lay, cax, bax)
