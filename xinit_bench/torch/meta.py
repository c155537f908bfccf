"""Meta-device materialisation: allocate a module built under ``torch.device("meta")`` and fill it once."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from ..validation import check_real
from .inits import Constant, Skip
from .modules import InitReport, assign, check_entropy, check_prefix, fill_entries
from .rules import Rule
from .tensors import FLOATS, np_dtype

__all__ = ["Hook", "materialize", "rope_inv_freq"]


def rope_inv_freq(base: float = 10000.0) -> Callable[[nn.Module, str, torch.Tensor], torch.Tensor]:
    """A :func:`materialize` hook for a rotary embedding's ``inv_freq`` buffer of ``dim / 2`` entries.

    ``inv_freq[i] = base ** (-2 i / dim)``, as LLaMA's rotary embedding computes it.
    """
    b = check_real("base", base, positive=True)

    def hook(owner: nn.Module, local: str, like: torch.Tensor) -> torch.Tensor:
        dim = 2 * like.shape[-1]
        exponent = torch.arange(0, dim, 2, dtype=torch.float64) / dim
        return (1.0 / (b**exponent)).reshape(like.shape)

    return hook


Hook = Callable[[nn.Module, str, torch.Tensor], torch.Tensor]


def materialize(
    module: nn.Module,
    preset: str | Sequence[Rule] = "torch_default",
    seed: int | None = 0,
    *,
    rules: Sequence[Rule] = (),
    hooks: Mapping[str, Hook] | None = None,
    prefix: str = "",
) -> InitReport:
    """Allocate the meta-device tensors of ``module`` on the CPU and fill them, in place.

    For a module built under ``torch.device("meta")`` (no memory).  Each
    meta parameter and buffer is replaced by an uninitialised CPU tensor of
    its shape and dtype (tied parameters stay tied), and filled as
    :func:`init_module` fills it; no tensor is allocated twice, so the peak
    memory is the model's size plus the work list.  Tensors already on the
    CPU are left alone.

    A meta tensor that no rule covers (a rotary ``inv_freq``, a causal mask)
    must have a hook: ``hooks`` maps globs on qualified names to
    ``hook(owner_module, local_name, meta_tensor) -> tensor`` that computes
    its value (e.g. :func:`rope_inv_freq`); the result is copied in.  If any
    meta tensor has neither a rule nor a hook, a ``ValueError`` lists them
    all before anything is allocated.
    """
    pre = check_prefix(prefix)
    entropy = check_entropy(seed)
    hook_map = dict(hooks or {})
    for pattern, fn in hook_map.items():
        if not isinstance(pattern, str) or not callable(fn):
            raise TypeError(f"hooks must map globs (str) to callables, got {pattern!r}: {fn!r}")
    entries, _ = assign(module, preset, rules, pre)
    meta = [e for e in entries if e.tensor.is_meta]
    hooked: dict[str, Hook] = {}
    missing: list[str] = []
    for e in meta:
        found = next((f for p, f in hook_map.items() if fnmatch.fnmatchcase(e.name, p)), None)
        if found is not None:
            hooked[e.name] = found
        elif e.rule is None:
            missing.append(f"{e.name} {tuple(e.tensor.shape)} {e.tensor.dtype}")
    if missing:
        raise ValueError(
            "every meta tensor must be covered by a rule or a hook, got these uncovered: "
            + ", ".join(missing)
            + " (pass hooks={'<glob>': fn}, e.g. xinit_bench.torch.rope_inv_freq(), or a rule)"
        )
    for e in meta:  # dtypes first: refuse an integer tensor with a random rule before allocating
        drawn = e.name not in hooked and e.rule is not None and not isinstance(e.rule.init, (Constant, Skip))
        if drawn and np_dtype(e.tensor.dtype) is None:
            raise TypeError(f"{e.name} must be {FLOATS} tensor, got dtype {e.tensor.dtype}")
    new: dict[int, torch.Tensor] = {}
    for mod in module.modules():
        for store, is_param in ((mod._parameters, True), (mod._buffers, False)):
            for local, t in list(store.items()):
                if t is None or not t.is_meta:
                    continue
                made = new.get(id(t))
                if made is None:
                    data = torch.empty(t.shape, dtype=t.dtype, device="cpu")
                    made = nn.Parameter(data, requires_grad=t.requires_grad) if is_param else data
                    new[id(t)] = made
                store[local] = made  # type: ignore[assignment]
    for e in meta:
        e.tensor = new[id(e.tensor)]
    report = InitReport()
    fill_entries([e for e in meta if e.name not in hooked and e.rule is not None], entropy, report)
    with torch.no_grad():
        for e in meta:
            hook = hooked.get(e.name)
            if hook is None:
                continue
            like = torch.empty(e.tensor.shape, dtype=e.tensor.dtype, device="meta")
            value = hook(e.owner, e.local, like)
            e.tensor.detach().copy_(value.reshape(e.tensor.shape))
            report.filled[e.name] = f"hook {getattr(hook, '__qualname__', hook)!s}"
    return report
