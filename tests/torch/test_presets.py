"""xinit_bench.torch.presets: every preset against torch's own code path, and the presets table.

Statistics: each parameter initialised by ``init_module`` is compared with the
same parameter initialised by torch's own code path (``reset_parameters``, or
the Hugging Face / timm formula written out below) by a two-sample
Kolmogorov-Smirnov test, p > 1e-4.  Under the null the p-value is uniform, so
one comparison fails with probability 1e-4, and the ~150 comparisons of this
file with probability about 1.5 %; the seeds are fixed, so the outcome is the
same on every run and machine (the bits do not depend on the thread count).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn
from torchnets import (
    BUILDERS,
    GPT2_TINY,
    P_MIN,
    TORCH_PATHS,
    conv_net,
)

import xinit_bench as xb
from xinit_bench import torch as xt


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("preset", sorted(TORCH_PATHS))
def test_every_parameter_has_torchs_distribution(preset: str, builder: str) -> None:
    torch.manual_seed(1234)
    ref = BUILDERS[builder]()
    TORCH_PATHS[preset](ref)
    ours = BUILDERS[builder]()
    rules = xt.gpt2(GPT2_TINY.n_layer) if preset == "gpt2" else preset
    report = xt.init_module(ours, rules, seed=99)
    ref_state, our_state = ref.state_dict(), ours.state_dict()
    assert report.untouched == []
    tested = 0
    for name, want in ref_state.items():
        got = our_state[name]
        assert got.shape == want.shape and got.dtype == want.dtype, name
        if got.dim() >= 2:  # the same fans
            assert xb.compute_fans(tuple(got.shape)) == nn.init._calculate_fan_in_and_fan_out(want), name
        w, g = want.double().flatten().numpy(), got.double().flatten().numpy()
        if np.all(w == w[0]):  # a constant (norm weights, zero biases, running statistics)
            assert np.array_equal(g, w), name
            continue
        p = stats.ks_2samp(w, g).pvalue
        assert p > P_MIN, f"{preset}/{builder}: {name} KS p = {p:.2e}"
        tested += 1
    assert tested >= 3


def test_torch_default_of_attention_and_embeddings_matches_reset_parameters() -> None:
    torch.manual_seed(5)
    ref = nn.ModuleDict({"mha": nn.MultiheadAttention(64, 4, add_bias_kv=True), "emb": nn.Embedding(300, 32, 3)})
    ours = nn.ModuleDict({"mha": nn.MultiheadAttention(64, 4, add_bias_kv=True), "emb": nn.Embedding(300, 32, 3)})
    xt.init_module(ours, "torch_default", seed=7)
    for name, want in ref.state_dict().items():
        got = ours.state_dict()[name]
        w, g = want.flatten().numpy(), got.flatten().numpy()
        if np.all(w == w[0]):
            assert np.array_equal(g, w), name
        else:
            assert stats.ks_2samp(w, g).pvalue > P_MIN, name
    assert bool((ours["emb"].weight[3] == 0).all())  # the padding row


def test_custom_rules_come_before_the_preset() -> None:
    m = conv_net()
    rules = [xt.Rule(xt.Constant(0.5), nn.Conv2d, "bias"), xt.Rule(xt.Normal(0.0, 0.01), name="6.weight")]
    report = xt.init_module(m, "torch_default", seed=1, rules=rules)
    assert bool((m[0].bias == 0.5).all()) and bool((m[3].bias == 0.5).all())
    assert report.filled["6.weight"].startswith("Normal(mean=0.0, std=0.01")


def test_the_presets_table() -> None:
    assert set(xt.PRESETS) == {"torch_default", "gpt2", "llama", "vit"}
    with pytest.raises(ValueError, match=r"gpt2\(n_layer=\.\.\.\)"):
        xt.init_module(conv_net(), "gpt2", seed=0)
