"""What a rule puts into a tensor: a law of random draws (a plan of :mod:`xinit_bench.plans`), a constant, nothing."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..gains import he_gain, scheme_gain
from ..plans import Plan, normal_law, symmetric_plan, truncated_normal_law, uniform_law
from ..validation import check_choice, check_real
from .tensors import scheme_plan, tensor_fans

__all__ = [
    "BiasUniform",
    "BilinearUniform",
    "Constant",
    "HiddenUniform",
    "Init",
    "KaimingNormal",
    "KaimingUniform",
    "Normal",
    "OwnerConstant",
    "Skip",
    "TruncNormal",
    "Uniform",
    "XavierNormal",
    "XavierUniform",
]


class Init:
    """What a :class:`Rule` puts into a tensor: a plan of random draws, a constant, or nothing.

    ``plan(tensor, owner)`` returns the tensor's plan (``owner`` is the module
    the rule matched, for rules that read its weight or its attributes);
    :class:`Constant` and :class:`Skip` have none.  Every parameter is checked
    when the Init is made (``TypeError``/``ValueError`` naming it), so a bad
    rule fails where it is written, not when a module is filled.
    """

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan | None:
        return None

    def constant(self, owner: nn.Module) -> float | None:
        """The constant this Init writes into a tensor of ``owner``, or None if it draws (or skips)."""
        return None

    def check_after(self, tensor: torch.Tensor, owner: nn.Module) -> None:
        """Refuse, before anything is written, what :meth:`after` could not do."""

    def after(self, tensor: torch.Tensor, owner: nn.Module) -> None:
        """Work done after the fill (an embedding's padding row)."""


@dataclass(frozen=True)
class Uniform(Init):
    """U[a, b)."""

    a: float = 0.0
    b: float = 1.0

    def __post_init__(self) -> None:
        if not check_real("a", self.a) < check_real("b", self.b):
            raise ValueError(f"b must be > a, got a={self.a!r}, b={self.b!r}")

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return uniform_law(self.a, self.b)


@dataclass(frozen=True)
class Normal(Init):
    """N(mean, std²); ``padding_idx=True`` zeroes the owner's ``padding_idx`` row afterwards (embeddings)."""

    mean: float = 0.0
    std: float = 1.0
    padding_idx: bool = False

    def __post_init__(self) -> None:
        check_real("mean", self.mean)
        check_real("std", self.std, minimum=0.0)
        if not isinstance(self.padding_idx, bool):
            raise TypeError(f"padding_idx must be a bool (zero the owner's padding row), got {self.padding_idx!r}")

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return normal_law(self.mean, self.std)

    def check_after(self, tensor: torch.Tensor, owner: nn.Module) -> None:
        row = getattr(owner, "padding_idx", None)
        if self.padding_idx and row is not None:
            rows = tensor.shape[0] if tensor.dim() else 0
            if not (isinstance(row, int) and -rows <= row < rows):
                raise ValueError(
                    f"padding_idx of {type(owner).__name__} must be a row of its weight (in [{-rows}, {rows})), "
                    f"got {row!r}"
                )

    def after(self, tensor: torch.Tensor, owner: nn.Module) -> None:
        row = getattr(owner, "padding_idx", None)
        if self.padding_idx and row is not None:
            with torch.no_grad():
                tensor.detach()[row].zero_()


@dataclass(frozen=True)
class TruncNormal(Init):
    """N(mean, std²) conditioned on the **absolute** bounds ``[a, b]``, as ``trunc_normal_``."""

    mean: float = 0.0
    std: float = 1.0
    a: float = -2.0
    b: float = 2.0

    def __post_init__(self) -> None:
        check_real("mean", self.mean)
        check_real("std", self.std, positive=True)
        if not check_real("a", self.a, allow_inf=True) < check_real("b", self.b, allow_inf=True):
            raise ValueError(f"b must be > a, got a={self.a!r}, b={self.b!r}")

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return truncated_normal_law(self.mean, self.std, self.a, self.b, absolute=True)


@dataclass(frozen=True)
class XavierUniform(Init):
    """U(±gain·√(6 / (fan_in + fan_out)))."""

    gain: float = 1.0

    def __post_init__(self) -> None:
        scheme_gain(self.gain, None)

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return scheme_plan("xavier_uniform", tensor, self.gain)


@dataclass(frozen=True)
class XavierNormal(Init):
    """N(0, gain²·2 / (fan_in + fan_out))."""

    gain: float = 1.0

    def __post_init__(self) -> None:
        scheme_gain(self.gain, None)

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return scheme_plan("xavier_normal", tensor, self.gain)


def check_kaiming(a: float, mode: str, nonlinearity: str) -> None:
    """The checks of ``kaiming_*``'s arguments: the slope, the mode (``fan_in``, ``fan_out``), the nonlinearity."""
    check_real("a", a)
    check_choice("mode", mode, ("fan_in", "fan_out"))
    he_gain(a, nonlinearity)


@dataclass(frozen=True)
class KaimingUniform(Init):
    """U(±√3·gain / √fan_mode); ``a=math.sqrt(5)`` is torch's default Linear and Conv weight."""

    a: float = 0.0
    mode: str = "fan_in"
    nonlinearity: str = "leaky_relu"

    def __post_init__(self) -> None:
        check_kaiming(self.a, self.mode, self.nonlinearity)

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return scheme_plan("he_uniform", tensor, a=self.a, mode=self.mode, nonlinearity=self.nonlinearity)


@dataclass(frozen=True)
class KaimingNormal(Init):
    """N(0, gain² / fan_mode)."""

    a: float = 0.0
    mode: str = "fan_in"
    nonlinearity: str = "leaky_relu"

    def __post_init__(self) -> None:
        check_kaiming(self.a, self.mode, self.nonlinearity)

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return scheme_plan("he_normal", tensor, a=self.a, mode=self.mode, nonlinearity=self.nonlinearity)


@dataclass(frozen=True)
class BiasUniform(Init):
    """U(±1/√fan_in) with the fan-in of the owner's ``weight``: torch's default Linear and Conv bias."""

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan | None:
        weight = getattr(owner, "weight", None)
        if not isinstance(weight, torch.Tensor):
            raise ValueError(f"BiasUniform needs a module with a weight, got {type(owner).__name__}")
        fan_in = tensor_fans(weight)[0]
        return symmetric_plan(1.0 / math.sqrt(fan_in)) if fan_in > 0 else None


@dataclass(frozen=True)
class BilinearUniform(Init):
    """U(±1/√in1_features), ``in1_features`` the owner weight's second size: torch's ``Bilinear`` weight and bias."""

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan | None:
        weight = getattr(owner, "weight", None)
        if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
            raise ValueError(f"BilinearUniform needs a module with a weight of rank >= 2, got {type(owner).__name__}")
        size = int(weight.shape[1])
        return symmetric_plan(1.0 / math.sqrt(size)) if size > 0 else None


@dataclass(frozen=True)
class HiddenUniform(Init):
    """U(±1/√hidden_size) of the owner: torch's default for every RNN, LSTM and GRU parameter, and their cells'."""

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan | None:
        hidden = int(getattr(owner, "hidden_size", 0))
        return symmetric_plan(1.0 / math.sqrt(hidden)) if hidden > 0 else None


@dataclass(frozen=True)
class Constant(Init):
    """The constant ``value`` (any dtype, e.g. BatchNorm's integer ``num_batches_tracked``)."""

    value: float = 0.0

    def __post_init__(self) -> None:
        check_real("value", self.value, allow_inf=True)

    def constant(self, owner: nn.Module) -> float | None:
        return float(self.value)


@dataclass(frozen=True)
class OwnerConstant(Init):
    """The owner's attribute ``attribute`` as a constant: ``PReLU``'s weight is its ``init`` (0.25 by default)."""

    attribute: str = "init"

    def __post_init__(self) -> None:
        if not isinstance(self.attribute, str):
            raise TypeError(f"attribute must be a str (an attribute of the owning module), got {self.attribute!r}")

    def constant(self, owner: nn.Module) -> float | None:
        value = getattr(owner, self.attribute, None)
        return check_real(f"{type(owner).__name__}.{self.attribute}", value, allow_inf=True)


@dataclass(frozen=True)
class Skip(Init):
    """Leave the tensor as it is (and count it as covered)."""
