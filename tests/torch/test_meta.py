"""xinit_bench.torch.meta: materialize fills a meta model as init_module fills a built one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torchnets import (
    LLAMA_TINY,
    gpt2_tiny,
    values,
)

from xinit_bench import torch as xt
from xinit_bench.perf import models


# --- materialize -------------------------------------------------------------------
def test_materialize_fills_a_meta_model_as_init_module_fills_a_built_one() -> None:
    with torch.device("meta"):
        meta = models.build(LLAMA_TINY)
    with pytest.raises(ValueError, match=r"rotary_emb\.inv_freq \(8,\) torch\.float32"):
        xt.materialize(meta, "llama", seed=4)
    assert all(p.is_meta for p in meta.parameters())  # nothing allocated by the refused call
    report = xt.materialize(meta, "llama", seed=4, hooks={"*.inv_freq": xt.rope_inv_freq()})
    built = models.build(LLAMA_TINY)
    xt.init_module(built, "llama", seed=4)
    assert not any(t.is_meta for t in [*meta.parameters(), *meta.buffers()])
    got, want = values(meta), values(built)
    for k in want:
        assert np.array_equal(got[k], want[k]), k
    assert torch.allclose(meta.rotary_emb.inv_freq, built.rotary_emb.inv_freq)
    assert report.filled["rotary_emb.inv_freq"].startswith("hook")


def test_materialize_keeps_ties() -> None:
    with torch.device("meta"):
        m = gpt2_tiny()
    xt.materialize(m, "gpt2", seed=0)
    assert m.lm_head.weight is m.wte.weight and not m.wte.weight.is_meta
    assert isinstance(m.wte.weight, nn.Parameter)
