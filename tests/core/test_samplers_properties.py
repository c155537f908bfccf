"""Property-based tests: every public entry point on hostile input.

For each input an entry point either returns a valid result (the right shape
and dtype, finite values inside the documented range) or raises ``TypeError``
or ``ValueError`` whose message names the parameter (``"<name> must ..."``,
or ``"pass either ..."`` for exclusive pairs).  A refused call leaves a canary
``out`` unchanged, a :class:`~xinit_bench.Generator` where it was, and writes
no file.  ``MemoryError`` is allowed only for a shape too large for memory.

The strategies mix extreme floats (+-0, subnormals, 1e308, inf, NaN), huge
ints (2**1100), NumPy scalars and odd containers (sets, dicts, generators,
strings, nested lists, ``np.matrix``, read-only and strided arrays).  Every
test is derandomised with a fixed example budget (``EXAMPLES``), so the suite
is deterministic and takes seconds.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import xinit_bench as xb
from xinit_bench import propagation as prop

#: Examples per entry point: reported by the project's review, kept small enough for `make test`.
EXAMPLES = {
    "uniform": 800,
    "normal": 800,
    "truncated_normal": 800,
    "variance_scaling": 1000,
    "named": 800,
    "random_bits": 300,
    "Generator": 200,
    "compute_fans": 500,
    "calculate_gain": 500,
    "critical_gain": 200,
    "predict": 200,
    "simulate": 100,
    "cli_bench": 20,
    "cli_gate": 60,
    "cli_propagate": 100,
    "cli_gains": 25,
    "cli_info": 5,
    "cli_compile": 10,
}


def budget(name: str) -> settings:
    return settings(
        derandomize=True,
        database=None,
        max_examples=EXAMPLES[name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# --- strategies -----------------------------------------------------------------------------
EXTREME = [0.0, -0.0, 5e-324, -5e-324, 1e-310, 1e-40, 1e-38, 1.0, -1.0, 2.0, 3e38, -3e38, 1e39, 1e154, 1e200]
EXTREME += [1e308, -1e308, 1.7976931348623157e308, math.inf, -math.inf, math.nan]
HUGE_INTS = [2**64, 2**1100, -(2**1100), 2**1023, 10**400]
NOT_REALS = [None, "1.0", b"1", 1j, [1.0], (1.0,), {1.0}, True, np.bool_(False), object()]

finite_moderate = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
reals = st.one_of(
    st.sampled_from(EXTREME),
    st.floats(allow_nan=True, allow_infinity=True),
    finite_moderate,
    st.integers(min_value=-10, max_value=10),
    st.sampled_from(HUGE_INTS),
    finite_moderate.map(np.float32),
    finite_moderate.map(np.float64),
    st.integers(-5, 5).map(np.int64),
)
any_real = st.one_of(reals, reals, reals, st.sampled_from(NOT_REALS))  # mostly reals, sometimes junk


def mostly(good: Any, hostile: Any) -> Any:
    """``good`` seven times in eight, else ``hostile``: most examples then reach the kernels."""
    return st.sampled_from([good] * 7 + [hostile]).flatmap(lambda chosen: chosen)  # one_of would weigh them 1:1


def real_param(typical: Any) -> Any:
    """A typical value, an extreme real, or junk."""
    return st.sampled_from([typical] * 5 + [st.sampled_from(EXTREME), any_real]).flatmap(lambda chosen: chosen)


def _gen(dims: list[int]) -> Any:
    return (d for d in dims)


small_dims = st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=3)
shapes = st.one_of(
    small_dims.map(tuple),
    small_dims.map(tuple),
    st.integers(min_value=-2, max_value=6),
    small_dims,  # a list
    small_dims.map(lambda d: tuple(np.int64(x) for x in d)),
    small_dims.map(lambda d: np.array(d, dtype=np.int64)),
    small_dims.map(set),
    small_dims.map(lambda d: dict.fromkeys(d, 0)),
    small_dims.map(_gen),
    st.sampled_from(["3", "", b"2", 2.0, None, [[2, 3]], (2.0, 3), (-1, 2), (True, 2), (np.bool_(True),)]),
    st.sampled_from([2**1100, (2**1100, 1), (2**62, 2**62), (2**31, 2**31, 2**31), (2**63,)]),
)
dtypes = mostly(
    st.sampled_from([None, np.float32, np.float64, "float32", "float64", "f4", np.float16, "bfloat16"]),
    st.sampled_from(["int32", "float", np.complex64, np.int64, object(), 3, "nope"]),
)
good_shapes = st.one_of(small_dims.map(tuple), st.integers(min_value=0, max_value=6))
shapes = mostly(good_shapes, shapes)


@st.composite
def outs(draw: Any) -> Any:
    """None, or an ``out`` of a small shape: good, wrong dtype/shape, read-only, strided, a matrix, a list."""
    kind = draw(
        mostly(
            st.just("none"),
            st.sampled_from(["good", "good", "f64", "int", "readonly", "strided", "matrix", "list", "wrong_shape"]),
        )
    )
    if kind == "none":
        return None
    shape = (2, 3)
    if kind == "good":
        return np.full(shape, -7.0, np.float32)
    if kind == "f64":
        return np.full(shape, -7.0, np.float64)
    if kind == "int":
        return np.full(shape, -7, np.int32)
    if kind == "readonly":
        a = np.full(shape, -7.0, np.float32)
        a.flags.writeable = False
        return a
    if kind == "strided":
        return np.full((2, 6), -7.0, np.float32)[:, ::2]
    if kind == "matrix":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.matrix(np.full(shape, -7.0, np.float32))
    if kind == "wrong_shape":
        return np.full((3, 2), -7.0, np.float32)
    return [[-7.0] * 3] * 2


sources = mostly(st.sampled_from(["gen", "gen", "seed"]), st.sampled_from([-1, 2**70, 2**1100, "1", 1.0, True]))

#: Messages that refuse an argument: "<what> must ...", or the exclusive pairs' "pass either ...".
_NAMED = re.compile(r"^(?P<what>[^\s].*?) must |^pass |^stream= goes with seed=")


# --- the contract ---------------------------------------------------------------------------
class Call:
    """One call under test: its canary ``out`` and generator, checked after a refusal."""

    def __init__(self, source: Any, out: Any) -> None:
        self.generator = xb.Generator(123) if source == "gen" else None
        self.seed = 5 if source == "seed" else (None if source == "gen" else source)
        self.out = out
        self.before = None if not isinstance(out, np.ndarray) else np.array(out, copy=True)

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"seed": self.seed, "generator": self.generator}

    def run(self, fn: Any, *args: Any, names: tuple[str, ...], **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` or None after a refusal that kept the contract."""
        start = None if self.generator is None else self.generator.stream
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a RuntimeWarning (overflow in a cast) is a silent wrong value
                result = fn(*args, **kwargs)
            event("valid result")
            return result
        except (TypeError, ValueError) as exc:
            event(f"refused: {type(exc).__name__}")
            message = str(exc)
            match = _NAMED.match(message)
            assert match, f"{type(exc).__name__} does not name its parameter: {message}"
            what = match.group("what")
            if what is not None:
                assert any(n in what for n in names), f"{what!r} names none of {names}: {message}"
            assert "\n" not in message and len(message) < 2000, message
        except MemoryError:
            event(
                "refused: MemoryError"
            )  # a shape that fits an array but not memory; the generator must still not move
        if self.generator is not None:
            assert self.generator.stream == start, "a refused call advanced the generator"
        if self.before is not None:
            assert np.array_equal(self.out, self.before, equal_nan=True), "a refused call wrote into out"
        return None


def _expected_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _check_array(x: Any, shape: Any, dtype: Any, out: Any) -> np.ndarray:
    assert type(x) is np.ndarray or isinstance(x, np.ndarray)
    assert x.shape == _expected_shape(shape)
    if out is not None:
        assert x is out
    want = np.dtype(np.float32) if dtype is None and out is None else (out.dtype if dtype is None else np.dtype(dtype))
    assert x.dtype == want
    assert np.isfinite(x).all(), "non-finite values in a valid result"
    return x


SAMPLER_NAMES = (
    "shape",
    "low",
    "high",
    "mean",
    "std",
    "a",
    "b",
    "seed",
    "generator",
    "dtype",
    "out",
    "absolute",
    "high - low",
    "|mean|",
)


# --- samplers -------------------------------------------------------------------------------
@budget("uniform")
@given(
    shape=shapes,
    low=real_param(st.floats(-10, 0)),
    high=real_param(st.floats(0.5, 10)),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_uniform(shape: Any, low: Any, high: Any, dtype: Any, out: Any, source: Any) -> None:
    call = Call(source, out)
    x = call.run(xb.uniform, shape, low, high, dtype=dtype, out=out, names=SAMPLER_NAMES, **call.kwargs)
    if x is not None:
        _check_array(x, shape, dtype, out)
        lo, hi = x.dtype.type(low), x.dtype.type(high)
        assert ((x >= lo) & (x < hi)).all()


@budget("normal")
@given(
    shape=shapes,
    mean=real_param(finite_moderate),
    std=real_param(st.floats(0, 100)),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_normal(shape: Any, mean: Any, std: Any, dtype: Any, out: Any, source: Any) -> None:
    call = Call(source, out)
    x = call.run(xb.normal, shape, mean, std, dtype=dtype, out=out, names=SAMPLER_NAMES, **call.kwargs)
    if x is not None:
        _check_array(x, shape, dtype, out)
        m = float(x.dtype.type(mean))  # the mean as the dtype holds it (1e-197 is 0 in float32)
        with np.errstate(over="ignore"):  # the spacing of the largest float is inf: no bound there
            bound = 8.6 * float(std) * (1 + 1e-6) + 4 * float(np.spacing(np.abs(x.dtype.type(mean))))
        assert (np.abs(x.astype(np.float64) - m) <= bound).all()


@budget("truncated_normal")
@given(
    shape=shapes,
    mean=real_param(finite_moderate),
    std=real_param(st.floats(1e-3, 100)),
    a=real_param(st.sampled_from([-2.0, -math.inf, -1.0, 0.5, -30.0])),
    b=real_param(st.sampled_from([2.0, math.inf, 1.0, 3.0, 40.0])),
    absolute=mostly(st.just(False), st.sampled_from([True, 0, None])),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_truncated_normal(
    shape: Any, mean: Any, std: Any, a: Any, b: Any, absolute: Any, dtype: Any, out: Any, source: Any
) -> None:
    call = Call(source, out)
    x = call.run(
        xb.truncated_normal,
        shape,
        mean,
        std,
        a,
        b,
        absolute=absolute,
        dtype=dtype,
        out=out,
        names=SAMPLER_NAMES,
        **call.kwargs,
    )
    if x is not None:
        _check_array(x, shape, dtype, out)
        m, s = float(mean), float(std)
        lo, hi = (float(a), float(b)) if absolute else (m + s * float(a), m + s * float(b))
        f = x.dtype.type
        with np.errstate(over="ignore"):
            assert ((x >= f(lo)) & (x <= f(hi))).all()


# --- initialisers ---------------------------------------------------------------------------
INIT_NAMES = (
    "shape",
    "scale",
    "gain",
    "a",
    "mode",
    "distribution",
    "layout",
    "in_axis",
    "out_axis",
    "batch_axis",
    "fans",
    "seed",
    "generator",
    "dtype",
    "out",
    "nonlinearity",
    "param",
)
axes = mostly(
    st.none(), st.one_of(st.integers(-4, 4), st.integers(-4, 4).map(np.int64), st.sampled_from([1.0, "1", 2**1100]))
)
batch_axes = mostly(
    st.just(()), st.one_of(st.lists(st.integers(-3, 3), max_size=2).map(tuple), st.sampled_from([None, 1, "0", {0}]))
)
fans = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.none(),
    st.tuples(st.integers(-1, 6), st.integers(-1, 6)),
    st.sampled_from([(3.0, 4), (2**1100, 1), (1, 2**63), 3, "34", (1,), (1, 2, 3), [2, 2], (np.int64(2), 3)]),
)


@budget("variance_scaling")
@given(
    shape=shapes,
    scale=real_param(st.floats(0, 10)),
    mode=mostly(st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]), st.sampled_from(["fan_sum", 3])),
    distribution=mostly(st.sampled_from(["uniform", "normal", "truncated_normal"]), st.sampled_from(["Normal", None])),
    layout=mostly(st.sampled_from(["torch", "keras", "jax"]), st.just("TORCH")),
    in_axis=axes,
    out_axis=axes,
    batch_axis=batch_axes,
    fan_pair=fans,
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_variance_scaling(
    shape: Any,
    scale: Any,
    mode: Any,
    distribution: Any,
    layout: Any,
    in_axis: Any,
    out_axis: Any,
    batch_axis: Any,
    fan_pair: Any,
    dtype: Any,
    out: Any,
    source: Any,
) -> None:
    call = Call(source, out)
    x = call.run(
        xb.variance_scaling,
        shape,
        scale,
        mode,
        distribution,
        layout=layout,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        fans=fan_pair,
        dtype=dtype,
        out=out,
        names=INIT_NAMES,
        **call.kwargs,
    )
    if x is not None:
        _check_array(x, shape, dtype, out)


NAMED = (
    "xavier_uniform",
    "xavier_normal",
    "xavier_truncated_normal",
    "lecun_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "he_uniform",
    "he_normal",
    "he_truncated_normal",
    "glorot_uniform",
    "kaiming_normal",
)


@budget("named")
@given(
    name=st.sampled_from(NAMED),
    shape=shapes,
    gain=real_param(st.floats(0, 3)),
    nonlinearity=mostly(st.none(), st.sampled_from(["relu", "tanh", "leaky_relu", "gelu", "elu", "nope", 3])),
    dtype=dtypes,
    out=outs(),
    source=sources,
)
def test_named_schemes(name: str, shape: Any, gain: Any, nonlinearity: Any, dtype: Any, out: Any, source: Any) -> None:
    call = Call(source, out)
    fn = getattr(xb, name)
    if name.startswith(("he_", "kaiming_")):
        kwargs: dict[str, Any] = {"a": gain, "nonlinearity": "leaky_relu" if nonlinearity is None else nonlinearity}
    else:
        kwargs = {"gain": gain, "nonlinearity": nonlinearity}
    x = call.run(fn, shape, dtype=dtype, out=out, names=INIT_NAMES, **kwargs, **call.kwargs)
    if x is not None:
        _check_array(x, shape, dtype, out)


# --- streams --------------------------------------------------------------------------------
# No count between 2**28 and 2**61: such an array fits virtual memory, and filling it would take minutes.
ints = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([2**62, 2**64, 2**1100, -(2**70)]),
    st.integers(0, 9).map(np.uint8),
    st.sampled_from([1.0, "3", None, True, [3]]),
)


@budget("random_bits")
@given(n=ints, stream=st.one_of(st.none(), ints), offset=st.one_of(st.just(0), ints), source=sources)
def test_random_bits(n: Any, stream: Any, offset: Any, source: Any) -> None:
    call = Call(source, None)
    x = call.run(
        xb.random_bits,
        n,
        call.seed,
        generator=call.generator,
        stream=stream,
        offset=offset,
        names=("n", "seed", "generator", "stream", "offset"),
    )
    if x is not None:
        assert x.dtype == np.uint32 and x.shape == (int(n),)
        if int(n) and call.seed == 5:
            again = xb.random_bits(int(n) + 1, 5, stream=stream, offset=offset)
            assert (again[: int(n)] == x).all()


@budget("Generator")
@given(seed=st.one_of(st.none(), ints), stream=ints, children=st.one_of(st.integers(0, 4), ints))
def test_generator(seed: Any, stream: Any, children: Any) -> None:
    import copy
    import pickle

    call = Call(None, None)
    g = call.run(xb.Generator, seed, stream=stream, names=("seed", "stream"))
    if g is None:
        return
    assert g.stream == int(stream)
    twin = pickle.loads(pickle.dumps(g))
    deep = copy.deepcopy(g)
    kids = call.run(g.spawn, children, names=("n",))
    if g.stream < 2**32 - 1:
        first = xb.random_bits(8, generator=g)
        assert (xb.random_bits(8, generator=twin) == first).all()
        assert (xb.random_bits(8, generator=deep) == first).all()
        for kid in kids or []:
            assert not (xb.random_bits(8, generator=kid) == first).all()
    if kids:
        assert len({k.key for k in kids} | {g.key}) == len(kids) + 1


# --- fans and gains -------------------------------------------------------------------------
@budget("compute_fans")
@given(
    shape=mostly(st.lists(st.integers(0, 5), min_size=2, max_size=4).map(tuple), shapes),
    layout=mostly(st.sampled_from(["torch", "keras", "jax"]), st.sampled_from(["nope", None])),
    in_axis=axes,
    out_axis=axes,
    batch_axis=batch_axes,
)
def test_compute_fans(shape: Any, layout: Any, in_axis: Any, out_axis: Any, batch_axis: Any) -> None:
    r = Call(None, None).run(
        xb.compute_fans,
        shape,
        layout,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        names=("shape", "layout", "in_axis", "out_axis", "batch_axis"),
    )
    if r is not None:
        fan_in, fan_out = r
        assert type(fan_in) is int and type(fan_out) is int and fan_in >= 0 and fan_out >= 0


GAIN_NAMES = tuple(xb.gains.TORCH_NAMES + xb.gains.DERIVED_NAMES)


@budget("calculate_gain")
@given(
    nonlinearity=mostly(st.sampled_from(GAIN_NAMES), st.sampled_from(["nope", None, 3])),
    param=st.one_of(st.none(), real_param(st.floats(0, 5))),
)
def test_calculate_gain(nonlinearity: Any, param: Any) -> None:
    g = Call(None, None).run(xb.calculate_gain, nonlinearity, param, names=("nonlinearity", "param"))
    if g is not None:
        assert isinstance(g, float) and math.isfinite(g) and g >= 2.2250738585072014e-308


ACTS = mostly(st.sampled_from(prop.ACTIVATIONS), st.sampled_from(["nope", 3]))
moderate_positive = st.one_of(st.floats(min_value=1e-3, max_value=1e3), st.sampled_from([1e-300, 1e300, 1e308, 0.0]))


@budget("critical_gain")
@given(
    activation=ACTS,
    criterion=mostly(st.sampled_from(prop.CRITERIA), st.just("sideways")),
    q=real_param(moderate_positive),
    param=st.one_of(st.none(), st.none(), real_param(st.floats(0, 3))),
)
def test_critical_gain(activation: Any, criterion: Any, q: Any, param: Any) -> None:
    names = ("activation", "criterion", "q", "param")
    with np.errstate(all="ignore"):  # quadrature far in a tail; a non-finite moment must be refused, not returned
        r = Call(None, None).run(prop.critical_gain, activation, criterion, q, param=param, names=names)
    if r is not None:
        assert math.isfinite(r.gain) and r.gain > 0 and math.isfinite(r.chi1) and r.chi1 > 0
        assert r.phase in ("ordered", "critical", "chaotic")
        if criterion != "forward":
            assert r.phase == "critical"


net_ints = mostly(st.integers(1, 4), st.sampled_from([0, -1, 2**1100, 10**9, 1.0, "2", None]))
inits = mostly(st.sampled_from([*prop.INIT_NAMES, "standard"]), st.sampled_from(["nope", 3]))


@budget("predict")
@given(
    activation=ACTS,
    depth=net_ints,
    width=net_ints,
    init=inits,
    gain=st.one_of(st.none(), real_param(st.floats(0.1, 3))),
    bias_std=real_param(st.floats(0, 1)),
    q0=real_param(st.floats(0.1, 3)),
    param=st.one_of(st.none(), st.none(), real_param(st.floats(0, 3))),
)
def test_predict(
    activation: Any, depth: Any, width: Any, init: Any, gain: Any, bias_std: Any, q0: Any, param: Any
) -> None:
    names = ("activation", "depth", "width", "widths", "init", "gain", "bias_std", "input_second_moment", "param")
    with np.errstate(all="ignore"):
        p = Call(None, None).run(
            prop.predict,
            activation,
            depth=depth,
            width=width,
            init=init,
            gain=gain,
            bias_std=bias_std,
            input_second_moment=q0,
            param=param,
            names=names,
        )
    if p is not None:
        assert len(p.pre_sq) == int(depth)
        for v in (p.pre_sq, p.act_sq, p.grad_act_sq):
            assert np.isfinite(v).all()


@budget("simulate")
@given(
    activation=mostly(st.sampled_from(["relu", "tanh", "gelu"]), st.just("nope")),
    depth=net_ints,
    width=net_ints,
    gain=st.one_of(st.none(), real_param(st.floats(0.1, 3))),
    bias_std=st.one_of(st.just(0.0), real_param(st.floats(0, 1))),
    batch=net_ints,
    repeats=net_ints,
    dtype=mostly(st.sampled_from(["float32", "float64"]), st.just("int8")),
    max_memory=mostly(st.none(), st.sampled_from([0, "x", -1, 10**9])),
)
def test_simulate(
    activation: Any,
    depth: Any,
    width: Any,
    gain: Any,
    bias_std: Any,
    batch: Any,
    repeats: Any,
    dtype: Any,
    max_memory: Any,
) -> None:
    names = (
        "activation",
        "depth",
        "width",
        "gain",
        "bias_std",
        "batch",
        "repeats",
        "dtype",
        "max_memory",
        "input_second_moment",
        "batch, widths and repeats",
    )
    r = Call(None, None).run(
        prop.simulate,
        activation,
        depth=depth,
        width=width,
        gain=gain,
        bias_std=bias_std,
        batch=batch,
        repeats=repeats,
        dtype=dtype,
        max_memory=max_memory,
        names=names,
    )
    if r is not None:
        assert r.per_repeat["pre_sq"].shape == (int(repeats), int(depth))
        for v in r.per_repeat.values():
            assert np.isfinite(v).all()
