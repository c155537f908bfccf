"""Samplers and initialisation schemes: one core, thin named wrappers.

All the initialisation maths lives in :func:`variance_scaling`; every named
scheme is one call to it.  Samplers fill a flat view of the output with the
parallel Philox kernels, so for a given ``(seed, stream, shape, dtype,
scheme)`` the bits are the same on any thread count and any machine.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable, Literal, Sequence

import numpy as np
from numpy.typing import DTypeLike, NDArray
from scipy import special

from ._rng import Generator, resolve
from ._validate import check_choice, check_dtype, check_out, check_real, check_shape
from .fans import Layout, compute_fans
from .gains import calculate_gain
from .kernels import fill as _k
from .kernels import transforms as _tf
from .kernels._jit import compile_quietly

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["uniform", "normal", "truncated_normal"]
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
Plan = Callable[[np.dtype[Any]], tuple[Any, tuple[Any, ...]]]


def _sample(
    shape: Any, plan: Plan, seed: Any, generator: Generator | None, dtype: DTypeLike | None, out: Any
) -> FloatArray:
    """Validate everything, then fill ``out`` (or a new array) in one kernel call."""
    dims = check_shape(shape)
    dt = check_dtype(dtype, out)
    if out is not None:
        check_out(out, dims, dt)
    kernel, params = plan(dt)
    key = resolve(seed, generator)
    if out is None:
        out = np.empty(dims, dt)
    if out.size:
        flat = out.reshape(-1)
        if (kernel, dt) not in _READY:
            compile_quietly(kernel, flat, key, 0, params)
            _READY.add((kernel, dt))
        kernel(flat, key, 0, params)
    result: FloatArray = out
    return result


#: (kernel, dtype) pairs already compiled in this process: the plans give each
#: pair one fixed argument signature, so the first call is the only one that
#: needs ``compile_quietly``.
_READY: set[tuple[Any, np.dtype[Any]]] = set()


def _uniform_plan(low: float, high: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        f = dt.type
        lo, hi = f(low), f(high)
        if not lo < hi:
            raise ValueError(f"low={low!r} and high={high!r} are equal in {dt}")
        return _k.fill_uniform, (lo, f(high - low), np.nextafter(hi, lo))

    return plan


def _symmetric_plan(bound: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        b = dt.type(bound)
        return _k.fill_symmetric, (b, np.nextafter(b, dt.type(0)))

    return plan


def _normal_plan(mean: float, std: float) -> Plan:
    def plan(dt: np.dtype[Any]) -> tuple[Any, tuple[Any, ...]]:
        return _k.fill_normal, (dt.type(mean), dt.type(std))

    return plan


def _truncated_plan(mean: float, std: float, a: float, b: float) -> Plan:
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
    p0 = float(special.ndtr(lo))
    dp = float(special.ndtr(hi)) - p0
    if not dp >= MIN_TRUNCATION_MASS:
        raise ValueError(
            f"the truncation interval [{a!r}, {b!r}] (in standard deviations) has normal "
            f"probability {dp:.3g}; at least {MIN_TRUNCATION_MASS:g} is needed"
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
            return _k.fill_truncated_normal_central, tuple(f(v) for v in (p0, dp, mean, scale) + bounds)
        lo_b, hi_b = (float(f(v)) for v in bounds)
        # The 0.05 margins cover the rounding of w inside the kernels (~1e-15 relative).
        kernel = _k.fill_truncated_normal_tail if w_max < w_tail - 0.05 else _k.fill_truncated_normal
        return kernel, (p0, dp, float(mean), float(scale), lo_b, hi_b)

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

    Examples
    --------
    >>> import xinit_bench as xb
    >>> xb.uniform(4, seed=0)
    array([0.12218684, 0.5622784 , 0.54024506, 0.86609626], dtype=float32)
    """
    lo = check_real("low", low)
    hi = check_real("high", high)
    if not lo < hi:
        raise ValueError(f"low must be < high, got low={lo!r}, high={hi!r}")
    return _sample(shape, _uniform_plan(lo, hi), seed, generator, dtype, out)


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
    return _sample(shape, _normal_plan(m, s), seed, generator, dtype, out)


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
    lo_std, hi_std = (_check_bound(n, v) for n, v in (("a", a), ("b", b)))
    if not isinstance(absolute, (bool, np.bool_)):
        raise TypeError(f"absolute must be a bool, got {absolute!r}")
    if absolute:
        lo_std, hi_std = (lo_std - m) / s, (hi_std - m) / s
    if not lo_std < hi_std:
        raise ValueError(f"truncation needs a < b, got a={a!r}, b={b!r}")
    return _sample(shape, _truncated_plan(m, s, lo_std, hi_std), seed, generator, dtype, out)


def _check_bound(name: str, value: Any) -> float:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isinf(value):
        return float(value)
    return check_real(name, value)


# --- the one core of every scheme ------------------------------------------------------
_FAN: dict[str, Callable[[int, int], float]] = {
    "fan_in": lambda fi, fo: fi,
    "fan_out": lambda fi, fo: fo,
    "fan_avg": lambda fi, fo: (fi + fo) / 2,
    "fan_geo_avg": lambda fi, fo: math.sqrt(fi * fo),
}

_DISTRIBUTION: dict[str, Callable[[float], Plan]] = {
    "uniform": lambda var: _symmetric_plan(math.sqrt(3.0 * var)),
    "normal": lambda var: _normal_plan(0.0, math.sqrt(var)),
    "truncated_normal": lambda var: _truncated_plan(0.0, math.sqrt(var) / TRUNCATED_STD_2, -2.0, 2.0),
}
MODES: tuple[str, ...] = tuple(_FAN)
DISTRIBUTIONS: tuple[str, ...] = tuple(_DISTRIBUTION)


def _check_fans(fans: Any) -> tuple[int, int]:
    try:
        fi, fo = fans
    except (TypeError, ValueError):
        raise TypeError(f"fans must be a pair (fan_in, fan_out), got {fans!r}") from None
    for v in (fi, fo):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"fans must be positive integers, got {fans!r}")
    return int(fi), int(fo)


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
    seed, generator, dtype, out
        As for :func:`uniform`.

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
    fan_in, fan_out = _check_fans(fans) if fans is not None else compute_fans(
        dims, layout, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
    )
    n = _FAN[mode](fan_in, fan_out)
    if n == 0:  # a zero-element weight: nothing to draw, nothing to divide
        return _sample(dims, _normal_plan(0.0, 0.0), seed, generator, dtype, out)
    return _sample(dims, _DISTRIBUTION[distribution](s / n), seed, generator, dtype, out)


# --- named schemes: one call each ------------------------------------------------------
def _gain(gain: float, nonlinearity: str | None) -> float:
    if nonlinearity is not None:
        if gain != 1.0:
            raise ValueError("pass either gain= or nonlinearity=, not both")
        return calculate_gain(nonlinearity)
    return check_real("gain", gain, minimum=0.0)


def _he_gain(a: float, nonlinearity: str) -> float:
    a = check_real("a", a)
    return calculate_gain(nonlinearity, a if nonlinearity == "leaky_relu" else None)


def xavier_uniform(shape: int | Sequence[int], gain: float = 1.0, *, nonlinearity: str | None = None,
                   layout: Layout = "torch", seed: int | None = None, generator: Generator | None = None,
                   dtype: DTypeLike | None = None, out: FloatArray | None = None) -> FloatArray:
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
    return variance_scaling(shape, _gain(gain, nonlinearity) ** 2, "fan_avg", "uniform", layout=layout,
                            seed=seed, generator=generator, dtype=dtype, out=out)


def xavier_normal(shape: int | Sequence[int], gain: float = 1.0, *, nonlinearity: str | None = None,
                  layout: Layout = "torch", seed: int | None = None, generator: Generator | None = None,
                  dtype: DTypeLike | None = None, out: FloatArray | None = None) -> FloatArray:
    """Glorot & Bengio (2010) normal, untruncated: ``variance_scaling(shape, gain**2, "fan_avg", "normal")``.

    .. math:: W \\sim N\\Bigl(0, \\frac{2 g^2}{\\text{fan\\_in} + \\text{fan\\_out}}\\Bigr)

    Same as ``torch.nn.init.xavier_normal_`` (not JAX's ``glorot_normal``,
    which is truncated: that is :func:`xavier_truncated_normal`).
    """
    return variance_scaling(shape, _gain(gain, nonlinearity) ** 2, "fan_avg", "normal", layout=layout,
                            seed=seed, generator=generator, dtype=dtype, out=out)


def xavier_truncated_normal(shape: int | Sequence[int], gain: float = 1.0, *, nonlinearity: str | None = None,
                            layout: Layout = "torch", seed: int | None = None, generator: Generator | None = None,
                            dtype: DTypeLike | None = None, out: FloatArray | None = None) -> FloatArray:
    """Glorot normal truncated at +-2 parent std, variance exactly ``2 g^2 / (fan_in + fan_out)``.

    ``variance_scaling(shape, gain**2, "fan_avg", "truncated_normal")``; Keras'
    ``GlorotNormal`` and JAX's ``glorot_normal``.
    """
    return variance_scaling(shape, _gain(gain, nonlinearity) ** 2, "fan_avg", "truncated_normal",
                            layout=layout, seed=seed, generator=generator, dtype=dtype, out=out)


def he_uniform(shape: int | Sequence[int], a: float = 0.0, mode: Mode = "fan_in",
               nonlinearity: str = "leaky_relu", *, layout: Layout = "torch", seed: int | None = None,
               generator: Generator | None = None, dtype: DTypeLike | None = None,
               out: FloatArray | None = None) -> FloatArray:
    """He et al. (2015) uniform: ``variance_scaling(shape, g**2, mode, "uniform")``, ``g = calculate_gain(nonlinearity, a)``.

    .. math:: W \\sim U(-b, b), \\quad b = g \\sqrt{3 / \\text{fan\\_mode}}

    Defaults as ``torch.nn.init.kaiming_uniform_`` (``leaky_relu`` with
    ``a = 0``, i.e. :math:`g = \\sqrt 2`).  ``a`` is the negative slope and
    only matters for ``leaky_relu``.

    References
    ----------
    K. He et al., "Delving deep into rectifiers", ICCV 2015, eq. (10).
    https://arxiv.org/abs/1502.01852
    """
    return variance_scaling(shape, _he_gain(a, nonlinearity) ** 2, mode, "uniform", layout=layout,
                            seed=seed, generator=generator, dtype=dtype, out=out)


def he_normal(shape: int | Sequence[int], a: float = 0.0, mode: Mode = "fan_in",
              nonlinearity: str = "leaky_relu", *, layout: Layout = "torch", seed: int | None = None,
              generator: Generator | None = None, dtype: DTypeLike | None = None,
              out: FloatArray | None = None) -> FloatArray:
    """He et al. (2015) normal, untruncated: ``variance_scaling(shape, g**2, mode, "normal")``.

    .. math:: W \\sim N(0, g^2 / \\text{fan\\_mode})

    As ``torch.nn.init.kaiming_normal_``.
    """
    return variance_scaling(shape, _he_gain(a, nonlinearity) ** 2, mode, "normal", layout=layout,
                            seed=seed, generator=generator, dtype=dtype, out=out)


def he_truncated_normal(shape: int | Sequence[int], a: float = 0.0, mode: Mode = "fan_in",
                        nonlinearity: str = "leaky_relu", *, layout: Layout = "torch", seed: int | None = None,
                        generator: Generator | None = None, dtype: DTypeLike | None = None,
                        out: FloatArray | None = None) -> FloatArray:
    """He normal truncated at +-2 parent std with variance exactly ``g^2 / fan_mode`` (Keras' ``HeNormal``)."""
    return variance_scaling(shape, _he_gain(a, nonlinearity) ** 2, mode, "truncated_normal", layout=layout,
                            seed=seed, generator=generator, dtype=dtype, out=out)


def lecun_uniform(shape: int | Sequence[int], gain: float = 1.0, *, nonlinearity: str | None = None,
                  layout: Layout = "torch", seed: int | None = None, generator: Generator | None = None,
                  dtype: DTypeLike | None = None, out: FloatArray | None = None) -> FloatArray:
    """LeCun uniform: ``variance_scaling(shape, gain**2, "fan_in", "uniform")``, :math:`b = g\\sqrt{3/\\text{fan\\_in}}`.

    References
    ----------
    Y. LeCun et al., "Efficient BackProp", Neural Networks: Tricks of the Trade, 1998.
    """
    return variance_scaling(shape, _gain(gain, nonlinearity) ** 2, "fan_in", "uniform", layout=layout,
                            seed=seed, generator=generator, dtype=dtype, out=out)


def lecun_normal(shape: int | Sequence[int], gain: float = 1.0, *, nonlinearity: str | None = None,
                 layout: Layout = "torch", seed: int | None = None, generator: Generator | None = None,
                 dtype: DTypeLike | None = None, out: FloatArray | None = None) -> FloatArray:
    """LeCun normal, untruncated: ``variance_scaling(shape, gain**2, "fan_in", "normal")``, :math:`N(0, g^2/\\text{fan\\_in})`.

    (Keras' and JAX's ``lecun_normal`` are truncated: that is :func:`lecun_truncated_normal`.)
    """
    return variance_scaling(shape, _gain(gain, nonlinearity) ** 2, "fan_in", "normal", layout=layout,
                            seed=seed, generator=generator, dtype=dtype, out=out)


def lecun_truncated_normal(shape: int | Sequence[int], gain: float = 1.0, *, nonlinearity: str | None = None,
                           layout: Layout = "torch", seed: int | None = None, generator: Generator | None = None,
                           dtype: DTypeLike | None = None, out: FloatArray | None = None) -> FloatArray:
    """LeCun normal truncated at +-2 parent std, variance exactly ``g^2 / fan_in`` (SELU networks' init)."""
    return variance_scaling(shape, _gain(gain, nonlinearity) ** 2, "fan_in", "truncated_normal",
                            layout=layout, seed=seed, generator=generator, dtype=dtype, out=out)


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
glorot_truncated_normal = xavier_truncated_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal
kaiming_truncated_normal = he_truncated_normal
