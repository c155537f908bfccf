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

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._rng import Generator
from .orthogonal_law import (
    LAYOUTS,
    Layout,
    Matrices,
    begin,
    check_conv_shape,
    check_orthogonal,
    store,
)
from .regions import Region
from .runtime import launch_guard, parallel_allowed, prepare_threading
from .samplers import FloatArray, normal
from .structures import dirac, identity, sparse
from .validation import check_choice, check_real

__all__ = ["LAYOUTS", "Layout", "delta_orthogonal", "dirac", "identity", "orthogonal", "sparse"]

#: Below this many multiply-adds a single QR runs on the calling thread (a launch costs microseconds).
_PARALLEL_FROM = 1 << 21
#: The one rounding to the output dtype, by its name here too (tests reach it as ``xinit_bench.orthogonal._store``).
_store = store


# --- the orthogonal matrices ---------------------------------------------------------------
def _householder(mats: NDArray[np.float64], rdiag: NDArray[np.float64]) -> None:
    """Each ``mats[k]`` (``(m, n)``, ``m >= n``) becomes its ``Q``, ``rdiag[k]`` the diagonal of its ``R``."""
    from .kernels import _jit, qr

    k, m, n = mats.shape
    if k == 0 or n == 0:
        return
    work = m * n * n
    allowed = parallel_allowed()
    # Before any compile or cache load: the serial QR holds the parallel one's trailing update (behind a flag), so
    # loading even it makes Numba pick its threading layer, which must happen after TBB is loaded, as for the fills.
    prepare_threading()
    if k == 1 or (work >= _PARALLEL_FROM and allowed):
        kernel = qr.householder_q if work >= _PARALLEL_FROM and allowed else qr.serial_householder_q
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
    _jit.compile_quietly(qr.householder_q_batch, mats, rdiag)
    with launch_guard():
        qr.householder_q_batch(mats, rdiag)


def _factors(
    spec: Matrices, first: int, last: int, gain: float, seed: Any, generator: Generator | None
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
    spec: Matrices,
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
    >>> from xinit_bench.orthogonal import orthogonal
    >>> w = orthogonal((3, 5), seed=0, dtype=np.float64)
    >>> bool(np.allclose(w @ w.T, np.eye(3), atol=1e-12))
    True
    >>> bool((orthogonal((5, 3), seed=0, dtype=np.float64) == w.T).all())
    True
    """
    call = check_orthogonal(shape, gain, layout, column_axis, batch_axis)
    g = call.gain
    begun = begin(call.spec.dims, dtype, out, region, [("gain", g, f"gain={gain!r}")], (seed, generator))
    block = _orthogonal_block(call.spec, begun.bounds, g, seed, generator)  # reserves the call's one stream
    store(block.reshape(begun.out_dims), begun.out, g)
    result: FloatArray = begun.out
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
    dims = check_conv_shape(shape, "a 1-, 2- or 3-d convolution kernel")
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
    begun = begin(dims, dtype, out, region, [("gain", g, f"gain={gain!r}")], (seed, generator))
    spec = Matrices((c_out, c_in), "torch", None, None)
    matrix = spec.to_tensor(_factors(spec, 0, 1, g, seed, generator))  # (out, in): the one stream
    full = np.zeros(dims)
    if full.size:
        centre: tuple[Any, ...] = tuple(k // 2 for k in spatial)
        if lay == "torch":
            full[(slice(None), slice(None), *centre)] = matrix
        else:
            full[(*centre, slice(None), slice(None))] = matrix.T
    block = full if begun.bounds is None else full[tuple(slice(s, e) for s, e in begun.bounds)]
    store(block.reshape(begun.out_dims), begun.out, g)
    result: FloatArray = begun.out
    return result
