"""Whole-module init: every tensor a rule covers, keyed by its qualified name, in one launch per (kind, dtype).

Each tensor's key is :func:`xinit_bench.key_for_name` of ``(seed, qualified
name)``, so its values do not depend on the order in which the parameters
were created, on which subset is initialised, or on the thread count.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import check_seed, key_for_name
from ..batch import Job, fill_jobs
from ..plans import Plan, resolve_plan
from .inits import Init, Skip
from .presets import check_rules, preset_rules
from .rules import Rule
from .tensors import (
    FLOATS,
    bump,
    check_constant,
    check_distinct,
    check_place,
    check_plan,
    check_writable,
    np_dtype,
    tensor_jobs,
)

__all__ = [
    "Entry",
    "InitReport",
    "Prepared",
    "assign",
    "check_entropy",
    "check_overlaps",
    "check_prefix",
    "entries_of",
    "fill_entries",
    "init_module",
    "name_key",
    "prepare_entries",
    "unwrap",
    "write_entries",
]


@dataclass
class InitReport:
    """What :func:`init_module` did.

    ``filled`` maps each tensor it wrote (by the qualified name its key comes
    from, its first name) to what it drew; ``tied`` maps that name to all the
    names of a tensor that has more than one (``("wte.weight",
    "lm_head.weight")``); ``untouched`` lists the tensors that no rule covers
    (left as they were); ``launches`` counts the kernel launches per (kind,
    dtype) and how many tensors each filled.
    """

    filled: dict[str, str] = field(default_factory=dict)
    untouched: list[str] = field(default_factory=list)
    launches: dict[tuple[str, str], int] = field(default_factory=dict)
    tied: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Entry:
    """One tensor of a module: its first qualified name (its key), every name it has, its owner."""

    name: str
    tensor: torch.Tensor
    owner: nn.Module
    local: str
    names: list[str] = field(default_factory=list)
    rule: Rule | None = None
    match: nn.Module | None = None


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


def match_name(rule: Rule, name: str, root: nn.Module, prefix: str) -> nn.Module | None:
    """The module on the path of the qualified name ``name`` that ``rule`` matches it through, or None."""
    if rule.name is not None and not fnmatch.fnmatchcase(name, rule.name):
        return None
    inner = name[len(prefix) + 1 :] if prefix else name
    parts = inner.split(".")
    mod: nn.Module | None = root
    for depth in range(len(parts)):
        if mod is None:
            return None
        if rule.owners(mod) and fnmatch.fnmatchcase(".".join(parts[depth:]), rule.tensor):
            return mod
        child = mod._modules.get(parts[depth]) if depth < len(parts) - 1 else None
        mod = child
    return None


def match(rule: Rule, entry: Entry, root: nn.Module, prefix: str) -> nn.Module | None:
    """The module ``rule`` matches ``entry`` through, by any of its names (the first name first), or None."""
    for name in entry.names or [entry.name]:
        owner = match_name(rule, name, root, prefix)
        if owner is not None:
            return owner
    return None


def check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str (the module's qualified name in the whole model), got {prefix!r}")
    return prefix.strip(".")


def name_key(entropy: int, name: str) -> tuple[np.uint32, np.uint32, np.uint32]:
    """``(k0, k1, 0)``: stream 0 of :func:`xinit_bench.key_for_name` ``(entropy, name)``, the tensor's stream."""
    k0, k1 = key_for_name(entropy, name).key
    return k0, k1, _STREAM_0


_STREAM_0 = np.uint32(0)


def assign(module: nn.Module, preset: Any, rules: Any, prefix: str) -> tuple[list[Entry], list[Rule]]:
    """Every tensor of ``module`` with the rule that covers it; custom rules must each match something.

    A custom rule decides a tensor if it matches any of the tensor's names
    (the first custom rule that does); otherwise the preset's rules are tried
    on the first name, then on the others, so a tied tensor gets the preset
    rule of its first name, as it always has.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    custom = check_rules("rules", rules)
    defaults = preset_rules(preset, module)
    entries = entries_of(module, prefix)
    unmatched = []
    for rule in custom:
        if not any(match(rule, e, module, prefix) is not None for e in entries):
            unmatched.append(rule)
    if unmatched:
        raise ValueError(
            "rules must each match a tensor of the module, got "
            + "; ".join(repr(r) for r in unmatched)
            + " which match nothing"
        )
    for e in entries:
        for rule in custom:
            owner = match(rule, e, module, prefix)
            if owner is not None:
                e.rule, e.match = rule, owner
                break
        else:
            for name in e.names:
                found = next(((r, o) for r in defaults if (o := match_name(r, name, module, prefix)) is not None), None)
                if found is not None:
                    e.rule, e.match = found
                    break
    return entries, custom


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


def _describe(init: Init, plan: Plan | None, dt: np.dtype[Any] | None) -> str:
    if plan is None or dt is None:
        return repr(init)
    kind, params, _ = resolve_plan(plan, dt)
    return f"{init!r}: {kind}{tuple(float(v) for v in params)}"


def _traced(exc: Exception, e: Entry) -> Exception:
    """``exc`` again, of its own class (a TypeError or a ValueError), naming the tensor and its rule."""
    assert e.rule is not None
    message = f"{e.name} (rule {e.rule!r}): {exc}"
    try:
        return type(exc)(message)
    except Exception:  # an error class with another constructor
        return (TypeError if isinstance(exc, TypeError) else ValueError)(message)


@dataclass
class Prepared:
    """What :func:`write_entries` will do, every check already passed: the one part that writes."""

    work: list[tuple[Entry, Plan, np.dtype[Any]]] = field(default_factory=list)
    constants: list[tuple[Entry, float]] = field(default_factory=list)


def prepare_entries(entries: Sequence[Entry], report: InitReport, *, allocated: bool = True) -> Prepared:
    """Check every entry's rule, value, dtype and tensor; write nothing.

    ``allocated=False`` (meta tensors about to be allocated) checks the
    dtype and the law but not the storage, which does not exist yet.
    """
    out = Prepared()
    for e in entries:
        assert e.rule is not None and e.match is not None
        init = e.rule.init
        if len(e.names) > 1:
            report.tied[e.name] = tuple(e.names)
        if isinstance(init, Skip):
            report.filled[e.name] = repr(init)
            continue
        if allocated:
            check_place(e.tensor, e.name)
            check_writable(e.tensor, e.name)
        try:
            value = init.constant(e.match)
            if value is not None:
                check_constant(value, e.tensor.dtype, e.name, "value")
                out.constants.append((e, value))
                report.filled[e.name] = repr(init)
                continue
            dt = np_dtype(e.tensor.dtype)
            if dt is None:
                raise TypeError(f"{e.name} must be {FLOATS} tensor, got dtype {e.tensor.dtype}")
            if allocated:
                check_distinct(e.tensor, e.name)
            plan = init.plan(e.tensor, e.match)
            init.check_after(e.tensor, e.match)
            if plan is None:  # a zero fan: nothing to draw (torch warns and leaves it)
                report.filled[e.name] = repr(init)
                continue
            check_plan(plan, dt)
        except (TypeError, ValueError) as exc:
            if str(exc).startswith(e.name):
                raise
            raise _traced(exc, e) from exc
        out.work.append((e, plan, dt))
        report.filled[e.name] = _describe(init, plan, dt)
    return out


def write_entries(prepared: Prepared, entropy: int, report: InitReport) -> None:
    """Fill the checked random entries in one launch per (kind, dtype), then the constants; bump every version."""
    jobs: list[Job] = []
    copies: list[tuple[torch.Tensor, torch.Tensor]] = []
    for e, plan, dt in prepared.work:
        more, copy = tensor_jobs(e.tensor, dt, plan, name_key(entropy, e.name))
        jobs.extend(more)
        if copy is not None:
            copies.append(copy)
    report.launches = fill_jobs(jobs)
    with torch.no_grad():
        for tmp, target in copies:
            target.copy_(tmp)
        for e, value in prepared.constants:
            e.tensor.detach().fill_(value)
        for e, _, _ in prepared.work:
            assert e.rule is not None and e.match is not None
            e.rule.init.after(e.tensor, e.match)
    bump([e.tensor for e, _, _ in prepared.work])


def fill_entries(entries: Sequence[Entry], entropy: int, report: InitReport) -> None:
    """Check every entry, then fill them: nothing is written unless every check passes."""
    write_entries(prepare_entries(entries, report), entropy, report)


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
        ``"torch_default"``, ``"gpt2"``, ``"llama"`` or ``"vit"`` (:data:`PRESETS`;
        ``"gpt2"`` reads ``n_layer`` from ``module.config``: else pass
        ``gpt2(n_layer=...)``), or a list of :class:`Rule`.
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
        What was filled, what no rule covers, and the launches.

    Raises
    ------
    TypeError
        Not a module, an integer or complex tensor given a random rule, a bad rule.
    ValueError
        An unknown preset, a rule or an ``only`` glob that matches nothing, a
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
    root = unwrap(module) if isinstance(module, nn.Module) else module
    entries, _ = assign(root, preset, rules, pre)
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
    check_overlaps(entries, [e for e, _, _ in prepared.work] + [e for e, _ in prepared.constants])
    write_entries(prepared, entropy, report)
    return report
