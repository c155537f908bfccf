"""Presets: the rule lists of torch's own ``reset_parameters`` and of well-known model families."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from torch import nn

from ..validation import check_choice, check_real
from .inits import (
    BiasUniform,
    BilinearUniform,
    Constant,
    HiddenUniform,
    KaimingUniform,
    Normal,
    OwnerConstant,
    TruncNormal,
    XavierNormal,
    XavierUniform,
)
from .rules import Rule

__all__ = ["PRESETS", "check_rules", "gpt2", "llama", "preset_rules", "torch_default", "vit"]


def _norm_rules() -> list[Rule]:
    norms = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase, nn.RMSNorm, "*RMSNorm", "*LayerNorm")
    return [
        Rule(Constant(1.0), norms, "weight"),
        Rule(Constant(0.0), norms, "bias"),
        Rule(Constant(0.0), nn.modules.batchnorm._NormBase, "running_mean"),
        Rule(Constant(1.0), nn.modules.batchnorm._NormBase, "running_var"),
        Rule(Constant(0.0), nn.modules.batchnorm._NormBase, "num_batches_tracked"),
    ]


def torch_default() -> list[Rule]:
    """What each layer's ``reset_parameters`` draws (torch 2.x).

    - ``Linear`` and ``Conv*d``/``ConvTranspose*d``: weight ``kaiming_uniform_(a=√5)``
      (U(±1/√fan_in)); bias U(±1/√fan_in) of the weight.
    - ``MultiheadAttention``: ``xavier_uniform_`` on ``in_proj_weight`` (or
      ``q/k/v_proj_weight``), zero ``in_proj_bias`` and ``out_proj.bias``,
      ``xavier_normal_`` on ``bias_k``/``bias_v``; ``out_proj.weight`` as a Linear.
    - ``Embedding``/``EmbeddingBag``: N(0, 1), the ``padding_idx`` row zeroed.
    - ``LayerNorm``, ``GroupNorm``, ``RMSNorm``, ``BatchNorm*d``, ``InstanceNorm*d``: weight 1,
      bias 0, running mean 0, running variance 1, ``num_batches_tracked`` 0.
    - ``RNN``/``LSTM``/``GRU`` and ``RNNCell``/``LSTMCell``/``GRUCell``: every parameter U(±1/√hidden_size).
    - ``Bilinear``: weight and bias U(±1/√in1_features).
    - ``PReLU``: weight the constant ``init`` (0.25).

    Every class of ``torch.nn`` with a ``reset_parameters`` method is covered
    (a test enumerates them), except the lazy modules, which have no shape to
    fill until their first forward pass turns them into the classes above.

    References: the ``reset_parameters`` / ``_reset_parameters`` methods of
    ``torch.nn.Linear``, ``torch.nn.modules.conv._ConvNd``, ``torch.nn.Embedding``,
    ``torch.nn.MultiheadAttention``, ``torch.nn.RNNBase``, ``torch.nn.RNNCellBase``,
    ``torch.nn.Bilinear`` and ``torch.nn.PReLU``, and the layers'
    documentation ("initialized from U(-√k, √k), k = 1/in_features").
    """
    mha = nn.MultiheadAttention
    return [
        Rule(XavierUniform(), mha, "in_proj_weight"),
        Rule(XavierUniform(), mha, "[qkv]_proj_weight"),
        Rule(Constant(0.0), mha, "in_proj_bias"),
        Rule(Constant(0.0), mha, "out_proj.bias"),
        Rule(XavierNormal(), mha, "bias_[kv]"),
        Rule(KaimingUniform(a=math.sqrt(5.0)), (nn.Linear, nn.modules.conv._ConvNd), "weight"),
        Rule(BiasUniform(), (nn.Linear, nn.modules.conv._ConvNd), "bias"),
        Rule(Normal(0.0, 1.0, padding_idx=True), (nn.Embedding, nn.EmbeddingBag), "weight"),
        *_norm_rules(),
        Rule(HiddenUniform(), (nn.RNNBase, nn.RNNCellBase), "*"),
        Rule(BilinearUniform(), nn.Bilinear, "weight"),
        Rule(BilinearUniform(), nn.Bilinear, "bias"),
        Rule(OwnerConstant("init"), nn.PReLU, "weight"),
    ]


def gpt2(n_layer: int, std: float = 0.02) -> list[Rule]:
    """Hugging Face GPT-2 (``GPT2PreTrainedModel._init_weights``), then :func:`torch_default` for other layers.

    Linear and ``Conv1D`` weights and embeddings N(0, std²) (std =
    ``initializer_range``, 0.02), biases 0, LayerNorm 1 and 0, and every
    ``c_proj.weight`` (the residual projections) N(0, (std / √(2·n_layer))²).
    """
    layers = int(check_real("n_layer", n_layer, positive=True))
    s = float(check_real("std", std, minimum=0.0))
    linear = (nn.Linear, "Conv1D")
    return [
        Rule(Normal(0.0, s / math.sqrt(2.0 * layers)), None, "c_proj.weight"),
        Rule(Normal(0.0, s), linear, "weight"),
        Rule(Constant(0.0), linear, "bias"),
        Rule(Normal(0.0, s, padding_idx=True), nn.Embedding, "weight"),
        *_norm_rules(),
        *torch_default(),
    ]


def llama(std: float = 0.02) -> list[Rule]:
    """Hugging Face LLaMA (``LlamaPreTrainedModel._init_weights``), then :func:`torch_default`.

    Linear weights and embeddings N(0, std²) (``initializer_range``, 0.02),
    Linear biases 0, the embedding's padding row 0, RMSNorm weights 1.
    """
    s = float(check_real("std", std, minimum=0.0))
    return [
        Rule(Normal(0.0, s), nn.Linear, "weight"),
        Rule(Constant(0.0), nn.Linear, "bias"),
        Rule(Normal(0.0, s, padding_idx=True), nn.Embedding, "weight"),
        *_norm_rules(),
        *torch_default(),
    ]


def vit(std: float = 0.02) -> list[Rule]:
    """timm's Vision Transformer (``init_weights_vit_timm``), then :func:`torch_default`.

    Linear weights ``trunc_normal_(std=0.02)`` (absolute bounds ±2, i.e.
    ±100 std), Linear biases 0, ``pos_embed`` ``trunc_normal_(std=0.02)``,
    ``cls_token`` and ``reg_token`` N(0, 1e-6²); the patch embedding's conv
    and the norms keep torch's defaults.
    """
    s = float(check_real("std", std, positive=True))
    return [
        Rule(TruncNormal(0.0, s, -2.0, 2.0), nn.Linear, "weight"),
        Rule(Constant(0.0), nn.Linear, "bias"),
        Rule(TruncNormal(0.0, s, -2.0, 2.0), None, "pos_embed"),
        Rule(Normal(0.0, 1e-6), None, "cls_token"),
        Rule(Normal(0.0, 1e-6), None, "reg_token"),
        *torch_default(),
    ]


def _n_layer(module: nn.Module) -> int:
    config = getattr(module, "config", None)
    for source in (config, module):
        for attr in ("n_layer", "num_hidden_layers"):
            value = getattr(source, attr, None)
            if isinstance(value, int) and value > 0:
                return value
    raise ValueError(
        "preset 'gpt2' needs the number of layers, which this module does not carry (no config.n_layer or "
        "n_layer attribute): pass preset=xinit_bench.torch.gpt2(n_layer=...)"
    )


#: The preset names and how each builds its rules from the module.
PRESETS: dict[str, Callable[[nn.Module], list[Rule]]] = {
    "torch_default": lambda module: torch_default(),
    "gpt2": lambda module: gpt2(_n_layer(module)),
    "llama": lambda module: llama(),
    "vit": lambda module: vit(),
}


def preset_rules(preset: Any, module: nn.Module) -> list[Rule]:
    """The rules of ``preset``: a name of :data:`PRESETS` or a sequence of :class:`Rule`."""
    if isinstance(preset, str):
        name = check_choice("preset", preset, tuple(PRESETS))
        return PRESETS[name](module)
    return check_rules("preset", preset)


def check_rules(name: str, rules: Any) -> list[Rule]:
    if isinstance(rules, (str, bytes, Rule)) or not isinstance(rules, Iterable):
        raise TypeError(f"{name} must be a preset name or a sequence of xinit_bench.torch.Rule, got {rules!r}")
    out = list(rules)
    for i, r in enumerate(out):
        if not isinstance(r, Rule):
            raise TypeError(f"{name}[{i}] must be an xinit_bench.torch.Rule, got {r!r}")
    return out
