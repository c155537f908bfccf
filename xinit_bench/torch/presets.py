"""Presets: the rule lists of torch's own ``reset_parameters`` and of well-known model families.

The Hugging Face presets (``gpt2``, ``llama``, ``bert``, ``t5``, ``hf_vit``)
follow the ``_init_weights`` of Transformers 5.24; a test builds each real
model class from a small config and compares every tensor with the library's
own init.  ``"auto"`` picks one from the model's ``config.model_type`` and
reads its fields (:data:`MODEL_TYPES`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..validation import check_real
from .hf import Positions, RotaryInvFreq, config_int, config_real, model_config, rotary_from_config
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
from .rules import ModuleMatch, Rule

__all__ = [
    "HF_PRESETS",
    "MODEL_TYPES",
    "PRESETS",
    "ExpectedRule",
    "bert",
    "check_rules",
    "gpt2",
    "hf_vit",
    "llama",
    "preset_names",
    "preset_rules",
    "t5",
    "torch_default",
    "vit",
]


@dataclass(frozen=True)
class ExpectedRule(Rule):
    """A preset rule meant for a named sub-module: each module matching ``within`` should hold a tensor it matches.

    GPT-2's residual scaling names ``c_proj.weight``; in a model whose
    attention or MLP blocks call their projection something else the rule
    matches nothing there, and :func:`~xinit_bench.torch.init_module` warns
    (``UnmatchedRuleWarning``) and lists it in ``InitReport.unmatched``
    instead of silently drawing the unscaled law.
    """

    within: ModuleMatch = None

    def __post_init__(self) -> None:
        super().__post_init__()
        Rule(self.init, self.within)  # the same checks as a rule's module


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
        ExpectedRule(Normal(0.0, s / math.sqrt(2.0 * layers)), None, "c_proj.weight", within=_RESIDUAL_BLOCKS),
        Rule(Normal(0.0, s), linear, "weight"),
        Rule(Constant(0.0), linear, "bias"),
        Rule(Normal(0.0, s, padding_idx=True), nn.Embedding, "weight"),
        *_norm_rules(),
        *torch_default(),
    ]


#: The blocks each of which should hold one of GPT-2's residual projections (``attn.c_proj``, ``mlp.c_proj``).
_RESIDUAL_BLOCKS = ("*Attention", "*MLP", "*Block")


def llama(std: float = 0.02, rotary: RotaryInvFreq | None = None) -> list[Rule]:
    """Hugging Face LLaMA (``PreTrainedModel._init_weights`` as LLaMA inherits it), then :func:`torch_default`.

    Linear weights and embeddings N(0, std²) (``initializer_range``, 0.02),
    Linear biases 0, the embedding's padding row 0, RMSNorm weights 1; with
    ``rotary``, the ``*RotaryEmbedding`` modules' ``inv_freq`` and
    ``original_inv_freq`` buffers computed from it (:class:`RotaryInvFreq`).
    """
    s = float(check_real("std", std, minimum=0.0))
    if rotary is not None and not isinstance(rotary, RotaryInvFreq):
        raise TypeError(f"rotary must be an xinit_bench.torch.RotaryInvFreq or None, got {rotary!r}")
    return [
        *_rotary_rules(rotary),
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


def _rotary_rules(rotary: RotaryInvFreq | None) -> list[Rule]:
    if rotary is None:
        return []
    return [Rule(rotary, "*RotaryEmbedding", "inv_freq"), Rule(rotary, "*RotaryEmbedding", "original_inv_freq")]


def _hf_base(std: float) -> list[Rule]:
    """``PreTrainedModel._init_weights``: what every Hugging Face model gets before its own overrides."""
    convs = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)
    return [
        Rule(Normal(0.0, std), convs, "weight"),
        Rule(Constant(0.0), convs, "bias"),
        Rule(XavierUniform(), nn.LSTM, "weight*"),
        Rule(Constant(0.0), nn.LSTM, "bias*"),
        Rule(Normal(0.0, std, padding_idx=True), nn.Embedding, "weight"),
        *_norm_rules(),
        *torch_default(),
    ]


def bert(std: float = 0.02) -> list[Rule]:
    """Hugging Face BERT (``BertPreTrainedModel._init_weights``), then :func:`torch_default`.

    Linear weights and embeddings N(0, std²) (``initializer_range``, 0.02),
    the word embedding's padding row 0, Linear biases and the masked-LM
    head's ``bias`` 0, LayerNorm 1 and 0; the ``position_ids`` buffer
    ``0, 1, ..., n-1`` and ``token_type_ids`` 0.
    """
    s = float(check_real("std", std, minimum=0.0))
    return [
        Rule(Positions(), "*Embeddings", "position_ids"),
        Rule(Constant(0.0), "*Embeddings", "token_type_ids"),
        Rule(Constant(0.0), "*LMPredictionHead", "bias"),
        *_hf_base(s),
    ]


def t5(d_model: int, d_kv: int, num_heads: int, d_ff: int, factor: float = 1.0) -> list[Rule]:
    r"""Hugging Face T5 (``T5PreTrainedModel._init_weights``), then the library's base init at std ``factor``.

    With :math:`f` = ``initializer_factor``:

    .. math::

        W_q \sim N\!\left(0, \frac{f^2}{d_{model} d_{kv}}\right),\quad
        W_k, W_v \sim N\!\left(0, \frac{f^2}{d_{model}}\right),\quad
        W_o \sim N\!\left(0, \frac{f^2}{h\, d_{kv}}\right),

    the feed-forward ``wi``/``wi_0``/``wi_1`` N(0, f²/d_model) and ``wo``
    N(0, f²/d_ff), ``relative_attention_bias`` N(0, f²/d_model), the shared
    embedding (and an untied ``lm_head``) N(0, f²), ``T5LayerNorm`` weights
    ``f``, the question-answering and classification heads as the library
    draws them, biases 0.

    Reference: Raffel et al. (2020), "Exploring the Limits of Transfer
    Learning with a Unified Text-to-Text Transformer" (Mesh TensorFlow's
    init, which the library follows).
    """
    dm = float(check_real("d_model", d_model, positive=True))
    dkv = float(check_real("d_kv", d_kv, positive=True))
    h = float(check_real("num_heads", num_heads, positive=True))
    dff = float(check_real("d_ff", d_ff, positive=True))
    f = float(check_real("factor", factor, minimum=0.0))
    attention, dense = "T5Attention", ("T5DenseActDense", "T5DenseGatedActDense")
    return [
        Rule(Constant(f), "T5LayerNorm", "weight"),
        Rule(Normal(0.0, f), None, "shared.weight"),
        Rule(Normal(0.0, f), None, "lm_head.weight"),
        Rule(Normal(0.0, f * dm**-0.5), None, "qa_outputs.weight"),
        Rule(Constant(0.0), None, "qa_outputs.bias"),
        Rule(Normal(0.0, f), "T5ForTokenClassification", "classifier.weight"),
        Rule(Constant(0.0), "T5ForTokenClassification", "classifier.bias"),
        Rule(Normal(0.0, f * dm**-0.5), "T5ClassificationHead", "*.weight"),
        Rule(Constant(0.0), "T5ClassificationHead", "*.bias"),
        Rule(Normal(0.0, f * dm**-0.5), dense, "wi*.weight"),
        Rule(Normal(0.0, f * dff**-0.5), dense, "wo.weight"),
        Rule(Constant(0.0), dense, "w*.bias"),
        Rule(Normal(0.0, f * (dm * dkv) ** -0.5), attention, "q.weight"),
        Rule(Normal(0.0, f * dm**-0.5), attention, "[kv].weight"),
        Rule(Normal(0.0, f * (h * dkv) ** -0.5), attention, "o.weight"),
        Rule(Normal(0.0, f * dm**-0.5), attention, "relative_attention_bias.weight"),
        *_hf_base(f),
    ]


def hf_vit(std: float = 0.02) -> list[Rule]:
    """Hugging Face ViT (``ViTPreTrainedModel._init_weights``), then :func:`torch_default`.

    Linear and the patch embedding's Conv2d weights N(0, std²)
    (``initializer_range``, 0.02), their biases 0, ``position_embeddings``
    and ``cls_token`` ``trunc_normal_(std=std)`` (absolute bounds ±2, i.e.
    ±100 std: the same law as N(0, std²) to double precision), ``mask_token``
    0, LayerNorm 1 and 0.  Unlike :func:`vit` (timm): timm draws ``cls_token``
    with std 1e-6 and keeps torch's default for the patch embedding.
    """
    s = float(check_real("std", std, positive=True))
    return [
        Rule(TruncNormal(0.0, s, -2.0, 2.0), "*Embeddings", "position_embeddings"),
        Rule(TruncNormal(0.0, s, -2.0, 2.0), "*Embeddings", "cls_token"),
        Rule(Constant(0.0), "*Embeddings", "mask_token"),
        *_hf_base(s),
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


def _std(module: nn.Module) -> float:
    """``config.initializer_range`` of a Hugging Face model, else the presets' 0.02."""
    config = model_config(module)
    return 0.02 if config is None else config_real(config, ("initializer_range",), 0.02)


def _llama_rules(module: nn.Module) -> list[Rule]:
    config = model_config(module)
    has_rotary = any("RotaryEmbedding" in type(m).__name__ for m in module.modules())
    rotary = rotary_from_config(config) if config is not None and has_rotary else None
    return llama(_std(module), rotary)


def _t5_rules(module: nn.Module) -> list[Rule]:
    config = model_config(module)
    if config is None:
        raise ValueError(
            "preset 't5' needs d_model, d_kv, num_heads and d_ff, which this module does not carry (no config): "
            "pass preset=xinit_bench.torch.t5(d_model=..., d_kv=..., num_heads=..., d_ff=...)"
        )
    return t5(
        config_int(config, ("d_model",)),
        config_int(config, ("d_kv",)),
        config_int(config, ("num_heads",)),
        config_int(config, ("d_ff",)),
        config_real(config, ("initializer_factor",), 1.0),
    )


#: The preset names and how each builds its rules from the module.
PRESETS: dict[str, Callable[[nn.Module], list[Rule]]] = {
    "torch_default": lambda module: torch_default(),
    "gpt2": lambda module: gpt2(_n_layer(module), _std(module)),
    "llama": _llama_rules,
    "vit": lambda module: vit(),
}

#: The Hugging Face presets without a counterpart elsewhere, by name (``"hf_vit"`` beside timm's ``"vit"``).
HF_PRESETS: dict[str, Callable[[nn.Module], list[Rule]]] = {
    "bert": lambda module: bert(_std(module)),
    "t5": _t5_rules,
    "hf_vit": lambda module: hf_vit(_std(module)),
}

#: ``preset="auto"``: each Hugging Face ``config.model_type`` it knows and the preset it takes.
MODEL_TYPES: dict[str, str] = {"gpt2": "gpt2", "llama": "llama", "bert": "bert", "t5": "t5", "vit": "hf_vit"}


def preset_names() -> tuple[str, ...]:
    """Every name ``preset=`` takes: :data:`PRESETS`, :data:`HF_PRESETS` and ``"auto"``."""
    return (*PRESETS, *HF_PRESETS, "auto")


def _auto(module: nn.Module) -> list[Rule]:
    config = model_config(module)
    if config is None:
        raise ValueError(
            f"preset 'auto' needs a Hugging Face model with a config (config.model_type), got "
            f"{type(module).__name__} without one: pass a preset name ({', '.join(map(repr, preset_names()[:-1]))}) "
            "or a list of rules"
        )
    kind = config.model_type
    if kind not in MODEL_TYPES:
        raise ValueError(
            f"preset 'auto' must know the model's config.model_type, one of "
            f"{', '.join(repr(k) for k in MODEL_TYPES)}, got {kind!r}: pass a preset name or a list of rules"
        )
    name = MODEL_TYPES[kind]
    return {**PRESETS, **HF_PRESETS}[name](module)


def preset_rules(preset: Any, module: nn.Module) -> list[Rule]:
    """The rules of ``preset``: a name of :func:`preset_names` or a sequence of :class:`Rule`.

    An unknown name is a ``ValueError`` listing the names and suggesting the closest.
    """
    if isinstance(preset, str):
        names = preset_names()
        if preset not in names:
            close = difflib.get_close_matches(preset, names, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"preset must be one of {', '.join(map(repr, names))}, got {preset!r}{hint}")
        if preset == "auto":
            return _auto(module)
        return {**PRESETS, **HF_PRESETS}[preset](module)
    return check_rules("preset", preset)


def check_rules(name: str, rules: Any) -> list[Rule]:
    if isinstance(rules, (str, bytes, Rule)) or not isinstance(rules, Iterable):
        raise TypeError(f"{name} must be a preset name or a sequence of xinit_bench.torch.Rule, got {rules!r}")
    out = list(rules)
    for i, r in enumerate(out):
        if not isinstance(r, Rule):
            raise TypeError(f"{name}[{i}] must be an xinit_bench.torch.Rule, got {r!r}")
    return out
