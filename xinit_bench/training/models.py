r"""The MLPs of the training study: a spec, and the torch module built from it.

An :class:`MLPSpec` names the **hidden** widths; the input and output sizes
come from the data set.  ``MLPSpec((128, 64), "relu")`` on digits is the
Keras example's network adapted to 64 inputs, 64 -> 128 -> 64 -> 10:

.. math:: h^0 = x, \qquad h^{l} = \phi(W^{l} h^{l-1} + b^{l})\ (l < L), \qquad
          \text{logits} = W^{L} h^{L-1} + b^{L}

with ``L = len(widths) + 1`` linear layers, named ``layers.0`` ...
``layers.{L-1}`` (their tensors ``layers.{l}.weight`` and ``layers.{l}.bias``
are what :func:`xinit_bench.key_for_name` keys).  Dropout, when asked for,
follows every hidden activation; its masks come from a ``torch.Generator``
that the engine seeds from the run's seed, never from torch's global RNG.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..activations import ACTIVATIONS
from ..validation import check_bool, check_int, check_real
from .data import Dataset

__all__ = ["MLP", "TRAIN_ACTIVATIONS", "MLPSpec", "build_model", "check_activation"]

_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda h: h,
    "relu": torch.relu,
    "leaky_relu": lambda h: nn.functional.leaky_relu(h, 0.01),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "elu": nn.functional.elu,
    "selu": torch.selu,
    "gelu": nn.functional.gelu,
    "silu": nn.functional.silu,
    "softplus": nn.functional.softplus,
    "mish": nn.functional.mish,
    "erf": torch.erf,
    "hard_tanh": nn.functional.hardtanh,
}
#: The activations an MLP of the study may use: the core's names that torch computes here.
TRAIN_ACTIVATIONS: tuple[str, ...] = tuple(a for a in ACTIVATIONS if a in _FUNCTIONS)


def closest(value: str, allowed: tuple[str, ...]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``allowed`` to ``value``, or ``""``."""
    match = difflib.get_close_matches(value, allowed, n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check_activation(activation: Any) -> str:
    """``activation`` lower-cased, after checking it is one of :data:`TRAIN_ACTIVATIONS`.

    Raises
    ------
    TypeError
        Not a str.
    ValueError
        An unknown name; the message lists the names and suggests the closest.
    """
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a str, one of {', '.join(TRAIN_ACTIVATIONS)}; got {activation!r}")
    key = activation.lower()
    if key not in TRAIN_ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(map(repr, TRAIN_ACTIVATIONS))}, got {activation!r}"
            + closest(key, TRAIN_ACTIVATIONS)
        )
    return key


@dataclass(frozen=True)
class MLPSpec:
    """A fully connected network: hidden ``widths``, one ``activation``, optional bias and dropout.

    Raises
    ------
    TypeError, ValueError
        On construction: no hidden layer or a width < 1, an unknown
        activation (the closest name suggested), ``dropout`` outside [0, 1).
    """

    widths: tuple[int, ...]
    activation: str
    bias: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.widths, (tuple, list)) or not self.widths:
            raise TypeError(f"widths must be a non-empty tuple of hidden widths, got {self.widths!r}")
        widths = tuple(check_int(f"widths[{i}]", w, minimum=1) for i, w in enumerate(self.widths))
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "activation", check_activation(self.activation))
        check_bool("bias", self.bias)
        p = check_real("dropout", self.dropout)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        object.__setattr__(self, "dropout", p)

    @property
    def depth(self) -> int:
        """Number of linear layers, ``len(widths) + 1``."""
        return len(self.widths) + 1

    def label(self) -> str:
        """``"64-128-64-10 relu"``-style text without the input and output sizes: ``"128-64 relu"``."""
        shown = "-".join(map(str, self.widths)) if len(set(self.widths)) > 1 else f"{len(self.widths)}x{self.widths[0]}"
        extra = "" if self.dropout == 0 else f", dropout {self.dropout:g}"
        return f"{shown} {self.activation}{extra}{'' if self.bias else ', no bias'}"


class MLP(nn.Module):
    """The network of an :class:`MLPSpec`: ``layers`` (an ``nn.ModuleList`` of ``nn.Linear``) and one activation.

    ``dropout_generator`` is the ``torch.Generator`` of the dropout masks (set
    by the engine before training); dropout is active in training mode only.
    """

    def __init__(self, sizes: tuple[int, ...], activation: str, bias: bool, dropout: float) -> None:
        super().__init__()
        # skip_init: the tensors are allocated without torch's default init, so building a model draws
        # nothing from torch's global RNG; apply_init writes every value.
        self.layers = nn.ModuleList(
            nn.utils.skip_init(nn.Linear, a, b, bias=bias)  # type: ignore[no-untyped-call]
            for a, b in itertools.pairwise(sizes)
        )
        self.activation = activation
        self.phi = _FUNCTIONS[activation]
        self.dropout = dropout
        self.dropout_generator: torch.Generator | None = None

    def linears(self) -> list[nn.Linear]:
        """The linear layers, input first."""
        return [layer for layer in self.layers if isinstance(layer, nn.Linear)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the batch ``x`` (``(batch, features)``)."""
        *hidden, last = self.layers
        drop = self.dropout > 0 and self.training
        for layer in hidden:
            x = self.phi(layer(x))
            if drop:
                keep = torch.empty_like(x).bernoulli_(1.0 - self.dropout, generator=self.dropout_generator)
                x = x * keep / (1.0 - self.dropout)
        out: torch.Tensor = last(x)
        return out


def build_model(spec: MLPSpec, dataset: Dataset) -> MLP:
    """The float32 :class:`MLP` of ``spec`` for ``dataset``'s input and class counts (weights not yet initialised).

    Examples
    --------
    >>> from xinit_bench.training.data import load_dataset
    >>> from xinit_bench.training.models import MLPSpec, build_model
    >>> d = load_dataset("teacher", n_train=10, n_test=5, dim=8, n_classes=3)
    >>> [name for name, _ in build_model(MLPSpec((16, 4), "relu"), d).named_parameters()]
    ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']
    """
    if not isinstance(spec, MLPSpec):
        raise TypeError(f"spec must be an MLPSpec, got {type(spec).__name__}")
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (load_dataset), got {type(dataset).__name__}")
    sizes = (dataset.n_features, *spec.widths, dataset.n_classes)
    return MLP(sizes, spec.activation, spec.bias, spec.dropout)
