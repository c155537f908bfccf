"""The laws of the raw samplers as memoised functions of the dtype: the bottom of the plan layer.

A law (:data:`Plan`) maps an output dtype (float32 or float64) to a kernel kind
of ``kernels.kinds.KINDS`` and its parameters, after checking that every
derived quantity (a width, a std, a bound, an extreme sample) fits the dtype.
The factories are memoised, because computing a plan costs about as much as
filling 1K elements and models call the same few plans over and over.
:mod:`xinit_bench.plans` builds every call's law from these.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from .validation import ParameterRangeError

__all__ = [
    "MIN_TRUNCATION_MASS",
    "TRUNCATED_STD_2",
    "Z_MAX",
    "Plan",
    "normal_plan",
    "symmetric_plan",
    "truncated_plan",
    "uniform_plan",
]

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
Z_MAX = {np.dtype(np.float32): 5.8, np.dtype(np.float64): 8.6}


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
    extreme = abs(mean) + Z_MAX[dt] * std
    if not _fits(dt, extreme):
        raise ParameterRangeError(
            f"|mean| + {Z_MAX[dt]} std must be finite in {dt}, got {given} (the largest sample, "
            f"{extreme:.6g}, overflows {dt}, whose largest value is {float(np.finfo(dt).max):.6g})"
        )


def _beyond_reach(dt: np.dtype[Any], mean: float, std: float, a: float, b: float, ends: list[float]) -> bool:
    """Whether the standardised bounds ``[a, b]`` contain every value the normal kernel returns in ``dt``, with room.

    The normal kernel's ``|z|`` never exceeds ``Z_MAX[dt]``, so truncating it to such bounds is the identity.
    The room covers the roundings of ``mean + std z`` and of the bounds in ``dt`` (a few ulps of the largest
    magnitude involved), so that no sample can land outside the rounded bounds either.
    """
    if not (a < -Z_MAX[dt] and b > Z_MAX[dt]):
        return False
    ulp = float(np.finfo(dt).eps)
    return all(std * (z - Z_MAX[dt]) > 8 * ulp * (abs(mean) + z * std) for z in ends)


# --- laws: memoised functions of the dtype ----------------------------------------------
#: A plan maps the output dtype to the sampler kind (a name of ``kernels.kinds.KINDS``) and its params.
Plan = Callable[[np.dtype[Any]], tuple[str, tuple[Any, ...]]]


class _Law:
    """A memoised law: ``law(dt)`` computes its result once per dtype.

    ``support`` is ``(lower, upper)``, the absolute interval every sample must
    lie in, for a law whose kernel does not impose it itself (a truncation
    served by the normal kernel); the half clamps (:mod:`xinit_bench.half`)
    keep a half output inside it.
    """

    __slots__ = ("_base", "_results", "support")

    def __init__(self, base: Plan, support: tuple[float, float] | None) -> None:
        self._base = base
        self._results: dict[np.dtype[Any], tuple[str, tuple[Any, ...]]] = {}
        self.support = support

    def __call__(self, dt: np.dtype[Any]) -> tuple[str, tuple[Any, ...]]:
        found = self._results.get(dt)
        if found is None:
            found = self._results[dt] = self._base(dt)
        return found


def _memoised(
    factory: Callable[..., Plan], support: Callable[..., tuple[float, float]] | None = None
) -> Callable[..., Plan]:
    """Cache ``factory``'s plans, and each plan's result per dtype.

    Computing a plan's params costs about as much as filling 1K elements
    (NumPy scalar arithmetic, ``nextafter``, SciPy's ``ndtr``), and models
    call the same few plans over and over.  The key carries each value's sign,
    so that ``-0.0`` and ``0.0`` (equal, and equal in hash) keep their own
    plans; a refused combination raises and is not cached.  ``support`` gives
    the law's :attr:`_Law.support` from the same values.
    """
    plans: dict[tuple[float, ...], _Law] = {}

    def cached(*values: float) -> Plan:
        # Only a zero needs its sign in the key (0.0 == -0.0); other values key as they are.
        key = values if 0.0 not in values else (*values, *(math.copysign(1.0, v) for v in values))
        plan = plans.get(key)
        if plan is None:
            if len(plans) >= _MEMO_SIZE:
                plans.clear()
            plan = plans[key] = _Law(factory(*values), None if support is None else support(*values))
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


def _truncation_support(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    return mean + std * a, mean + std * b


def _truncated_plan(mean: float, std: float, a: float, b: float) -> Plan:
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
    same bits (``tests/core/test_laws.py``); only speed differs.
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


truncated_plan = _memoised(_truncated_plan, _truncation_support)
