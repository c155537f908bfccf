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
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._rng import OFFSETS, Generator, check_source, resolve
from .half import clamps
from .launch import fill_flat, fill_runs
from .regions import Region, check_region, region_runs
from .validation import (
    ParameterRangeError,
    allocate,
    check_bool,
    check_int,
    check_out,
    check_real,
    check_shape,
    is_half,
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

#: Standard deviation of N(0, 1) truncated to [-2, 2]:
#: sqrt(1 - 4 phi(2) / (Phi(2) - Phi(-2))) (Johnson, Kotz & Balakrishnan,
#: *Continuous Univariate Distributions* vol. 1, sec. 10.1); the same constant
#: as Keras' and JAX's ``variance_scaling``.  tests/ checks it against scipy.
TRUNCATED_STD_2 = 0.87962566103423978

#: Smallest normal probability mass of a truncation interval that the float64
#: inverse CDF serves to full precision (its tail branches reach w = 756).
MIN_TRUNCATION_MASS = 1e-250


#: Largest ``|z|`` a standard-normal kernel can return, per output dtype, rounded up: Box-Muller's
#: ``sqrt(-2 log 2**-b)`` with b = 24 or 53 random bits (5.77, 8.57); the inverse CDF's grid ends are inside.
_Z_MAX = {np.dtype(np.float32): 5.8, np.dtype(np.float64): 8.6}


def _fits(dt: np.dtype[Any], value: float) -> bool:
    """Whether ``|value|`` is finite in ``dt`` (after rounding to it)."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(dt.type(value)))


def _normal_size(dt: np.dtype[Any], value: float) -> bool:
    """Whether the nonzero ``value`` stays a normal (neither zero nor subnormal) number in ``dt``."""
    with np.errstate(over="ignore", under="ignore"):
        return bool(abs(dt.type(value)) >= np.finfo(dt).smallest_normal)


def _check_derived(
    dt: np.dtype[Any], name: str, value: float, given: str, *, nonzero: bool = True, exact: str | None = None
) -> None:
    """Refuse a derived quantity ``name`` that overflows ``dt`` or (if nonzero) underflows it.

    ``exact`` shows the value when its float64 is already infinite (a width of 2e308).
    """
    if not _fits(dt, value):
        shown = exact if exact is not None and math.isinf(value) else f"{value:.6g}"
        raise ParameterRangeError(
            f"{name} must be finite in {dt}, got {given} ({name} {shown} overflows {dt}, "
            f"whose largest value is {float(np.finfo(dt).max):.6g})"
        )
    if nonzero and value != 0 and not _normal_size(dt, value):
        raise ParameterRangeError(
            f"{name} must be 0 or a normal {dt} number, got {given} ({name} {value:.6g} rounds to "
            f"{'0' if dt.type(value) == 0 else 'a subnormal'} in {dt}, below {float(np.finfo(dt).smallest_normal):.6g})"
        )


def _check_extent(dt: np.dtype[Any], mean: float, std: float, given: str) -> None:
    """Refuse a normal whose extreme samples ``mean +- z_max std`` overflow ``dt``."""
    extreme = abs(mean) + _Z_MAX[dt] * std
    if not _fits(dt, extreme):
        raise ParameterRangeError(
            f"|mean| + {_Z_MAX[dt]} std must be finite in {dt}, got {given} (the largest sample, "
            f"{extreme:.6g}, overflows {dt}, whose largest value is {float(np.finfo(dt).max):.6g})"
        )


def _beyond_reach(dt: np.dtype[Any], mean: float, std: float, a: float, b: float, ends: list[float]) -> bool:
    """Whether the standardised bounds ``[a, b]`` contain every value the normal kernel returns in ``dt``, with room.

    The normal kernel's ``|z|`` never exceeds ``_Z_MAX[dt]``, so truncating it to such bounds is the identity.
    The room covers the roundings of ``mean + std z`` and of the bounds in ``dt`` (a few ulps of the largest
    magnitude involved), so that no sample can land outside the rounded bounds either.
    """
    if not (a < -_Z_MAX[dt] and b > _Z_MAX[dt]):
        return False
    ulp = float(np.finfo(dt).eps)
    return all(std * (z - _Z_MAX[dt]) > 8 * ulp * (abs(mean) + z * std) for z in ends)


# --- the sampling core -----------------------------------------------------------
#: A plan maps the output dtype to the sampler kind (a name of ``kernels.kinds.KINDS``) and its params.
Plan = Callable[[np.dtype[Any]], tuple[str, tuple[Any, ...]]]


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
    half = is_half(dt)
    kind, params = plan(_F32 if half else dt)
    limits = clamps(kind, params, dt) if half else None
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


_F32 = np.dtype(np.float32)


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
        given = f"high={high!r}, low={low!r}"
        _check_derived(dt, "low", low, given, nonzero=False)
        _check_derived(dt, "high", high, given, nonzero=False)
        _check_derived(dt, "high - low", high - low, given, exact=f"{Decimal(high) - Decimal(low):.6g}")
        lo, hi = f(low), f(high)
        if not lo < hi:
            raise ValueError(f"high must be > low in {dt}, got low={low!r} and high={high!r}, which round to one value")
        return "uniform", (lo, f(high - low), np.nextafter(hi, lo))

    return plan


@_memoised
def symmetric_plan(bound: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        _check_derived(dt, "bound", bound, f"bound={bound!r}")
        b = dt.type(bound)
        return "symmetric_uniform", (b, np.nextafter(b, dt.type(0)))

    return plan


@_memoised
def normal_plan(mean: float, std: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        given = f"mean={mean!r}, std={std!r}"
        _check_derived(dt, "std", std, given)
        _check_derived(dt, "mean", mean, given, nonzero=False)
        _check_extent(dt, mean, std, given)
        return "normal", (dt.type(mean), dt.type(std))

    return plan


@_memoised
def truncated_plan(mean: float, std: float, a: float, b: float) -> Plan:
    """Inverse-CDF plan for N(mean, std) truncated to standardised [a, b].

    Bounds beyond every value the normal kernel can return (``|z| <= 5.8`` in
    float32, ``8.6`` in float64, with room for rounding) make the truncation
    the identity: those plans use the normal kernel (``"normal"``), for example
    torch's ``trunc_normal_(std=0.02)`` at +-100 sigma.  Otherwise the
    interval is reflected to the side of the lower tail when ``a + b > 0``,
    because ``p`` is represented most precisely near 0.  The branch-free
    central kernel is used when every ``p`` on the kernel's uniform grid keeps
    ``w = -log(4 p (1 - p))`` inside its range.  Otherwise the float64 inverse
    CDF: branch-free over the first tail series when the grid keeps ``w`` below
    16 (float32) or 36 (float64), else with a branch per tail series.  Those two give the
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
    ends = [abs(z) for z in (a, b) if math.isfinite(z)]

    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        given = f"mean={mean!r}, std={std!r}, a={a!r}, b={b!r}"
        _check_derived(dt, "std", std, given)
        _check_derived(dt, "mean", mean, given, nonzero=False)
        for end, z, what in zip(bounds, (a, b), ("mean + std * a", "mean + std * b"), strict=True):
            if math.isfinite(z):  # a finite end must stay finite: std = 1.8e308 at a = -2 overflows
                _check_derived(dt, what, end, given, nonzero=False)
        # An infinite end: the samples reach the grid's extreme p instead.
        if not (math.isfinite(a) and math.isfinite(b)):
            _check_extent(dt, mean, std, given)
        f = dt.type
        if _beyond_reach(dt, mean, std, a, b, ends):
            # The truncation removes nothing the normal kernel can return: the same law, the normal's speed.
            return "normal", (f(mean), f(std))
        f32 = dt == np.float32
        bits, w_central = (24, _tf.W_CENTRAL_F32) if f32 else (53, _tf.W_CENTRAL_F64)
        w_tail = _tf.W_TAIL1_F64 if f32 else _tf.W_TAIL2_F64
        edge = 2.0**-bits
        p_ends = (p0 + dp * edge, p0 + dp * (1 - edge))
        w_max = max(-math.log(4 * p * (1 - p)) for p in p_ends)
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
    lo = check_real("low", low)
    hi = check_real("high", high)
    if not lo < hi:
        raise ValueError(f"high must be > low, got low={lo!r}, high={hi!r}")
    return sample(shape, uniform_plan(lo, hi), seed, generator, dtype, out, offset, region)


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
    m = check_real("mean", mean)
    s = check_real("std", std, minimum=0.0)
    return sample(shape, normal_plan(m, s), seed, generator, dtype, out, offset, region)


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
    m = check_real("mean", mean)
    s = check_real("std", std, positive=True)
    lo_std = check_real("a", a, allow_inf=True)
    hi_std = check_real("b", b, allow_inf=True)
    if check_bool("absolute", absolute):
        lo_std, hi_std = (lo_std - m) / s, (hi_std - m) / s
    if not lo_std < hi_std:
        raise ValueError(f"b must be > a, got a={a!r}, b={b!r}")
    return sample(shape, truncated_plan(m, s, lo_std, hi_std), seed, generator, dtype, out, offset, region)
