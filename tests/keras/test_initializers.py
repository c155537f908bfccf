"""The Keras initialisers: the bits of the NumPy calls, Keras's seed rule, serialisation, refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from refusals import refused

keras = pytest.importorskip("keras")
xk = pytest.importorskip("xinit_bench.keras")
import xinit_bench as xb  # noqa: E402
from xinit_bench.orthogonal import orthogonal  # noqa: E402

#: Each class, built with non-default arguments where it has any, and the NumPy call of the same bits.
CASES: dict[str, tuple[Callable[[int], Any], Callable[..., np.ndarray]]] = {
    "GlorotUniform": (lambda s: xk.GlorotUniform(seed=s), lambda sh, **k: xb.glorot_uniform(sh, layout="keras", **k)),
    "GlorotNormal": (
        lambda s: xk.GlorotNormal(seed=s),
        lambda sh, **k: xb.glorot_truncated_normal(sh, layout="keras", **k),
    ),
    "HeUniform": (lambda s: xk.HeUniform(seed=s), lambda sh, **k: xb.he_uniform(sh, layout="keras", **k)),
    "HeNormal": (lambda s: xk.HeNormal(seed=s), lambda sh, **k: xb.he_truncated_normal(sh, layout="keras", **k)),
    "LecunUniform": (lambda s: xk.LecunUniform(seed=s), lambda sh, **k: xb.lecun_uniform(sh, layout="keras", **k)),
    "LecunNormal": (
        lambda s: xk.LecunNormal(seed=s),
        lambda sh, **k: xb.lecun_truncated_normal(sh, layout="keras", **k),
    ),
    "VarianceScaling": (
        lambda s: xk.VarianceScaling(0.5, "fan_out", "untruncated_normal", seed=s),
        lambda sh, **k: xb.variance_scaling(sh, 0.5, "fan_out", "normal", layout="keras", **k),
    ),
    "VarianceScaling-normal": (
        lambda s: xk.VarianceScaling(3.0, "fan_avg", "normal", seed=s),
        lambda sh, **k: xb.variance_scaling(sh, 3.0, "fan_avg", "truncated_normal", layout="keras", **k),
    ),
    "Orthogonal": (lambda s: xk.Orthogonal(1.5, seed=s), lambda sh, **k: orthogonal(sh, 1.5, layout="keras", **k)),
    "RandomUniform": (lambda s: xk.RandomUniform(-0.1, 0.3, seed=s), lambda sh, **k: xb.uniform(sh, -0.1, 0.3, **k)),
    "RandomNormal": (lambda s: xk.RandomNormal(0.1, 0.2, seed=s), lambda sh, **k: xb.normal(sh, 0.1, 0.2, **k)),
    "TruncatedNormal": (
        lambda s: xk.TruncatedNormal(0.0, 0.2, seed=s),
        lambda sh, **k: xb.truncated_normal(sh, 0.0, 0.2, -2.0, 2.0, **k),
    ),
}

DTYPES = ("float32", "bfloat16", "float16", "float64")


Bits = Callable[[Any], np.ndarray]


def test_the_acceptance_example(bits: Bits) -> None:
    got = xk.HeNormal(seed=3)((256, 128))
    want = xb.he_truncated_normal((256, 128), seed=3, layout="keras")
    assert bits(got).dtype == np.uint32
    assert np.array_equal(bits(got), bits(want))


@pytest.mark.known_answer
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(256, 128), (3, 3, 16, 32)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_class_has_the_bits_of_its_numpy_call(case: str, shape: tuple[int, ...], dtype: str, bits: Bits) -> None:
    make, numpy_call = CASES[case]
    init = make(5)
    tensor = init(shape, dtype)
    want = numpy_call(shape, seed=5, dtype=dtype)
    assert tuple(tensor.shape) == shape
    assert keras.backend.standardize_dtype(tensor.dtype) == dtype
    assert np.array_equal(bits(tensor), bits(want))
    assert np.array_equal(bits(init.values(shape, dtype)), bits(want))


@pytest.mark.known_answer
def test_a_layer_built_with_it_holds_those_bits(bits: Bits) -> None:
    layer = keras.layers.Dense(64, kernel_initializer=xk.GlorotUniform(seed=0))
    layer.build((None, 32))
    assert np.array_equal(bits(layer.kernel), bits(xb.glorot_uniform((32, 64), seed=0, layout="keras")))
    conv = keras.layers.Conv2D(8, 3, kernel_initializer=xk.HeNormal(seed=1), dtype="bfloat16")
    conv.build((None, 10, 10, 4))
    assert np.array_equal(
        bits(conv.kernel), bits(xb.he_truncated_normal((3, 3, 4, 8), seed=1, layout="keras", dtype="bfloat16"))
    )


@pytest.mark.known_answer
def test_keras_fan_rules_for_low_ranks_and_explicit_axes() -> None:
    # A vector of n has fans (n, n) and a scalar (1, 1), as in keras.initializers.compute_fans.
    vec = xk.GlorotUniform(seed=2).values((10,))
    assert np.array_equal(vec, xb.variance_scaling(10, 1.0, "fan_avg", "uniform", fans=(10, 10), seed=2))
    # The He classes' scale is the library's He gain squared, sqrt(2)**2 (2 + 2**-51), as xb.he_* draw it.
    he = xb.calculate_gain("relu") ** 2
    scalar = xk.HeNormal(seed=2).values((), "float64")
    want = xb.variance_scaling((), he, "fan_in", "truncated_normal", fans=(1, 1), seed=2, dtype="float64")
    assert np.array_equal(scalar, want)
    # Explicit axes: fan_in = 4 * 5 (axes 0, 1), fan_out = 6 (axis 2).
    axes = xk.HeUniform(seed=2, input_axes=[0, 1], output_axes=[2]).values((4, 5, 6), "float64")
    want = xb.variance_scaling((4, 5, 6), he, "fan_in", "uniform", fans=(20, 6), seed=2, dtype="float64")
    assert np.array_equal(axes, want)
    # The same shape without axes reads (*kernel, in, out): fan_in = 4 * 5 too, but through another path.
    assert np.array_equal(xk.HeUniform(seed=2).values((4, 5, 6), "float64"), axes)
    other = xk.HeUniform(seed=2, input_axes=[0], output_axes=[1, 2]).values((4, 5, 6), "float64")
    assert not np.array_equal(other, axes)


@pytest.mark.invariance
def test_an_int_seed_gives_the_same_values_on_every_call(bits: Bits) -> None:
    init = xk.GlorotNormal(seed=11)
    assert np.array_equal(bits(init((64, 32))), bits(init((64, 32))))
    assert not np.array_equal(bits(init((64, 32))), bits(xk.GlorotNormal(seed=12)((64, 32))))


@pytest.mark.invariance
def test_no_seed_draws_once_at_construction(bits: Bits) -> None:
    a, b = xk.HeUniform(), xk.HeUniform()
    assert np.array_equal(bits(a((64, 32))), bits(a((64, 32))))  # one seed per object
    assert not np.array_equal(bits(a((64, 32))), bits(b((64, 32))))  # and a fresh one for each object
    assert a.get_config()["seed"] is None  # Keras's rule: a clone draws anew
    assert not np.array_equal(bits(a.clone()((64, 32))), bits(a((64, 32))))


@pytest.mark.invariance
def test_a_name_keys_the_stream_by_seed_and_name() -> None:
    init = xk.GlorotUniform(seed=4, name="encoder/dense/kernel")
    want = xb.glorot_uniform((16, 8), generator=xb.key_for_name(4, "encoder/dense/kernel"), layout="keras")
    assert np.array_equal(init.values((16, 8)), want)
    assert np.array_equal(init.values((16, 8)), init.values((16, 8)))
    assert not np.array_equal(init.values((16, 8)), xk.GlorotUniform(seed=4).values((16, 8)))
    assert np.array_equal(xk.GlorotUniform(seed=9).keyed(4, "encoder/dense/kernel").values((16, 8)), want)


# --- serialisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_get_config_round_trips(case: str, bits: Bits) -> None:
    init = CASES[case][0](7)
    config = init.get_config()
    again = type(init).from_config(config)
    assert again.get_config() == config
    assert np.array_equal(bits(again((12, 5))), bits(init((12, 5))))
    rebuilt = keras.initializers.get(keras.saving.serialize_keras_object(init))
    assert type(rebuilt) is type(init) and rebuilt.get_config() == config


# Keras's own save and load convert the torch tensors with np.array (see tests/keras/conftest.py).
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_a_saved_model_reloads_with_its_initialisers(tmp_path: Path, bits: Bits) -> None:
    inits = [CASES[case][0](k) for k, case in enumerate(sorted(CASES))]
    named = xk.GlorotUniform(seed=1, name="top/kernel")
    layers = [keras.layers.Dense(4, kernel_initializer=i, name=f"d{k}") for k, i in enumerate([*inits, named])]
    model = keras.Sequential([keras.Input((6,)), *layers])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for old, new in zip(model.layers, loaded.layers, strict=True):
        assert type(new.kernel_initializer) is type(old.kernel_initializer)
        assert new.kernel_initializer.get_config() == old.kernel_initializer.get_config()
        assert np.array_equal(bits(new.kernel), bits(old.kernel))
    # The reloaded initialisers draw what the originals draw.
    for old, new in zip(model.layers, loaded.layers, strict=True):
        assert np.array_equal(bits(new.kernel_initializer((3, 2))), bits(old.kernel_initializer((3, 2))))


def test_the_registered_names_are_the_packages() -> None:
    for name in ("GlorotUniform", "HeNormal", "VarianceScaling", "RandomUniform", "TruncatedNormal"):
        cls = keras.saving.get_registered_object(f"xinit_bench>{name}")
        assert cls is getattr(xk, name)


#: sha256 (first 16 hex digits) of each public class's docstring: the rendered docs of each class, pinned so that
#: the way the classes are declared can change without their documentation changing with it.
DOC_DIGESTS = {
    "GlorotNormal": "30fb3244f2b81078",
    "GlorotUniform": "e821d4f9650b93ac",
    "HeNormal": "3f79ae6a7cfc20e2",
    "HeUniform": "e90168424241a2ea",
    "Initializer": "94386ae785326d0a",
    "LecunNormal": "796b0eb42e3b2e4e",
    "LecunUniform": "0aea8fac3b48114a",
    "Orthogonal": "68382a7093853711",
    "RandomNormal": "583d46237bdb92f4",
    "RandomUniform": "e55133f501392e4e",
    "TruncatedNormal": "36b81a4983bd1265",
    "VarianceScaling": "2312e9e4e1f16d40",
}

NAMED = ("GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform")


def test_the_classes_are_real_named_documented_classes() -> None:
    import hashlib

    classes = {name: getattr(xk, name) for name in xk.initializers.__all__ if isinstance(getattr(xk, name), type)}
    assert sorted(classes) == sorted(DOC_DIGESTS)
    for name, cls in classes.items():
        assert cls.__name__ == cls.__qualname__ == name
        assert cls.__module__ == "xinit_bench.keras.initializers"
        assert hashlib.sha256(cls.__doc__.encode()).hexdigest()[:16] == DOC_DIGESTS[name], name
        assert issubclass(cls, keras.initializers.Initializer) and issubclass(cls, xk.Initializer)
        assert issubclass(cls, xk.VarianceScaling) == (name in NAMED or name == "VarianceScaling"), name
        if cls is not xk.Initializer:
            assert keras.saving.get_registered_object(f"xinit_bench>{name}") is cls
            assert keras.saving.get_registered_name(cls) == f"xinit_bench>{name}"
    # each named class has the law of its scheme: Keras's (scale, mode, distribution) for it
    he = xb.calculate_gain("relu") ** 2
    laws = {name: classes[name].law for name in NAMED}
    assert laws == {
        "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
        "GlorotUniform": (1.0, "fan_avg", "uniform"),
        "HeNormal": (he, "fan_in", "truncated_normal"),
        "HeUniform": (he, "fan_in", "uniform"),
        "LecunNormal": (1.0, "fan_in", "truncated_normal"),
        "LecunUniform": (1.0, "fan_in", "uniform"),
    }
    assert isinstance(xk.HeNormal(seed=0), xk.VarianceScaling) and not isinstance(xk.Orthogonal(), xk.VarianceScaling)


def test_a_users_subclass_inherits_the_law_and_is_not_registered_as_the_packages() -> None:
    class Mine(xk.HeUniform):
        """A user's subclass."""

    assert Mine.law == xk.HeUniform.law and Mine.draws == "he_uniform"
    assert np.array_equal(Mine(seed=2).values((6, 4)), xk.HeUniform(seed=2).values((6, 4)))
    assert keras.saving.get_registered_object("xinit_bench>Mine") is None
    assert keras.saving.get_registered_object("xinit_bench>HeUniform") is xk.HeUniform


# --- refusals ----------------------------------------------------------------------------------
@pytest.mark.refusal
def test_a_seed_generator_is_refused() -> None:
    message = refused(TypeError, "seed", xk.HeNormal, seed=keras.random.SeedGenerator(1))
    assert "SeedGenerator" in message and "every call" in message
    refused(TypeError, "seed", xk.RandomNormal, seed=keras.random.SeedGenerator(1))


@pytest.mark.refusal
def test_bad_arguments_are_refused_naming_the_parameter() -> None:
    init = xk.HeNormal(seed=1)
    refused(TypeError, "shape", init, "ab")
    refused(TypeError, "shape[1]", init, (2, "a"))
    refused(ValueError, "shape[0]", init, (-1, 2))
    refused(TypeError, "shape[0]", init, (2.0, 3))
    refused(ValueError, "dtype", init, (2, 2), "int32")
    refused(ValueError, "dtype", init, (2, 2), "complex64")
    refused(TypeError, "dtype", init, (2, 2), 3.5)
    refused(ValueError, "seed", xk.HeNormal, seed=-1)
    refused(TypeError, "seed", xk.HeNormal, seed=1.5)
    refused(TypeError, "name", xk.HeNormal, seed=1, name=3)
    refused(ValueError, "distribution", xk.VarianceScaling, distribution="gauss")
    refused(ValueError, "mode", xk.VarianceScaling, mode="fan_sum")
    refused(ValueError, "scale", xk.VarianceScaling, scale=-1.0)
    refused(ValueError, "maxval", xk.RandomUniform, 1.0, 0.0)
    refused(ValueError, "gain", xk.Orthogonal, -1.0)
    refused(ValueError, "shape", xk.Orthogonal(seed=0), (5,))
    refused(ValueError, "stddev", xk.RandomNormal, 0.0, -1.0)
    refused(ValueError, "stddev", xk.TruncatedNormal, 0.0, 0.0)
    refused(ValueError, "input_axes", xk.GlorotUniform, input_axes=[0])
    refused(TypeError, "input_axes", xk.GlorotUniform, input_axes="01", output_axes=[1])
    refused(ValueError, "input_axes[0]", xk.GlorotUniform(input_axes=[5], output_axes=[0]), (2, 3))


@pytest.mark.refusal
def test_a_range_error_in_half_precision_names_the_parameter() -> None:
    # U(-1e5, 1e5) does not fit float16 (largest 65504); the library refuses it before drawing.
    with pytest.raises(xb.ParameterRangeError):
        xk.RandomUniform(-1e5, 1e5, seed=0)((4, 4), "float16")
