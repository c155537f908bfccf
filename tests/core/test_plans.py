"""The plan layer (xinit_bench.plans, xinit_bench.laws): one law per call, the half step, named streams.

Every adapter reaches its law through this layer, so the tests here check the layer itself: that a law is
made and resolved without drawing or changing state, that the half-precision step keeps every output inside
the law's support on every planner branch (the normal-kernel shortcut for wide truncations included), and
that ``key_for_name`` is the stream that ``init_module`` draws a tensor from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xinit_bench as xb
from xinit_bench import half, plans
from xinit_bench._rng import key_from_seed
from xinit_bench.laws import Z_MAX
from xinit_bench.samplers import fill_block

pytestmark = pytest.mark.invariance

HALF = ("bfloat16", "float16")


def support(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    return mean + std * a, mean + std * b


def outside(x: Any, lower: float, upper: float) -> int:
    values = np.asarray(x).astype(np.float64)
    return int(np.count_nonzero((values < lower) | (values > upper)))


# The three cases found by an adversarial run: both bounds beyond the float32 normal kernel's reach
# (|z| <= 5.8), so the planner serves the truncation by the normal kernel, whose half output was not clamped.
WIDE = [
    ("bfloat16", 18.8, 0.009, -6.6, 6.8),
    ("bfloat16", 1.0, 1e-3, (0.994 - 1.0) / 1e-3, (1.00699 - 1.0) / 1e-3),
    ("float16", 1024.5275, 0.25, -5.85, 5.85),
]


@pytest.mark.parametrize(("dtype", "mean", "std", "a", "b"), WIDE)
def test_a_wide_truncation_in_half_precision_stays_inside_its_bounds(
    dtype: str, mean: float, std: float, a: float, b: float
) -> None:
    assert plans.resolve_plan(plans.truncated_normal_law(mean, std, a, b), np.dtype(np.float32)).kind == "normal"
    x = xb.truncated_normal(1_000_000, mean, std, a, b, seed=0, dtype=dtype)
    assert outside(x, *support(mean, std, a, b)) == 0


def test_the_support_check_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same call with the support dropped from the clamps (the behaviour before the fix) leaves the bounds:
    # the test above is not vacuous.
    real = half.clamps
    monkeypatch.setattr(plans, "clamps", lambda kind, params, dt, given=None, support=None: real(kind, params, dt))
    dtype, mean, std, a, b = WIDE[0]
    x = xb.truncated_normal(1_000_000, mean, std, a, b, seed=1, dtype=dtype)
    assert outside(x, *support(mean, std, a, b)) > 1000


def test_torch_trunc_normal_in_bfloat16_stays_inside_its_absolute_bounds() -> None:
    torch = pytest.importorskip("torch")
    from xinit_bench import torch as xt

    w = torch.empty(1_000_000, dtype=torch.bfloat16)
    xt.trunc_normal_(w, mean=1.0, std=1e-3, a=0.994, b=1.00699, seed=0)
    assert outside(w.float().numpy(), 0.994, 1.00699) == 0


# Every planner branch in half precision: the central inverse CDF (narrow cuts), the tail series (one bound
# far out), and the normal-kernel shortcut (both bounds beyond 5.8 sigma); the bounds straddle the shortcut's
# threshold, and the mean is large against the std, where rounding to half moves a sample the most.
@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    dtype=st.sampled_from(HALF),
    mean=st.sampled_from([0.0, 1.0, -3.0, 18.8, 1024.5275, 3e4]),
    log_std=st.floats(-4.0, 0.0),
    a=st.one_of(st.floats(-9.0, -5.5), st.floats(-3.0, 1.0), st.just(-math.inf)),
    width=st.floats(0.1, 15.0),
)
def test_half_truncations_never_leave_their_support(
    dtype: str, mean: float, log_std: float, a: float, width: float
) -> None:
    std = 10.0**log_std * max(1.0, abs(mean) * 1e-3)
    b = (a if math.isfinite(a) else -6.0) + width
    try:
        x = xb.truncated_normal(4096, mean, std, a, b, seed=3, dtype=dtype)
    except ValueError as exc:  # a law the half type cannot hold is refused by name, never drawn
        assert "must" in str(exc)
        return
    lower, upper = support(mean, std, a, b)
    assert outside(x, lower, upper) == 0


def test_the_shortcut_threshold_is_the_kernels_reach() -> None:
    f32 = np.dtype(np.float32)
    assert plans.resolve_plan(plans.truncated_normal_law(0.0, 1.0, -5.9, 5.9), f32).kind == "normal"
    assert plans.resolve_plan(plans.truncated_normal_law(0.0, 1.0, -5.7, 5.9), f32).kind != "normal"
    assert Z_MAX[f32] == 5.8


def test_making_and_resolving_a_plan_draws_nothing_and_changes_no_state() -> None:
    g = xb.Generator(4)
    for name, args in [
        ("uniform", {"low": -1.0, "high": 2.0}),
        ("truncated_normal", {"mean": 0.0, "std": 0.02, "a": -2.0, "b": 2.0, "absolute": True}),
        ("he_normal", {"shape": (64, 32), "a": 0.1, "nonlinearity": "leaky_relu"}),
        ("variance_scaling", {"shape": (8, 8), "scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}),
    ]:
        for dt in ("float32", "float64", "bfloat16", "float16"):
            plans.resolve_plan(plans.law_of(name, args), xb.validation.resolve_dtype(dt, None))
    assert g.stream == 0


@pytest.mark.parametrize("name", sorted(plans.LAWS))
def test_the_law_of_a_name_is_the_law_the_public_function_draws(name: str) -> None:
    # law_of (what the dask adapter asks) and the public function (what the NumPy API draws) reach one law:
    # filling with the resolved plan of law_of gives the public function's bits.
    shape = (48, 40)
    arguments: dict[str, Any] = {"shape": shape}
    for dt in ("float32", "bfloat16"):
        dtype = xb.validation.resolve_dtype(dt, None)
        kind, params, limits = plans.resolve_plan(plans.law_of(name, arguments), dtype)
        expected = getattr(xb, name)(shape, seed=5, dtype=dt)
        out = np.empty(shape, dtype)
        key = (*key_from_seed(5), np.uint32(0))
        fill_block(kind, out, key, np.zeros(1, np.int64), out.size, params, limits)
        assert out.tobytes() == expected.tobytes(), (name, dt)


def test_refusals_name_the_callers_parameter() -> None:
    with pytest.raises(ValueError, match=r"^gain must give weights that fit the dtype, got gain=100000.0: scale must"):
        plans.resolve_plan(plans.scheme_law("xavier_uniform", (4, 4), 1e5), np.dtype(np.float16))
    with pytest.raises(ValueError, match=r"^scale must give weights that fit float16"):
        plans.resolve_plan(plans.variance_scaling_law((4, 4), 1e10, "fan_in", "normal"), np.dtype(np.float16))
    with pytest.raises(ValueError, match="function must be one of"):
        plans.law_of("orthogonal_typo", {})


def test_key_for_name_is_the_stream_init_module_draws_a_tensor_from() -> None:
    pytest.importorskip("torch")
    from torch import nn

    from xinit_bench import torch as xt

    net = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 3))
    xt.init_module(net, [xt.Rule(xt.KaimingNormal(), nn.Linear, "weight"), xt.Rule(xt.Constant(0.0))], seed=11)
    for name in ("0.weight", "1.weight"):
        w = dict(net.named_parameters())[name].detach().numpy()
        assert (w == xb.he_normal(w.shape, generator=xb.key_for_name(11, name))).all()
    other = xb.he_normal((5, 6), generator=xb.key_for_name(12, "0.weight"))
    assert not (other == dict(net.named_parameters())["0.weight"].detach().numpy()).any()


def test_key_for_name_refuses_what_is_no_seed_or_name() -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        xb.key_for_name("0", "w")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        xb.key_for_name(-1, "w")
    with pytest.raises(TypeError, match="name must be a str"):
        xb.key_for_name(0, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
@pytest.mark.parametrize("name", ["xavier_uniform", "xavier_normal", "lecun_truncated_normal"])
def test_a_zero_gain_is_the_all_zero_law_in_every_dtype(name: str, dtype: str) -> None:
    # float32 always drew zeros for gain=0; half precision refused the zero bound as "below its smallest normal".
    w = getattr(xb, name)((16, 8), gain=0.0, seed=0, dtype=dtype)
    assert w.dtype == xb.validation.resolve_dtype(dtype, None)
    assert (np.asarray(w).astype(np.float64) == 0).all()


def test_the_stream_version_is_the_golden_checksums_version() -> None:
    import json
    from pathlib import Path

    golden = json.loads((Path(__file__).parents[1] / "data" / "golden_sha256.json").read_text())
    assert xb.STREAM_VERSION == golden["stream_version"] == 2
