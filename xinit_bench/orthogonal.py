"""Structured initialisers: orthogonal, delta-orthogonal, identity, Dirac and sparse.

**Orthogonal** (Saxe, McClelland & Ganguli 2014).  A tensor is read as a
matrix of ``rows x cols`` -- torch's layout: ``rows = shape[0]``, ``cols`` the
product of the rest; Keras' and JAX's: the columns along ``column_axis``
(default the last), the rows every other axis in C order -- and filled with

.. math:: W = g\\, Q D,\\qquad G = Q R,\\quad D = \\operatorname{diag}(\\operatorname{sign} R_{jj}),

where ``G`` is the tall ``max(rows, cols) x min(rows, cols)`` matrix of the
library's float64 normal stream (element ``(i, j)`` at stream position
``i * min(rows, cols) + j``), ``Q R`` its Householder QR
(:mod:`xinit_bench.kernels.qr`) and ``g`` the gain; ``W`` is ``Q D`` itself
for a tall matrix and its transpose for a wide one, so that
``orthogonal((a, b)) == orthogonal((b, a)).T`` for one seed.  ``Q D`` is the
unique QR factor with a positive diagonal of ``R``; for a Gaussian ``G`` it
is Haar-distributed on the orthogonal group (square) or the Stiefel manifold
(Mezzadri 2007): the sign fix is what makes the law uniform.  Without it
LAPACK's ``Q`` has :math:`\\mathbb{E}\\,\\operatorname{tr} Q \\approx -1.8` at
``n = 10`` instead of 0.

**Bits.**  The QR is this library's own Numba code, in float64, with every
operation's order fixed by the code (no BLAS or LAPACK, no ``fastmath``, no
fused multiply-add), and its parallel loops split only independent columns:
for one seed and shape the output is the same on any thread count and any
x86-64 instruction set.  The float64 product ``g (Q D)_{ij}`` is rounded
once to the output dtype and clamped into ``[-g, g]`` (to the largest value
of the dtype not above ``g``): float16 and bfloat16 outputs equal the float64
result rounded once to nearest-even, as float32 ones do (the conversion goes
through float32 with round-to-odd, which preserves one rounding: Boldo &
Melquiond 2008).

**Batches.**  ``batch_axis=k`` makes each index along axis ``k`` its own
matrix (of the shape without that axis), filled from stream positions
``b * rows * cols ...`` of the same stream for matrix ``b``; the matrices
are factorised in parallel.  Without it the whole shape is one matrix, as in
torch.

References
----------
A. M. Saxe, J. L. McClelland, S. Ganguli, "Exact solutions to the nonlinear
dynamics of learning in deep linear neural networks", ICLR 2014.
L. Xiao, Y. Bahri, J. Sohl-Dickstein, S. Schoenholz, J. Pennington,
"Dynamical isometry and a mean field theory of CNNs", ICML 2018.
F. Mezzadri, "How to generate random matrices from the classical compact
groups", Notices of the AMS 54 (2007).
J. Martens, "Deep learning via Hessian-free optimization", ICML 2010.
S. Boldo, G. Melquiond, "Emulation of FMA and correctly rounded sums: proved
algorithms using rounding to odd", IEEE Trans. Computers 57 (2008).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._rng import Generator, check_source
from .half import half_info
from .regions import Region, check_region
from .runtime import launch_guard, parallel_allowed, prepare_threading
from .samplers import FloatArray, normal
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

__all__ = ["LAYOUTS", "Layout", "delta_orthogonal", "dirac", "identity", "orthogonal", "sparse"]

#: How a tensor is read as a matrix: torch's ``(shape[0], rest)`` or Keras'/JAX's ``(rest, shape[column_axis])``.
Layout = Literal["torch", "keras"]
LAYOUTS: tuple[Layout, ...] = ("torch", "keras")

#: Largest ``|z|`` of the float64 normal kernel, rounded up (``sqrt(-2 log 2**-53)`` = 8.57).
_Z_MAX_F64 = 8.6
#: Below this many multiply-adds a single QR runs on the calling thread (a launch costs microseconds).
_PARALLEL_FROM = 1 << 21


# --- argument checks -------------------------------------------------------------------
def _axis(name: str, value: Any, ndim: int) -> int:
    """``value`` as an axis of an ``ndim``-d shape, in ``[0, ndim)``; negative axes count from the end."""
    a = check_int(name, value, minimum=-ndim, maximum=ndim - 1, what=f"an axis in [{-ndim}, {ndim}) of the shape")
    return a % ndim


def _check_scale(dt: np.dtype[Any], name: str, value: float, given: str) -> None:
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


def _prepare_out(
    out: Any, dims: Shape, region: Any, dt: np.dtype[Any]
) -> tuple[Shape, tuple[tuple[int, int], ...] | None]:
    """The output shape and the region's bounds; ``out`` checked against them."""
    out_dims, bounds = (dims, None) if region is None else check_region(region, dims)
    if out is not None:
        check_out(out, out_dims, dt)
    return out_dims, bounds


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


def _store(values: NDArray[np.float64], out: NDArray[Any], bound: float | None) -> None:
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


# --- the orthogonal matrices ---------------------------------------------------------------
class _Matrices:
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


def _householder(mats: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """Each ``mats[k]`` (``(m, n)``, ``m >= n``) becomes its ``Q``, ``rdiag[k]`` the diagonal of its ``R``."""
    from .kernels import _jit, qr

    k, m, n = mats.shape
    if k == 0 or n == 0:
        return
    work = m * n * n
    allowed = parallel_allowed()
    if k == 1 or (work >= _PARALLEL_FROM and allowed):
        kernel = qr.householder_q if work >= _PARALLEL_FROM and allowed else qr.serial_householder_q
        if kernel is qr.householder_q:
            prepare_threading()
        _jit.compile_quietly(kernel, mats[0], rdiag[0])
        for i in range(k):
            if kernel is qr.householder_q:
                with launch_guard():
                    kernel(mats[i], rdiag[i])
            else:
                kernel(mats[i], rdiag[i])
        return
    if not allowed:
        _jit.compile_quietly(qr.serial_householder_q, mats[0], rdiag[0])
        for i in range(k):
            qr.serial_householder_q(mats[i], rdiag[i])
        return
    prepare_threading()
    _jit.compile_quietly(qr.householder_q_batch, mats, rdiag)
    with launch_guard():
        qr.householder_q_batch(mats, rdiag)


def _factors(
    spec: _Matrices, first: int, last: int, gain: float, seed: Any, generator: Generator | None
) -> NDArray[np.float64]:
    """``g Q D`` of matrices ``first .. last - 1``, ``(last - first, m, n)`` float64: the one stream reservation."""
    m, n = spec.m, spec.n
    size = m * n
    total = spec.batch * size
    part = None if (first, last) == (0, spec.batch) else (slice(first * size, last * size),)
    g = normal(total, seed=seed, generator=generator, dtype=np.float64, region=part).astype(np.float64, copy=False)
    mats = g.reshape(last - first, m, n)
    rdiag = np.empty((last - first, n))
    _householder(mats, rdiag)
    scale = np.where(rdiag < 0, -gain, gain)  # the sign fix times the gain: exact
    mats *= scale[:, None, :]
    return mats


def _orthogonal_block(
    spec: _Matrices,
    bounds: tuple[tuple[int, int], ...] | None,
    gain: float,
    seed: Any,
    generator: Generator | None,
) -> NDArray[np.float64]:
    """``full[bounds]`` (every axis kept) of the float64 orthogonal tensor."""
    b = spec.batch_axis
    first, last = (0, spec.batch) if b is None or bounds is None else bounds[b]
    block = spec.to_tensor(_factors(spec, first, last, gain, seed, generator))
    if bounds is None:
        return block
    cut = tuple(
        slice(start - first, stop - first) if axis == b else slice(start, stop)
        for axis, (start, stop) in enumerate(bounds)
    )
    return block[cut]


def orthogonal(
    shape: int | Sequence[int],
    gain: float = 1.0,
    *,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    layout: Layout = "torch",
    column_axis: int | None = None,
    batch_axis: int | None = None,
    region: Region | None = None,
) -> FloatArray:
    """A (semi-)orthogonal matrix, Haar-distributed, times ``gain``: torch's ``orthogonal_``, bit-reproducible.

    .. math:: W = g\\, Q\\, \\operatorname{diag}(\\operatorname{sign} R_{jj}),
              \\qquad G = QR,\\ G_{ij} \\sim N(0, 1)

    with ``G`` the tall matrix of the float64 normal stream and ``Q R`` this
    library's Householder QR (the module docstring gives the layouts and the
    determinism contract).  ``W`` has orthonormal columns (tall) or rows
    (wide), scaled by ``gain``: :math:`W^{\\mathsf T} W = g^2 I` or
    :math:`W W^{\\mathsf T} = g^2 I`.

    Parameters
    ----------
    shape : sequence of int
        Two or more dimensions.  A shape with no element gives an empty array.
    gain : float
        Finite, ``>= 0``: the scale of the result.
    seed, generator
        As for every sampler: ``seed=s`` uses stream 0 of ``s``, a
        :class:`~xinit_bench.Generator` one stream per call.
    dtype : {float32, float64, float16, bfloat16}, optional
        Default float32, or ``out.dtype``.  The QR runs in float64 for every
        dtype; the result is rounded once.
    out : ndarray, optional
        C-contiguous, writable array of the output's shape and dtype, filled in place.
    layout : {"torch", "keras"}
        ``"torch"``: the matrix is ``(shape[0], prod(shape[1:]))``;
        ``"keras"`` (Keras, JAX): ``(prod(other axes), shape[column_axis])``.
    column_axis : int, optional
        With ``layout="keras"``: the axis of the columns (default -1), as JAX's ``column_axis``.
    batch_axis : int, optional
        Each index along this axis is an independent matrix (of the shape
        without it, which must have two or more dimensions); matrix ``b`` takes
        stream positions from ``b * rows * cols``.  Without it the whole shape
        is one matrix.
    region : tuple of slices and ints, optional
        Compute ``full[region]`` of the tensor of ``shape`` (bit for bit).  The
        QR is global, so every matrix the region touches is computed whole; with
        ``batch_axis`` only those matrices are.

    Returns
    -------
    ndarray
        ``out`` or a new array of ``dtype``.

    Raises
    ------
    TypeError
        An argument of the wrong type (:mod:`xinit_bench.validation`).
    ValueError
        Fewer than two dimensions ("Only tensors with 2 or more dimensions are
        supported", as torch says), a negative or non-finite gain, an unknown
        layout, a column or batch axis outside the shape or both the same axis,
        ``column_axis`` with the torch layout, a gain that the dtype cannot hold
        (:class:`~xinit_bench.ParameterRangeError`), an ``out`` of another shape.
        Nothing is written and no generator advances.

    References
    ----------
    A. M. Saxe, J. L. McClelland, S. Ganguli, "Exact solutions to the
    nonlinear dynamics of learning in deep linear neural networks", ICLR 2014.
    F. Mezzadri, "How to generate random matrices from the classical compact
    groups", Notices of the AMS 54 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> import xinit_bench as xb
    >>> w = xb.orthogonal((3, 5), seed=0, dtype=np.float64)
    >>> bool(np.allclose(w @ w.T, np.eye(3), atol=1e-12))
    True
    >>> bool((xb.orthogonal((5, 3), seed=0, dtype=np.float64) == w.T).all())
    True
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
    dt = resolve_dtype(dtype, out)
    out_dims, bounds = _prepare_out(out, dims, region, dt)
    _check_scale(dt, "gain", g, f"gain={gain!r}")
    check_source(seed, generator)
    spec = _Matrices(dims, lay, cax, bax)
    if out is None:
        out = allocate(out_dims, dt)
    block = _orthogonal_block(spec, bounds, g, seed, generator)  # reserves the call's one stream
    _store(block.reshape(out_dims), out, g)
    result: FloatArray = out
    return result


def delta_orthogonal(
    shape: Sequence[int],
    gain: float = 1.0,
    *,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    layout: Layout = "torch",
    region: Region | None = None,
) -> FloatArray:
    """A convolution kernel that is an orthogonal matrix at its spatial centre and zero elsewhere.

    The delta-orthogonal initialisation of Xiao et al. (2018), as JAX's
    ``delta_orthogonal``: with ``k`` the spatial extents and ``c = k // 2``
    their centres,

    .. math:: W_{o,i,c} = M_{o,i},\\qquad W_{o,i,x} = 0\\ \\ (x \\ne c),

    where ``M`` is :func:`orthogonal` of ``(out, in)`` (torch layout
    ``(out, in, *k)``) with the same seed and gain: its columns are
    orthonormal, so the convolution is an isometry on its input channels.
    In the Keras/JAX layout ``(*k, in, out)`` the centre holds ``M^T``, so both
    layouts hold the same matrix for one seed.

    Parameters
    ----------
    shape : sequence of int
        3, 4 or 5 dimensions (a 1-, 2- or 3-d convolution), with ``in <= out``.
    gain, seed, generator, dtype, out, region
        As for :func:`orthogonal`.
    layout : {"torch", "keras"}
        ``"torch"``: ``(out, in, *k)``; ``"keras"`` (Keras, JAX): ``(*k, in, out)``.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Not 3-5 dimensions, more input than output channels (``shape[1] >
        shape[0]`` in torch layout, ``shape[-2] > shape[-1]`` in Keras
        layout), or as for :func:`orthogonal`.  Nothing is written and no
        generator advances.

    References
    ----------
    L. Xiao, Y. Bahri, J. Sohl-Dickstein, S. Schoenholz, J. Pennington,
    "Dynamical isometry and a mean field theory of CNNs: how to train
    10,000-layer vanilla convolutional neural networks", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> import xinit_bench as xb
    >>> w = xb.delta_orthogonal((4, 2, 3, 3), seed=0, dtype=np.float64)
    >>> m = w[:, :, 1, 1]
    >>> bool(np.allclose(m.T @ m, np.eye(2), atol=1e-12)), int(np.count_nonzero(w[:, :, 0, 0]))
    (True, 0)
    """
    dims = check_shape(shape)
    nd = len(dims)
    if nd not in (3, 4, 5):
        raise ValueError(
            f"shape must have 3, 4 or 5 dimensions (a 1-, 2- or 3-d convolution kernel), got {dims} of {nd}"
        )
    g = check_real("gain", gain, minimum=0.0)
    lay = check_choice("layout", layout, LAYOUTS)
    if lay == "torch":
        c_out, c_in, spatial = dims[0], dims[1], dims[2:]
        where = "shape[1] <= shape[0] in the torch layout (out, in, *k)"
    else:
        c_in, c_out, spatial = dims[-2], dims[-1], dims[:-2]
        where = "shape[-2] <= shape[-1] in the keras layout (*k, in, out)"
    if c_in > c_out:
        raise ValueError(f"shape must have no more input than output channels ({where}), got {dims}")
    dt = resolve_dtype(dtype, out)
    out_dims, bounds = _prepare_out(out, dims, region, dt)
    _check_scale(dt, "gain", g, f"gain={gain!r}")
    check_source(seed, generator)
    if out is None:
        out = allocate(out_dims, dt)
    spec = _Matrices((c_out, c_in), "torch", None, None)
    matrix = spec.to_tensor(_factors(spec, 0, 1, g, seed, generator))  # (out, in): the one stream
    full = np.zeros(dims)
    if full.size:
        centre: tuple[Any, ...] = tuple(k // 2 for k in spatial)
        if lay == "torch":
            full[(slice(None), slice(None), *centre)] = matrix
        else:
            full[(*centre, slice(None), slice(None))] = matrix.T
    block = full if bounds is None else full[tuple(slice(s, e) for s, e in bounds)]
    _store(block.reshape(out_dims), out, g)
    result: FloatArray = out
    return result


# --- deterministic structures --------------------------------------------------------------
def identity(
    shape: Sequence[int],
    gain: float = 1.0,
    *,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
) -> FloatArray:
    """``gain`` on the diagonal, zeros elsewhere: torch's ``eye_`` (2-d, rectangular allowed).

    .. math:: W_{ij} = g\\, \\delta_{ij}

    Preserves the identity of the inputs in linear layers, as many as
    ``min(rows, cols)`` of them; the IRNN (Le, Jaitly & Hinton 2015) starts its
    recurrent matrix here.  No random stream is used.

    Parameters
    ----------
    shape : sequence of int
        Exactly two dimensions.
    gain : float
        Finite, ``>= 0``, rounded once to ``dtype``.
    dtype, out
        As for :func:`orthogonal`.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Not two dimensions ("Only tensors with 2 dimensions are supported"), a
        negative or non-finite gain, one the dtype cannot hold, an ``out`` of
        another shape.  Nothing is written.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> xb.identity((2, 3), gain=2.0).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """
    dims = check_shape(shape)
    if len(dims) != 2:
        raise ValueError(f"shape must have 2 dimensions (Only tensors with 2 dimensions are supported), got {dims}")
    g = check_real("gain", gain, minimum=0.0)
    dt = resolve_dtype(dtype, out)
    _prepare_out(out, dims, None, dt)
    _check_scale(dt, "gain", g, f"gain={gain!r}")
    if out is None:
        out = allocate(dims, dt)
    _store(np.eye(dims[0], dims[1]) * g, out, None)
    result: FloatArray = out
    return result


def dirac(
    shape: Sequence[int],
    groups: int = 1,
    *,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
) -> FloatArray:
    """The Dirac delta kernel: a convolution that passes its input channels through, torch's ``dirac_``.

    In torch's layout ``(out, in, *k)`` with ``groups`` groups of ``out // groups``
    output channels each,

    .. math:: W_{g\\,p + d,\\ d,\\ k // 2} = 1\\quad (0 \\le g < \\text{groups},\\ 0 \\le d < \\min(p, \\text{in})),
              \\qquad p = \\text{out} / \\text{groups},

    and zero elsewhere: output channel ``d`` of each group copies input
    channel ``d``.  No random stream is used.

    Parameters
    ----------
    shape : sequence of int
        3, 4 or 5 dimensions, ``shape[0]`` divisible by ``groups``.
    groups : int
        ``>= 1``.
    dtype, out
        As for :func:`orthogonal`.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Not 3-5 dimensions, ``groups < 1``, ``shape[0]`` not divisible by
        ``groups``, an ``out`` of another shape.  Nothing is written.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> w = xb.dirac((2, 2, 3))
    >>> w[:, :, 1].tolist(), float(w.sum())
    ([[1.0, 0.0], [0.0, 1.0]], 2.0)
    """
    dims = check_shape(shape)
    nd = len(dims)
    if nd not in (3, 4, 5):
        raise ValueError(
            f"shape must have 3, 4 or 5 dimensions (Only tensors with 3, 4, or 5 dimensions are supported), got {dims}"
        )
    k = check_int("groups", groups, minimum=1)
    if dims[0] % k:
        raise ValueError(f"groups must divide shape[0] = {dims[0]}, got {k}")
    dt = resolve_dtype(dtype, out)
    _prepare_out(out, dims, None, dt)
    if out is None:
        out = allocate(dims, dt)
    full = np.zeros(dims)
    if full.size:
        per_group = dims[0] // k
        d = np.arange(min(per_group, dims[1]))
        centre: tuple[Any, ...] = tuple(s // 2 for s in dims[2:])
        for grp in range(k):
            full[(grp * per_group + d, d, *centre)] = 1.0
    _store(full, out, None)
    result: FloatArray = out
    return result


# --- sparse --------------------------------------------------------------------------------
def sparse(
    shape: Sequence[int],
    sparsity: float,
    std: float = 0.01,
    *,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
) -> FloatArray:
    """A sparse matrix: a fixed number of zeros per column, the rest :math:`N(0, \\text{std}^2)`; torch's ``sparse_``.

    Martens' (2010) sparse initialisation, with torch's count: each of the
    ``cols`` columns of a ``rows x cols`` matrix has exactly
    :math:`z = \\lceil \\text{sparsity} \\cdot \\text{rows} \\rceil` zeros
    (``math.ceil(sparsity * rows)`` in float64, as torch computes it), at
    positions uniform among the :math:`\\binom{\\text{rows}}{z}` subsets,
    independently across columns; the other entries are
    :math:`\\text{std}\\cdot z_{ij}` with :math:`z_{ij} \\sim N(0, 1)`.

    **The stream.**  One call takes ``2 * rows * cols`` float64 normals from its
    one stream: entry ``(i, j)``'s value is position ``i * cols + j`` times
    ``std``, rounded once to ``dtype``; positions ``rows * cols + j * rows + i``
    are the *keys* of column ``j``, and its zeros are the rows with the ``z``
    smallest keys (ties, of probability near 0, to the lower row).  The keys
    are i.i.d. and continuous, so the zero set is a uniformly random subset of
    size ``z``, independent of the values.

    Parameters
    ----------
    shape : sequence of int
        Exactly two dimensions ``(rows, cols)``.
    sparsity : float
        The fraction of zeros per column, in ``[0, 1)``.
    std : float
        Finite, ``>= 0``: the standard deviation of the nonzero entries.
    seed, generator, dtype, out
        As for :func:`orthogonal`.

    Raises
    ------
    TypeError
        An argument of the wrong type.
    ValueError
        Not two dimensions ("Only tensors with 2 dimensions are supported"),
        ``sparsity`` outside ``[0, 1)``, a negative or non-finite ``std``, one
        the dtype cannot hold (:class:`~xinit_bench.ParameterRangeError`), an
        ``out`` of another shape.  Nothing is written and no generator advances.

    References
    ----------
    J. Martens, "Deep learning via Hessian-free optimization", ICML 2010.

    Examples
    --------
    >>> import numpy as np
    >>> import xinit_bench as xb
    >>> w = xb.sparse((10, 4), 0.3, seed=0)
    >>> (w == 0).sum(axis=0).tolist()
    [3, 3, 3, 3]
    """
    dims = check_shape(shape)
    if len(dims) != 2:
        raise ValueError(f"shape must have 2 dimensions (Only tensors with 2 dimensions are supported), got {dims}")
    s = check_real("sparsity", sparsity, minimum=0.0)
    if not s < 1.0:
        raise ValueError(f"sparsity must be a finite real number in [0, 1), got {sparsity!r}")
    sd = check_real("std", std, minimum=0.0)
    dt = resolve_dtype(dtype, out)
    _prepare_out(out, dims, None, dt)
    _check_scale(dt, f"{_Z_MAX_F64} std (the largest sample)", _Z_MAX_F64 * sd, f"std={std!r}")
    _check_scale(dt, "std", sd, f"std={std!r}")
    check_source(seed, generator)
    if out is None:
        out = allocate(dims, dt)
    rows, cols = dims
    size = rows * cols
    z = normal(2 * size, seed=seed, generator=generator, dtype=np.float64).astype(np.float64, copy=False)  # one stream
    values = z[:size].reshape(rows, cols) * sd
    zeros = min(rows, math.ceil(s * rows))
    if zeros and size:
        keys = z[size:].reshape(cols, rows)
        kth = np.partition(keys, zeros - 1, axis=1)[:, zeros - 1 : zeros]  # each column's z-th smallest key
        below = keys < kth
        tied = keys == kth
        need = zeros - below.sum(axis=1, keepdims=True)
        chosen = below | (tied & (np.cumsum(tied, axis=1) <= need))
        values[chosen.T] = 0.0
    _store(values, out, None)
    result: FloatArray = out
    return result
