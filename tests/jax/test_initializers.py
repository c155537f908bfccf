"""The JAX initialisers: the bits of the NumPy calls for a key's seed, jit, vmap, Flax, refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from refusals import refused

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
xj = pytest.importorskip("xinit_bench.jax")
import xinit_bench as xb  # noqa: E402
from xinit_bench.orthogonal import orthogonal  # noqa: E402

#: Each factory (non-default arguments where it has any) and the NumPy call of the same bits.
CASES: dict[str, tuple[Callable[[], Any], Callable[..., np.ndarray]]] = {
    "glorot_uniform": (xj.glorot_uniform, lambda sh, **k: xb.glorot_uniform(sh, layout="jax", **k)),
    "glorot_normal": (xj.glorot_normal, lambda sh, **k: xb.glorot_truncated_normal(sh, layout="jax", **k)),
    "he_uniform": (xj.he_uniform, lambda sh, **k: xb.he_uniform(sh, layout="jax", **k)),
    "he_normal": (xj.he_normal, lambda sh, **k: xb.he_truncated_normal(sh, layout="jax", **k)),
    "lecun_uniform": (xj.lecun_uniform, lambda sh, **k: xb.lecun_uniform(sh, layout="jax", **k)),
    "lecun_normal": (xj.lecun_normal, lambda sh, **k: xb.lecun_truncated_normal(sh, layout="jax", **k)),
    "variance_scaling": (
        lambda: xj.variance_scaling(0.5, "fan_geo_avg", "normal"),
        lambda sh, **k: xb.variance_scaling(sh, 0.5, "fan_geo_avg", "normal", layout="jax", **k),
    ),
    "orthogonal": (
        lambda: xj.orthogonal(0.5, column_axis=0),
        lambda sh, **k: orthogonal(sh, 0.5, layout="keras", column_axis=0, **k),
    ),
    "uniform": (lambda: xj.uniform(0.3), lambda sh, **k: xb.uniform(sh, 0.0, 0.3, **k)),
    "normal": (lambda: xj.normal(0.2), lambda sh, **k: xb.normal(sh, 0.0, 0.2, **k)),
    "truncated_normal": (
        lambda: xj.truncated_normal(0.2, lower=-1.5, upper=3.0),
        lambda sh, **k: xb.truncated_normal(sh, 0.0, 0.2, -1.5, 3.0, **k),
    ),
}

DTYPES = ("float32", "bfloat16", "float16")


def bits(a: Any) -> np.ndarray:
    x = np.asarray(a)
    return x.view(f"u{x.dtype.itemsize}")


def test_the_acceptance_example() -> None:
    got = xj.he_normal()(jax.random.key(3), (256, 128))
    assert got.dtype == jnp.float32
    assert np.array_equal(bits(got), bits(xb.he_truncated_normal((256, 128), seed=3, layout="keras")))


@pytest.mark.known_answer
def test_the_key_rule() -> None:
    # PRNGKey(s) of s < 2**32 has the words (0, s): the seed s.  Typed and raw keys agree.
    assert xj.seed_of_key(jax.random.PRNGKey(7)) == 7
    assert xj.seed_of_key(jax.random.key(7)) == 7
    words = np.array([3, 5], np.uint32)
    assert xj.seed_of_key(jax.random.wrap_key_data(words)) == (3 << 32) | 5
    assert xj.seed_of_key(words) == (3 << 32) | 5
    k = jax.random.split(jax.random.key(0))[1]
    w = np.asarray(jax.random.key_data(k))
    assert xj.seed_of_key(k) == int(w[0]) * 2**32 + int(w[1])


@pytest.mark.known_answer
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_factory_has_the_bits_of_its_numpy_call(case: str, dtype: str) -> None:
    make, numpy_call = CASES[case]
    key = jax.random.split(jax.random.key(1))[0]
    seed = xj.seed_of_key(key)
    for shape in ((256, 128), (3, 3, 16, 32)):
        got = make()(key, shape, dtype)
        assert got.shape == shape and np.dtype(got.dtype) == np.dtype(xb.normal(1, dtype=dtype).dtype)
        assert np.array_equal(bits(got), bits(numpy_call(shape, seed=seed, dtype=dtype)))
        assert np.array_equal(bits(make()(key, shape, dtype)), bits(got))  # the same key, the same bits


@pytest.mark.known_answer
def test_jax_axes() -> None:
    key = jax.random.key(2)
    # A batch of 4 independent 8x6 matrices: batch axis 0 leaves the fans of each matrix.
    got = xj.he_uniform(batch_axis=0)(key, (4, 8, 6))
    assert np.array_equal(
        bits(got),
        bits(
            xb.variance_scaling((4, 8, 6), 2 * (1 + 2**-52), "fan_in", "uniform", layout="jax", batch_axis=(0,), seed=2)
        ),
    )
    # Sequences of axes: fan_in = 3 * 4, fan_out = 5, by JAX's rule.
    got = xj.variance_scaling(1.0, "fan_in", "uniform", in_axis=(0, 1), out_axis=2)(key, (3, 4, 5))
    want = xb.variance_scaling((3, 4, 5), 1.0, "fan_in", "uniform", fans=(12, 5), seed=2)
    assert np.array_equal(bits(got), bits(want))
    bound = np.sqrt(3.0 / 12)
    assert float(np.abs(np.asarray(got)).max()) < bound


@pytest.mark.invariance
@pytest.mark.parametrize("case", ["he_normal", "uniform", "glorot_uniform"])
def test_jit_gives_the_same_bits(case: str) -> None:
    init = CASES[case][0]()
    key = jax.random.key(5)
    eager = init(key, (64, 32), jnp.bfloat16)
    jitted = jax.jit(lambda k: init(k, (64, 32), jnp.bfloat16))(key)
    assert np.array_equal(bits(jitted), bits(eager))


@pytest.mark.invariance
def test_vmap_over_keys_gives_each_keys_bits() -> None:
    keys = jax.random.split(jax.random.key(9), 4)
    init = xj.glorot_normal()
    stacked = jax.vmap(lambda k: init(k, (16, 8)))(keys)
    both = jax.jit(jax.vmap(lambda k: init(k, (16, 8))))(keys)
    assert stacked.shape == (4, 16, 8)
    for i in range(4):
        want = xb.glorot_truncated_normal((16, 8), seed=xj.seed_of_key(keys[i]), layout="jax")
        assert np.array_equal(bits(stacked[i]), bits(want))
        assert np.array_equal(bits(both[i]), bits(want))
    assert not np.array_equal(bits(stacked[0]), bits(stacked[1]))


@pytest.mark.known_answer
def test_uniform_is_zero_to_scale() -> None:
    x = np.asarray(xj.uniform(0.5)(jax.random.key(0), (1 << 16,)))
    assert x.min() >= 0.0 and x.max() < 0.5
    assert x.min() < 0.5 / 1000 and x.max() > 0.5 * (1 - 1 / 1000)  # both ends reached: not U(-0.5, 0.5)


def test_flax_dense_takes_it() -> None:
    nn = pytest.importorskip("flax.linen")
    model = nn.Dense(32, kernel_init=xj.he_normal())
    x = jnp.ones((2, 16))
    params = model.init(jax.random.key(0), x)
    kernel = params["params"]["kernel"]
    assert kernel.shape == (16, 32)
    # Flax hands the kernel its own key (split from the model's); the values are that key's bits.
    again = model.init(jax.random.key(0), x)["params"]["kernel"]
    assert np.array_equal(bits(kernel), bits(again))
    assert np.array_equal(bits(jax.jit(model.init)(jax.random.key(0), x)["params"]["kernel"]), bits(kernel))
    std = float(np.asarray(kernel).std())
    assert 0.5 * np.sqrt(2 / 16) < std < 1.5 * np.sqrt(2 / 16)
    assert model.apply(params, x).shape == (2, 32)


# --- refusals ----------------------------------------------------------------------------------
@pytest.mark.refusal
def test_bad_arguments_are_refused_naming_the_parameter() -> None:
    init = xj.he_normal()
    key = jax.random.key(0)
    refused(TypeError, "shape", init, key, "ab")
    refused(TypeError, "shape[1]", init, key, (2, 1.5))
    refused(ValueError, "shape[0]", init, key, (-2, 3))
    refused(ValueError, "dtype", init, key, (2, 2), jnp.int32)
    refused(ValueError, "dtype", init, key, (2, 2), "complex64")
    refused(ValueError, "shape", init, key, (5,))  # rank 1: JAX's fans need two axes too
    refused(ValueError, "distribution", xj.variance_scaling, 1.0, "fan_in", "untruncated")
    refused(ValueError, "mode", xj.variance_scaling, 1.0, "fan_sum", "normal")
    refused(ValueError, "scale", xj.uniform, -1.0)
    refused(ValueError, "stddev", xj.normal, -1.0)
    refused(ValueError, "upper", xj.truncated_normal, 1.0, None, 2.0, -2.0)
    refused(ValueError, "shape", xj.orthogonal(), key, (5,))
    refused(ValueError, "column_axis", xj.orthogonal(column_axis=4), key, (3, 3))


@pytest.mark.refusal
def test_a_key_of_the_wrong_kind_is_refused() -> None:
    init = xj.glorot_uniform()
    refused(TypeError, "key", init, 0, (2, 2))
    refused(TypeError, "key", init, np.zeros(2, np.float32), (2, 2))
    refused(TypeError, "key", init, jnp.zeros(2, jnp.int32), (2, 2))
    refused(ValueError, "key", init, jax.random.split(jax.random.key(0), 3), (2, 2))
    refused(ValueError, "key", init, np.zeros((3, 2), np.uint32), (2, 2))
    refused(ValueError, "key", init, np.zeros(1, np.uint32), (2, 2))


@pytest.mark.refusal
def test_refusals_under_jit_happen_at_trace_time() -> None:
    init = xj.he_normal()
    with pytest.raises(ValueError, match=r"^dtype must "):
        jax.jit(lambda k: init(k, (4, 4), jnp.int8))(jax.random.key(0))
    with pytest.raises(xb.ParameterRangeError):
        jax.jit(lambda k: xj.uniform(1e6)(k, (4, 4), jnp.float16))(jax.random.key(0))
