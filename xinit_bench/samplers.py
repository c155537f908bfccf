"""The raw samplers and the sampling core that every initialiser ends in.

Samplers fill a flat view of the output with the parallel Philox kernels
(:mod:`xinit_bench.kernels.fill`), so for a given ``(seed, stream, shape,
dtype, parameters)`` the bits are the same on any thread count and any
machine.  Every argument is checked (:mod:`xinit_bench.validation`) before a
stream is reserved or anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._rng import Generator, resolve
from .launch import fill_flat
from .validation import check_bool, check_out, check_real, check_shape, resolve_dtype

__all__ = ["MIN_TRUNCATION_MASS", "TRUNCATED_STD_2", "FloatArray", "normal", "truncated_normal", "uniform"]

FloatArray = NDArray[np.floating[Any]]

#: Standard deviation of N(0, 1) truncated to [-2, 2]:
#: sqrt(1 - 4 phi(2) / (Phi(2) - Phi(-2))) (Johnson, Kotz & Balakrishnan,
#: *Continuous Univariate Distributions* vol. 1, sec. 10.1); the same constant
#: as Keras' and JAX's ``variance_scaling``.  tests/ checks it against scipy.
TRUNCATED_STD_2 = 0.87962566103423978

#: Smallest normal probability mass of a truncation interval that the float64
#: inverse CDF serves to full precision (its tail branches reach w = 756).
MIN_TRUNCATION_MASS = 1e-250


# --- the sampling core -----------------------------------------------------------
#: A plan maps the output dtype to the sampler kind (a name of ``kernels.kinds.KINDS``) and its params.
Plan = Callable[[np.dtype[Any]], tuple[str, tuple[Any, ...]]]


def sample(
    shape: Any, plan: Plan, seed: Any, generator: Generator | None, dtype: DTypeLike | None, out: Any
) -> FloatArray:
    """Validate everything, then reserve a stream and fill ``out`` (or a new array) in one kernel call."""
    dims = check_shape(shape)
    dt = resolve_dtype(dtype, out)
    if out is not None:
        check_out(out, dims, dt)
    kind, params = plan(dt)
    key = resolve(seed, generator)  # checks seed and generator; the one state change, after every check
    if out is None:
        out = np.empty(dims, dt)
    if out.size:
        fill_flat(kind, out.reshape(-1), key, 0, params)
    result: FloatArray = out
    return result


def _memoised(factory: Callable[..., Plan]) -> Callable[..., Plan]:
    """Cache ``factory``'s plans, and each plan's result per dtype.

    Computing a plan's params costs about as much as filling 1K elements
    (NumPy scalar arithmetic, ``nextafter``, SciPy's ``ndtr``), and models
    call the same few plans over and over.  The key carries each value's sign,
    so that ``-0.0`` and ``0.0`` (equal, and equal in hash) keep their own
    plans; a refused combination raises and is not cached.
    """
    plans: dict[tuple[float, ...], Plan] = {}

    def cached(*values: float) -> Plan:
        # Only a zero needs its sign in the key (0.0 == -0.0); other values key as they are.
        key = values if 0.0 not in values else (*values, *(math.copysign(1.0, v) for v in values))
        plan = plans.get(key)
        if plan is None:
            if len(plans) >= _MEMO_SIZE:
                plans.clear()
            base = factory(*values)
            results: dict[np.dtype[Any], tuple[str, tuple[Any, ...]]] = {}

            def plan(dt: np.dtype[Any]) -> tuple[str, tuple[Any, ...]]:
                found = results.get(dt)
                if found is None:
                    found = results[dt] = base(dt)
                return found

            plans[key] = plan
        return plan

    cached.__doc__ = factory.__doc__
    return cached


#: Plans kept per plan factory before the cache starts afresh.
_MEMO_SIZE = 4096


@_memoised
def uniform_plan(low: float, high: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        f = dt.type
        lo, hi = f(low), f(high)
        if not lo < hi:
            raise ValueError(f"high must be > low in {dt}, got low={low!r} and high={high!r}, which round to one value")
        return "uniform", (lo, f(high - low), np.nextafter(hi, lo))

    return plan


@_memoised
def symmetric_plan(bound: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        b = dt.type(bound)
        return "symmetric_uniform", (b, np.nextafter(b, dt.type(0)))

    return plan


@_memoised
def normal_plan(mean: float, std: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        return "normal", (dt.type(mean), dt.type(std))

    return plan


@_memoised
def truncated_plan(mean: float, std: float, a: float, b: float) -> Plan:
    """Inverse-CDF plan for N(mean, std) truncated to standardised [a, b].

    The interval is reflected to the side of the lower tail when ``a + b > 0``,
    because ``p`` is represented most precisely near 0.  The branch-free
    central kernel is used when every ``p`` on the kernel's uniform grid keeps
    ``w = -log(4 p (1 - p))`` inside its range.  Otherwise the float64 inverse
    CDF: branch-free over the first tail series when the grid keeps ``w`` below
    16 (float32) or 36 (float64), as for torch's ``trunc_normal_(std=0.02)``
    at +-100 sigma, else with a branch per tail series.  Those two give the
    same bits (``tests/test_kernel_vs_reference.py``); only speed differs.
    """
    reflect = a + b > 0
    lo, hi = (-b, -a) if reflect else (a, b)
    # SciPy and the kernels' constants are imported on first use, so that
    # ``import xinit_bench`` loads neither SciPy nor Numba.
    from scipy import special

    from .kernels import transforms as _tf

    p0 = float(special.ndtr(lo))
    dp = float(special.ndtr(hi)) - p0
    if not dp >= MIN_TRUNCATION_MASS:
        raise ValueError(
            f"the truncation interval [a, b] must have normal probability >= {MIN_TRUNCATION_MASS:g}, "
            f"got [{a!r}, {b!r}] (in standard deviations), of probability {dp:.3g}"
        )
    scale = -std if reflect else std
    bounds = (mean + std * a, mean + std * b)

    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        f32 = dt == np.float32
        bits, w_central = (24, _tf.W_CENTRAL_F32) if f32 else (53, _tf.W_CENTRAL_F64)
        w_tail = _tf.W_TAIL1_F64 if f32 else _tf.W_TAIL2_F64
        edge = 2.0**-bits
        p_ends = (p0 + dp * edge, p0 + dp * (1 - edge))
        w_max = max(-math.log(4 * p * (1 - p)) for p in p_ends)
        f = dt.type
        if w_max < w_central - 0.05:
            return "truncated_normal_central", tuple(f(v) for v in (p0, dp, mean, scale, *bounds))
        lo_b, hi_b = (float(f(v)) for v in bounds)
        # The 0.05 margins cover the rounding of w inside the kernels (~1e-15 relative).
        kind = "truncated_normal_tail" if w_max < w_tail - 0.05 else "truncated_normal"
        return kind, (p0, dp, float(mean), float(scale), lo_b, hi_b)

    return plan


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
    dtype : {float32, float64}, optional
        Default float32, or ``out.dtype``.
    out : ndarray, optional
        C-contiguous, writable float array of ``shape`` (``np.memmap`` and
        ``torch_tensor.numpy()`` views included), filled in place and returned.

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
    lo = check_real("low", low)
    hi = check_real("high", high)
    if not lo < hi:
        raise ValueError(f"high must be > low, got low={lo!r}, high={hi!r}")
    return sample(shape, uniform_plan(lo, hi), seed, generator, dtype, out)


def normal(
    shape: int | Sequence[int],
    mean: float = 0.0,
    std: float = 1.0,
    *,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
) -> FloatArray:
    """Normal samples :math:`N(\\text{mean}, \\text{std}^2)` by the Box-Muller transform.

    .. math:: z_{0} = r\\cos 2\\pi v,\\quad z_{1} = r\\sin 2\\pi v,\\qquad
              r = \\sqrt{-2 \\log u},\\ u \\in (0, 1]

    evaluated with branch-free polynomial ``log`` and ``sincos`` (no libm), so
    the loop vectorises.  With 24-bit ``u`` (float32) the largest ``|z|`` is
    :math:`\\sqrt{48 \\log 2} = 5.77`; with 53 bits (float64), 8.57.

    Parameters
    ----------
    shape, seed, generator, dtype, out
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
    m = check_real("mean", mean)
    s = check_real("std", std, minimum=0.0)
    return sample(shape, normal_plan(m, s), seed, generator, dtype, out)


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
    shape, seed, generator, dtype, out
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
    m = check_real("mean", mean)
    s = check_real("std", std, positive=True)
    lo_std = check_real("a", a, allow_inf=True)
    hi_std = check_real("b", b, allow_inf=True)
    if check_bool("absolute", absolute):
        lo_std, hi_std = (lo_std - m) / s, (hi_std - m) / s
    if not lo_std < hi_std:
        raise ValueError(f"b must be > a, got a={a!r}, b={b!r}")
    return sample(shape, truncated_plan(m, s, lo_std, hi_std), seed, generator, dtype, out)
