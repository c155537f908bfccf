"""Hugging Face models: computed buffers (rotary frequencies, position ids) and the fields of a model's ``config``.

Needs no ``transformers`` import: a model is read through its ``config``
attribute (``model_type``, ``initializer_range``, ...), as the library's own
``_init_weights`` reads it, so this module works with any release that has
those fields.  The presets that use these readers are in :mod:`.presets`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..validation import check_choice, check_real
from .inits import Init

__all__ = [
    "ROPE_TYPES",
    "Computed",
    "Positions",
    "RopeType",
    "RotaryInvFreq",
    "config_int",
    "config_real",
    "model_config",
    "rotary_from_config",
]

RopeType = Literal["default", "linear", "llama3"]
#: The rotary scalings whose ``inv_freq`` is computed here; another type is refused by name.
ROPE_TYPES: tuple[RopeType, ...] = ("default", "linear", "llama3")


class Computed(Init):
    """A tensor whose value is computed from its owner and its shape, not drawn: written with ``copy_``.

    ``value(tensor, owner)`` runs before anything is written (on a meta tensor
    too: it reads the shape and dtype only) and must return a CPU tensor of
    the tensor's number of elements.
    """

    def value(self, tensor: torch.Tensor, owner: nn.Module) -> torch.Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class Positions(Computed):
    """``0, 1, ..., n-1`` along the last axis, repeated over the others: BERT's ``position_ids`` buffer."""

    def value(self, tensor: torch.Tensor, owner: nn.Module) -> torch.Tensor:
        n = int(tensor.shape[-1]) if tensor.dim() else 1
        return torch.arange(n, dtype=torch.int64).expand(tuple(tensor.shape) or (1,)).to(tensor.dtype)


@dataclass(frozen=True)
class RotaryInvFreq(Computed):
    """A rotary embedding's inverse frequencies, in float32 as the Hugging Face rotary modules compute them.

    .. math::

        \\omega_i = \\frac{1}{\\theta^{2i/d}}, \\qquad i = 0, \\dots, d/2 - 1,

    with :math:`d` = ``dim`` (the head size times ``partial_rotary_factor``)
    and :math:`\\theta` = ``theta`` (``rope_theta``).  ``linear`` divides every
    :math:`\\omega_i` by ``factor``; ``llama3`` divides the frequencies whose
    wavelength :math:`2\\pi/\\omega_i` exceeds ``original / low_freq_factor`` by
    ``factor``, keeps those below ``original / high_freq_factor``, and
    interpolates between them with :math:`s = (\\text{original}/\\lambda_i -
    \\text{low}) / (\\text{high} - \\text{low})`.  The arithmetic is that of the
    library (float32 exponent ``arange(0, d, 2) / d``, a Python-float base), so
    the bits are the library's.

    If the owner keeps ``original_inv_freq`` as a plain attribute rather than a
    buffer, the write sets it to a copy of the value too.

    References: Su et al. (2021), "RoFormer: Enhanced Transformer with Rotary
    Position Embedding"; ``compute_default_rope_parameters``,
    ``_compute_linear_scaling_rope_parameters`` and ``_compute_llama3_parameters``
    in Hugging Face Transformers.
    """

    theta: float = 10000.0
    dim: int = 64
    rope_type: RopeType = "default"
    factor: float = 1.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original: int = 8192

    def __post_init__(self) -> None:
        check_real("theta", self.theta, positive=True)
        if not isinstance(self.dim, int) or isinstance(self.dim, bool) or self.dim < 2:
            raise ValueError(f"dim must be an int >= 2 (the rotary dimension), got {self.dim!r}")
        check_choice("rope_type", self.rope_type, ROPE_TYPES)
        check_real("factor", self.factor, positive=True)
        if self.rope_type == "llama3":
            low = check_real("low_freq_factor", self.low_freq_factor, positive=True)
            high = check_real("high_freq_factor", self.high_freq_factor, positive=True)
            if not high > low:
                raise ValueError(f"high_freq_factor must be > low_freq_factor, got {high!r} and {low!r}")
            check_real("original", self.original, positive=True)

    def frequencies(self) -> torch.Tensor:
        dim = self.dim
        inv = 1.0 / (self.theta ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))
        if self.rope_type == "linear":
            inv /= self.factor
        elif self.rope_type == "llama3":
            low_wavelen = self.original / self.low_freq_factor
            high_wavelen = self.original / self.high_freq_factor
            wavelen = 2 * math.pi / inv
            scaled = torch.where(wavelen > low_wavelen, inv / self.factor, inv)
            smooth = (self.original / wavelen - self.low_freq_factor) / (self.high_freq_factor - self.low_freq_factor)
            smoothed = (1 - smooth) * scaled / self.factor + smooth * scaled
            medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
            inv = torch.where(medium, smoothed, scaled)
        return inv

    def value(self, tensor: torch.Tensor, owner: nn.Module) -> torch.Tensor:
        inv = self.frequencies()
        if inv.numel() != tensor.numel():
            raise ValueError(
                f"the rotary dimension {self.dim} gives {inv.numel()} frequencies, but the buffer has "
                f"{tensor.numel()} (shape {tuple(tensor.shape)}): the config's head_dim, hidden_size, "
                "num_attention_heads or partial_rotary_factor do not describe this model"
            )
        return inv

    def after(self, tensor: torch.Tensor, owner: nn.Module) -> None:
        plain = owner.__dict__.get("original_inv_freq")
        if isinstance(plain, torch.Tensor) and "original_inv_freq" not in owner._buffers:
            owner.__dict__["original_inv_freq"] = tensor.detach().clone()


def model_config(module: nn.Module) -> Any | None:
    """The module's Hugging Face ``config`` (an object with a ``model_type`` str), or None."""
    config = getattr(module, "config", None)
    return config if isinstance(getattr(config, "model_type", None), str) else None


def config_real(config: Any, names: tuple[str, ...], default: float | None = None, *, positive: bool = False) -> float:
    """The first of ``names`` that ``config`` has (not None), checked as a real number; else ``default``."""
    for attr in names:
        value = getattr(config, attr, None)
        if value is not None:
            return check_real(f"config.{attr}", value, minimum=0.0, positive=positive)
    if default is None:
        raise ValueError(
            f"config of model_type {getattr(config, 'model_type', None)!r} must have "
            + " or ".join(f"config.{n}" for n in names)
            + ", got none of them"
        )
    return default


def config_int(config: Any, names: tuple[str, ...]) -> int:
    """The first of ``names`` that ``config`` has, checked as a positive int."""
    for attr in names:
        value = getattr(config, attr, None)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"config.{attr} must be a positive int, got {value!r}")
            return value
    raise ValueError(
        f"config of model_type {getattr(config, 'model_type', None)!r} must have "
        + " or ".join(f"config.{n}" for n in names)
        + ", got none of them"
    )


def _rope_parameters(config: Any) -> dict[str, Any]:
    """``rope_type``, ``rope_theta`` and the scaling fields, from ``rope_parameters`` or the older fields."""
    params = getattr(config, "rope_parameters", None)
    out: dict[str, Any] = {}
    if isinstance(params, Mapping):
        if "rope_theta" not in params and all(isinstance(v, Mapping) for v in params.values()) and params:
            raise ValueError(
                "config.rope_parameters must be one set of rotary parameters, got one per layer type "
                f"({sorted(params)}): pass a hook for the rotary buffers"
            )
        out.update(params)
    else:
        scaling = getattr(config, "rope_scaling", None)
        if isinstance(scaling, Mapping):
            out.update(scaling)
        if getattr(config, "rope_theta", None) is not None:
            out["rope_theta"] = config.rope_theta
    out.setdefault("rope_type", out.get("type", "default") or "default")
    out.setdefault("rope_theta", 10000.0)
    if "partial_rotary_factor" not in out and getattr(config, "partial_rotary_factor", None) is not None:
        out["partial_rotary_factor"] = config.partial_rotary_factor
    return out


def _original(p: Mapping[str, Any]) -> int:
    value = p.get("original_max_position_embeddings")
    return int(check_real("rope original_max_position_embeddings", value, positive=True))


def rotary_from_config(config: Any) -> RotaryInvFreq:
    """The :class:`RotaryInvFreq` of a Hugging Face config (``rope_parameters``, or ``rope_theta``/``rope_scaling``).

    Raises
    ------
    ValueError
        A rotary type other than :data:`ROPE_TYPES` (named, with the
        supported ones), or missing or invalid fields.
    """
    p = _rope_parameters(config)
    rope_type = p["rope_type"]
    if rope_type not in ROPE_TYPES:
        raise ValueError(
            f"config's rope_type must be one of {', '.join(repr(t) for t in ROPE_TYPES)} to compute the rotary "
            f"buffers, got {rope_type!r}: pass hooks={{'*.inv_freq': fn, '*.original_inv_freq': fn}}"
        )
    head = getattr(config, "head_dim", None) or (
        config_int(config, ("hidden_size",)) // config_int(config, ("num_attention_heads",))
    )
    partial = check_real("rope partial_rotary_factor", p.get("partial_rotary_factor", 1.0), positive=True)
    dim = int(head * partial)
    theta = check_real("rope_theta", p["rope_theta"], positive=True)
    if rope_type == "default":
        return RotaryInvFreq(theta, dim)
    factor = check_real("rope factor", p.get("factor"), positive=True)
    if rope_type == "linear":
        return RotaryInvFreq(theta, dim, "linear", factor)
    return RotaryInvFreq(
        theta,
        dim,
        "llama3",
        factor,
        check_real("rope low_freq_factor", p.get("low_freq_factor"), positive=True),
        check_real("rope high_freq_factor", p.get("high_freq_factor"), positive=True),
        _original(p),
    )
