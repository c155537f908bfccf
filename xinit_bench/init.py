"""Initialisation schemes: the :func:`variance_scaling` core and its named wrappers.

All the initialisation maths lives in one law,
:func:`xinit_bench.plans.variance_scaling_law`; :func:`variance_scaling` draws
it, and every named scheme is one call of :func:`xinit_bench.plans.scheme_law`
with the (mode, distribution) of its row in
:data:`xinit_bench.schemes.NAMED_SCHEMES`.  The torch and dask adapters draw
the same laws.  The raw samplers live in :mod:`xinit_bench.samplers` and are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from numpy.typing import DTypeLike

from ._rng import Generator
from .fans import Layout
from .plans import MIN_TRUNCATION_MASS, TRUNCATED_STD_2, scheme_law, variance_scaling_law
from .regions import Region
from .samplers import FloatArray, normal, sample, truncated_normal, uniform
from .schemes import DISTRIBUTIONS, MODES, Distribution, Mode

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
    law = variance_scaling_law(shape, scale, mode, distribution, layout, in_axis, out_axis, batch_axis, fans)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


# --- named schemes: one call each ------------------------------------------------------
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
    law = scheme_law("xavier_uniform", shape, gain, nonlinearity, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("xavier_normal", shape, gain, nonlinearity, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("xavier_truncated_normal", shape, gain, nonlinearity, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("he_uniform", shape, nonlinearity=nonlinearity, a=a, mode=mode, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("he_normal", shape, nonlinearity=nonlinearity, a=a, mode=mode, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("he_truncated_normal", shape, nonlinearity=nonlinearity, a=a, mode=mode, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("lecun_uniform", shape, gain, nonlinearity, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("lecun_normal", shape, gain, nonlinearity, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


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
    law = scheme_law("lecun_truncated_normal", shape, gain, nonlinearity, layout=layout)
    return sample(shape, law, seed, generator, dtype, out, 0, region)


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
glorot_truncated_normal = xavier_truncated_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal
kaiming_truncated_normal = he_truncated_normal
