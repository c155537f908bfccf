"""Network description shared by the theory and the Monte Carlo: widths and initialisation.

:func:`~xinit_bench.propagation.predict` and
:func:`~xinit_bench.propagation.simulate` read their networks through
:func:`resolve_widths` and :meth:`InitSpec.parse`, so both reject bad input
with the same messages (:mod:`xinit_bench.validation`), before any work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .._rng import Generator
from ..init import variance_scaling
from ..samplers import uniform
from ..schemes import NAMED_SCHEMES, Distribution, fan_size
from ..validation import check_choice, check_int, check_real, is_int

__all__ = ["INIT_NAMES", "Distribution", "InitSpec", "Scheme", "bounded_count", "resolve_widths"]

#: Largest gain whose square is a finite float64.
_MAX_GAIN = math.sqrt(float.fromhex("0x1.fffffffffffffp+1023"))

Scheme = Literal["xavier", "he", "lecun", "standard"]
#: The heuristic of Glorot & Bengio (2010), eq. (1): ``U[-g/sqrt(n_in), g/sqrt(n_in)]``.
#: It is no scheme of the public API, so it is not in ``NAMED_SCHEMES``.
STANDARD = "standard"
#: Every accepted init name: the named schemes of the API, then ``"standard"``.
INIT_NAMES: tuple[str, ...] = (*NAMED_SCHEMES, STANDARD)


def resolve_widths(depth: Any, width: Any, widths: Sequence[int] | None) -> tuple[int, ...]:
    """``(n_0, ..., n_L)`` from ``depth`` and ``width``, or from ``widths``.

    Raises
    ------
    TypeError
        A depth, width or entry of ``widths`` that is not an int, or
        ``widths`` that is not a sequence.
    ValueError
        ``widths`` together with ``depth`` or ``width``; neither given;
        ``depth < 1`` or above 100000; a width ``< 1`` or of ``2**63`` or more;
    ``widths`` with fewer than 2 entries.

    Examples
    --------
    >>> resolve_widths(2, 8, None)
    (8, 8, 8)
    """
    if widths is not None:
        if depth is not None or width is not None:
            raise ValueError(
                f"pass either widths= or depth= and width=, not both (got widths={widths!r}, "
                f"depth={depth!r}, width={width!r})"
            )
        if is_int(widths) or isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray)):
            raise TypeError(f"widths must be a sequence of ints >= 1, got {widths!r}")
        if len(widths) < 2:
            raise ValueError(f"widths must list the input and at least one layer (>= 2 entries), got {widths!r}")
        if len(widths) > MAX_DEPTH + 1:
            raise ValueError(f"widths must have at most {MAX_DEPTH + 1} entries, got {len(widths)}")
        return tuple(bounded_count(f"widths[{i}]", w, MAX_WIDTH) for i, w in enumerate(widths))
    if depth is None or width is None:
        raise ValueError(f"pass depth= and width=, or widths= (got depth={depth!r}, width={width!r})")
    d = bounded_count("depth", depth, MAX_DEPTH)
    return (bounded_count("width", width, MAX_WIDTH),) * (d + 1)


def bounded_count(name: str, value: Any, maximum: int) -> int:
    """``check_int(name, value, minimum=1)``, then at most ``maximum`` (a separate message)."""
    v = check_int(name, value, minimum=1)
    if v > maximum:
        check_int(name, v, minimum=1, maximum=maximum)
    return v


#: Most layers of a network: the theory costs microseconds per layer, the Monte Carlo far more,
#: and a deeper tuple of widths would only exhaust memory.
MAX_DEPTH = 100_000
#: Most units per layer: no array holds more than 2**63 elements.
MAX_WIDTH = 2**63 - 1


@dataclass(frozen=True)
class InitSpec:
    r"""An initialisation: scheme, distribution and gain.

    ``Var[W]`` for a layer with ``fan_in`` inputs and ``fan_out`` outputs:

    .. math::

        \text{xavier: } \frac{2g^2}{n_{in}+n_{out}}, \quad
        \text{he, lecun: } \frac{g^2}{n_{in}}, \quad
        \text{standard: } \frac{g^2}{3 n_{in}}\ \ (W \sim U[-g/\sqrt{n_{in}}, g/\sqrt{n_{in}}])

    The named schemes (mode, distribution, default gain: 1 for xavier and
    lecun, :math:`\sqrt 2` for he) are the rows of
    :data:`xinit_bench.schemes.NAMED_SCHEMES`.  "standard" is the heuristic of
    Glorot & Bengio (2010), eq. (1), https://proceedings.mlr.press/v9/glorot10a.html,
    with default gain 1; xavier their eq. (16); he He et al. (2015), eq. (10),
    https://arxiv.org/abs/1502.01852; lecun LeCun et al. (1998), "Efficient BackProp".

    Examples
    --------
    >>> InitSpec.parse("xavier_uniform").variance(100, 300)
    0.005
    """

    scheme: str
    distribution: str
    gain: float

    @classmethod
    def parse(cls, init: str | InitSpec, gain: float | None = None) -> InitSpec:
        """From a name in :data:`INIT_NAMES` (and an optional gain override, a finite real > 0).

        Raises
        ------
        TypeError
            ``init`` is neither a str nor an InitSpec, or ``gain`` is not a real number.
        ValueError
            An unknown name, or a gain that is not finite and > 0.
        """
        g = None if gain is None else check_real("gain", gain, positive=True)
        if g is not None and g > _MAX_GAIN:
            raise ValueError(f"gain must be a finite real number in (0, 1.34e154] (gain**2 finite), got {gain!r}")
        if isinstance(init, InitSpec):
            return init if g is None else cls(init.scheme, init.distribution, g)
        if not isinstance(init, str):
            raise TypeError(f"init must be a str or an InitSpec, got {type(init).__name__}")
        name = check_choice("init", init, INIT_NAMES, casefold=True)
        if name == STANDARD:
            return cls(STANDARD, "uniform", 1.0 if g is None else g)
        spec = NAMED_SCHEMES[name]
        return cls(spec.family, spec.distribution, spec.default_gain if g is None else g)

    @property
    def name(self) -> str:
        """The init name: ``scheme_distribution``, or ``"standard"``."""
        return STANDARD if self.scheme == STANDARD else f"{self.scheme}_{self.distribution}"

    @property
    def default_gain(self) -> float:
        """The scheme's gain when none is given."""
        return 1.0 if self.scheme == STANDARD else NAMED_SCHEMES[self.name].default_gain

    @property
    def label(self) -> str:
        """The init name plus the gain when it is not the default."""
        return self.name if self.gain == self.default_gain else f"{self.name}(gain={self.gain:g})"

    def variance(self, fan_in: int, fan_out: int) -> float:
        """``Var[W]`` of a (fan_out, fan_in) weight matrix."""
        g2 = self.gain * self.gain
        if self.scheme == STANDARD:
            return g2 / (3.0 * fan_in)
        return g2 / fan_size(NAMED_SCHEMES[self.name].mode, fan_in, fan_out)

    def check_fits(self, widths: Sequence[int], dtype: Any) -> None:
        """Refuse (``ValueError`` naming the gain) weights whose variance or largest value leaves ``dtype``.

        Every layer's ``Var[W]`` must be a nonzero float64 and its largest
        possible weight (``8.6`` standard deviations of the parent normal, or
        the uniform bound) a finite, normal number in ``dtype``: the checks the
        samplers would make, before any buffer is allocated.
        """
        dt = np.dtype(dtype)
        info = np.finfo(dt)
        for l in range(len(widths) - 1):
            var = self.variance(widths[l], widths[l + 1])
            extreme = math.sqrt(var) * 8.6 / 0.8796 if math.isfinite(var) else math.inf
            if not (var > 0 and float(info.smallest_normal) <= math.sqrt(var) and extreme <= float(info.max)):
                raise ValueError(
                    f"gain must give weights that fit {dt.name}, got gain={self.gain!r} for {self.name} "
                    f"(layer {l + 1}: Var[W] = {var:.6g}, weights up to about {extreme:.6g})"
                )

    def sample(self, out: NDArray[np.floating[Any]], generator: Generator) -> None:
        """Fill ``out`` (shape (fan_out, fan_in), torch layout) with this project's samplers."""
        fan_out, fan_in = out.shape
        if self.scheme == STANDARD:
            bound = self.gain / math.sqrt(fan_in)
            uniform(out.shape, -bound, bound, generator=generator, dtype=out.dtype, out=out)
        else:
            variance_scaling(
                out.shape,
                scale=self.variance(fan_in, fan_out) * fan_in,
                mode="fan_in",
                distribution=NAMED_SCHEMES[self.name].distribution,
                generator=generator,
                dtype=out.dtype,
                out=out,
            )
