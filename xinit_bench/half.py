"""float16 and bfloat16 outputs: the float32 fill, rounded once and kept inside the support.

The contract (docs/design.md, "Half precision"): a half-precision element
consumes the same words as the float32 element at its position and equals it
rounded once to nearest-even, then clamped into the sampler's support,

.. math:: h_i = \\operatorname{clip}(\\operatorname{rne}_h(x_i),\\ \\ell_h,\\ u_h),

where :math:`x_i` is element ``i`` of the float32 fill with the same
arguments and :math:`\\ell_h, u_h` are the half values nearest to the support's
ends from inside it: the largest half value *below* an excluded upper bound
(``uniform``'s ``high``), at or below an included one (a truncation bound),
and symmetrically at the lower end.  Rounding alone would leave the support:
of ``uniform(0, 1)``'s float32 grid, every value above ``1 - 2**-9`` rounds to
1.0 in bfloat16.  The kernels clamp in float32 before rounding, which gives
the same bits because rounding is monotone and the identity on half values.

bfloat16 is ``ml_dtypes.bfloat16`` (the NumPy dtype of the JAX ecosystem):
8 exponent bits as float32, 8 significand bits.  float16 is IEEE binary16:
5 exponent bits (largest value 65504, smallest normal ``2**-14``).  Parameters
whose samples would overflow the half type, or whose nonzero scale would be
subnormal in it, are refused with :class:`~xinit_bench.ParameterRangeError`,
as for float32 and float64.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .laws import Z_MAX
from .validation import ParameterRangeError

__all__ = ["HalfInfo", "clamps", "half_info"]

#: Largest ``|z|`` of the float32 standard-normal kernel, rounded up.
_Z_MAX_F32 = Z_MAX[np.dtype(np.float32)]


class HalfInfo:
    """What the clamps need of a half type: its largest value, smallest normal, and neighbours."""

    def __init__(self, dt: np.dtype[Any]) -> None:
        self.dtype = dt
        self.name = dt.name
        codes = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
        with np.errstate(invalid="ignore"):  # the NaN codes
            values = codes.view(dt).astype(np.float32)
        finite = np.isfinite(values)
        #: Every finite value of the type, ascending, with one zero (float32).
        self.values = np.unique(values[finite])
        self.max = float(self.values[-1])
        positive = self.values[self.values > 0]
        exponent_bits = 5 if dt.kind == "f" else 8
        self.smallest_normal = float(2.0 ** (2 - 2 ** (exponent_bits - 1)))
        assert positive[0] < self.smallest_normal

    def below(self, x: float, *, strict: bool) -> float:
        """The largest value ``<= x`` (``< x`` if ``strict``); ``-inf`` if none."""
        if x == np.inf:
            return np.inf
        side: Literal["left", "right"] = "left" if strict else "right"
        k = int(np.searchsorted(self.values, x, side=side)) - 1
        return float(self.values[k]) if k >= 0 else -np.inf

    def above(self, x: float, *, strict: bool) -> float:
        """The smallest value ``>= x`` (``> x`` if ``strict``); ``inf`` if none."""
        return -self.below(-x, strict=strict)


_INFO: dict[str, HalfInfo] = {}


def half_info(dt: np.dtype[Any]) -> HalfInfo:
    """The :class:`HalfInfo` of float16 or bfloat16, built once (a 64K-entry table)."""
    info = _INFO.get(dt.name)
    if info is None:
        info = _INFO[dt.name] = HalfInfo(dt)
    return info


_CLAMPS: dict[tuple[Any, ...], tuple[np.float32, np.float32]] = {}


def clamps(
    kind: str,
    params: tuple[Any, ...],
    dt: np.dtype[Any],
    given: str | None = None,
    support: tuple[float, float] | None = None,
) -> tuple[np.float32, np.float32]:
    """``(lo_h, hi_h)`` of a float32 plan ``(kind, params)`` in the half type ``dt``, after checking it fits.

    Memoised per plan: only the first call of a plan computes anything.  An
    error message names ``given``, by default the kind and its float32 parameters.

    Raises
    ------
    ParameterRangeError
        The support reaches beyond the half type's largest value, a nonzero
        scale is below its smallest normal, or no half value lies in the support.
    """
    memo = (kind, params, dt.name, support)
    found = _CLAMPS.get(memo)
    if found is None:
        if len(_CLAMPS) >= 4096:  # as the plan caches: a bounded memo
            _CLAMPS.clear()
        if given is None:
            given = f"the {kind} parameters {tuple(float(v) for v in params)} (their float32 values)"
        found = _CLAMPS[memo] = _clamps(kind, params, half_info(dt), given, support)
    return found


def _refuse(info: HalfInfo, what: str, given: str, detail: str) -> ParameterRangeError:
    return ParameterRangeError(f"{what} must fit {info.name}, got {given} ({detail})")


def _clamps(
    kind: str, params: tuple[Any, ...], info: HalfInfo, given: str, support: tuple[float, float] | None
) -> tuple[np.float32, np.float32]:
    big = info.max
    if kind == "uniform":
        low, _, high_below = (float(v) for v in params)
        if not (-big <= low and high_below <= big):
            raise _refuse(info, "low and high", given, f"its largest value is {big:g}")
        lo, hi = info.above(low, strict=False), info.below(high_below, strict=False)
        if not lo <= hi:
            raise ParameterRangeError(f"[low, high) must contain a {info.name} value, got {given}")
    elif kind == "symmetric_uniform":
        bound_below = float(params[1])
        if bound_below > big:
            raise _refuse(info, "bound", given, f"its largest value is {big:g}")
        hi = info.below(bound_below, strict=False)
        if hi < info.smallest_normal and float(params[0]) != 0:  # a zero bound is the all-zero law, as in float32
            raise _refuse(info, "bound", given, f"the bound is below its smallest normal, {info.smallest_normal:g}")
        lo = -hi
    elif kind == "normal":
        mean, std = float(params[0]), float(params[1])
        _check_scale(info, std, given)
        if abs(mean) + _Z_MAX_F32 * std > big:
            raise _refuse(info, f"|mean| + {_Z_MAX_F32} std", given, f"its largest value is {big:g}")
        lo, hi = -np.inf, np.inf
        if support is not None:  # a truncation served by the normal kernel: rounding may not leave its bounds
            lo, hi = info.above(support[0], strict=False), info.below(support[1], strict=False)
            if not lo <= hi:
                raise ParameterRangeError(f"[lower, upper] must contain a {info.name} value, got {given}")
    elif kind.startswith("truncated_normal"):
        mean, scale, lo_b, hi_b = (float(v) for v in params[2:6])
        _check_scale(info, abs(scale), given)
        for end in (lo_b, hi_b):
            if np.isfinite(end) and abs(end) > big:
                raise _refuse(info, "the truncation bounds", given, f"its largest value is {big:g}")
        if not (np.isfinite(lo_b) and np.isfinite(hi_b)) and abs(mean) + _Z_MAX_F32 * abs(scale) > big:
            raise _refuse(info, f"|mean| + {_Z_MAX_F32} std", given, f"its largest value is {big:g}")
        lo, hi = info.above(lo_b, strict=False), info.below(hi_b, strict=False)
        if not lo <= hi:
            raise ParameterRangeError(f"[lower, upper] must contain a {info.name} value, got {given}")
    else:
        raise ValueError(f"kind must be a sampler kind with a float output, got {kind!r}")
    return np.float32(lo), np.float32(hi)


def _check_scale(info: HalfInfo, scale: float, given: str) -> None:
    if scale != 0 and scale < info.smallest_normal:
        raise _refuse(info, "std", given, f"a nonzero std below its smallest normal, {info.smallest_normal:g}")
