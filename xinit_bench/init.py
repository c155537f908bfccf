"""Initialisation schemes: the :func:`variance_scaling` core and its named wrappers.

All the initialisation maths lives in :func:`variance_scaling`; every named
scheme is one call to it, with the (mode, distribution) of its row in
:data:`xinit_bench.schemes.NAMED_SCHEMES`.  The raw samplers live in
:mod:`xinit_bench.samplers` and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from numpy.typing import DTypeLike

from ._rng import Generator
from .fans import Layout, compute_fans
from .gains import calculate_gain
from .regions import Region
from .samplers import (
    MIN_TRUNCATION_MASS,
    TRUNCATED_STD_2,
    FloatArray,
    ParameterRangeError,
    Plan,
    normal,
    normal_plan,
    sample,
    symmetric_plan,
    truncated_normal,
    truncated_plan,
    uniform,
)
from .schemes import DISTRIBUTIONS, MODES, NAMED_SCHEMES, Distribution, Mode, fan_size
from .validation import check_choice, check_int, check_real, check_shape, is_int, resolve_dtype

__all__ = [
    "DISTRIBUTIONS",
    "MIN_TRUNCATION_MASS",
    "MODES",
    "TRUNCATED_STD_2",
    "Distribution",
    "Mode",
    "glorot_normal",
    "glorot_truncated_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_truncated_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]

#: distribution -> plan of the law with variance ``var`` (see :func:`variance_scaling`).
_DISTRIBUTION: dict[str, Callable[[float], Plan]] = {
    "uniform": lambda var: symmetric_plan(math.sqrt(3.0 * var)),
    "normal": lambda var: normal_plan(0.0, math.sqrt(var)),
    "truncated_normal": lambda var: truncated_plan(0.0, math.sqrt(var) / TRUNCATED_STD_2, -2.0, 2.0),
}


def distribution_plan(distribution: Distribution, var: float) -> Plan:
    """The plan of ``distribution`` with variance ``var`` (as :func:`variance_scaling` draws it), for work lists."""
    return _DISTRIBUTION[check_choice("distribution", distribution, DISTRIBUTIONS)](var)


def _check_fans(fans: Any) -> tuple[int, int]:
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


def variance_scaling(
    shape: int | Sequence[int],
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "truncated_normal",
    *,
    layout: Layout = "torch",
    in_axis: int | None = None,
    out_axis: int | None = None,
    batch_axis: Sequence[int] = (),
    fans: tuple[int, int] | None = None,
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """Weights with variance ``scale / n``: the core of every named scheme.

    .. math::

        \\operatorname{Var}[W] = \\frac{s}{n}, \\qquad
        n = \\begin{cases}
            \\text{fan\\_in} & \\text{mode = fan\\_in} \\\\
            \\text{fan\\_out} & \\text{mode = fan\\_out} \\\\
            (\\text{fan\\_in} + \\text{fan\\_out}) / 2 & \\text{mode = fan\\_avg} \\\\
            \\sqrt{\\text{fan\\_in} \\cdot \\text{fan\\_out}} & \\text{mode = fan\\_geo\\_avg}
        \\end{cases}

    ``distribution`` chooses the law with that variance:
    ``"uniform"``: :math:`U(-\\sqrt{3 s / n}, \\sqrt{3 s / n})`;
    ``"normal"``: :math:`N(0, s / n)`, untruncated;
    ``"truncated_normal"``: a normal cut at :math:`\\pm 2` parent standard
    deviations, with the parent std :math:`\\sqrt{s/n} / 0.8796\\ldots` so
    that the variance is exactly :math:`s/n`.

    Parameters
    ----------
    shape : int or sequence of int
        Weight shape; by default in PyTorch's layout ``(out, in, *kernel)``,
        because most users hold PyTorch-shaped weights.
    scale : float
        :math:`s \\ge 0`, the variance multiplier (a gain :math:`g` is
        :math:`s = g^2`).
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
    distribution : {"uniform", "normal", "truncated_normal"}
    layout, in_axis, out_axis, batch_axis
        How to read the fans from ``shape``; see :func:`compute_fans`.
    fans : (int, int), optional
        Explicit ``(fan_in, fan_out)``; required for rank < 2.
    seed, generator, dtype, out, region
        As for :func:`uniform`; with ``region``, the fans come from the global ``shape``.

    Raises
    ------
    TypeError
        An argument of the wrong type (see :mod:`xinit_bench.validation`).
    ValueError
        A value out of range: a negative or non-finite scale, an unknown mode
        or distribution, fans that cannot be inferred, a bad ``out``.

    References
    ----------
    X. Glorot, Y. Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", AISTATS 2010.
    https://proceedings.mlr.press/v9/glorot10a.html
    K. He, X. Zhang, S. Ren, J. Sun, "Delving deep into rectifiers", ICCV 2015.
    https://arxiv.org/abs/1502.01852
    Y. LeCun, L. Bottou, G. Orr, K.-R. Mueller, "Efficient BackProp", 1998.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> w = xb.variance_scaling((256, 512), 2.0, "fan_in", "normal", seed=0)
    >>> round(float(w.var() * 512), 2)
    2.0
    """
    dims = check_shape(shape)
    s = check_real("scale", scale, minimum=0.0)
    check_choice("mode", mode, MODES)
    check_choice("distribution", distribution, DISTRIBUTIONS)
    fan_in, fan_out = (
        _check_fans(fans)
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
    if n == 0:  # a zero-element weight: nothing to draw, nothing to divide
        return sample(dims, normal_plan(0.0, 0.0), seed, generator, dtype, out, 0, region)
    if var == 0.0 and s != 0.0:
        raise ParameterRangeError(
            f"scale must give a nonzero weight variance scale / fan, got scale={scale!r} and fan {n:g} "
            f"(scale / fan underflows float64 to 0)"
        )
    try:
        return sample(dims, _DISTRIBUTION[distribution](var), seed, generator, dtype, out, 0, region)
    except ParameterRangeError as exc:  # the sampler's derived quantity, traced back to scale
        raise ParameterRangeError(
            f"scale must give weights that fit {resolve_dtype(dtype, out)}, got scale={scale!r} "
            f"with fan {n:g} ({distribution}): {exc}"
        ) from None


# --- named schemes: one call each ------------------------------------------------------
def _gain(gain: float, nonlinearity: str | None) -> float:
    g = check_real("gain", gain, minimum=0.0)
    if g > _MAX_GAIN:
        raise ValueError(f"gain must be a finite real number in [0, 1.34e154] (gain**2 finite), got {gain!r}")
    if nonlinearity is None:
        return g
    if g != 1.0:
        raise ValueError(f"pass either gain= or nonlinearity=, not both (got gain={gain!r})")
    return calculate_gain(nonlinearity)


def _he_gain(a: float, nonlinearity: str) -> float:
    slope = check_real("a", a)
    try:
        return calculate_gain(nonlinearity, slope if nonlinearity == "leaky_relu" else None)
    except ValueError as exc:  # a slope whose gain leaves float64's normal range
        if not str(exc).startswith("param "):
            raise
        raise ValueError(f"a must give a gain in float64's normal range, got a={a!r}: {exc}") from None


#: Largest gain whose square, the variance scale, is a finite float64: sqrt(1.797e308).
_MAX_GAIN = math.sqrt(float.fromhex("0x1.fffffffffffffp+1023"))


def _named(
    name: str,
    shape: int | Sequence[int],
    gain: float,
    mode: Mode | None,
    layout: Layout,
    seed: int | None,
    generator: Generator | None,
    dtype: DTypeLike | None,
    out: FloatArray | None,
    region: Region | None,
) -> FloatArray:
    """``variance_scaling(shape, gain**2, mode, distribution)`` with the row ``name`` of NAMED_SCHEMES."""
    spec = NAMED_SCHEMES[name]
    try:
        return variance_scaling(
            shape,
            gain**2,
            spec.mode if mode is None else mode,
            spec.distribution,
            layout=layout,
            seed=seed,
            generator=generator,
            dtype=dtype,
            out=out,
            region=region,
        )
    except ParameterRangeError as exc:  # traced back to the gain (scale = gain**2)
        raise ParameterRangeError(f"gain must give weights that fit the dtype, got gain={gain!r}: {exc}") from None


def xavier_uniform(
    shape: int | Sequence[int],
    gain: float = 1.0,
    *,
    nonlinearity: str | None = None,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """Glorot & Bengio (2010) uniform: ``variance_scaling(shape, gain**2, "fan_avg", "uniform")``.

    .. math:: W \\sim U(-b, b), \\quad b = g\\sqrt{\\frac{6}{\\text{fan\\_in} + \\text{fan\\_out}}}

    ``nonlinearity`` sets ``gain = calculate_gain(nonlinearity)``.  Same as
    ``torch.nn.init.xavier_uniform_`` and ``keras.initializers.GlorotUniform``.

    References
    ----------
    X. Glorot, Y. Bengio, AISTATS 2010, eq. (16).  https://proceedings.mlr.press/v9/glorot10a.html

    Examples
    --------
    >>> import xinit_bench as xb
    >>> xb.xavier_uniform((2, 2), seed=0)
    array([[-0.92544943,  0.15255035],
           [ 0.09857993,  0.89674914]], dtype=float32)
    """
    return _named("xavier_uniform", shape, _gain(gain, nonlinearity), None, layout, seed, generator, dtype, out, region)


def xavier_normal(
    shape: int | Sequence[int],
    gain: float = 1.0,
    *,
    nonlinearity: str | None = None,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """Glorot & Bengio (2010) normal, untruncated: ``variance_scaling(shape, gain**2, "fan_avg", "normal")``.

    .. math:: W \\sim N\\Bigl(0, \\frac{2 g^2}{\\text{fan\\_in} + \\text{fan\\_out}}\\Bigr)

    Same as ``torch.nn.init.xavier_normal_`` (not JAX's ``glorot_normal``,
    which is truncated: that is :func:`xavier_truncated_normal`).
    """
    return _named("xavier_normal", shape, _gain(gain, nonlinearity), None, layout, seed, generator, dtype, out, region)


def xavier_truncated_normal(
    shape: int | Sequence[int],
    gain: float = 1.0,
    *,
    nonlinearity: str | None = None,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """Glorot normal truncated at +-2 parent std, variance exactly ``2 g^2 / (fan_in + fan_out)``.

    ``variance_scaling(shape, gain**2, "fan_avg", "truncated_normal")``; Keras'
    ``GlorotNormal`` and JAX's ``glorot_normal``.
    """
    return _named(
        "xavier_truncated_normal", shape, _gain(gain, nonlinearity), None, layout, seed, generator, dtype, out, region
    )


def he_uniform(
    shape: int | Sequence[int],
    a: float = 0.0,
    mode: Mode = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """He et al. (2015) uniform: ``variance_scaling(shape, g**2, mode, "uniform")``.

    ``g = calculate_gain(nonlinearity, a)``.

    .. math:: W \\sim U(-b, b), \\quad b = g \\sqrt{3 / \\text{fan\\_mode}}

    Defaults as ``torch.nn.init.kaiming_uniform_`` (``leaky_relu`` with
    ``a = 0``, i.e. :math:`g = \\sqrt 2`).  ``a`` is the negative slope and
    only matters for ``leaky_relu``.

    References
    ----------
    K. He et al., "Delving deep into rectifiers", ICCV 2015, eq. (10).
    https://arxiv.org/abs/1502.01852
    """
    return _named("he_uniform", shape, _he_gain(a, nonlinearity), mode, layout, seed, generator, dtype, out, region)


def he_normal(
    shape: int | Sequence[int],
    a: float = 0.0,
    mode: Mode = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """He et al. (2015) normal, untruncated: ``variance_scaling(shape, g**2, mode, "normal")``.

    .. math:: W \\sim N(0, g^2 / \\text{fan\\_mode})

    As ``torch.nn.init.kaiming_normal_``.
    """
    return _named("he_normal", shape, _he_gain(a, nonlinearity), mode, layout, seed, generator, dtype, out, region)


def he_truncated_normal(
    shape: int | Sequence[int],
    a: float = 0.0,
    mode: Mode = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """He normal truncated at +-2 parent std with variance exactly ``g^2 / fan_mode`` (Keras' ``HeNormal``)."""
    return _named(
        "he_truncated_normal", shape, _he_gain(a, nonlinearity), mode, layout, seed, generator, dtype, out, region
    )


def lecun_uniform(
    shape: int | Sequence[int],
    gain: float = 1.0,
    *,
    nonlinearity: str | None = None,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """LeCun uniform: ``variance_scaling(shape, gain**2, "fan_in", "uniform")``.

    .. math:: W \\sim U(-b, b), \\quad b = g\\sqrt{3/\\text{fan\\_in}}

    References
    ----------
    Y. LeCun et al., "Efficient BackProp", Neural Networks: Tricks of the Trade, 1998.
    """
    return _named("lecun_uniform", shape, _gain(gain, nonlinearity), None, layout, seed, generator, dtype, out, region)


def lecun_normal(
    shape: int | Sequence[int],
    gain: float = 1.0,
    *,
    nonlinearity: str | None = None,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """LeCun normal, untruncated: ``variance_scaling(shape, gain**2, "fan_in", "normal")``.

    .. math:: W \\sim N(0, g^2/\\text{fan\\_in})

    (Keras' and JAX's ``lecun_normal`` are truncated: that is :func:`lecun_truncated_normal`.)
    """
    return _named("lecun_normal", shape, _gain(gain, nonlinearity), None, layout, seed, generator, dtype, out, region)


def lecun_truncated_normal(
    shape: int | Sequence[int],
    gain: float = 1.0,
    *,
    nonlinearity: str | None = None,
    layout: Layout = "torch",
    seed: int | None = None,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    out: FloatArray | None = None,
    region: Region | None = None,
) -> FloatArray:
    """LeCun normal truncated at +-2 parent std, variance exactly ``g^2 / fan_in`` (SELU networks' init)."""
    return _named(
        "lecun_truncated_normal", shape, _gain(gain, nonlinearity), None, layout, seed, generator, dtype, out, region
    )


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
glorot_truncated_normal = xavier_truncated_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal
kaiming_truncated_normal = he_truncated_normal
