"""Network description shared by the theory and the Monte Carlo: widths and initialisation.

Validation lives here so that :func:`~xinit_bench.propagation.predict` and
:func:`~xinit_bench.propagation.simulate` reject bad input with the same
messages, before any work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Sequence, cast, get_args

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from xinit_bench import Generator

__all__ = ["Distribution", "INIT_NAMES", "InitSpec", "Scheme", "resolve_widths", "validate_nonneg"]

Scheme = Literal["xavier", "he", "lecun", "standard"]
Distribution = Literal["uniform", "normal", "truncated_normal"]
_SCHEMES: tuple[str, ...] = get_args(Scheme)
_DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)
#: Every accepted init name: ``<scheme>_<distribution>`` and ``"standard"``.
INIT_NAMES: tuple[str, ...] = tuple(
    f"{s}_{d}" for s in _SCHEMES if s != "standard" for d in _DISTRIBUTIONS
) + ("standard",)
_DEFAULT_GAIN = {"xavier": 1.0, "he": math.sqrt(2.0), "lecun": 1.0, "standard": 1.0}


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def validate_nonneg(name: str, value: object, *, strict: bool = False) -> float:
    """Return ``float(value)`` after checking it is a finite real ``>= 0`` (``> 0`` if strict)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (strict and v == 0):
        raise ValueError(f"{name} must be finite and {'> 0' if strict else '>= 0'}, got {value!r}")
    return v


def resolve_widths(
    depth: int | None, width: int | None, widths: Sequence[int] | None
) -> tuple[int, ...]:
    """``(n_0, ..., n_L)`` from ``depth`` and ``width``, or from ``widths``.

    Raises
    ------
    ValueError
        ``widths`` together with ``depth`` or ``width``; neither given;
        ``depth < 1``; a width ``< 1``; ``widths`` with fewer than 2 entries.
    TypeError
        A non-integer depth or width.

    Examples
    --------
    >>> resolve_widths(2, 8, None)
    (8, 8, 8)
    """
    if widths is not None:
        if depth is not None or width is not None:
            raise ValueError(
                f"give either widths (got {list(widths)!r}) or depth and width "
                f"(got depth={depth!r}, width={width!r}), not both"
            )
        ws = tuple(widths)
        if len(ws) < 2:
            raise ValueError(f"widths must list the input and at least one layer (>= 2 entries), got {list(ws)!r}")
        for w in ws:
            if not _is_int(w):
                raise TypeError(f"widths must be integers, got {w!r} in {list(ws)!r}")
            if w < 1:
                raise ValueError(f"every width must be >= 1, got {w!r} in {list(ws)!r}")
        return tuple(int(w) for w in ws)
    if depth is None or width is None:
        raise ValueError(f"give depth and width, or widths (got depth={depth!r}, width={width!r})")
    if not _is_int(depth):
        raise TypeError(f"depth must be an integer, got {type(depth).__name__} {depth!r}")
    if not _is_int(width):
        raise TypeError(f"width must be an integer, got {type(width).__name__} {width!r}")
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    return (int(width),) * (int(depth) + 1)


@dataclass(frozen=True)
class InitSpec:
    r"""An initialisation: scheme, distribution and gain.

    ``Var[W]`` for a layer with ``fan_in`` inputs and ``fan_out`` outputs:

    .. math::

        \text{xavier: } \frac{2g^2}{n_{in}+n_{out}}, \quad
        \text{he, lecun: } \frac{g^2}{n_{in}}, \quad
        \text{standard: } \frac{g^2}{3 n_{in}}\ \ (W \sim U[-g/\sqrt{n_{in}}, g/\sqrt{n_{in}}])

    with default gains 1 (xavier, lecun, standard) and :math:`\sqrt 2` (he).
    "standard" is the heuristic of Glorot & Bengio (2010), eq. (1),
    https://proceedings.mlr.press/v9/glorot10a.html; xavier their eq. (16); he
    He et al. (2015), eq. (10), https://arxiv.org/abs/1502.01852; lecun LeCun
    et al. (1998), "Efficient BackProp".

    Examples
    --------
    >>> InitSpec.parse("xavier_uniform").variance(100, 300)
    0.005
    """

    scheme: str
    distribution: str
    gain: float

    @classmethod
    def parse(cls, init: "str | InitSpec", gain: float | None = None) -> "InitSpec":
        """From a name in :data:`INIT_NAMES` (and an optional gain override)."""
        if isinstance(init, InitSpec):
            if gain is None:
                return init
            return cls(init.scheme, init.distribution, validate_nonneg("gain", gain, strict=True))
        if not isinstance(init, str):
            raise TypeError(f"init must be a str or InitSpec, got {type(init).__name__}")
        name = init.lower()
        if name not in INIT_NAMES:
            raise ValueError(f"unknown init {init!r}; allowed: {', '.join(INIT_NAMES)}")
        if name == "standard":
            scheme, dist = "standard", "uniform"
        else:
            scheme, dist = name.split("_", 1)
        g = _DEFAULT_GAIN[scheme] if gain is None else validate_nonneg("gain", gain, strict=True)
        return cls(scheme, dist, g)

    @property
    def label(self) -> str:
        """``scheme_distribution`` plus the gain when it is not the default."""
        base = "standard" if self.scheme == "standard" else f"{self.scheme}_{self.distribution}"
        return base if self.gain == _DEFAULT_GAIN[self.scheme] else f"{base}(gain={self.gain:g})"

    def variance(self, fan_in: int, fan_out: int) -> float:
        """``Var[W]`` of a (fan_out, fan_in) weight matrix."""
        g2 = self.gain * self.gain
        if self.scheme == "xavier":
            return 2.0 * g2 / (fan_in + fan_out)
        if self.scheme == "standard":
            return g2 / (3.0 * fan_in)
        return g2 / fan_in

    def sample(self, out: NDArray[np.floating], generator: "Generator") -> None:
        """Fill ``out`` (shape (fan_out, fan_in), torch layout) with this project's samplers."""
        import xinit_bench as xb

        fan_out, fan_in = out.shape
        if self.scheme == "standard":
            bound = self.gain / math.sqrt(fan_in)
            xb.uniform(out.shape, -bound, bound, generator=generator, dtype=out.dtype, out=out)
        else:
            xb.variance_scaling(
                out.shape, scale=self.variance(fan_in, fan_out) * fan_in, mode="fan_in",
                distribution=cast(Distribution, self.distribution), generator=generator, dtype=out.dtype, out=out,
            )
