"""``xinit_bench/validation.py``: the one validation rule, table-driven: the same mistake gets the same
exception everywhere.

A value of the wrong *type* raises ``TypeError``, a value of the right type
but not allowed raises ``ValueError``, and the message names the parameter
(``"<param> must be <allowed>, got <repr>"``; xinit_bench/validation.py).
Every public entry point is sent the same mistakes: a str, a float or a bool
where an int is expected, a negative count, NaN, inf, an unknown choice, a
wrong dtype name; and a NumPy integer where an int is fine must pass.

Also the checks of shapes, ``out=`` and dtypes themselves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from refusals import refused, untouched

import xinit_bench as xb
from xinit_bench import propagation as prop
from xinit_bench.schemes import NAMED_SCHEMES

NAMED = list(NAMED_SCHEMES)  # every named scheme of the one table


SAMPLERS: dict[str, Callable[..., Any]] = {
    "uniform": xb.uniform,
    "normal": xb.normal,
    "truncated_normal": xb.truncated_normal,
    "variance_scaling": xb.variance_scaling,
    **{n: getattr(xb, n) for n in NAMED},
}


NET = {"depth": 2, "width": 4}


SIM = {**NET, "batch": 4, "repeats": 1}


# (label, call, exception, parameter named in the message)
CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = []


def case(label: str, exc: type[Exception], param: str) -> Callable[[Callable[[], Any]], None]:
    def add(call: Callable[[], Any]) -> None:
        CASES.append((label, call, exc, param))

    return add


# --- a str, a float, a bool where an int is expected; a negative count ------------------
for name, fn in SAMPLERS.items():
    for bad, exc in (("4", TypeError), (4.0, TypeError), (True, TypeError), (-1, ValueError)):
        case(f"{name}: shape=({bad!r}, 4)", exc, "shape[0]")(lambda fn=fn, bad=bad: fn((bad, 4), seed=0))
    for bad, exc in (("4", TypeError), (4.0, TypeError), (True, TypeError), (-1, ValueError)):
        case(f"{name}: seed={bad!r}", exc, "seed")(lambda fn=fn, bad=bad: fn((4, 4), seed=bad))
    # a wrong dtype name is a wrong value; an object that is no dtype at all a wrong type
    case(f"{name}: dtype='int32'", ValueError, "dtype")(lambda fn=fn: fn((4, 4), dtype="int32"))
    case(f"{name}: dtype=np.int64", ValueError, "dtype")(lambda fn=fn: fn((4, 4), dtype=np.int64))
    case(f"{name}: dtype=object()", TypeError, "dtype")(lambda fn=fn: fn((4, 4), dtype=object()))
    case(f"{name}: generator=rng", TypeError, "generator")(lambda fn=fn: fn((4, 4), generator=np.random.default_rng(0)))


for bad, exc in (("4", TypeError), (4.0, TypeError), (True, TypeError), (-1, ValueError)):
    case(f"random_bits: n={bad!r}", exc, "n")(lambda bad=bad: xb.random_bits(bad, seed=0))
    case(f"random_bits: offset={bad!r}", exc, "offset")(lambda bad=bad: xb.random_bits(4, seed=0, offset=bad))
    case(f"random_bits: stream={bad!r}", exc, "stream")(lambda bad=bad: xb.random_bits(4, seed=0, stream=bad))
    case(f"random_bits: seed={bad!r}", exc, "seed")(lambda bad=bad: xb.random_bits(4, seed=bad))
    case(f"Generator: stream={bad!r}", exc, "stream")(lambda bad=bad: xb.Generator(0, stream=bad))
    case(f"Generator: seed={bad!r}", exc, "seed")(lambda bad=bad: xb.Generator(bad))
    case(f"compute_fans: in_axis={bad!r}", exc if bad != -1 else ValueError, "in_axis")(
        lambda bad=bad: xb.compute_fans((2, 3), in_axis=bad if bad != -1 else -3)
    )
    case(f"variance_scaling: fans=({bad!r}, 3)", exc, "fans[0]")(
        lambda bad=bad: xb.variance_scaling((6,), fans=(bad if bad != -1 else 0, 3))
    )
    for p, kw in (
        ("depth", {"depth": bad, "width": 4}),
        ("width", {"depth": 2, "width": bad}),
        ("widths[1]", {"widths": [4, bad]}),
    ):
        bad_kw = {k: (0 if v == -1 else v) for k, v in kw.items()}  # depth and widths must be >= 1
        case(f"simulate: {p}={bad!r}", exc, p)(lambda kw=bad_kw: prop.simulate("relu", batch=4, repeats=1, **kw))
        case(f"predict: {p}={bad!r}", exc, p)(lambda kw=bad_kw: prop.predict("relu", **kw))
    for p in ("batch", "repeats", "seed"):
        value = (0 if p != "seed" else -1) if bad == -1 else bad
        case(f"simulate: {p}={value!r}", exc, p)(lambda p=p, value=value: prop.simulate("relu", **{**SIM, p: value}))
    case(f"simulate: kernel_threads={bad!r}", exc, "kernel_threads")(
        lambda bad=bad: prop.simulate("relu", **SIM, kernel_threads=bad if bad != -1 else 0)
    )


# --- NaN and inf where a finite real is expected; a str or a bool where a real is -------------
for bad, exc in ((math.nan, ValueError), (math.inf, ValueError), ("1", TypeError), (True, TypeError)):
    case(f"uniform: low={bad!r}", exc, "low")(lambda bad=bad: xb.uniform(4, bad, 2.0))
    case(f"normal: std={bad!r}", exc, "std")(lambda bad=bad: xb.normal(4, 0.0, bad))
    case(f"normal: mean={bad!r}", exc, "mean")(lambda bad=bad: xb.normal(4, bad))
    case(f"truncated_normal: std={bad!r}", exc, "std")(lambda bad=bad: xb.truncated_normal(4, 0.0, bad))
    case(f"variance_scaling: scale={bad!r}", exc, "scale")(lambda bad=bad: xb.variance_scaling((4, 4), bad))
    for name in NAMED:
        if name.startswith("he_"):
            case(f"{name}: a={bad!r}", exc, "a")(lambda name=name, bad=bad: getattr(xb, name)((4, 4), a=bad))
        else:
            case(f"{name}: gain={bad!r}", exc, "gain")(lambda name=name, bad=bad: getattr(xb, name)((4, 4), gain=bad))
    case(f"calculate_gain: param={bad!r}", exc, "param")(lambda bad=bad: xb.calculate_gain("leaky_relu", bad))
    case(f"calculate_gain(elu): param={bad!r}", exc, "param")(lambda bad=bad: xb.calculate_gain("elu", bad))
    case(f"critical_gain: q={bad!r}", exc, "q")(lambda bad=bad: prop.critical_gain("tanh", "forward", bad))
    case(f"gain_table: q={bad!r}", exc, "q")(lambda bad=bad: prop.gain_table(bad))
    case(f"predict: bias_std={bad!r}", exc, "bias_std")(lambda bad=bad: prop.predict("relu", **NET, bias_std=bad))
    case(f"predict: gain={bad!r}", exc, "gain")(lambda bad=bad: prop.predict("relu", **NET, gain=bad))
    case(f"simulate: input_second_moment={bad!r}", exc, "input_second_moment")(
        lambda bad=bad: prop.simulate("relu", **SIM, input_second_moment=bad)
    )
    case(f"expected_phi_squared: q={bad!r}", exc, "q")(lambda bad=bad: prop.expected_phi_squared("tanh", bad))


# the truncation points may be infinite, never NaN
case("truncated_normal: a=nan", ValueError, "a")(lambda: xb.truncated_normal(4, a=math.nan))


case("truncated_normal: b='2'", TypeError, "b")(lambda: xb.truncated_normal(4, b="2"))


case("truncated_normal: absolute=1", TypeError, "absolute")(lambda: xb.truncated_normal(4, absolute=1))


case("simulate: singular_values=1", TypeError, "singular_values")(
    lambda: prop.simulate("relu", **SIM, singular_values=1)
)


# --- an unknown choice is a ValueError; a choice that is not a str a TypeError ------------------
for bad, exc in (("nope", ValueError), (3, TypeError)):
    case(f"variance_scaling: mode={bad!r}", exc, "mode")(lambda bad=bad: xb.variance_scaling((4, 4), mode=bad))
    case(f"variance_scaling: distribution={bad!r}", exc, "distribution")(
        lambda bad=bad: xb.variance_scaling((4, 4), distribution=bad)
    )
    case(f"he_normal: mode={bad!r}", exc, "mode")(lambda bad=bad: xb.he_normal((4, 4), mode=bad))
    case(f"he_normal: nonlinearity={bad!r}", exc, "nonlinearity")(
        lambda bad=bad: xb.he_normal((4, 4), nonlinearity=bad)
    )
    case(f"xavier_uniform: nonlinearity={bad!r}", exc, "nonlinearity")(
        lambda bad=bad: xb.xavier_uniform((4, 4), nonlinearity=bad)
    )
    case(f"compute_fans: layout={bad!r}", exc, "layout")(lambda bad=bad: xb.compute_fans((4, 4), layout=bad))
    case(f"calculate_gain: nonlinearity={bad!r}", exc, "nonlinearity")(lambda bad=bad: xb.calculate_gain(bad))
    case(f"critical_gain: criterion={bad!r}", exc, "criterion")(lambda bad=bad: prop.critical_gain("relu", bad))
    case(f"critical_gain: activation={bad!r}", exc, "activation")(lambda bad=bad: prop.critical_gain(bad))
    case(f"predict: activation={bad!r}", exc, "activation")(lambda bad=bad: prop.predict(bad, **NET))
    case(f"predict: init={bad!r}", exc, "init")(lambda bad=bad: prop.predict("relu", **NET, init=bad))
    case(f"simulate: init={bad!r}", exc, "init")(lambda bad=bad: prop.simulate("relu", **SIM, init=bad))
    case(f"simulate: activation={bad!r}", exc, "activation")(lambda bad=bad: prop.simulate(bad, **SIM))


for bad in ("int32", "float16", "nonsense"):
    case(f"simulate: dtype={bad!r}", ValueError, "dtype")(lambda bad=bad: prop.simulate("relu", **SIM, dtype=bad))


for bad in ("int32", "complex64", "nonsense"):  # float16 and bfloat16 are sampler dtypes
    case(f"normal: dtype={bad!r}", ValueError, "dtype")(lambda bad=bad: xb.normal(4, dtype=bad))


case("simulate: dtype=object()", TypeError, "dtype")(lambda: prop.simulate("relu", **SIM, dtype=object()))


@pytest.mark.refusal
@pytest.mark.parametrize(("label", "call", "exc", "param"), CASES, ids=[c[0] for c in CASES])
def test_same_mistake_same_exception(label: str, call: Callable[[], Any], exc: type[Exception], param: str) -> None:
    with pytest.raises(Exception) as info:
        call()
    assert type(info.value) is exc, f"{label}: {type(info.value).__name__}: {info.value}"
    assert re.match(rf"{re.escape(param)} must be ", str(info.value)), f"{label}: {info.value}"


@pytest.mark.structure
def test_the_table_covers_every_public_entry_point() -> None:
    labels = " ".join(c[0] for c in CASES)
    for name in [
        *SAMPLERS,
        "random_bits",
        "Generator",
        "compute_fans",
        "calculate_gain",
        "simulate",
        "predict",
        "critical_gain",
        "gain_table",
    ]:
        assert re.search(rf"\b{name}\b", labels), name


# --- NumPy integers are ints, everywhere an int is fine ------------------------------------------
@pytest.mark.invariance
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_numpy_ints_are_ints(name: str) -> None:
    n = np.int64(4)
    ref = SAMPLERS[name]((4, 4), seed=3)
    assert np.array_equal(SAMPLERS[name]((n, np.int32(4)), seed=np.uint64(3)), ref)


@pytest.mark.invariance
def test_numpy_ints_elsewhere() -> None:
    n = np.int64(6)
    assert np.array_equal(
        xb.random_bits(n, seed=np.int32(1), stream=np.uint32(2), offset=np.int16(3)),
        xb.random_bits(6, seed=1, stream=2, offset=3),
    )
    assert xb.Generator(np.int64(5), stream=np.int64(2)).stream == 2
    assert xb.compute_fans((2, 3), in_axis=np.int64(0), out_axis=np.int8(1)) == (2, 3)
    assert xb.variance_scaling((6,), fans=(np.int64(2), np.int64(3)), seed=0).shape == (6,)
    assert xb.calculate_gain("leaky_relu", np.int64(0)) == math.sqrt(2.0)
    assert prop.predict("relu", depth=np.int64(2), width=np.int32(4)).widths == (4, 4, 4)
    r = prop.simulate(
        "relu", depth=np.int64(2), width=np.int64(4), batch=np.int64(4), repeats=np.int64(1), seed=np.int64(0)
    )
    assert r.batch == 4 and type(r.batch) is int
    assert prop.critical_gain("relu", q=np.int64(1)).gain == pytest.approx(math.sqrt(2.0), rel=1e-15)


# --- everything is checked before any state changes --------------------------------------------
@pytest.mark.refusal
def test_refused_random_bits_leaves_the_generator_alone() -> None:
    g = xb.Generator(0)
    with pytest.raises(ValueError, match="stream"):
        xb.random_bits(4, generator=g, stream=3)
    assert g.stream == 0
    for bad in ({"n": -1}, {"n": "4"}, {"offset": -1}, {"stream": "1"}, {"seed": 1}):
        kwargs: dict[str, Any] = {"n": 4, "generator": g, **bad}
        with pytest.raises((TypeError, ValueError)):
            xb.random_bits(**kwargs)
        assert g.stream == 0, bad
    xb.random_bits(4, generator=g)
    assert g.stream == 1


@pytest.mark.refusal
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_refused_sampler_calls_leave_the_generator_alone(name: str) -> None:
    g = xb.Generator(0)
    wide, ints, strided = np.zeros((4, 5)), np.zeros((4, 4), np.int32), np.zeros((4, 8))[:, ::2]
    for kwargs in (
        {"dtype": "int32"},
        {"out": wide},
        {"out": ints},
        {"out": strided},
        {"seed": 1},
        {"dtype": np.float32, "out": np.zeros((4, 4))},
    ):
        with pytest.raises((TypeError, ValueError)):
            SAMPLERS[name]((4, 4), generator=g, **kwargs)
        assert g.stream == 0, kwargs
    assert not (wide.any() or ints.any() or strided.any())
    SAMPLERS[name]((4, 4), generator=g)
    assert g.stream == 1


# --- huge ints, shapes and containers ---------------------------------------------------------------
@pytest.mark.refusal
@pytest.mark.parametrize(
    ("param", "call", "kwargs"),
    [
        ("std", xb.normal, {"std": 2**1100}),
        ("high", xb.uniform, {"high": 2**1100}),
        ("mean", xb.truncated_normal, {"mean": -(2**1100)}),
        ("scale", xb.variance_scaling, {"scale": 2**1100}),
        ("gain", xb.xavier_normal, {"gain": 2**1100}),
        ("a", xb.he_normal, {"a": 2**1100}),
    ],
)
def test_huge_int_real_is_a_value_error_naming_it(param, call, kwargs) -> None:
    msg = refused(ValueError, param, call, (3, 4), seed=0, **kwargs)
    assert "2**1100" in msg and len(msg) < 300


@pytest.mark.refusal
def test_shape_numpy_cannot_hold_is_a_value_error_naming_shape() -> None:
    refused(ValueError, "shape", xb.normal, (2**62, 2**62), seed=0)


@pytest.mark.refusal
@pytest.mark.parametrize("shape", [{4, 3}, {4: 1, 3: 2}, frozenset({2}), (d for d in (2, 3))])
def test_unordered_or_one_shot_shapes_are_type_errors(shape) -> None:
    refused(TypeError, "shape", xb.uniform, shape, seed=0)


@pytest.mark.refusal
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


# --- out= and dtype= --------------------------------------------------------------------------------
@pytest.mark.refusal
def test_numpy_matrix_out_is_a_type_error() -> None:
    with pytest.warns(PendingDeprecationWarning):
        m = np.matrix(np.zeros((2, 2), np.float32))
    refused(TypeError, "out", xb.uniform, (2, 2), seed=0, out=m)
    assert (m == 0).all()


@pytest.mark.refusal
def test_read_only_out(canary: np.ndarray) -> None:
    canary.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        xb.normal((8, 4), out=canary)
    assert untouched(canary)


@pytest.mark.refusal
def test_integer_out() -> None:
    out = np.zeros((8, 4), np.int32)
    with pytest.raises(TypeError, match="out must be a float32, float64, float16 or bfloat16 array, got dtype int32"):
        xb.normal((8, 4), out=out)
    assert not out.any()


@pytest.mark.refusal
def test_mismatched_out(canary: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"out must have shape \(4, 8\), got shape \(8, 4\)"):
        xb.normal((4, 8), out=canary)
    with pytest.raises(TypeError, match="out must be a float64 array"):
        xb.normal((8, 4), dtype=np.float64, out=canary)
    with pytest.raises(TypeError, match="ndarray"):
        xb.normal((8, 4), out=canary.tolist())  # type: ignore[arg-type]
    assert untouched(canary)


@pytest.mark.refusal
def test_non_contiguous_out_is_refused(canary: np.ndarray) -> None:
    with pytest.raises(ValueError, match="C-contiguous"):
        xb.normal((8, 2), out=canary[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        xb.normal((4, 8), out=canary.T)
    assert untouched(canary)


@pytest.mark.refusal
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
