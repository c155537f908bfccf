"""Hypothesis strategies shared by the property tests of every room.

The strategies mix extreme floats (+-0, subnormals, 1e308, inf, NaN), huge
ints (2**1100), NumPy scalars and odd containers (sets, dicts, generators,
strings, nested lists, ``np.matrix``, read-only and strided arrays).  Every
property test is derandomised with a fixed example budget (``EXAMPLES``,
through :func:`budget`), so the suite is deterministic and takes seconds.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
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
    """Derandomised settings with the example budget ``EXAMPLES[name]``."""
    return settings(
        derandomize=True,
        database=None,
        max_examples=EXAMPLES[name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# --- reals ------------------------------------------------------------------------------------
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


# --- shapes, dtypes, out, seed sources --------------------------------------------------------
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

# --- fan inference ----------------------------------------------------------------------------
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

# --- streams ----------------------------------------------------------------------------------
# No count between 2**28 and 2**61: such an array fits virtual memory, and filling it would take minutes.
ints = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([2**62, 2**64, 2**1100, -(2**70)]),
    st.integers(0, 9).map(np.uint8),
    st.sampled_from([1.0, "3", None, True, [3]]),
)

# --- gains and propagation --------------------------------------------------------------------
GAIN_NAMES = tuple(xb.gains.TORCH_NAMES + xb.gains.DERIVED_NAMES)
ACTS = mostly(st.sampled_from(prop.ACTIVATIONS), st.sampled_from(["nope", 3]))
moderate_positive = st.one_of(st.floats(min_value=1e-3, max_value=1e3), st.sampled_from([1e-300, 1e300, 1e308, 0.0]))
net_ints = mostly(st.integers(1, 4), st.sampled_from([0, -1, 2**1100, 10**9, 1.0, "2", None]))
inits = mostly(st.sampled_from([*prop.INIT_NAMES, "standard"]), st.sampled_from(["nope", 3]))

# --- the command line -------------------------------------------------------------------------
texts = st.one_of(
    st.sampled_from(
        [
            "",
            "-",
            "0",
            "-1",
            "1e308",
            "nan",
            "inf",
            "1<<100",
            "1<<100000000000",
            "2**1100",
            "x",
            "1K",
            "1,2",
            "/proc/x.json",
            "a b",
            "\x00",
        ]
    ),
    st.text(alphabet="0123456789-.,eKMx<", max_size=8),
)
json_docs = st.one_of(
    st.sampled_from(
        [
            "",
            "{",
            "[]",
            "null",
            '{"benchmarks": []}',
            '{"benchmarks": {}}',
            '{"benchmarks": [1]}',
            '{"benchmarks": [{"name": "test_x", "extra_info": {}}]}',
            "\x00\xff",
        ]
    ),
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(max_size=4),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3),
        max_leaves=6,
    ).map(json.dumps),
)
