"""The raw samplers and the sampling core that every initialiser ends in.

Samplers fill a flat view of the output with the parallel Philox kernels
(:mod:`xinit_bench.kernels.fill`), so for a given ``(seed, stream, shape,
dtype, parameters)`` the bits are the same on any thread count and any
machine.  Every argument is checked (:mod:`xinit_bench.validation`) before a
stream is reserved or anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._rng import OFFSETS, Generator, check_source, resolve
from .launch import fill_flat, fill_runs
from .plans import (
    MIN_TRUNCATION_MASS,
    TRUNCATED_STD_2,
    Plan,
    normal_law,
    resolve_plan,
    truncated_normal_law,
    uniform_law,
)
from .regions import Region, check_region, region_runs
from .validation import (
    ParameterRangeError,
    allocate,
    check_int,
    check_out,
    check_shape,
    resolve_dtype,
)

__all__ = [
    "MIN_TRUNCATION_MASS",
    "TRUNCATED_STD_2",
    "FloatArray",
    "ParameterRangeError",
    "normal",
    "truncated_normal",
    "uniform",
]

FloatArray = NDArray[np.floating[Any]]


# --- the sampling core -----------------------------------------------------------


def sample(
    shape: Any,
    plan: Plan,
    seed: Any,
    generator: Generator | None,
    dtype: DTypeLike | None,
    out: Any,
    offset: Any = 0,
    region: Any = None,
) -> FloatArray:
    """Validate everything, allocate, then reserve a stream and fill ``out`` (or the new array) in one kernel call.

    ``shape`` is the global shape; with ``region`` the output is
    ``full[region]`` of it (:mod:`xinit_bench.regions`), and ``offset`` is the
    stream position of the global tensor's first element.  The allocation
    comes before the stream is reserved, so a call that fails with
    ``MemoryError`` leaves a generator where it was and a retry draws the
    same stream.
    """
    dims = check_shape(shape)
    dt = resolve_dtype(dtype, out)
    first = 0 if type(offset) is int and offset == 0 else check_offset(offset)
    out_dims, bounds = (dims, None) if region is None else check_region(region, dims)
    if first and first + math.prod(dims) > OFFSETS:
        raise ValueError(
            f"offset must leave room for the tensor's {math.prod(dims)} elements below 2**62, got offset={offset!r}"
        )
    if out is not None:
        check_out(out, out_dims, dt)
    kind, params, limits = resolve_plan(plan, dt)
    if not (generator is None and type(seed) is int and seed >= 0):
        check_source(seed, generator)  # before the allocation: a bad seed is no MemoryError
    if out is None:
        out = allocate(out_dims, dt)
    key = resolve(seed, generator)  # the one state change, after every check and the allocation
    if out.size:
        if bounds is None and limits is None:
            fill_flat(kind, out.reshape(-1), key, first, params)
        else:
            starts, length = (np.zeros(1, np.int64), out.size) if bounds is None else region_runs(dims, bounds)
            fill_block(kind, out, key, starts + first, length, params, limits)
    result: FloatArray = out
    return result


def check_offset(offset: Any) -> int:
    """A sampler's ``offset``: an int in ``[0, 2**62)``."""
    return check_int("offset", offset, minimum=0, maximum=OFFSETS - 1)


def fill_block(
    kind: str,
    out: NDArray[Any],
    key: tuple[np.uint32, np.uint32, np.uint32],
    starts: NDArray[np.int64],
    length: int,
    params: tuple[Any, ...],
    limits: tuple[np.float32, np.float32] | None,
) -> None:
    """Fill the C-contiguous ``out`` with the runs at stream positions ``starts``, ``length`` each, in one launch."""
    m = starts.size
    addresses = out.ctypes.data + np.arange(m, dtype=np.int64) * (length * out.itemsize)
    counts = np.full(m, length, np.int64)
    keys = np.tile(np.array(key, np.uint32), (m, 1))
    table = np.tile(np.asarray(params), (m, 1))
    table_clamps = None if limits is None else np.tile(np.array(limits, np.float32), (m, 1))
    fill_runs(kind, out.dtype, addresses, counts, starts, keys, table, table_clamps)


# --- raw samplers ----------------------------------------------------------------
def uniform(
    shape: int | Sequence[int],
    low: float = 0.0,
    high: float = 1.0,
    *,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    offset: int = 0,
    region: Region | None = None,
) -> FloatArray:
    """Uniform samples on ``[low, high)``.

    .. math:: x = \\min(\\text{low} + (\\text{high} - \\text{low})\\, u,\\ \\text{high}^-),
              \\qquad u = k\\, 2^{-b},\\ k \\in \\{0, \\dots, 2^b - 1\\}

    with :math:`b = 24` (float32) or 53 (float64) random bits, and
    :math:`\\text{high}^-` the largest float below ``high`` (rounding can
    never return ``high``).

    Parameters
    ----------
    shape : int or sequence of int
        Output shape.
    low, high : float
        Finite bounds, ``low < high``.
    seed : int, optional
        Non-negative integer; the same seed gives the same bits everywhere.
        ``None`` (and no ``generator``) draws fresh entropy.
    generator : Generator, optional
        A stateful stream source; mutually exclusive with ``seed``.
    dtype : {float32, float64, float16, bfloat16}, optional
        Default float32, or ``out.dtype``.  float16 and bfloat16
        (``ml_dtypes.bfloat16``) get the float32 values rounded once to
        nearest-even and clamped into the support (:mod:`xinit_bench.half`).
    out : ndarray, optional
        C-contiguous, writable float array of the output's shape (``np.memmap``
        and ``torch_tensor.numpy()`` views included), filled in place and returned.
    offset : int
        Stream position of the (global) tensor's first element, in ``[0, 2**62)``:
        ``uniform(n, offset=k)`` equals ``uniform(n + k)[k:]``.
    region : tuple of slices and ints, optional
        Compute only ``full[region]`` of the tensor of ``shape`` (step-1 slices
        and ints, as in NumPy indexing), bit for bit (:mod:`xinit_bench.regions`).

    Raises
    ------
    TypeError
        An argument of the wrong type: a shape that is not ints, a bound that
        is not a real number, a seed that is not an int, an ``out`` that is
        not a float array of the requested dtype (:mod:`xinit_bench.validation`).
    ValueError
        A value out of range: ``low >= high``, a NaN or infinite bound, a
        negative seed, a dtype other than float32 and float64, an ``out`` of
        another shape, read-only or not C-contiguous.  Nothing is written and
        no generator advances.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> xb.uniform(4, seed=0)
    array([0.12218684, 0.5622784 , 0.54024506, 0.86609626], dtype=float32)
    """
    return sample(shape, uniform_law(low, high), seed, generator, dtype, out, offset, region)


def normal(
    shape: int | Sequence[int],
    mean: float = 0.0,
    std: float = 1.0,
    *,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    offset: int = 0,
    region: Region | None = None,
) -> FloatArray:
    """Normal samples :math:`N(\\text{mean}, \\text{std}^2)` by the Box-Muller transform.

    .. math:: z_{0} = r\\cos 2\\pi v,\\quad z_{1} = r\\sin 2\\pi v,\\qquad
              r = \\sqrt{-2 \\log u},\\ u \\in (0, 1]

    evaluated with branch-free polynomial ``log`` and ``sincos`` (no libm), so
    the loop vectorises.  With 24-bit ``u`` (float32) the largest ``|z|`` is
    :math:`\\sqrt{48 \\log 2} = 5.77`; with 53 bits (float64), 8.57.

    Parameters
    ----------
    shape, seed, generator, dtype, out, offset, region
        As for :func:`uniform`.
    mean : float
        Finite mean.
    std : float
        Finite standard deviation, ``>= 0``.

    References
    ----------
    G. E. P. Box, M. E. Muller, "A note on the generation of random normal
    deviates", Ann. Math. Statist. 29 (1958).  https://doi.org/10.1214/aoms/1177706645

    Examples
    --------
    >>> import xinit_bench as xb
    >>> xb.normal(4, seed=0)
    array([-1.8954735 , -0.78204054,  0.7395831 , -0.8273339 ], dtype=float32)
    """
    return sample(shape, normal_law(mean, std), seed, generator, dtype, out, offset, region)


def truncated_normal(
    shape: int | Sequence[int],
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    absolute: bool = False,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    offset: int = 0,
    region: Region | None = None,
) -> FloatArray:
    """Samples of :math:`N(\\text{mean}, \\text{std}^2)` conditioned on ``[lower, upper]``.

    ``std`` is the *parent* normal's standard deviation (as in
    ``scipy.stats.truncnorm`` and ``torch.nn.init.trunc_normal_``); the
    samples' own standard deviation is smaller.  By default ``a`` and ``b``
    are in units of ``std`` about ``mean`` (``lower = mean + a std``); with
    ``absolute=True`` they are the bounds themselves, as in PyTorch.

    Sampling is by inversion, so every element costs the same:

    .. math:: x = \\mu + \\sigma\\,\\Phi^{-1}\\bigl(\\Phi(\\alpha) + (\\Phi(\\beta) - \\Phi(\\alpha))\\,u\\bigr),
              \\qquad u \\in (0, 1),

    with :math:`\\Phi^{-1}` a Chebyshev expansion in Giles's variable
    :math:`w = -\\log(4p(1-p))`.  No value falls outside ``[lower, upper]``.

    Parameters
    ----------
    shape, seed, generator, dtype, out, offset, region
        As for :func:`uniform`.
    mean : float
        Finite mean of the parent normal.
    std : float
        Finite standard deviation of the parent normal, ``> 0``.
    a, b : float
        Truncation points, ``a < b`` (``-inf``/``inf`` allowed).
    absolute : bool
        Whether ``a`` and ``b`` are absolute bounds rather than standardised.

    References
    ----------
    M. Giles, "Approximating the erfinv function", GPU Computing Gems Jade, 2011.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> x = xb.truncated_normal(100_000, seed=0)
    >>> bool(x.min() >= -2 and x.max() <= 2), round(float(x.std()), 2)
    (True, 0.88)
    """
    law = truncated_normal_law(mean, std, a, b, absolute)
    return sample(shape, law, seed, generator, dtype, out, offset, region)
