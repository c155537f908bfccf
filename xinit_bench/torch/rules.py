"""Rules: which tensors of a module get which :class:`~xinit_bench.torch.inits.Init`."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from torch import nn

from .inits import Init

__all__ = ["ModuleMatch", "Rule"]

ModuleMatch = type | str | tuple[type | str, ...] | None


@dataclass(frozen=True)
class Rule:
    """Which tensors get ``init``.

    A rule matches the tensor of qualified name ``q`` when some module ``m``
    on ``q``'s path (the root included) matches ``module`` and ``q``'s path
    below ``m`` matches the glob ``tensor``, and, if ``name`` is given, ``q``
    matches the glob ``name``.  ``module`` is a module class (``isinstance``),
    a glob on the class name (``"*RMSNorm"``, for classes you cannot import),
    a tuple of those, or None for any module.  The first rule that matches a
    tensor decides it; custom rules come before the preset's.

    Examples
    --------
    >>> from torch import nn
    >>> from xinit_bench.torch import Constant, Normal
    >>> Rule(Normal(0.0, 0.02), nn.Linear, "weight").tensor       # every Linear weight
    'weight'
    >>> Rule(Constant(0.0), None, "c_proj.bias")           # every c_proj.bias, at any depth
    Rule(init=Constant(value=0.0), module=None, tensor='c_proj.bias', name=None)
    """

    init: Init
    module: ModuleMatch = None
    tensor: str = "*"
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.init, Init):
            raise TypeError(f"init must be an xinit_bench.torch.Init (Normal, Uniform, ...), got {self.init!r}")
        for m in self.module if isinstance(self.module, tuple) else (self.module,):
            if not (m is None or isinstance(m, str) or (isinstance(m, type) and issubclass(m, nn.Module))):
                raise TypeError(
                    f"module must be a module class, a class-name glob, a tuple of those or None, got {m!r}"
                )
        if not isinstance(self.tensor, str):
            raise TypeError(f"tensor must be a str (a glob on the tensor's path), got {self.tensor!r}")
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"name must be a str (a glob on the qualified name) or None, got {self.name!r}")

    def owners(self, module: nn.Module) -> bool:
        """Whether ``module`` matches this rule's ``module``."""
        options = self.module if isinstance(self.module, tuple) else (self.module,)
        for m in options:
            if m is None:
                return True
            if isinstance(m, str):
                if fnmatch.fnmatchcase(type(module).__name__, m):
                    return True
            elif isinstance(module, m):
                return True
        return False
