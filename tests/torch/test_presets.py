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

import math
from collections.abc import Callable

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


# --- torch_default covers every layer of torch.nn that resets its parameters ------------------
#: Lazy modules have no shapes until their first forward pass, which turns them into the classes below.
LEFT_ON_PURPOSE = {name for name in dir(nn) if name.startswith("Lazy")}
#: A small instance of every torch.nn class with a reset_parameters method.
EXAMPLES: dict[str, Callable[[], nn.Module]] = {
    "AdaptiveLogSoftmaxWithLoss": lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 40, [10, 20]),
    "BatchNorm1d": lambda: nn.BatchNorm1d(8),
    "BatchNorm2d": lambda: nn.BatchNorm2d(8),
    "BatchNorm3d": lambda: nn.BatchNorm3d(8),
    "Bilinear": lambda: nn.Bilinear(12, 7, 5),
    "Conv1d": lambda: nn.Conv1d(3, 8, 3),
    "Conv2d": lambda: nn.Conv2d(3, 8, 3),
    "Conv3d": lambda: nn.Conv3d(3, 8, 3),
    "ConvTranspose1d": lambda: nn.ConvTranspose1d(3, 8, 3),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(3, 8, 3),
    "ConvTranspose3d": lambda: nn.ConvTranspose3d(3, 8, 3),
    "Embedding": lambda: nn.Embedding(20, 8, padding_idx=0),
    "EmbeddingBag": lambda: nn.EmbeddingBag(20, 8),
    "GRU": lambda: nn.GRU(8, 16),
    "GRUCell": lambda: nn.GRUCell(8, 16),
    "GroupNorm": lambda: nn.GroupNorm(2, 8),
    "InstanceNorm1d": lambda: nn.InstanceNorm1d(8, affine=True, track_running_stats=True),
    "InstanceNorm2d": lambda: nn.InstanceNorm2d(8, affine=True, track_running_stats=True),
    "InstanceNorm3d": lambda: nn.InstanceNorm3d(8, affine=True, track_running_stats=True),
    "LSTM": lambda: nn.LSTM(8, 16),
    "LSTMCell": lambda: nn.LSTMCell(8, 16),
    "LayerNorm": lambda: nn.LayerNorm(8),
    "Linear": lambda: nn.Linear(8, 4),
    "MultiheadAttention": lambda: nn.MultiheadAttention(16, 2, add_bias_kv=True),
    "PReLU": lambda: nn.PReLU(8, init=0.3),
    "RMSNorm": lambda: nn.RMSNorm(8),
    "RNN": lambda: nn.RNN(8, 16),
    "RNNBase": lambda: nn.RNNBase("RNN_TANH", 8, 16),
    "RNNCell": lambda: nn.RNNCell(8, 16),
    "RNNCellBase": lambda: nn.RNNCellBase(8, 16, bias=True, num_chunks=2),
    "SyncBatchNorm": lambda: nn.SyncBatchNorm(8),
    "Transformer": lambda: nn.Transformer(16, 2, 1, 1, 32, batch_first=True),
}


def resetting_classes() -> list[str]:
    """Every module class in torch.nn's own namespace with a reset_parameters (or _reset_parameters) method."""
    return sorted(
        name
        for name in dir(nn)
        if isinstance(getattr(nn, name), type)
        and issubclass(getattr(nn, name), nn.Module)
        and any(hasattr(getattr(nn, name), m) for m in ("reset_parameters", "_reset_parameters"))
    )


def test_every_resetting_class_of_torch_nn_has_an_example_or_is_left_on_purpose() -> None:
    assert sorted(set(resetting_classes()) - LEFT_ON_PURPOSE) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_torch_default_fills_every_tensor_of_every_resetting_class(name: str) -> None:
    module = EXAMPLES[name]()
    report = xt.init_module(module, "torch_default", seed=0)
    assert report.untouched == [], report.untouched


def test_the_cells_bilinear_and_prelu_get_their_reset_parameters_law() -> None:
    # torch's RNNCellBase, Bilinear and PReLU reset_parameters: U(±1/√hidden), U(±1/√in1_features), the init constant
    for cell in (nn.RNNCell(8, 16), nn.LSTMCell(8, 16), nn.GRUCell(8, 16)):
        report = xt.init_module(cell, "torch_default", seed=0)
        bound = 1.0 / math.sqrt(16)
        for name, p in cell.named_parameters():
            assert float(p.detach().abs().max()) <= bound, name
            assert report.filled[name].startswith("HiddenUniform(): symmetric_uniform(0.25")
    bil = nn.Bilinear(12, 7, 5)
    report = xt.init_module(bil, "torch_default", seed=0)
    assert report.filled["weight"].startswith(f"BilinearUniform(): symmetric_uniform({float(np.float32(12**-0.5))}")
    assert report.filled["bias"] == report.filled["weight"]
    prelu = nn.PReLU(8, init=0.3)
    prelu.weight.data.zero_()
    xt.init_module(prelu, "torch_default", seed=0)
    assert torch.equal(prelu.weight, torch.full((8,), 0.3))
