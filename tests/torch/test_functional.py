"""xinit_bench.torch.functional and .tensors: the nn.init twins give the samplers' bits in place on any layout.

Bad input gets a clear error, with nothing written and no generator advanced.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import pytest
import torch
from torch import nn
from torchnets import as_numpy

import xinit_bench as xb
from xinit_bench import half
from xinit_bench import torch as xt
from xinit_bench.plans import distribution_plan

# --- the in-place functions --------------------------------------------------------
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
NP_DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.bfloat16: "bfloat16"}


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_functions_give_the_samplers_bits(dtype: torch.dtype) -> None:
    shape, dt = (96, 40), NP_DTYPES[dtype]
    cases: list[tuple[Callable[..., torch.Tensor], tuple[Any, ...], Any]] = [
        (xt.uniform_, (-0.5, 2.0), lambda: xb.uniform(shape, -0.5, 2.0, seed=3, dtype=dt)),
        (xt.normal_, (0.1, 0.02), lambda: xb.normal(shape, 0.1, 0.02, seed=3, dtype=dt)),
        (xt.trunc_normal_, (0.0, 0.02, -0.03, 0.04),
         lambda: xb.truncated_normal(shape, 0.0, 0.02, -0.03, 0.04, absolute=True, seed=3, dtype=dt)),
        (xt.xavier_uniform_, (1.5,), lambda: xb.xavier_uniform(shape, gain=1.5, seed=3, dtype=dt)),
        (xt.xavier_normal_, (), lambda: xb.xavier_normal(shape, seed=3, dtype=dt)),
        (xt.kaiming_uniform_, (math.sqrt(5),), lambda: xb.he_uniform(shape, a=math.sqrt(5), seed=3, dtype=dt)),
        (xt.kaiming_normal_, (0.0, "fan_out", "relu"),
         lambda: xb.he_normal(shape, mode="fan_out", nonlinearity="relu", seed=3, dtype=dt)),
    ]  # fmt: skip
    for fn, args, expected in cases:
        t = torch.empty(shape, dtype=dtype)
        out = fn(t, *args, seed=3)
        assert out is t
        assert np.array_equal(as_numpy(t), expected()), fn.__name__


def test_half_fill_is_the_clamped_rounding_of_the_float32_fill() -> None:
    # xavier_uniform((768, 768)) in bf16: plain rounding reaches the excluded bound over a thousand times.
    shape = (768, 768)
    f32 = xt.xavier_uniform_(torch.empty(shape), seed=11).numpy()
    bound = math.sqrt(6.0 / (768 + 768))
    plan = distribution_plan("uniform", 2.0 / (768 + 768))
    for torch_dt, np_dt in ((torch.bfloat16, np.dtype(ml_dtypes.bfloat16)), (torch.float16, np.dtype(np.float16))):
        h = xt.xavier_uniform_(torch.empty(shape, dtype=torch_dt), seed=11)
        lo, hi = half.clamps(*plan(np.dtype(np.float32)), np_dt, "test")
        # lo and hi are half values, so clipping in float32 is exact (np.clip of ml_dtypes scalars is not usable)
        want = np.clip(f32.astype(np_dt).astype(np.float32), lo, hi).astype(np_dt)
        assert np.array_equal(as_numpy(h).view(np.uint16), want.view(np.uint16)), np_dt
        assert float(np.abs(as_numpy(h).astype(np.float32)).max()) < bound
    assert int((np.abs(f32.astype(ml_dtypes.bfloat16).astype(np.float32)) >= np.float32(bound)).sum()) > 0


def test_parameters_are_filled_in_place_without_copies_or_torchs_rng() -> None:
    p = nn.Parameter(torch.empty(64, 32, dtype=torch.bfloat16))
    ptr = p.data_ptr()
    state = torch.get_rng_state()
    xt.normal_(p, 0.0, 0.02, seed=1)
    assert p.data_ptr() == ptr and p.requires_grad and isinstance(p, nn.Parameter)
    assert torch.equal(torch.get_rng_state(), state)
    g = xb.Generator(4)
    a = xt.normal_(torch.empty(10), generator=g)
    b = xt.normal_(torch.empty(10), generator=g)
    assert g.stream == 2 and np.array_equal(a.numpy(), xb.normal(10, seed=4)) and not torch.equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.empty(40, 96).t(),  # transposed: the temporary and copy_
        lambda: torch.empty(96, 64)[:, 8:48],  # rows of 40 with stride 64: written in place as runs
        lambda: torch.empty(2, 96, 50)[1, :, 5:45],
        lambda: torch.empty(96, 80)[:, ::2],  # stride 2 innermost: the temporary
        lambda: torch.empty(96, 44)[:, :40].to(torch.bfloat16)[:, :],
    ],
)
def test_a_strided_view_gets_the_values_of_a_contiguous_fill(make: Callable[[], torch.Tensor]) -> None:
    view = make()
    assert tuple(view.shape) == (96, 40)
    dt = NP_DTYPES[view.dtype]
    base_before = view.detach().clone()
    xt.normal_(view, 0.0, 1.0, seed=8)
    assert np.array_equal(as_numpy(view.contiguous()), xb.normal((96, 40), seed=8, dtype=dt))
    assert not torch.equal(view, base_before)


def test_runs_leave_the_rest_of_the_storage_alone() -> None:
    base = torch.full((96, 64), 7.0)
    xt.uniform_(base[:, 8:48], seed=2)
    assert bool((base[:, :8] == 7).all()) and bool((base[:, 48:] == 7).all())


# --- bad input: a clear error, nothing written -------------------------------------
class _FakeCuda(torch.Tensor):
    @property  # type: ignore[override]
    def device(self) -> torch.device:
        return torch.device("cuda", 0)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: torch.zeros(8, 8, dtype=torch.int64), TypeError, "float32, float64, float16 or bfloat16"),
        (lambda: torch.zeros(8, 8, dtype=torch.complex64), TypeError, "float32, float64, float16 or bfloat16"),
        (lambda: torch.empty(8, 8, device="meta"), ValueError, "meta tensor"),
        (lambda: torch.Tensor._make_subclass(_FakeCuda, torch.zeros(8, 8)), ValueError, "CPU tensor, got .* on cuda"),
        (lambda: np.zeros((8, 8), np.float32), TypeError, "torch.Tensor"),
    ],
)  # fmt: skip
def test_in_place_functions_refuse_what_they_cannot_fill(make: Callable[[], Any], error: type, match: str) -> None:
    for fn in (xt.normal_, xt.uniform_, xt.xavier_uniform_, xt.kaiming_normal_, xt.trunc_normal_, xt.zeros_):
        t = make()
        with pytest.raises(error, match=match):
            fn(t) if fn is xt.zeros_ else fn(t, seed=0)
        if isinstance(t, torch.Tensor) and not t.is_meta:
            assert bool((t.as_subclass(torch.Tensor) == 0).all())


def test_a_torch_generator_is_refused_naming_the_alternatives() -> None:
    t = torch.full((4, 4), 7.0)
    with pytest.raises(TypeError, match=r"torch\.Generator.*seed=<int>.*xinit_bench\.Generator"):
        xt.normal_(t, generator=torch.Generator())
    assert bool((t == 7).all())


def test_refused_calls_write_nothing_and_advance_no_generator() -> None:
    g = xb.Generator(0)
    t = torch.full((4, 4), 7.0, dtype=torch.float16)
    for call in (
        lambda: xt.uniform_(t, 1.0, 0.0, generator=g),
        lambda: xt.normal_(t, 0.0, 1e6, generator=g),  # the largest sample overflows float16
        lambda: xt.kaiming_uniform_(t, mode="fan_avg", generator=g),
        lambda: xt.xavier_normal_(torch.empty(4), generator=g),
    ):
        with pytest.raises(ValueError):
            call()
    assert g.stream == 0 and bool((t == 7).all())
