"""``jax.nn.initializers`` twins: JAX's names, signature and laws, with the bits of the NumPy samplers.

Each factory returns ``init(key, shape, dtype=None)``.  The values are one
call of the public NumPy API in JAX's layout (``in_axis=-2, out_axis=-1``),
with the seed that the key maps to (:func:`seed_of_key`); outside a trace
they become a ``jax.Array`` directly, and inside ``jax.jit`` or ``jax.vmap``
through ``jax.pure_callback`` (the array is built on the host and copied in).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from .. import init as np_init
from .. import samplers as np_samplers
from ..gains import he_gain
from ..orthogonal import orthogonal as np_orthogonal
from ..plans import Plan, normal_law, resolve_plan, truncated_normal_law, uniform_law, variance_scaling_law
from ..samplers import FloatArray
from ..schemes import DISTRIBUTIONS, MODES, Distribution, Mode
from ..validation import check_choice, check_int, check_real, check_shape, resolve_dtype

__all__ = [
    "Initializer",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "orthogonal",
    "seed_of_key",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
]

Axes = int | Sequence[int]


class Initializer(Protocol):
    """JAX's initialiser signature: ``init(key, shape, dtype=None) -> jax.Array``."""

    def __call__(self, key: Any, shape: Sequence[int], dtype: Any = None) -> jax.Array: ...


def seed_of_key(key: Any) -> int:
    """The library seed of a concrete JAX PRNG key: its key words read as one big-endian integer.

    .. math:: \\text{seed} = \\sum_{i=0}^{m-1} w_i \\, 2^{32 (m - 1 - i)}

    where :math:`w_0, \\dots, w_{m-1}` are the uint32 words of
    ``jax.random.key_data(key)`` (a typed key) or of the legacy ``uint32[2]``
    key itself.  For the default threefry keys, ``m = 2`` and
    ``jax.random.PRNGKey(s)`` of ``0 <= s < 2**32`` has words ``(0, s)``, so
    it maps to the seed ``s``: ``he_normal()(jax.random.key(3), shape)`` is
    ``xinit_bench.he_truncated_normal(shape, seed=3, layout="jax")``.

    Raises
    ------
    TypeError
        Not a JAX key: a typed key array or a ``uint32`` array of key words.
    ValueError
        A batch of keys (vmap over them instead), or a raw array that is not one key's words.
    """
    words = _key_words(key)
    return _seed_of_words(np.asarray(words))


def _key_words(key: Any) -> Any:
    """The uint32 words of one key (a traced array under jit), after checking what ``key`` is."""
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(
                f"key must be one PRNG key, got a batch of shape {tuple(key.shape)} (jax.vmap over the keys instead)"
            )
        return jax.random.key_data(key)
    if not isinstance(key, (jax.Array, np.ndarray)):
        raise TypeError(f"key must be a JAX PRNG key (jax.random.key or jax.random.PRNGKey), got {type(key).__name__}")
    if np.dtype(key.dtype) != np.uint32:
        raise TypeError(f"key must be a JAX PRNG key or its uint32 words, got an array of {key.dtype}")
    if key.ndim != 1 or key.shape[0] < 2:
        raise ValueError(
            f"key must be one PRNG key's uint32 words, shape (2,) for threefry, got shape {tuple(key.shape)}"
        )
    return key


def _seed_of_words(words: np.ndarray) -> int:
    seed = 0
    for w in words.reshape(-1).tolist():
        seed = (seed << 32) | int(w)
    return seed


def _dtype(dtype: Any) -> np.dtype[Any]:
    """JAX's default float for None (float32 unless x64 is on), else the library's check of ``dtype``."""
    if dtype is None:
        return np.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))
    return resolve_dtype(dtype, None)


def _make(
    draw: Callable[[tuple[int, ...], np.dtype[Any], int], FloatArray],
    law: Callable[[tuple[int, ...]], Plan] | None,
    default: Any,
    check: Callable[[tuple[int, ...], np.dtype[Any]], object] | None = None,
) -> Initializer:
    """The ``init(key, shape, dtype)`` of ``draw`` (the host call), checked first by ``law`` (its plan) or ``check``."""
    default_dt = None if default is None else _dtype(default)

    def init(key: Any, shape: Sequence[int], dtype: Any = None) -> jax.Array:
        dims = check_shape(shape)
        dt = _dtype(dtype) if dtype is not None else (default_dt if default_dt is not None else _dtype(None))
        # Every refusal here, before a key is read or a callback staged.
        if law is not None:
            resolve_plan(law(dims), dt)
        if check is not None:
            check(dims, dt)
        words = _key_words(key)
        if not isinstance(words, jax.core.Tracer):
            return jnp.asarray(draw(dims, dt, _seed_of_words(np.asarray(words))))

        def host(data: np.ndarray) -> FloatArray:
            return draw(dims, dt, _seed_of_words(np.asarray(data)))

        spec = jax.ShapeDtypeStruct(dims, dt)  # type: ignore[no-untyped-call]
        result: jax.Array = jax.pure_callback(host, spec, words, vmap_method="sequential")
        return result

    return init


def _axes(name: str, axes: Any) -> tuple[int, ...]:
    if isinstance(axes, (str, bytes)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {axes!r}")
    if isinstance(axes, Sequence):
        return tuple(check_int(f"{name}[{k}]", a) for k, a in enumerate(axes))
    return (check_int(name, axes),)


def jax_fans(
    shape: tuple[int, ...], in_axis: tuple[int, ...], out_axis: tuple[int, ...], batch_axis: tuple[int, ...]
) -> tuple[int, int]:
    """``(fan_in, fan_out)`` by ``jax.nn.initializers``' rule, for axes given as sequences.

    .. math:: \\text{fan\\_in} = r \\prod_{a \\in \\text{in}} d_a, \\quad
              \\text{fan\\_out} = r \\prod_{a \\in \\text{out}} d_a, \\quad
              r = \\prod_{a \\notin \\text{in} \\cup \\text{out} \\cup \\text{batch}} d_a
    """
    ndim = len(shape)
    what = f"an axis of a rank-{ndim} shape"
    norm = {}
    for label, axes in (("in_axis", in_axis), ("out_axis", out_axis), ("batch_axis", batch_axis)):
        norm[label] = {
            check_int(f"{label}[{k}]", a, minimum=-ndim, maximum=ndim - 1, what=what) % ndim for k, a in enumerate(axes)
        }
    used = norm["in_axis"] | norm["out_axis"] | norm["batch_axis"]
    receptive = math.prod(d for k, d in enumerate(shape) if k not in used)
    return (
        receptive * math.prod(shape[a] for a in norm["in_axis"]),
        receptive * math.prod(shape[a] for a in norm["out_axis"]),
    )


#: The library's named schemes that the fixed-law factories call when the axes are JAX's defaults.
_SCHEMES: dict[str, Callable[..., FloatArray]] = {
    "glorot_uniform": np_init.glorot_uniform,
    "glorot_truncated_normal": np_init.glorot_truncated_normal,
    "he_uniform": np_init.he_uniform,
    "he_truncated_normal": np_init.he_truncated_normal,
    "lecun_uniform": np_init.lecun_uniform,
    "lecun_truncated_normal": np_init.lecun_truncated_normal,
}

#: The He schemes' variance multiplier, the library's ReLU gain squared (as :mod:`xinit_bench.keras` uses).
_HE_SCALE = he_gain(0.0, "leaky_relu") ** 2


def variance_scaling(
    scale: float,
    mode: Mode,
    distribution: Distribution,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
    *,
    _scheme: str | None = None,
) -> Initializer:
    """JAX's ``variance_scaling``: ``Var[W] = scale / n_mode``, JAX's distribution names.

    .. math::

        \\operatorname{Var}[W] = \\frac{s}{n}, \\quad
        n \\in \\{\\text{fan\\_in},\\ \\text{fan\\_out},\\ (\\text{fan\\_in} + \\text{fan\\_out})/2,\\
                 \\sqrt{\\text{fan\\_in}\\,\\text{fan\\_out}}\\}

    ``"truncated_normal"`` cuts at ±2 parent std with parent std
    :math:`\\sqrt{s/n}/0.8796\\ldots`; ``"normal"`` is **untruncated**, as in
    JAX; ``"uniform"`` is :math:`U(-\\sqrt{3s/n}, \\sqrt{3s/n})`.  The values are
    ``xinit_bench.variance_scaling(shape, scale, mode, distribution, layout="jax", ...)``
    with the key's seed (:func:`seed_of_key`).

    References
    ----------
    ``jax.nn.initializers.variance_scaling``; Glorot & Bengio, AISTATS 2010; He et al., ICCV 2015.
    """
    s = check_real("scale", scale, minimum=0.0)
    m: Mode = check_choice("mode", mode, MODES)  # type: ignore[assignment]
    dist: Distribution = check_choice("distribution", distribution, DISTRIBUTIONS)  # type: ignore[assignment]
    ins, outs, batch = _axes("in_axis", in_axis), _axes("out_axis", out_axis), _axes("batch_axis", batch_axis)
    simple = len(ins) == 1 and len(outs) == 1 and isinstance(in_axis, int) and isinstance(out_axis, int)
    default_layout = simple and ins == (-2,) and outs == (-1,) and not batch
    default = None if dtype is None else _dtype(dtype)

    def fans(dims: tuple[int, ...]) -> dict[str, Any]:
        if simple:
            return {"in_axis": ins[0], "out_axis": outs[0], "batch_axis": batch}
        return {"fans": jax_fans(dims, ins, outs, batch)}

    def law(dims: tuple[int, ...]) -> Plan:
        f = fans(dims)
        return variance_scaling_law(
            dims, s, m, dist, "jax", f.get("in_axis"), f.get("out_axis"), f.get("batch_axis", ()), f.get("fans")
        )

    def draw(dims: tuple[int, ...], dt: np.dtype[Any], seed: int) -> FloatArray:
        if _scheme is not None and default_layout:
            return _SCHEMES[_scheme](dims, layout="jax", seed=seed, dtype=dt)
        return np_init.variance_scaling(dims, s, m, dist, layout="jax", seed=seed, dtype=dt, **fans(dims))

    return _make(draw, law, default)


def _named(scheme: str, scale: float, mode: Mode, distribution: Distribution, doc: str) -> Callable[..., Initializer]:
    def factory(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype, _scheme=scheme)

    factory.__name__ = factory.__qualname__ = scheme.replace("_truncated_normal", "_normal")
    factory.__doc__ = doc + f'\n\nThe bits of ``xinit_bench.{scheme}(shape, layout="jax")`` with the key\'s seed.\n'
    return factory


glorot_uniform = _named(
    "glorot_uniform",
    1.0,
    "fan_avg",
    "uniform",
    "Glorot uniform: :math:`U(-b, b)`, :math:`b = \\sqrt{6 / (\\text{fan\\_in} + \\text{fan\\_out})}`.",
)
glorot_normal = _named(
    "glorot_truncated_normal",
    1.0,
    "fan_avg",
    "truncated_normal",
    "JAX's ``glorot_normal``, truncated at ±2 parent std, variance :math:`2 / (\\text{fan\\_in} + \\text{fan\\_out})`.",
)
he_uniform = _named(
    "he_uniform",
    _HE_SCALE,
    "fan_in",
    "uniform",
    "He uniform: :math:`U(-b, b)`, :math:`b = \\sqrt{6 / \\text{fan\\_in}}`.",
)
he_normal = _named(
    "he_truncated_normal",
    _HE_SCALE,
    "fan_in",
    "truncated_normal",
    "JAX's ``he_normal``, truncated at ±2 parent std, variance :math:`2 / \\text{fan\\_in}`.",
)
lecun_uniform = _named(
    "lecun_uniform",
    1.0,
    "fan_in",
    "uniform",
    "LeCun uniform: :math:`U(-b, b)`, :math:`b = \\sqrt{3 / \\text{fan\\_in}}`.",
)
lecun_normal = _named(
    "lecun_truncated_normal",
    1.0,
    "fan_in",
    "truncated_normal",
    "JAX's ``lecun_normal``, truncated at ±2 parent std, variance :math:`1 / \\text{fan\\_in}`.",
)
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def uniform(scale: float = 1e-2, dtype: Any = None) -> Initializer:
    """JAX's ``uniform``: :math:`U[0, \\text{scale})`; the bits of ``xinit_bench.uniform(shape, 0, scale)``."""
    high = check_real("scale", scale, positive=True)
    uniform_law(0.0, high)
    default = None if dtype is None else _dtype(dtype)
    return _make(
        lambda d, dt, s: np_samplers.uniform(d, 0.0, high, seed=s, dtype=dt), lambda d: uniform_law(0.0, high), default
    )


def normal(stddev: float = 1e-2, dtype: Any = None) -> Initializer:
    """JAX's ``normal``: :math:`N(0, \\text{stddev}^2)`; the bits of ``xinit_bench.normal(shape, 0, stddev)``."""
    std = check_real("stddev", stddev, minimum=0.0)
    default = None if dtype is None else _dtype(dtype)
    return _make(
        lambda d, dt, s: np_samplers.normal(d, 0.0, std, seed=s, dtype=dt), lambda d: normal_law(0.0, std), default
    )


def truncated_normal(stddev: float = 1e-2, dtype: Any = None, lower: float = -2.0, upper: float = 2.0) -> Initializer:
    """JAX's ``truncated_normal``: ``stddev`` times a standard normal on ``[lower, upper]``.

    .. math:: W = \\sigma Z, \\quad Z \\sim N(0, 1) \\mid Z \\in [\\text{lower}, \\text{upper}]

    The bits of ``xinit_bench.truncated_normal(shape, 0, stddev, lower, upper)``.
    """
    std = check_real("stddev", stddev, positive=True)
    lo, hi = check_real("lower", lower, allow_inf=True), check_real("upper", upper, allow_inf=True)
    if not lo < hi:
        raise ValueError(f"upper must be > lower, got lower={lower!r}, upper={upper!r}")
    truncated_normal_law(0.0, std, lo, hi)
    default = None if dtype is None else _dtype(dtype)
    return _make(
        lambda d, dt, s: np_samplers.truncated_normal(d, 0.0, std, lo, hi, seed=s, dtype=dt),
        lambda d: truncated_normal_law(0.0, std, lo, hi),
        default,
    )


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    r"""JAX's ``orthogonal``: a Haar-distributed (semi-)orthogonal matrix times ``scale``.

    .. math:: W = s\, Q\, \operatorname{diag}(\operatorname{sign} R_{jj}), \qquad G = QR,\ G_{ij} \sim N(0, 1)

    The matrix is ``(prod(other axes), shape[column_axis])``, as in JAX.  The
    bits of ``xinit_bench.orthogonal.orthogonal(shape, scale, layout="keras",
    column_axis=column_axis)`` with the key's seed.  The shape and dtype are
    checked by that call on an empty region of the shape, which computes no matrix.
    """
    gain = check_real("scale", scale, minimum=0.0)
    axis = check_int("column_axis", column_axis)
    default = None if dtype is None else _dtype(dtype)

    def draw(dims: tuple[int, ...], dt: np.dtype[Any], seed: int) -> FloatArray:
        return np_orthogonal(dims, gain, seed=seed, dtype=dt, layout="keras", column_axis=axis)

    def check(dims: tuple[int, ...], dt: np.dtype[Any]) -> object:
        empty = tuple(slice(0, 0) for _ in dims)
        return np_orthogonal(dims, gain, seed=0, dtype=dt, layout="keras", column_axis=axis, region=empty)

    return _make(draw, None, default, check)
