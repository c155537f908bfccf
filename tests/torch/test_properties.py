"""Property tests of the torch adapter: any shape, stride, dtype and law gives the NumPy sampler's bits, or a named
error with nothing written.

A strided view's elements get the stream positions of a contiguous tensor of
its logical shape, so every view is compared with ``xb.<sampler>(view.shape)``.
Example counts: 150 for the in-place functions, 60 for whole modules.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torchnets import as_numpy

import xinit_bench as xb
from xinit_bench import torch as xt

pytestmark = pytest.mark.property

DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.bfloat16: "bfloat16"}


@st.composite
def views(draw: st.DrawFn) -> torch.Tensor:
    """A tensor of 1 to 3 axes, maybe sliced with steps, maybe transposed, maybe expanded along an axis."""
    dtype = draw(st.sampled_from(sorted(DTYPES, key=str)))
    shape = draw(st.lists(st.integers(1, 40), min_size=1, max_size=3))
    base = torch.full(shape, 7.0, dtype=dtype)
    t = base
    index = tuple(slice(draw(st.integers(0, n - 1)), None, draw(st.integers(1, 3))) for n in shape)
    t = t[index]
    if t.dim() >= 2 and draw(st.booleans()):
        t = t.transpose(0, -1)
    if draw(st.integers(0, 5)) == 0:  # an expanded view: its elements share memory
        t = t.unsqueeze(0).expand(draw(st.integers(2, 4)), *t.shape)
    return t


LAWS = st.sampled_from(
    [
        (
            "normal",
            lambda t, s: xt.normal_(t, 0.5, 2.0, seed=s),
            lambda sh, s, d: xb.normal(sh, 0.5, 2.0, seed=s, dtype=d),
        ),
        (
            "uniform",
            lambda t, s: xt.uniform_(t, -3.0, 1.0, seed=s),
            lambda sh, s, d: xb.uniform(sh, -3.0, 1.0, seed=s, dtype=d),
        ),
        (
            "trunc_normal",
            lambda t, s: xt.trunc_normal_(t, 0.0, 1.0, -1.5, 2.5, seed=s),
            lambda sh, s, d: xb.truncated_normal(sh, 0.0, 1.0, -1.5, 2.5, absolute=True, seed=s, dtype=d),
        ),
        (
            "xavier_uniform",
            lambda t, s: xt.xavier_uniform_(t, seed=s),
            lambda sh, s, d: xb.xavier_uniform(sh, seed=s, dtype=d),
        ),
        (
            "kaiming_normal",
            lambda t, s: xt.kaiming_normal_(t, a=0.1, mode="fan_out", seed=s),
            lambda sh, s, d: xb.he_normal(sh, 0.1, "fan_out", seed=s, dtype=d),
        ),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=views(), law=LAWS, seed=st.integers(0, 2**32 - 1))
def test_any_view_gets_the_samplers_bits_or_a_named_error_with_nothing_written(
    t: torch.Tensor, law: tuple[str, Any, Any], seed: int
) -> None:
    _, fill, sample = law
    before = t.clone()
    version = t._version
    try:
        expected = sample(tuple(t.shape), seed, DTYPES[t.dtype])
    except ValueError as exc:  # the sampler refuses the law for this shape: so must the adapter, writing nothing
        with pytest.raises(ValueError, match=str(exc).split(",")[0].split(" ")[0]):
            fill(t, seed)
        assert torch.equal(t, before) and t._version == version
        return
    overlapping = any(s == 0 and n > 1 for n, s in zip(t.shape, t.stride(), strict=True))
    if overlapping:
        with pytest.raises(ValueError, match=r"tensor must have one memory location per element"):
            fill(t, seed)
        assert torch.equal(t, before) and t._version == version
        return
    fill(t, seed)
    assert as_numpy(t.contiguous()).tobytes() == expected.tobytes()
    assert t._version > version


@st.composite
def modules(draw: st.DrawFn) -> tuple[nn.Module, torch.dtype]:
    dtype = draw(st.sampled_from(sorted(DTYPES, key=str)))
    widths = draw(st.lists(st.integers(1, 24), min_size=2, max_size=4))
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers.append(nn.Linear(a, b, bias=draw(st.booleans())))
        if draw(st.booleans()):
            layers.append(nn.LayerNorm(b))
    return nn.Sequential(*layers).to(dtype), dtype


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    built=modules(),
    std=st.sampled_from([0.0, 1e-8, 1e-6, 0.02, 1.0, 1e5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_init_module_gives_each_tensor_its_named_stream_or_refuses_writing_nothing(
    built: tuple[nn.Module, torch.dtype], std: float, seed: int
) -> None:
    m, dtype = built
    before = {k: v.detach().clone() for k, v in m.state_dict().items()}
    rules = [xt.Rule(xt.Normal(0.0, std), nn.Linear, "weight")]
    dt = DTYPES[dtype]
    try:
        expected = {
            k: xb.normal(tuple(v.shape), 0.0, std, generator=xb.key_for_name(seed, k), dtype=dt)
            for k, v in m.state_dict().items()
            if k.endswith("weight") and v.dim() == 2
        }
    except ValueError:  # std outside what the dtype holds: refused, every tensor as it was
        with pytest.raises(ValueError, match=r"weight \(rule .*Normal"):
            xt.init_module(m, "torch_default", seed=seed, rules=rules)
        assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())
        return
    xt.init_module(m, "torch_default", seed=seed, rules=rules)
    for k, want in expected.items():
        assert as_numpy(m.state_dict()[k]).tobytes() == np.ascontiguousarray(want).tobytes(), k
