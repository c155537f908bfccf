r"""The named initialisation schemes, as data: one table for the API, the reference and the study.

Every named scheme is :func:`~xinit_bench.variance_scaling` with a fixed
*mode* (which fan divides the variance) and *distribution*, and a default
gain :math:`g`:

.. math:: \operatorname{Var}[W] = \frac{g^2}{n_\text{mode}}, \qquad
          n_\text{fan\_in} = \text{fan\_in},\quad
          n_\text{fan\_out} = \text{fan\_out},\quad
          n_\text{fan\_avg} = \tfrac{\text{fan\_in} + \text{fan\_out}}{2},\quad
          n_\text{fan\_geo\_avg} = \sqrt{\text{fan\_in}\,\text{fan\_out}} .

:data:`NAMED_SCHEMES` is the one source of those triples: the named
wrappers of :mod:`xinit_bench.init`, their NumPy versions in
:mod:`xinit_bench.reference` and the initialisations of
:mod:`xinit_bench.propagation` all read it.

References
----------
.. [1] Glorot & Bengio (2010), "Understanding the difficulty of training deep
   feedforward neural networks", AISTATS, eq. (16).
   https://proceedings.mlr.press/v9/glorot10a.html
.. [2] He, Zhang, Ren & Sun (2015), "Delving Deep into Rectifiers", ICCV,
   eq. (10). https://arxiv.org/abs/1502.01852
.. [3] LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp", Neural
   Networks: Tricks of the Trade.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

__all__ = [
    "DISTRIBUTIONS",
    "Distribution",
    "FAMILIES",
    "Family",
    "MODES",
    "Mode",
    "NAMED_SCHEMES",
    "SchemeSpec",
    "fan_size",
]

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["uniform", "normal", "truncated_normal"]
Family = Literal["xavier", "he", "lecun"]
MODES: tuple[str, ...] = get_args(Mode)
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)
FAMILIES: tuple[str, ...] = get_args(Family)

_FAN: dict[str, Callable[[int, int], float]] = {
    "fan_in": lambda fi, fo: fi,
    "fan_out": lambda fi, fo: fo,
    "fan_avg": lambda fi, fo: (fi + fo) / 2,
    "fan_geo_avg": lambda fi, fo: math.sqrt(fi * fo),
}


def fan_size(mode: str, fan_in: int, fan_out: int) -> float:
    """:math:`n_\\text{mode}`, the fan that divides the variance (see the module docstring).

    Examples
    --------
    >>> fan_size("fan_avg", 100, 300), fan_size("fan_geo_avg", 4, 9)
    (200.0, 6.0)
    """
    return _FAN[mode](fan_in, fan_out)


@dataclass(frozen=True)
class SchemeSpec:
    r"""One named scheme: ``Var[W] = default_gain**2 / fan_size(mode, fan_in, fan_out)`` drawn from ``distribution``.

    Attributes
    ----------
    family : {"xavier", "he", "lecun"}
        Glorot & Bengio (2010) [1]_, He et al. (2015) [2]_, LeCun et al. (1998) [3]_.
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
        The default mode (the He wrappers take ``mode=``).
    distribution : {"uniform", "normal", "truncated_normal"}
    default_gain : float
        :math:`g` when the caller gives none: 1 for Xavier and LeCun;
        :math:`\sqrt 2` for He, PyTorch's ``kaiming_*`` default
        ``calculate_gain("leaky_relu", 0)``.
    """

    family: Family
    mode: Mode
    distribution: Distribution
    default_gain: float

    @property
    def default_scale(self) -> float:
        """``default_gain ** 2``, the ``scale`` of :func:`~xinit_bench.variance_scaling`."""
        return self.default_gain**2

    def variance(self, fan_in: int, fan_out: int, gain: float | None = None) -> float:
        """``Var[W]`` of a weight with these fans, for ``gain`` (default :attr:`default_gain`).

        Examples
        --------
        >>> NAMED_SCHEMES["xavier_uniform"].variance(100, 300)
        0.005
        """
        g = self.default_gain if gain is None else gain
        return g * g / fan_size(self.mode, fan_in, fan_out)


_DEFAULT_GAIN: dict[str, float] = {"xavier": 1.0, "he": math.sqrt(2.0), "lecun": 1.0}
_MODE: dict[str, Mode] = {"xavier": "fan_avg", "he": "fan_in", "lecun": "fan_in"}

#: ``"<family>_<distribution>"`` -> :class:`SchemeSpec`, for the nine named
#: schemes of the public API, in the order Xavier, He, LeCun x uniform,
#: normal, truncated normal.
NAMED_SCHEMES: Mapping[str, SchemeSpec] = MappingProxyType(
    {
        f"{family}_{dist}": SchemeSpec(family, _MODE[family], dist, _DEFAULT_GAIN[family])  # type: ignore[arg-type]
        for family in FAMILIES
        for dist in DISTRIBUTIONS
    }
)
