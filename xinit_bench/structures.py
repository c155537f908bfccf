"""Identity, Dirac and sparse initialisation: torch's ``eye_``, ``dirac_`` and ``sparse_`` on the NumPy API.

Each is a NumPy-API function with the validation contract of every
initialiser (:mod:`xinit_bench.validation`): its arguments are checked by
:mod:`xinit_bench.orthogonal_law` (``check_identity``, ``check_dirac``,
``check_sparse``, then ``begin``) before the output is allocated, and its
values rounded once by :func:`xinit_bench.orthogonal_law.store`.  :func:`identity` and :func:`dirac`
use no random stream; :func:`sparse` takes its values and its zeros' positions
from one stream, so it is reproducible as every sampler is.

References
----------
Q. V. Le, N. Jaitly, G. E. Hinton, "A simple way to initialize recurrent
networks of rectified linear units", arXiv:1504.00941 (2015).
J. Martens, "Deep learning via Hessian-free optimization", ICML 2010.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ._rng import Generator
from .orthogonal_law import begin, check_dirac, check_identity, check_sparse, store
from .samplers import FloatArray, normal

__all__ = ["dirac", "identity", "sparse"]


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
        As for :func:`xinit_bench.orthogonal`.

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
    dims, g, scales = check_identity(shape, gain)
    begun = begin(dims, dtype, out, None, scales, None)
    store(np.eye(dims[0], dims[1]) * g, begun.out, None)
    result: FloatArray = begun.out
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
        As for :func:`xinit_bench.orthogonal`.

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
    dims, k = check_dirac(shape, groups)
    begun = begin(dims, dtype, out, None, (), None)
    full = np.zeros(dims)
    if full.size:
        per_group = dims[0] // k
        d = np.arange(min(per_group, dims[1]))
        centre: tuple[Any, ...] = tuple(s // 2 for s in dims[2:])
        for grp in range(k):
            full[(grp * per_group + d, d, *centre)] = 1.0
    store(full, begun.out, None)
    result: FloatArray = begun.out
    return result


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
        As for :func:`xinit_bench.orthogonal`.

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
    dims, s, sd, scales = check_sparse(shape, sparsity, std)
    begun = begin(dims, dtype, out, None, scales, (seed, generator))
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
    store(values, begun.out, None)
    result: FloatArray = begun.out
    return result
