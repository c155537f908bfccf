"""Meta-device materialisation: allocate a module built under ``torch.device("meta")`` and fill it once."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from ..validation import check_real
from .inits import Skip
from .matching import Entry, refuse_uncovered, unmatched_rules
from .modules import assign_tree, check_entropy, check_prefix
from .report import Filled, InitReport, warn_unmatched
from .rules import Rule
from .writing import check_value, prepare_entries, write_entries

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

    A meta tensor that no rule covers (a rotary ``inv_freq``, a causal mask),
    or whose rule keeps its values (:class:`~xinit_bench.torch.Skip`: a meta
    tensor has none to keep), must have a hook: ``hooks`` maps globs on
    qualified names to ``hook(owner_module, local_name, meta_tensor) ->
    tensor`` that computes its value (e.g. :func:`rope_inv_freq`); the result
    is copied in.  If any meta tensor has neither a rule that writes it nor a
    hook, a ``ValueError`` lists them all (name, shape and dtype, as
    :func:`~xinit_bench.torch.save_checkpoint` lists the tensors it cannot
    write) before anything is allocated.

    **All or nothing.**  Every rule, value, dtype range and hook result is
    checked on the meta tensors first: each hook runs on a meta tensor of
    the target's shape and dtype, and its result must be a tensor with
    storage, of the target's size, whose values the dtype holds.  A refusal
    (a ``TypeError`` or ``ValueError`` naming the tensor and its rule or
    hook; an exception raised inside a hook comes back as a ``ValueError``
    naming the hook) leaves the module as it was, its meta tensors still on
    the meta device, so a corrected call can run again.  A module with no
    meta tensor is refused (``ValueError``): there is nothing to
    materialize, and :func:`init_module` fills tensors that have storage.
    """
    pre = check_prefix(prefix)
    entropy = check_entropy(seed)
    hook_map = dict(hooks or {})
    for pattern, fn in hook_map.items():
        if not isinstance(pattern, str) or not callable(fn):
            raise TypeError(f"hooks must map globs (str) to callables, got {pattern!r}: {fn!r}")
    root, entries, defaults, matcher = assign_tree(module, preset, rules, pre)
    meta = [e for e in entries if e.tensor.is_meta]
    if not meta:
        raise ValueError(
            f"module must have meta tensors to materialize, got {type(root).__name__} with none (its "
            f"{len(entries)} tensors already have storage): fill them with xinit_bench.torch.init_module"
        )
    hooked: dict[str, tuple[str, Hook]] = {}
    missing: list[Entry] = []
    for e in meta:
        found = next(((p, f) for n in e.names for p, f in hook_map.items() if fnmatch.fnmatchcase(n, p)), None)
        if found is not None:
            hooked[e.name] = found
        elif e.rule is None or isinstance(e.rule.init, Skip):
            missing.append(e)
    refuse_uncovered(
        "meta tensor",
        missing,
        "pass hooks={'<glob>': fn}, e.g. xinit_bench.torch.rope_inv_freq(), or a rule",
        by="a rule that writes it or a hook",
    )
    report = InitReport()
    # Every rule, value, dtype range and hook result is checked on the meta tensors, before any is swapped.
    ruled = [e for e in meta if e.name not in hooked and e.rule is not None]
    prepared = prepare_entries(ruled, report, allocated=False)
    values = {e.name: _run_hook(e, *hooked[e.name]) for e in meta if e.name in hooked}
    warn_unmatched(report, unmatched_rules(defaults, entries, root, pre, matcher))
    new: dict[int, torch.Tensor] = {}
    for e in meta:  # allocate everything first: a MemoryError leaves the module as it was
        data = torch.empty(e.tensor.shape, dtype=e.tensor.dtype, device="cpu")
        t = e.tensor
        new[id(t)] = nn.Parameter(data, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else data
    for mod in root.modules():
        for store in (mod._parameters, mod._buffers):
            for local, old in list(store.items()):
                if old is not None and id(old) in new:
                    store[local] = new[id(old)]  # type: ignore[assignment]
    for e in meta:
        e.tensor = new[id(e.tensor)]
    write_entries(prepared, entropy, report)
    with torch.no_grad():
        for e in meta:
            if e.name in values:
                e.tensor.detach().copy_(values[e.name].reshape(e.tensor.shape))
                report.filled[e.name] = f"hook {getattr(hooked[e.name][1], '__qualname__', hooked[e.name][1])!s}"
                report.tensors[e.name] = Filled(
                    f"hooks[{hooked[e.name][0]!r}]", "computed by the hook", str(e.tensor.dtype)[6:], e.tensor.numel()
                )
                if len(e.names) > 1:
                    report.tied[e.name] = tuple(e.names)
    return report


def _run_hook(e: Entry, pattern: str, hook: Hook) -> torch.Tensor:
    """The hook's value for the meta tensor of ``e``, checked: a tensor with storage, of its size, its dtype holds."""
    like = torch.empty(e.tensor.shape, dtype=e.tensor.dtype, device="meta")
    where = f"hooks[{pattern!r}] for {e.name}"
    try:
        value = hook(e.owner, e.local, like)
    except Exception as exc:
        raise ValueError(f"{where} must compute the tensor's value, got {type(exc).__name__}: {exc}") from exc
    return check_value(value, e.tensor, where)
