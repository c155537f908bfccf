"""xinit_bench.torch.structured: ``orthogonal_`` and ``sparse_`` in place, with the NumPy API's bits.

The peer cases are PyTorch's own (``test/nn/test_init.py`` of pytorch/pytorch:
``test_orthogonal``, ``test_sparse_only_works_on_2d_inputs``,
``test_sparse_default_std``, ``test_kaiming_uniform_warning_on_0element_tensor``,
``test_kaiming_normal_warning_on_0element_tensor``), run through the adapter;
the zero-element warnings are also compared with torch's own, call by call.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn
from torchnets import as_numpy

import xinit_bench as xb
from xinit_bench.torch import kaiming_normal_, kaiming_uniform_
from xinit_bench.torch.structured import orthogonal_, sparse_

# The module itself: ``xinit_bench.orthogonal`` as an attribute is the function of that name.
xo = importlib.import_module("xinit_bench.orthogonal")

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
NP_DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.bfloat16: "bfloat16"}


@pytest.mark.invariance
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(12, 30), (30, 12), (8, 4, 3, 3)], ids=str)
def test_the_numpy_apis_bits_in_place(dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    t = torch.empty(shape, dtype=dtype)
    assert orthogonal_(t, 1.3, seed=5) is t
    assert np.array_equal(as_numpy(t), xo.orthogonal(shape, 1.3, seed=5, dtype=NP_DTYPES[dtype]))
    if len(shape) == 2:
        s = torch.empty(shape, dtype=dtype)
        assert sparse_(s, 0.25, 0.1, seed=5) is s
        assert np.array_equal(as_numpy(s), xo.sparse(shape, 0.25, 0.1, seed=5, dtype=NP_DTYPES[dtype]))


@pytest.mark.invariance
def test_views_parameters_and_generators() -> None:
    base = torch.zeros(20, 10)
    view = base.t()  # (10, 20), not contiguous
    orthogonal_(view, seed=2)
    assert np.array_equal(view.numpy(), xo.orthogonal((10, 20), seed=2))
    p = nn.Parameter(torch.empty(6, 4))
    before = p._version
    g = xb.Generator(9)
    orthogonal_(p, generator=g)
    assert g.stream == 1 and p._version > before
    assert np.array_equal(p.detach().numpy(), xo.orthogonal((6, 4), seed=9))
    sparse_(torch.empty(6, 4), 0.5, generator=g)
    assert g.stream == 2


@pytest.mark.invariance
def test_a_zero_element_tensor_is_left_alone() -> None:
    g = xb.Generator(0)
    t = torch.empty(0, 5)
    assert orthogonal_(t, generator=g) is t and g.stream == 1


@pytest.mark.reference
@pytest.mark.parametrize(
    "ours,theirs", [(kaiming_uniform_, nn.init.kaiming_uniform_), (kaiming_normal_, nn.init.kaiming_normal_)]
)
def test_peer_kaiming_warning_on_0element_tensor(ours: Callable[..., Any], theirs: Callable[..., Any]) -> None:
    # torch's own case: one warning, these words, and the tensor comes back untouched
    tensor = torch.empty(0, 1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert ours(tensor, seed=0) is tensor
    assert len(w) == 1 and str(w[0].message) == "Initializing zero-element tensors is a no-op"
    with pytest.warns(UserWarning, match="^Initializing zero-element tensors is a no-op$"):
        ours(torch.empty(0, 1), seed=0)


def _warnings_of(call: Callable[[], object]) -> list[tuple[type[Warning], str]]:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        call()
    return [(x.category, str(x.message)) for x in w]


@pytest.mark.reference
@pytest.mark.parametrize("shape", [(0, 1), (3, 0), (0,), (2, 0, 3), (4, 5)], ids=str)
def test_zero_element_warnings_are_torchs_own(shape: tuple[int, ...]) -> None:
    # Each function against torch's, on the same shape: the same warnings (kaiming's on a zero in the shape, even
    # a 1-d one whose fans torch never computes; orthogonal_'s and sparse_'s none), and nothing written or drawn.
    pairs: list[tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]]] = [
        (kaiming_uniform_, nn.init.kaiming_uniform_, ()),
        (kaiming_normal_, nn.init.kaiming_normal_, ()),
    ]
    if len(shape) >= 2:
        pairs.append((orthogonal_, nn.init.orthogonal_, ()))
    if len(shape) == 2:
        pairs.append((sparse_, nn.init.sparse_, (0.5,)))
    for ours, theirs, args in pairs:
        mine, reference = torch.full(shape, 7.0), torch.full(shape, 7.0)
        expected = _warnings_of(lambda: theirs(reference, *args))  # noqa: B023 - called at once
        g = xb.Generator(3)
        assert _warnings_of(lambda: ours(mine, *args, generator=g)) == expected, ours.__name__  # noqa: B023
        if 0 in shape and ours in (kaiming_uniform_, kaiming_normal_):
            assert expected and g.stream == 0  # torch returns before drawing; so does the adapter
        if 0 not in shape:
            assert expected == [] and not (mine == 7.0).all()  # a real fill: no warning, values written


@pytest.mark.reference
def test_peer_orthogonal() -> None:
    rng = np.random.default_rng(123)
    for use_gain in (True, False):
        for tensor_size in ([3, 4], [4, 3], [20, 2, 3, 4], [2, 3, 4, 5]):
            t = torch.zeros(tensor_size)
            gain = float(rng.uniform(0.1, 2)) if use_gain else 1.0
            orthogonal_(t, gain, seed=int(rng.integers(2**31)))
            rows, cols = tensor_size[0], math.prod(tensor_size[1:])
            f = t.view(rows, cols).double()
            gram = f.t() @ f if rows > cols else f @ f.t()
            assert torch.allclose(gram, torch.eye(gram.shape[0], dtype=torch.float64) * gain**2, atol=1e-6, rtol=0)


@pytest.mark.statistical
def test_peer_sparse_default_std() -> None:
    rng = np.random.default_rng(123)
    for use_random_std in (True, False):
        t = torch.zeros(int(rng.integers(30, 36)), int(rng.integers(30, 36)))
        rows = t.shape[0]
        sparsity = float(rng.uniform(0.1, 0.2))
        std = float(rng.uniform(0.01, 0.2)) if use_random_std else 0.01
        if use_random_std:
            sparse_(t, sparsity=sparsity, std=std, seed=int(rng.integers(2**31)))
        else:
            sparse_(t, sparsity=sparsity, seed=int(rng.integers(2**31)))
        for col in range(t.shape[1]):
            assert (t[:, col] == 0).sum() >= math.ceil(sparsity * rows)
        assert stats.kstest(t[t != 0].double().numpy(), "norm", args=(0, std)).pvalue > 1e-4


@pytest.mark.refusal
def test_refusals_write_nothing() -> None:
    g = xb.Generator(1)
    t = torch.full((4, 6), 7.0)
    cases = [
        (ValueError, "tensor", lambda: orthogonal_(torch.full((5,), 7.0), generator=g)),
        (ValueError, "gain", lambda: orthogonal_(t, -1.0, generator=g)),
        (ValueError, "gain", lambda: orthogonal_(torch.full((4, 6), 7.0, dtype=torch.float16), 1e5, generator=g)),
        (TypeError, "generator", lambda: orthogonal_(t, generator=torch.Generator())),
        (TypeError, "tensor", lambda: orthogonal_(torch.zeros(4, 6, dtype=torch.int32), generator=g)),
        (ValueError, "tensor", lambda: orthogonal_(torch.zeros(1, 6).expand(4, 6), generator=g)),
        (ValueError, "tensor", lambda: sparse_(torch.full((2, 3, 4), 7.0), 0.5, generator=g)),
        (ValueError, "sparsity", lambda: sparse_(t, 1.0, generator=g)),
        (ValueError, "std", lambda: sparse_(t, 0.5, -0.1, generator=g)),
        (TypeError, "generator", lambda: sparse_(t, 0.5, generator=torch.Generator())),
    ]
    for exc, name, call in cases:
        with pytest.raises(exc) as info:
            call()
        assert str(info.value).startswith(f"{name} must "), str(info.value)
    assert (t == 7.0).all() and g.stream == 0
