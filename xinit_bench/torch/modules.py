"""Whole-module init: every tensor a rule covers, keyed by its qualified name, in one launch per (kind, dtype).

Each tensor's key is :func:`xinit_bench.key_for_name` of ``(seed, qualified
name)``, so its values do not depend on the order in which the parameters
were created, on which subset is initialised, or on the thread count.

This module finds a module's tensors (:func:`entries_of`, ties and shared
memory included) and gives each its rule (:func:`assign_rules`); the matching
is :mod:`.matching`'s, the checks and the writes :mod:`.writing`'s, and the
report :mod:`.report`'s, whose names are importable from here too.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import check_seed
from .matching import Entry, Matcher, match, match_name, unmatched_rules
from .presets import check_rules, preset_rules
from .report import Filled, InitReport, UnmatchedRuleWarning, rule_label, warn_unmatched
from .rules import Rule
from .writing import Prepared, check_value, fill_entries, name_key, prepare_entries, write_entries

__all__ = [
    "Entry",
    "Filled",
    "InitReport",
    "Matcher",
    "Prepared",
    "UnmatchedRuleWarning",
    "assign",
    "assign_rules",
    "assign_tree",
    "check_entropy",
    "check_overlaps",
    "check_prefix",
    "check_value",
    "entries_of",
    "fill_entries",
    "init_module",
    "match",
    "match_name",
    "name_key",
    "prepare_entries",
    "rule_label",
    "unmatched_rules",
    "unwrap",
    "warn_unmatched",
    "write_entries",
]


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside ``torch.compile``'s, ``DataParallel``'s and ``DistributedDataParallel``'s wrappers.

    By type, never by name, so that the qualified names (and so the keys and
    the bits) are those of the wrapped model, and a child that happens to be
    called ``module`` keeps its name.
    """
    while True:
        eval_frame = sys.modules.get("torch._dynamo.eval_frame")  # loaded by any torch.compile call
        compiled = getattr(eval_frame, "OptimizedModule", None) if eval_frame is not None else None
        if compiled is not None and isinstance(module, compiled):
            module = module._orig_mod
        elif isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            module = module.module
        else:
            return module


def _view_key(t: torch.Tensor) -> tuple[Any, ...]:
    """Tensors with equal keys are the same elements of the same memory: one tensor under several names."""
    if t.is_meta or t.numel() == 0:  # no memory to compare: the object is the tensor
        return ("object", id(t))
    storage = t.untyped_storage()
    return (t.device, storage.data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)


def entries_of(module: nn.Module, prefix: str) -> list[Entry]:
    """Every parameter and buffer once, with all its names and its first owner.

    A tensor reached under several names -- the same object (``head.weight =
    emb.weight``), or distinct objects that view the same elements of the same
    memory (``nn.Parameter(a.weight.data)``) -- is one entry, keyed by its
    first name.
    """
    found: dict[tuple[Any, ...], Entry] = {}
    for mname, mod in module.named_modules(remove_duplicate=False):
        for local, t in [*mod._parameters.items(), *mod._buffers.items()]:
            if t is None:
                continue
            q = ".".join(p for p in (prefix, mname, local) if p)
            key = _view_key(t)
            entry = found.get(key)
            if entry is None:
                found[key] = Entry(q, t, mod, local, [q])
            elif q not in entry.names:
                entry.names.append(q)
    return list(found.values())


def _byte_span(t: torch.Tensor) -> tuple[int, int]:
    item = t.element_size()
    start = int(t.storage_offset()) * item
    last = sum((int(s) - 1) * int(st) for s, st in zip(t.shape, t.stride(), strict=True) if s > 0)
    return start, start + (last + 1) * item


def _dense(t: torch.Tensor) -> bool:
    """Whether ``t`` covers every byte between its first and its last element."""
    lo, hi = _byte_span(t)
    return hi - lo == t.numel() * t.element_size()


def _offsets(t: torch.Tensor) -> np.ndarray[Any, Any]:
    item = t.element_size()
    out = np.array([t.storage_offset() * item], np.int64)
    for size, stride in zip(t.shape, t.stride(), strict=True):
        out = (out[:, None] + np.arange(size, dtype=np.int64)[None, :] * (stride * item)).reshape(-1)
    return out


def _overlap(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two views of one storage share a byte (exact; element offsets compared only for two sparse views)."""
    (a0, a1), (b0, b1) = _byte_span(a), _byte_span(b)
    if a1 <= b0 or b1 <= a0:
        return False
    if _dense(a) or _dense(b) or a.element_size() != b.element_size():
        return True
    return bool(np.intersect1d(_offsets(a), _offsets(b)).size)


def check_overlaps(entries: Sequence[Entry], written: Sequence[Entry]) -> None:
    """Refuse a written tensor that shares memory with another tensor of the module without being the same view.

    Two jobs writing the same memory in one parallel launch give values that
    depend on the threads' timing; a tensor that is only partly another's
    view would change behind its rule's back.
    """
    chosen = {id(e) for e in written}
    by_storage: dict[tuple[Any, int], list[Entry]] = {}
    for e in entries:
        t = e.tensor
        if t.is_meta or t.numel() == 0:
            continue
        by_storage.setdefault((t.device, t.untyped_storage().data_ptr()), []).append(e)
    for group in by_storage.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if (id(a) in chosen or id(b) in chosen) and _overlap(a.tensor, b.tensor):
                    raise ValueError(
                        f"tensors of a module must not share memory unless they are the same view, got {a.name} "
                        f"(shape {tuple(a.tensor.shape)}, strides {a.tensor.stride()}, offset "
                        f"{a.tensor.storage_offset()}) and {b.name} (shape {tuple(b.tensor.shape)}, strides "
                        f"{b.tensor.stride()}, offset {b.tensor.storage_offset()}) over one storage: filling one "
                        "would overwrite the other; tie them as one Parameter, or clone one"
                    )


def check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str (the module's qualified name in the whole model), got {prefix!r}")
    return prefix.strip(".")


def assign(module: nn.Module, preset: Any, rules: Any, prefix: str) -> tuple[list[Entry], list[Rule]]:
    """Every tensor of ``module`` with the rule that covers it; custom rules must each match something."""
    entries, custom, _ = assign_rules(module, preset, rules, prefix)
    return entries, custom


def assign_rules(module: nn.Module, preset: Any, rules: Any, prefix: str) -> tuple[list[Entry], list[Rule], list[Rule]]:
    """:func:`assign`, and the preset's rules as well.

    A custom rule decides a tensor if it matches any of the tensor's names
    (the first custom rule that does); otherwise the preset's rules are tried
    on the first name, then on the others, so a tied tensor gets the preset
    rule of its first name, as it always has.
    """
    entries, custom, defaults, _ = _assign(module, preset, rules, prefix)
    return entries, custom, defaults


def assign_tree(
    module: Any, preset: Any, rules: Any, prefix: str
) -> tuple[nn.Module, list[Entry], list[Rule], Matcher]:
    """The unwrapped module, its entries with their rules, the preset's rules, and the matcher that matched them."""
    root = unwrap(module) if isinstance(module, nn.Module) else module
    entries, _, defaults, matcher = _assign(root, preset, rules, prefix)
    return root, entries, defaults, matcher


def _assign(
    module: nn.Module, preset: Any, rules: Any, prefix: str
) -> tuple[list[Entry], list[Rule], list[Rule], Matcher]:
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    custom = check_rules("rules", rules)
    defaults = preset_rules(preset, module)
    entries = entries_of(module, prefix)
    matcher = Matcher(module, prefix)
    unmatched = []
    for rule in custom:
        if not any(matcher.match(rule, e) is not None for e in entries):
            unmatched.append(rule)
    if unmatched:
        raise ValueError(
            "rules must each match a tensor of the module, got "
            + "; ".join(repr(r) for r in unmatched)
            + " which match nothing"
        )
    for e in entries:
        for rule in custom:
            owner = matcher.match(rule, e)
            if owner is not None:
                e.rule, e.match = rule, owner
                break
        else:
            for name in e.names:
                found = next(((r, o) for r in defaults if (o := matcher.match_name(r, name)) is not None), None)
                if found is not None:
                    e.rule, e.match = found
                    break
    return entries, custom, defaults, matcher


def _check_only(only: Any) -> list[str] | None:
    if only is None:
        return None
    if isinstance(only, str):
        return [only]
    if not isinstance(only, Iterable):
        raise TypeError(f"only must be a glob or a sequence of globs on qualified names, got {only!r}")
    out = list(only)
    for i, p in enumerate(out):
        if not isinstance(p, str):
            raise TypeError(f"only[{i}] must be a str, got {p!r}")
    return out


def check_entropy(seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    return check_seed(seed)


def init_module(
    module: nn.Module,
    preset: str | Sequence[Rule] = "torch_default",
    seed: int | None = 0,
    *,
    rules: Sequence[Rule] = (),
    prefix: str = "",
    only: str | Sequence[str] | None = None,
) -> InitReport:
    """Fill every parameter and buffer of ``module`` that the preset or a custom rule names, in place.

    Parameters
    ----------
    module : torch.nn.Module
        On the CPU, with storage (for a module on the meta device, see :func:`materialize`).
    preset : str or sequence of Rule
        ``"torch_default"``, ``"gpt2"``, ``"llama"`` or ``"vit"`` (:data:`PRESETS`),
        the Hugging Face ``"bert"``, ``"t5"`` and ``"hf_vit"`` (:data:`HF_PRESETS`),
        ``"auto"`` (the preset of a Hugging Face model's ``config.model_type``,
        :data:`MODEL_TYPES`), or a list of :class:`Rule`.  The Hugging Face
        presets read their fields from ``module.config`` when it has them
        (``initializer_range``, ``n_layer``, T5's sizes, the rotary settings);
        ``"gpt2"`` without a config needs ``gpt2(n_layer=...)``.
    seed : int or None
        Each tensor's key is :func:`xinit_bench.key_for_name` of ``(seed,
        qualified name)``; ``None`` draws fresh entropy once for the call.
    rules : sequence of Rule
        Custom rules, tried before the preset's.  Each must match some tensor.
    prefix : str
        The module's qualified name inside a larger model, so that a
        submodule initialised alone gets the values it gets in the whole model.
    only : glob or sequence of globs, optional
        Fill only the tensors one of whose qualified names matches.  Each
        glob must match some tensor's name (``ValueError`` otherwise: a typo
        would silently fill nothing).

    Returns
    -------
    InitReport
        What was filled, what no rule covers, and the launches; ``print(report)``
        shows one line per rule.

    Warns
    -----
    UnmatchedRuleWarning
        A preset rule meant for a named sub-module (GPT-2's ``c_proj.weight``)
        matched nothing in a block where it should apply; also listed in
        ``report.unmatched``.

    Raises
    ------
    TypeError
        Not a module, an integer or complex tensor given a random rule, a bad rule.
    ValueError
        An unknown preset (the closest name suggested), ``"auto"`` on a module
        without a Hugging Face config or of a model type it does not know, a
        rule or an ``only`` glob that matches nothing, a
        meta or CUDA tensor, an inference tensor outside inference mode, a
        constant or law parameters that a tensor's dtype cannot hold, a random
        rule on an expanded tensor, two tensors that share memory without
        being the same view.

    Notes
    -----
    **All or nothing.**  Every rule, value, dtype range and tensor is checked
    before the first write; a refusal names the tensor and its rule and
    leaves the module exactly as it was.  Every tensor written gets its
    autograd version counter bumped, as torch's in-place ops do.

    **Names.**  A tensor reached under several names (tied weights, or
    distinct ``Parameter`` objects viewing the same elements of one storage)
    is one tensor: it answers to every name (in ``only``, in a custom rule),
    its key is that of its first name, and ``report.tied`` lists its names.
    ``torch.compile``'s, ``DataParallel``'s and ``DistributedDataParallel``'s
    wrappers are unwrapped by type, so the names are the wrapped model's.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from xinit_bench import torch as xt
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    >>> report = xt.init_module(net, "torch_default", seed=0)
    >>> sorted(report.launches.items())     # four tensors, one launch
    [(('symmetric_uniform', 'float32'), 4)]
    >>> bool((net[1].weight == 1).all())
    True
    """
    pre = check_prefix(prefix)
    patterns = _check_only(only)
    entropy = check_entropy(seed)
    root, entries, defaults, matcher = assign_tree(module, preset, rules, pre)
    if patterns is not None:
        for i, p in enumerate(patterns):
            if not any(fnmatch.fnmatchcase(n, p) for e in entries for n in e.names):
                raise ValueError(f"only[{i}] must match the qualified name of a tensor of the module, got {p!r}")
    report = InitReport()
    chosen = []
    for e in entries:
        if patterns is not None and not any(fnmatch.fnmatchcase(n, p) for n in e.names for p in patterns):
            continue
        if e.rule is None:
            report.untouched.append(e.name)
        else:
            chosen.append(e)
    prepared = prepare_entries(chosen, report)
    check_overlaps(
        entries, [e for e, _, _ in prepared.work] + [e for e, _ in prepared.constants] + [e for e, _ in prepared.values]
    )
    warn_unmatched(report, unmatched_rules(defaults, entries, root, pre, matcher))
    write_entries(prepared, entropy, report)
    return report
