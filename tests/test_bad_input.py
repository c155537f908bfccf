"""Every bad input is refused with a clear error before anything is written."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xinit_bench as xb


@pytest.fixture
def canary() -> np.ndarray:
    return np.full((8, 4), 7.0, np.float32)


def untouched(a: np.ndarray) -> bool:
    return bool((a == 7.0).all())


@pytest.mark.parametrize(
    "shape,exc,msg",
    [
        ((4, -1), ValueError, r"shape\[1\] must be an int >= 0, got -1"),
        ((4, 2.0), TypeError, r"shape\[1\] must be an int >= 0, got 2.0"),
        ((4, True), TypeError, r"shape\[1\] must be an int >= 0, got True"),
        ("44", TypeError, "shape must be an int or a sequence of ints, got '44'"),
        (None, TypeError, "shape must be an int or a sequence of ints, got None"),
    ],
)
def test_bad_dimensions(shape: object, exc: type, msg: str) -> None:
    with pytest.raises(exc, match=msg):
        xb.normal(shape)  # type: ignore[arg-type]
    with pytest.raises(exc, match=msg):
        xb.xavier_uniform(shape)  # type: ignore[arg-type]


def test_rank_below_two_when_fans_are_inferred() -> None:
    with pytest.raises(ValueError, match=r"shape must have rank >= 2 .*of rank 1"):
        xb.he_normal((10,))


@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"mode": "fan_sum"}, "mode must be one of 'fan_in', .*, got 'fan_sum'"),
        ({"distribution": "laplace"}, "distribution must be one of 'uniform', .*, got 'laplace'"),
    ],
)
def test_unknown_mode_and_distribution(kw: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        xb.variance_scaling((4, 4), **kw)


def test_unknown_nonlinearity() -> None:
    with pytest.raises(ValueError, match=r"nonlinearity must be one of .*, got 'swish2'"):
        xb.he_uniform((4, 4), nonlinearity="swish2")


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_bad_gain_scale_and_std(value: float, canary: np.ndarray) -> None:
    with pytest.raises(ValueError, match="gain"):
        xb.xavier_uniform((8, 4), gain=value, out=canary)
    with pytest.raises(ValueError, match="scale"):
        xb.variance_scaling((8, 4), value, out=canary)
    with pytest.raises(ValueError, match="std"):
        xb.normal((8, 4), 0.0, value, out=canary)
    assert untouched(canary)


def test_gain_and_nonlinearity_together() -> None:
    with pytest.raises(ValueError, match="either gain= or nonlinearity="):
        xb.xavier_normal((4, 4), gain=2.0, nonlinearity="tanh")


@pytest.mark.parametrize("a,b", [(2.0, 2.0), (3.0, -1.0), (math.nan, 1.0)])
def test_truncation_needs_a_below_b(a: float, b: float, canary: np.ndarray) -> None:
    with pytest.raises(ValueError):
        xb.truncated_normal((8, 4), a=a, b=b, out=canary)
    assert untouched(canary)


def test_truncation_with_no_mass_is_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        xb.truncated_normal(4, a=60.0, b=61.0)


def test_uniform_low_not_below_high() -> None:
    with pytest.raises(ValueError, match="high must be > low"):
        xb.uniform(4, 1.0, 1.0)


def test_read_only_out(canary: np.ndarray) -> None:
    canary.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        xb.normal((8, 4), out=canary)
    assert untouched(canary)


def test_integer_out() -> None:
    out = np.zeros((8, 4), np.int32)
    with pytest.raises(TypeError, match="out must be a float32, float64, float16 or bfloat16 array, got dtype int32"):
        xb.normal((8, 4), out=out)
    assert not out.any()


def test_mismatched_out(canary: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"out must have shape \(4, 8\), got shape \(8, 4\)"):
        xb.normal((4, 8), out=canary)
    with pytest.raises(TypeError, match="out must be a float64 array"):
        xb.normal((8, 4), dtype=np.float64, out=canary)
    with pytest.raises(TypeError, match="ndarray"):
        xb.normal((8, 4), out=canary.tolist())  # type: ignore[arg-type]
    assert untouched(canary)


def test_non_contiguous_out_is_refused(canary: np.ndarray) -> None:
    with pytest.raises(ValueError, match="C-contiguous"):
        xb.normal((8, 2), out=canary[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        xb.normal((4, 8), out=canary.T)
    assert untouched(canary)


@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (1.5, TypeError), ("7", TypeError), (True, TypeError)])
def test_bad_seed(seed: object, exc: type, canary: np.ndarray) -> None:
    with pytest.raises(exc, match="seed"):
        xb.normal((8, 4), seed=seed, out=canary)  # type: ignore[arg-type]
    assert untouched(canary)


def test_seed_and_generator_together() -> None:
    with pytest.raises(ValueError, match="either seed= or generator="):
        xb.normal(4, seed=1, generator=xb.Generator(1))
    with pytest.raises(TypeError, match="Generator"):
        xb.normal(4, generator=np.random.default_rng(0))  # type: ignore[arg-type]


def test_bad_dtype() -> None:
    # A dtype is the right kind of argument; int64 or complex64 are values it may not take.
    with pytest.raises(ValueError, match="dtype must be one of float32, float64, float16, bfloat16"):
        xb.normal(4, dtype=np.int64)
    with pytest.raises(ValueError, match="dtype must be one of float32, float64, float16, bfloat16, got 'complex64'"):
        xb.normal(4, dtype="complex64")
    with pytest.raises(ValueError, match="dtype must be one of float32, float64, float16, bfloat16, got 'flaot32'"):
        xb.normal(4, dtype="flaot32")
    with pytest.raises(TypeError, match="dtype must be one of float32, float64, float16, bfloat16"):
        xb.normal(4, dtype=object())


@pytest.mark.parametrize("fn", [xb.normal, xb.uniform, xb.truncated_normal])
def test_zero_elements_returns_empty(fn) -> None:  # type: ignore[no-untyped-def]
    out = fn((0, 5), seed=1)
    assert out.shape == (0, 5) and out.dtype == np.float32


def test_zero_element_scheme() -> None:
    assert xb.xavier_uniform((0, 5), seed=1).shape == (0, 5)
    assert xb.he_normal((3, 0, 3, 3), seed=1).shape == (3, 0, 3, 3)
