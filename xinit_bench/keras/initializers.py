"""``keras.initializers`` twins: Keras's names and laws, with the bits of the NumPy samplers.

Each class subclasses ``keras.initializers.Initializer``, is registered for
serialisation under the package ``"xinit_bench"``, and draws its values with
one call of the public NumPy API (:func:`xinit_bench.init.variance_scaling`,
:func:`xinit_bench.samplers.uniform`, ...) in Keras's layout ``(*kernel, in,
out)``; the result becomes a tensor of the active back end.  Every law is
checked by the plan layer (:mod:`xinit_bench.plans`) when the initialiser
is built, so a bad argument is refused before a layer asks for a weight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

import keras  # type: ignore[import-untyped]
import numpy as np

from .._rng import Generator, key_for_name
from ..gains import he_gain
from ..init import (
    glorot_truncated_normal,
    glorot_uniform,
    he_truncated_normal,
    he_uniform,
    lecun_truncated_normal,
    lecun_uniform,
    variance_scaling,
)
from ..orthogonal import orthogonal
from ..plans import normal_law, truncated_normal_law, uniform_law
from ..samplers import FloatArray, normal, truncated_normal, uniform
from ..schemes import MODES, Distribution, Mode
from ..validation import check_choice, check_real, check_shape, resolve_dtype
from .arguments import check_fan_axes, check_keras_seed, check_name, keras_fans

__all__ = [
    "KERAS_DISTRIBUTIONS",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Initializer",
    "KerasDistribution",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
]

#: Keras's ``VarianceScaling`` distributions; ``"normal"`` is Keras's alias of ``"truncated_normal"``.
KerasDistribution = Literal["truncated_normal", "normal", "untruncated_normal", "uniform"]
KERAS_DISTRIBUTIONS: tuple[str, ...] = ("truncated_normal", "normal", "untruncated_normal", "uniform")

#: Keras's distribution name -> the library's law of the same name.
_LAW_OF: dict[str, Distribution] = {
    "truncated_normal": "truncated_normal",
    "normal": "truncated_normal",
    "untruncated_normal": "normal",
    "uniform": "uniform",
}

_PACKAGE = "xinit_bench"


class Initializer(keras.initializers.Initializer):  # type: ignore[misc]
    """The base of every xinit-bench Keras initialiser: seeds, names, dtypes and tensors.

    Parameters
    ----------
    seed : int or None
        An int gives the same values on every call (Keras's rule for an int
        seed).  ``None`` draws a seed from OS entropy once, here, and keeps it:
        the same values on every call of this object, as Keras's own unseeded
        initialisers do; ``get_config`` keeps ``None``, so a clone draws anew.
    name : str, optional
        A weight path.  With it the values come from the name-keyed stream
        :func:`xinit_bench.key_for_name` ``(seed, name)``, as in
        :func:`xinit_bench.keras.init_model`; without it, from ``seed=seed``.

    Raises
    ------
    TypeError
        A ``keras.random.SeedGenerator`` (its values change per call, outside the
        library's stream) or any other non-int seed; a name that is not a str.
    ValueError
        A negative seed.
    """

    #: The library's function that draws this class's law (for the docs and the bits tests).
    draws: ClassVar[str] = ""
    #: The constructor's own arguments (attributes of the same names) that :meth:`get_config` adds to seed and name.
    config_keys: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, draws: str | None = None, **kwargs: Any) -> None:
        """A subclass declared with ``draws=`` (the library's function it calls) is registered for serialisation.

        Keras's name of it is ``"xinit_bench>" + cls.__name__``; a subclass
        without ``draws=`` (a user's) inherits its parent's and is not registered.
        """
        super().__init_subclass__(**kwargs)
        if draws is not None:
            cls.draws = draws
            keras.saving.register_keras_serializable(package=_PACKAGE)(cls)

    def __init__(self, seed: int | None = None, name: str | None = None) -> None:
        self._init_seed = check_keras_seed(seed)
        self.name = check_name(name)
        self.seed: int = int(np.random.SeedSequence().entropy) if self._init_seed is None else self._init_seed  # type: ignore[arg-type]

    def _source(self) -> dict[str, Any]:
        """The ``seed=`` or ``generator=`` of this initialiser's draw."""
        if self.name is None:
            return {"seed": self.seed}
        generator: Generator = key_for_name(self.seed, self.name)
        return {"generator": generator}

    def values(self, shape: Any, dtype: Any = None) -> FloatArray:
        """The NumPy array that ``self(shape, dtype)`` converts to a tensor.

        ``dtype`` is a Keras dtype name (``"float32"``, ``"float64"``,
        ``"float16"``, ``"bfloat16"``), a NumPy dtype or a back end's dtype;
        ``None`` means ``keras.config.floatx()``.
        """
        dims = check_shape(shape)
        return self.draw(dims, resolve_dtype(self._dtype_name(dtype), None))

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        """A tensor of ``shape`` and ``dtype`` on the active Keras back end, with the bits of :meth:`values`."""
        array = self.values(shape, dtype)
        return keras.ops.convert_to_tensor(array, dtype=array.dtype.name)

    @staticmethod
    def _dtype_name(dtype: Any) -> Any:
        if dtype is None:
            return keras.config.floatx()
        if isinstance(dtype, (str, np.dtype, type)):
            return dtype
        try:  # a back end's dtype object (torch.bfloat16, jnp.float16, ...)
            return keras.backend.standardize_dtype(dtype)
        except (ValueError, TypeError, AttributeError):
            raise TypeError(
                f"dtype must be one of 'float32', 'float64', 'float16', 'bfloat16' (or the back end's dtype of "
                f"one of them), got {dtype!r}"
            ) from None

    def draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """The values, drawn by the library's public function (each subclass names its call)."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-serialisable; ``from_config(get_config())`` rebuilds it.

        ``seed`` (None when drawn at construction), ``name`` and the :data:`config_keys`.
        """
        return {"seed": self._init_seed, "name": self.name, **{key: getattr(self, key) for key in self.config_keys}}

    def keyed(self, seed: int, name: str) -> Initializer:
        """A copy of this initialiser that draws from the name-keyed stream of ``(seed, name)``."""
        config = self.get_config()
        config.update(seed=seed, name=name)
        keyed: Initializer = type(self).from_config(config)
        return keyed


class VarianceScaling(Initializer, draws="variance_scaling"):
    """Keras's ``VarianceScaling``: ``Var[W] = scale / n_mode``, with Keras's distribution names.

    .. math::

        \\operatorname{Var}[W] = \\frac{s}{n}, \\quad
        n \\in \\{\\text{fan\\_in},\\ \\text{fan\\_out},\\ (\\text{fan\\_in} + \\text{fan\\_out})/2\\}

    ``distribution``: ``"truncated_normal"`` (and its Keras alias ``"normal"``)
    is a normal cut at ±2 parent standard deviations with parent std
    :math:`\\sqrt{s/n} / 0.8796\\ldots`; ``"untruncated_normal"`` is
    :math:`N(0, s/n)`; ``"uniform"`` is :math:`U(-\\sqrt{3s/n}, \\sqrt{3s/n})`.
    The values are ``xinit_bench.variance_scaling(shape, scale, mode, law,
    layout="keras")``, ``law`` being the library's name of the same law.

    Parameters
    ----------
    scale : float
        :math:`s \\ge 0`.
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
        Keras's three, and the library's geometric mean.
    distribution : {"truncated_normal", "normal", "untruncated_normal", "uniform"}
    seed, name
        See :class:`Initializer`.
    input_axes, output_axes : sequence of int, optional
        Keras's explicit fan axes (both or neither).

    References
    ----------
    ``keras.initializers.VarianceScaling`` (Keras 3).  X. Glorot, Y. Bengio, AISTATS 2010;
    K. He et al., ICCV 2015.
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: Mode = "fan_in",
        distribution: KerasDistribution = "truncated_normal",
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
        name: str | None = None,
    ) -> None:
        self.scale = check_real("scale", scale, minimum=0.0)
        self.mode: Mode = check_choice("mode", mode, MODES)  # type: ignore[assignment]
        self.distribution = check_choice("distribution", distribution, KERAS_DISTRIBUTIONS, casefold=True)
        self.input_axes, self.output_axes = check_fan_axes(input_axes, output_axes)
        super().__init__(seed, name)

    def draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """``variance_scaling(shape, scale, mode, law, layout="keras")``, fans by Keras's rule."""
        fans = keras_fans(shape, self.input_axes, self.output_axes)
        law = _LAW_OF[self.distribution]
        return variance_scaling(
            shape, self.scale, self.mode, law, layout="keras", fans=fans, dtype=dtype, **self._source()
        )

    def get_config(self) -> dict[str, Any]:
        """Keras's keys (``scale``, ``mode``, ``distribution``, ``seed``, the axes) and ``name``."""
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": None if self.input_axes is None else list(self.input_axes),
            "output_axes": None if self.output_axes is None else list(self.output_axes),
        }


#: The He schemes' variance multiplier: the library's gain of ReLU squared, ``sqrt(2)**2 = 2 (1 + 2**-52)``,
#: so that a rank-1 He weight draws the law of the rank-2 ones (Keras's 2.0 agrees with it below float64).
_HE_SCALE = he_gain(0.0, "leaky_relu") ** 2

#: The named initialisers: the library's scheme each draws -> that function and its law, the (scale, mode,
#: distribution) of :class:`VarianceScaling` with which Keras's fans (low ranks, explicit axes) draw it.
_NAMED: dict[str, tuple[Callable[..., FloatArray], tuple[float, Mode, KerasDistribution]]] = {
    "glorot_uniform": (glorot_uniform, (1.0, "fan_avg", "uniform")),
    "glorot_truncated_normal": (glorot_truncated_normal, (1.0, "fan_avg", "truncated_normal")),
    "he_uniform": (he_uniform, (_HE_SCALE, "fan_in", "uniform")),
    "he_truncated_normal": (he_truncated_normal, (_HE_SCALE, "fan_in", "truncated_normal")),
    "lecun_uniform": (lecun_uniform, (1.0, "fan_in", "uniform")),
    "lecun_truncated_normal": (lecun_truncated_normal, (1.0, "fan_in", "truncated_normal")),
}


class _Named(VarianceScaling):
    """A fixed (scale, mode, distribution) of :class:`VarianceScaling`, configured by seed, name and axes only.

    A weight of rank 2 or more without explicit axes gets the library's
    named scheme (:data:`draws`); the others Keras's fans through
    :func:`~xinit_bench.init.variance_scaling` with the same law.
    """

    #: ``(scale, mode, distribution)``, from :data:`_NAMED` by the subclass's ``draws=``.
    law: ClassVar[tuple[float, Mode, KerasDistribution]]

    def __init_subclass__(cls, draws: str | None = None, **kwargs: Any) -> None:
        """``class X(_Named, draws=scheme)``: the law of ``scheme`` in :data:`_NAMED`, registered as every class is."""
        super().__init_subclass__(draws=draws, **kwargs)
        if draws is not None:
            cls.law = _NAMED[draws][1]

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
        name: str | None = None,
    ) -> None:
        scale, mode, distribution = self.law
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes, name)

    def draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """The library's scheme of the same law, ``<scheme>(shape, layout="keras")``; Keras's fans where they differ."""
        if keras_fans(shape, self.input_axes, self.output_axes) is None:
            return _NAMED[self.draws][0](shape, layout="keras", dtype=dtype, **self._source())
        return super().draw(shape, dtype)

    def get_config(self) -> dict[str, Any]:
        """``seed``, ``name`` and the axes (the law is the class's)."""
        config = super().get_config()
        return {k: config[k] for k in ("seed", "name", "input_axes", "output_axes")}


class GlorotUniform(_Named, draws="glorot_uniform"):
    """Glorot & Bengio (2010) uniform: :math:`U(-b, b)`, :math:`b = \\sqrt{6 / (\\text{fan\\_in} + \\text{fan\\_out})}`.

    The bits of ``xinit_bench.glorot_uniform(shape, layout="keras")``.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> from xinit_bench import keras as xk
    >>> w = xk.GlorotUniform(seed=0).values((4, 3))
    >>> bool((w == xb.glorot_uniform((4, 3), seed=0, layout="keras")).all())
    True
    """


class GlorotNormal(_Named, draws="glorot_truncated_normal"):
    """``GlorotNormal``, cut at ±2 parent std, variance :math:`2 / (\\text{fan\\_in} + \\text{fan\\_out})`.

    The bits of ``xinit_bench.glorot_truncated_normal(shape, layout="keras")``.
    """


class HeUniform(_Named, draws="he_uniform"):
    """He et al. (2015) uniform: :math:`U(-b, b)`, :math:`b = \\sqrt{6 / \\text{fan\\_in}}`.

    The bits of ``xinit_bench.he_uniform(shape, layout="keras")``.
    """


class HeNormal(_Named, draws="he_truncated_normal"):
    """Keras's ``HeNormal``, truncated: variance :math:`2 / \\text{fan\\_in}`, cut at ±2 parent std.

    The bits of ``xinit_bench.he_truncated_normal(shape, layout="keras")``.
    """


class LecunUniform(_Named, draws="lecun_uniform"):
    """LeCun uniform: :math:`U(-b, b)`, :math:`b = \\sqrt{3 / \\text{fan\\_in}}`.

    The bits of ``xinit_bench.lecun_uniform(shape, layout="keras")``.
    """


class LecunNormal(_Named, draws="lecun_truncated_normal"):
    """Keras's ``LecunNormal``, truncated: variance :math:`1 / \\text{fan\\_in}`, cut at ±2 parent std.

    The bits of ``xinit_bench.lecun_truncated_normal(shape, layout="keras")``.
    """


class RandomUniform(Initializer, draws="uniform"):
    """Keras's ``RandomUniform``: :math:`U[\\text{minval}, \\text{maxval})`; the bits of ``xinit_bench.uniform``."""

    config_keys = ("minval", "maxval")

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None, name: str | None = None
    ) -> None:
        self.minval, self.maxval = check_real("minval", minval), check_real("maxval", maxval)
        if not self.minval < self.maxval:
            raise ValueError(f"maxval must be > minval, got minval={minval!r}, maxval={maxval!r}")
        uniform_law(self.minval, self.maxval)
        super().__init__(seed, name)

    def draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """``uniform(shape, minval, maxval)``."""
        return uniform(shape, self.minval, self.maxval, dtype=dtype, **self._source())


class RandomNormal(Initializer, draws="normal"):
    """Keras's ``RandomNormal``: :math:`N(\\text{mean}, \\text{stddev}^2)`; the bits of ``xinit_bench.normal``."""

    config_keys = ("mean", "stddev")

    def __init__(
        self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None, name: str | None = None
    ) -> None:
        self.mean, self.stddev = check_real("mean", mean), check_real("stddev", stddev, minimum=0.0)
        normal_law(self.mean, self.stddev)
        super().__init__(seed, name)

    def draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """``normal(shape, mean, stddev)``."""
        return normal(shape, self.mean, self.stddev, dtype=dtype, **self._source())


class TruncatedNormal(Initializer, draws="truncated_normal"):
    """Keras's ``TruncatedNormal``: :math:`N(\\text{mean}, \\text{stddev}^2)` conditioned on ±2 stddev.

    ``stddev`` is the parent's, as in Keras (the variance is
    :math:`0.7737\\ldots\\,\\text{stddev}^2`).  The bits of
    ``xinit_bench.truncated_normal(shape, mean, stddev, -2, 2)``.
    """

    config_keys = ("mean", "stddev")

    def __init__(
        self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None, name: str | None = None
    ) -> None:
        self.mean, self.stddev = check_real("mean", mean), check_real("stddev", stddev, positive=True)
        truncated_normal_law(self.mean, self.stddev, -2.0, 2.0)
        super().__init__(seed, name)

    def draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """``truncated_normal(shape, mean, stddev, -2, 2)``."""
        return truncated_normal(shape, self.mean, self.stddev, -2.0, 2.0, dtype=dtype, **self._source())


class Orthogonal(Initializer, draws="orthogonal"):
    r"""Keras's ``Orthogonal``: a Haar-distributed (semi-)orthogonal matrix times ``gain``.

    .. math:: W = g\, Q\, \operatorname{diag}(\operatorname{sign} R_{jj}), \qquad G = QR,\ G_{ij} \sim N(0, 1)

    The matrix is ``(prod(shape[:-1]), shape[-1])``, as in Keras; the bits of
    ``xinit_bench.orthogonal.orthogonal(shape, gain, layout="keras")``.
    """

    config_keys = ("gain",)

    def __init__(self, gain: float = 1.0, seed: int | None = None, name: str | None = None) -> None:
        self.gain = check_real("gain", gain, minimum=0.0)
        super().__init__(seed, name)

    def draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """``orthogonal(shape, gain, layout="keras")``."""
        return orthogonal(shape, self.gain, dtype=dtype, layout="keras", **self._source())
