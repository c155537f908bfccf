"""The plan layer: a call's arguments, checked, as the kernel kind and parameters it will run.

Every adapter (the NumPy API, :mod:`xinit_bench.torch`, :mod:`xinit_bench.dask`,
:mod:`xinit_bench.batch`) turns its arguments into a plan here, and nowhere
else, in two steps:

1. a *law* (:data:`Plan`): a call's arguments -- a raw sampler's parameters,
   or a scheme, its shape or fans, gain and mode -- checked and reduced to a
   memoised function of the output dtype (:func:`uniform_law`,
   :func:`normal_law`, :func:`truncated_normal_law`,
   :func:`variance_scaling_law`, :func:`scheme_law`; :func:`law_of` by the
   public function's name and arguments);
2. its :class:`Resolved` form for one dtype (:func:`resolve_plan`): the kernel kind,
   its parameters, and for float16/bfloat16 the clamps of the half contract
   (:mod:`xinit_bench.half`).  This is the one place where a half dtype
   becomes a float32 plan and its clamps.

Nothing here draws, allocates or changes state: a plan can be made and
resolved to check a call before anything is written.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .fans import Layout, compute_fans
from .gains import he_gain, scheme_gain
from .half import clamps
from .laws import MIN_TRUNCATION_MASS, TRUNCATED_STD_2, Plan, normal_plan, symmetric_plan, truncated_plan, uniform_plan
from .schemes import DISTRIBUTIONS, MODES, NAMED_SCHEMES, Distribution, Mode, fan_size
from .validation import (
    ParameterRangeError,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_shape,
    is_half,
    is_int,
)

__all__ = [
    "LAWS",
    "MIN_TRUNCATION_MASS",
    "TRUNCATED_STD_2",
    "Plan",
    "Resolved",
    "distribution_plan",
    "law_of",
    "normal_law",
    "normal_plan",
    "resolve_plan",
    "scheme_law",
    "symmetric_plan",
    "truncated_normal_law",
    "truncated_plan",
    "uniform_law",
    "uniform_plan",
    "variance_scaling_law",
]


# --- resolution: the one half-precision step --------------------------------------------------
class Resolved(NamedTuple):
    """A plan for one output dtype: the kernel ``kind``, its ``params``, and the half clamps.

    For float16/bfloat16, ``params`` are the float32 plan's and ``limits`` the
    ``(lo_h, hi_h)`` of :func:`xinit_bench.half.clamps`; otherwise ``limits`` is None.
    """

    kind: str
    params: tuple[Any, ...]
    limits: tuple[np.float32, np.float32] | None


_F32 = np.dtype(np.float32)


def resolve_plan(plan: Plan, dt: np.dtype[Any]) -> Resolved:
    """``plan`` for the output dtype ``dt``, checked: the one place a half dtype becomes float32 and clamps.

    A half dtype evaluates the float32 law and clamps its result into the
    support in ``dt`` (:mod:`xinit_bench.half`).  A law made by
    :func:`variance_scaling_law` or :func:`scheme_law` names its own
    parameter (``scale``, ``gain``) in the error.

    Raises
    ------
    ParameterRangeError
        The law's derived quantities do not fit ``dt``.
    """
    half = is_half(dt)
    try:
        kind, params = plan(_F32 if half else dt)
        limits = clamps(kind, params, dt, support=getattr(plan, "support", None)) if half else None
    except ParameterRangeError as exc:
        explain = getattr(plan, "explain", None)
        if explain is None:
            raise
        raise explain(exc, dt) from None
    return Resolved(kind, params, limits)


class _Explained:
    """A scheme's law, whose refusals for a dtype name the caller's ``scale`` (and ``gain``, if one was given).

    One object per call, holding plain values: the message is built only
    when a dtype refuses the law (:meth:`explain`).
    """

    __slots__ = ("_distribution", "_gain", "_law", "_n", "_scale", "support")

    def __init__(self, law: Plan, scale: Any, n: float, distribution: str, gain: Any) -> None:
        self._law = law
        self._scale, self._n, self._distribution, self._gain = scale, n, distribution, gain
        self.support = getattr(law, "support", None)

    def __call__(self, dt: np.dtype[Any]) -> tuple[str, tuple[Any, ...]]:
        return self._law(dt)

    def explain(self, exc: ParameterRangeError, dt: np.dtype[Any]) -> ParameterRangeError:
        scaled = (
            f"scale must give weights that fit {dt}, got scale={self._scale!r} with fan {self._n:g} "
            f"({self._distribution}): {exc}"
        )
        if self._gain is _NO_GAIN:
            return ParameterRangeError(scaled)
        return ParameterRangeError(f"gain must give weights that fit the dtype, got gain={self._gain!r}: {scaled}")


#: The ``gain`` of a law that was given a ``scale`` directly (:func:`variance_scaling_law`).
_NO_GAIN = object()


# --- laws from a call's arguments -------------------------------------------------------------
def uniform_law(low: Any = 0.0, high: Any = 1.0) -> Plan:
    """The law of ``uniform(shape, low, high)``: finite bounds, ``low < high``."""
    lo = check_real("low", low)
    hi = check_real("high", high)
    if not lo < hi:
        raise ValueError(f"high must be > low, got low={lo!r}, high={hi!r}")
    return uniform_plan(lo, hi)


def normal_law(mean: Any = 0.0, std: Any = 1.0) -> Plan:
    """The law of ``normal(shape, mean, std)``: finite mean, ``std >= 0``."""
    return normal_plan(check_real("mean", mean), check_real("std", std, minimum=0.0))


def truncated_normal_law(mean: Any = 0.0, std: Any = 1.0, a: Any = -2.0, b: Any = 2.0, absolute: Any = False) -> Plan:
    """The law of ``truncated_normal(shape, mean, std, a, b, absolute=)``: ``std > 0``, ``a < b``.

    With ``absolute``, ``a`` and ``b`` are the bounds themselves, standardised here.
    """
    m = check_real("mean", mean)
    s = check_real("std", std, positive=True)
    lo_std = check_real("a", a, allow_inf=True)
    hi_std = check_real("b", b, allow_inf=True)
    if check_bool("absolute", absolute):
        lo_std, hi_std = (lo_std - m) / s, (hi_std - m) / s
    if not lo_std < hi_std:
        raise ValueError(f"b must be > a, got a={a!r}, b={b!r}")
    return truncated_plan(m, s, lo_std, hi_std)


#: distribution -> law with variance ``var`` (see :func:`variance_scaling_law`).
_DISTRIBUTION: dict[str, Callable[[float], Plan]] = {
    "uniform": lambda var: symmetric_plan(math.sqrt(3.0 * var)),
    "normal": lambda var: normal_plan(0.0, math.sqrt(var)),
    "truncated_normal": lambda var: truncated_plan(0.0, math.sqrt(var) / TRUNCATED_STD_2, -2.0, 2.0),
}


def distribution_plan(distribution: Distribution, var: float) -> Plan:
    """The law of ``distribution`` with variance ``var``, as :func:`variance_scaling_law` draws it."""
    return _DISTRIBUTION[check_choice("distribution", distribution, DISTRIBUTIONS)](var)


def check_fans(fans: Any) -> tuple[int, int]:
    """An explicit ``fans=(fan_in, fan_out)``: two ints in ``[1, 2**63)``."""
    if is_int(fans) or isinstance(fans, (str, bytes)) or not isinstance(fans, Sequence):
        raise TypeError(f"fans must be a pair (fan_in, fan_out) of ints >= 1, got {fans!r}")
    if len(fans) != 2:
        raise ValueError(f"fans must be a pair (fan_in, fan_out) of ints >= 1, got {fans!r}")
    # No array has more than 2**63 elements, and a larger fan would overflow the float division.
    what = "an int in [1, 2**63)"
    return (
        check_int("fans[0]", fans[0], minimum=1, maximum=2**63 - 1, what=what),
        check_int("fans[1]", fans[1], minimum=1, maximum=2**63 - 1, what=what),
    )


def variance_scaling_law(
    shape: Any,
    scale: Any = 1.0,
    mode: Any = "fan_in",
    distribution: Any = "truncated_normal",
    layout: Layout = "torch",
    in_axis: int | None = None,
    out_axis: int | None = None,
    batch_axis: Sequence[int] = (),
    fans: Any = None,
) -> Plan:
    """The law of ``variance_scaling(shape, scale, mode, distribution, ...)``: ``Var[W] = scale / n_mode``.

    The fans come from ``fans`` if given, else from ``shape`` by
    :func:`~xinit_bench.compute_fans`.  A zero fan (a zero-element weight)
    gives the empty law ``N(0, 0)``: nothing is drawn and nothing divided.
    A refusal for the dtype names ``scale``.
    """
    return _scaled(shape, scale, mode, distribution, layout, in_axis, out_axis, batch_axis, fans, _NO_GAIN)


def _scaled(
    shape: Any,
    scale: Any,
    mode: Any,
    distribution: Any,
    layout: Layout,
    in_axis: int | None,
    out_axis: int | None,
    batch_axis: Sequence[int],
    fans: Any,
    gain: Any,
) -> Plan:
    dims = check_shape(shape)
    s = check_real("scale", scale, minimum=0.0)
    check_choice("mode", mode, MODES)
    check_choice("distribution", distribution, DISTRIBUTIONS)
    fan_in, fan_out = (
        check_fans(fans)
        if fans is not None
        else compute_fans(dims, layout, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    )
    try:
        n = fan_size(mode, fan_in, fan_out)
        var = s / n if n else 0.0
    except OverflowError:  # fans read from a shape with dimensions beyond float64
        raise ValueError(
            f"shape must have fans below 2**1024, got a shape of rank {len(dims)} with larger fans"
        ) from None
    if n == 0:
        return normal_plan(0.0, 0.0)
    if var == 0.0 and s != 0.0:
        raise ParameterRangeError(
            f"scale must give a nonzero weight variance scale / fan, got scale={scale!r} and fan {n:g} "
            f"(scale / fan underflows float64 to 0)"
        )
    return _Explained(_DISTRIBUTION[distribution](var), scale, n, distribution, gain)


def scheme_law(
    name: str,
    shape: Any,
    gain: Any = 1.0,
    nonlinearity: str | None = None,
    *,
    a: Any = 0.0,
    mode: Mode | None = None,
    layout: Layout = "torch",
) -> Plan:
    """The law of the named scheme ``name`` (a key of :data:`~xinit_bench.schemes.NAMED_SCHEMES`).

    ``variance_scaling_law(shape, g**2, mode, distribution)`` with the row's
    mode and distribution.  The gain ``g`` is :func:`~xinit_bench.gains.he_gain`
    of ``(a, nonlinearity)`` for the He family (``mode`` may be given), and
    :func:`~xinit_bench.gains.scheme_gain` of ``(gain, nonlinearity)`` for
    Xavier and LeCun (their mode is fixed).  A refusal for the dtype names ``gain``.
    """
    spec = NAMED_SCHEMES[name]
    if spec.family == "he":
        g = he_gain(a, "leaky_relu" if nonlinearity is None else nonlinearity)
    else:
        g = scheme_gain(gain, nonlinearity)
        mode = None
    mode = spec.mode if mode is None else mode
    return _scaled(shape, g**2, mode, spec.distribution, layout, None, None, (), None, g)


def _gain_scheme(name: str) -> Callable[..., Plan]:
    def law(shape: Any, gain: Any = 1.0, nonlinearity: str | None = None, layout: Layout = "torch") -> Plan:
        return scheme_law(name, shape, gain, nonlinearity, layout=layout)

    return law


def _he_scheme(name: str) -> Callable[..., Plan]:
    def law(
        shape: Any, a: Any = 0.0, mode: Mode = "fan_in", nonlinearity: str = "leaky_relu", layout: Layout = "torch"
    ) -> Plan:
        return scheme_law(name, shape, nonlinearity=nonlinearity, a=a, mode=mode, layout=layout)

    return law


#: Public function name -> its law, called with the public function's own argument names
#: (the sampling arguments -- seed, generator, dtype, out, offset, region -- are not the law's).
LAWS: Mapping[str, Callable[..., Plan]] = {
    "uniform": uniform_law,
    "normal": normal_law,
    "truncated_normal": truncated_normal_law,
    "variance_scaling": variance_scaling_law,
    **{name: (_he_scheme(name) if spec.family == "he" else _gain_scheme(name)) for name, spec in NAMED_SCHEMES.items()},
}


def _law_parameters(function: str) -> tuple[str, ...]:
    found = _PARAMETERS.get(function)
    if found is None:
        found = _PARAMETERS[function] = tuple(inspect.signature(LAWS[function]).parameters)
    return found


_PARAMETERS: dict[str, tuple[str, ...]] = {}


def law_of(function: str, arguments: Mapping[str, Any]) -> Plan:
    """The law of the public function ``function`` called with ``arguments`` (bound, by name).

    ``function`` is a key of :data:`LAWS` (a raw sampler, ``variance_scaling``
    or a named scheme); arguments that are not the law's (``seed``, ``dtype``,
    ...) are ignored, and those not given take the law's defaults.
    """
    law = LAWS[check_choice("function", function, tuple(LAWS))]
    return law(**{k: arguments[k] for k in _law_parameters(function) if k in arguments})
