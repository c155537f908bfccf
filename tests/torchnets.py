"""Small torch models and the torch-side code paths (torch's own init, Hugging Face's, timm's) for the torch tests."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import torch
from torch import nn

from xinit_bench.perf import models

P_MIN = 1e-4
GPT2_TINY = models.MODELS["gpt2-tiny"]
LLAMA_TINY = models.MODELS["llama-tiny-bf16"]


def conv_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.GroupNorm(4, 32),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.LayerNorm(64),
        nn.Linear(64, 10),
    )


def gpt2_tiny() -> nn.Module:
    return models.build(GPT2_TINY)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict(keep_vars=True).items()}


# --- the torch side of the parity tests: torch's own code paths, written out ----------
def hf_gpt2(model: nn.Module, n_layer: int) -> None:
    """Hugging Face GPT-2's _init_weights: N(0, 0.02), c_proj.weight N(0, 0.02 / sqrt(2 n_layer)), zero biases."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, 0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.normal_(0.0, 0.02)
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
        for name, p in model.named_parameters():
            if name.endswith("c_proj.weight"):
                p.normal_(0.0, 0.02 / math.sqrt(2 * n_layer))


def hf_llama(model: nn.Module) -> None:
    """Hugging Face LLaMA's _init_weights: Linear and Embedding N(0, 0.02), zero biases."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.normal_(0.0, 0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.zero_()


def timm_vit(model: nn.Module) -> None:
    """timm's init_weights_vit_timm: Linear trunc_normal_(std=0.02) (bounds +-2 absolute), zero biases.

    A tied weight is drawn once, by the rule of its first name (as init_module
    does): GPT-2's lm_head.weight is wte.weight, an Embedding's weight.
    """
    first = {id(p): n for n, p in reversed(list(model.named_parameters(remove_duplicate=False)))}
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, nn.Linear) and first[id(m.weight)] == ".".join(filter(None, (name, "weight"))):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    m.bias.zero_()


TORCH_PATHS: dict[str, Callable[[nn.Module], None]] = {
    "torch_default": lambda m: None,  # construction ran reset_parameters
    "gpt2": lambda m: hf_gpt2(m, GPT2_TINY.n_layer),
    "llama": hf_llama,
    "vit": timm_vit,
}
BUILDERS: dict[str, Callable[[], nn.Module]] = {"gpt2_tiny": gpt2_tiny, "conv_net": conv_net}


def as_numpy(t: torch.Tensor) -> np.ndarray[Any, Any]:
    if t.dtype == torch.bfloat16:
        return t.detach().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.detach().numpy()


def values(module: nn.Module) -> dict[str, np.ndarray[Any, Any]]:
    return {k: as_numpy(v).copy() for k, v in module.state_dict().items()}
