"""Whole-module init: every tensor a rule covers, keyed by its qualified name, in one launch per (kind, dtype).

Each tensor's key is :func:`xinit_bench.key_for_name` of ``(seed, qualified
name)``, so its values do not depend on the order in which the parameters
were created, on which subset is initialised, or on the thread count.
"""

from __future__ import annotations

import fnmatch
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import check_seed, key_for_name
from ..batch import Job, fill_jobs
from ..plans import Plan, resolve_plan
from .hf import Computed
from .inits import Init, Skip
from .presets import ExpectedRule, check_rules, preset_rules
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
    "Filled",
    "InitReport",
    "Prepared",
    "UnmatchedRuleWarning",
    "assign",
    "assign_rules",
    "check_entropy",
    "check_overlaps",
    "check_prefix",
    "check_value",
    "entries_of",
    "fill_entries",
    "init_module",
    "name_key",
    "prepare_entries",
    "rule_label",
    "unmatched_rules",
    "unwrap",
    "warn_unmatched",
    "write_entries",
]


class UnmatchedRuleWarning(UserWarning):
    """A preset rule meant for a named sub-module matched nothing where it should apply (see ``ExpectedRule``)."""


@dataclass(frozen=True)
class Filled:
    """One tensor that :func:`init_module` wrote: the rule that decided it, its law, its dtype, its element count."""

    rule: str
    law: str
    dtype: str
    numel: int


def rule_label(rule: Rule) -> str:
    """A short name for a rule: its tensor glob and its module match (``weight in Linear|+1``)."""
    options = rule.module if isinstance(rule.module, tuple) else (rule.module,)
    names = ["*" if m is None else m if isinstance(m, str) else m.__name__ for m in options]
    owners = names[0] if len(names) == 1 else f"{names[0]}|+{len(names) - 1}"
    where = f"{rule.tensor} in {owners}"
    return where if rule.name is None else f"{where} [{rule.name}]"


@dataclass
class InitReport:
    """What :func:`init_module` did.

    ``filled`` maps each tensor it wrote (by the qualified name its key comes
    from, its first name) to what it drew; ``tied`` maps that name to all the
    names of a tensor that has more than one (``("wte.weight",
    "lm_head.weight")``); ``untouched`` lists the tensors that no rule covers
    (left as they were); ``launches`` counts the kernel launches per (kind,
    dtype) and how many tensors each filled; ``tensors`` maps each name of
    ``filled`` to its rule, law, dtype and size (:class:`Filled`);
    ``unmatched`` describes the preset rules meant for named sub-modules that
    matched nothing where they should apply (each also an
    :class:`UnmatchedRuleWarning`).

    ``print(report)`` shows one line per rule with its tensor count, element
    count, law and dtype, then what no rule covered.
    """

    filled: dict[str, str] = field(default_factory=dict)
    untouched: list[str] = field(default_factory=list)
    launches: dict[tuple[str, str], int] = field(default_factory=dict)
    tied: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tensors: dict[str, Filled] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        groups: dict[tuple[str, str], list[Filled]] = {}
        for f in self.tensors.values():
            groups.setdefault((f.rule, f.dtype), []).append(f)
        total = sum(f.numel for f in self.tensors.values())
        random = sum(self.launches.values())
        launches = f"{len(self.launches)} launch" + ("" if len(self.launches) == 1 else "es")
        lines = [f"{len(self.tensors)} tensors, {total:,} elements; {random} random tensors in {launches}"]
        rows = []
        for (rule, dtype), fs in groups.items():
            laws = sorted({f.law for f in fs})
            law = laws[0] if len(laws) == 1 else f"{len(laws)} laws, e.g. {laws[0]}"
            rows.append((rule, str(len(fs)), f"{sum(f.numel for f in fs):,}", law, dtype))
        if rows:
            width = [min(max(len(r[i]) for r in rows), cap) for i, cap in enumerate((40, 6, 13, 26, 8))]
            head = ("rule", "n", "elements", "law", "dtype")
            width = [max(w, len(h)) for w, h in zip(width, head, strict=True)]
            for r in (head, *rows):
                cells = [c if len(c) <= w else c[: w - 1] + "~" for c, w in zip(r, width, strict=True)]
                lines.append(
                    f"  {cells[0]:<{width[0]}}  {cells[1]:>{width[1]}}  {cells[2]:>{width[2]}}  "
                    f"{cells[3]:<{width[3]}}  {cells[4]}".rstrip()
                )
        if self.untouched:
            more = f", ... ({len(self.untouched)} in all)" if len(self.untouched) > 6 else ""
            shown = ", ".join(self.untouched[:6]) + more
            lines.append(f"no rule: {shown}")
        else:
            lines.append("no rule: none")
        lines.extend(f"unmatched: {u}" for u in self.unmatched)
        return "\n".join(lines)


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
    return entries, custom, defaults


def unmatched_rules(defaults: Sequence[Rule], entries: Sequence[Entry], root: nn.Module, prefix: str) -> list[str]:
    """Each :class:`ExpectedRule` of the preset with the modules of its ``within`` where it matches no tensor.

    A module matching ``within`` (an attention or MLP block for GPT-2's
    ``c_proj.weight``) should hold a tensor, at any depth, that the rule
    matches; a model that names the projection otherwise gets the preset's
    unscaled law there.  Matching is by the rule alone: a custom rule that
    overrides the tensor does not hide it.
    """
    out = []
    for rule in defaults:
        if not isinstance(rule, ExpectedRule):
            continue
        probe = Rule(Skip(), rule.within)
        hits = [n for e in entries if match(rule, e, root, prefix) is not None for n in e.names]
        missing = []
        for mname, mod in root.named_modules():
            if not probe.owners(mod):
                continue
            path = ".".join(p for p in (prefix, mname) if p)
            if not any(not path or n.startswith(path + ".") for n in hits):
                missing.append(mname or f"({type(root).__name__})")
        if missing:
            shown = ", ".join(missing[:4]) + (f", ... ({len(missing)} in all)" if len(missing) > 4 else "")
            out.append(
                f"{rule_label(rule)} ({rule.init!r}) matched no tensor in {len(missing)} modules where it should "
                f"apply: {shown}"
            )
    return out


def warn_unmatched(report: InitReport, unmatched: list[str]) -> None:
    """Record the unmatched preset rules in the report and warn about each, before anything is written."""
    report.unmatched.extend(unmatched)
    for text in unmatched:
        warnings.warn(
            f"preset rule {text}; those tensors get the preset's other rules instead (pass a rule naming them)",
            UnmatchedRuleWarning,
            stacklevel=3,
        )


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
    values: list[tuple[Entry, torch.Tensor]] = field(default_factory=list)


def check_value(value: Any, tensor: torch.Tensor, where: str) -> torch.Tensor:
    """A computed value for ``tensor``: a tensor with storage, of its size, whose values its dtype holds."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{where} must return a torch.Tensor, got {type(value).__name__}")
    if value.is_meta:
        raise ValueError(f"{where} must return a tensor with storage, got a meta tensor")
    if value.numel() != tensor.numel():
        raise ValueError(
            f"{where} must return {tensor.numel()} elements (shape {tuple(tensor.shape)}), got shape "
            f"{tuple(value.shape)}"
        )
    target = tensor.dtype
    if value.is_complex() and not target.is_complex:
        raise TypeError(f"{where} must return a real tensor for dtype {target}, got dtype {value.dtype}")
    v = value.detach()
    if value.numel() and target.is_floating_point and value.is_floating_point():
        finite = v[torch.isfinite(v)]
        largest = float(torch.finfo(target).max)
        if finite.numel() and float(finite.abs().max()) > largest:
            raise ValueError(
                f"{where} must return values that {target} holds (at most {largest:.6g} in magnitude), got "
                f"{float(finite.abs().max()):.6g}"
            )
    elif value.numel() and not target.is_floating_point and target != torch.bool and not target.is_complex:
        info = torch.iinfo(target)
        lo, hi = float(v.min()), float(v.max())
        if lo < info.min or hi > info.max or (value.is_floating_point() and not bool((v == v.round()).all())):
            raise ValueError(f"{where} must return integers in [{info.min}, {info.max}] for {target}, got {lo}..{hi}")
    return v.to("cpu")


def _law(init: Init, plan: Plan | None, dt: np.dtype[Any] | None, value: float | None) -> str:
    if value is not None:
        return f"constant {value:g}"
    if isinstance(init, Skip):
        return "kept"
    if isinstance(init, Computed):
        return f"computed {type(init).__name__}"
    if plan is None or dt is None:
        return "nothing to draw"
    kind, params, _ = resolve_plan(plan, dt)
    return f"{kind}(" + ", ".join(f"{float(v):.4g}" for v in params) + ")"


def _record(report: InitReport, e: Entry, law: str) -> None:
    assert e.rule is not None
    dtype = str(e.tensor.dtype).replace("torch.", "")
    report.tensors[e.name] = Filled(rule_label(e.rule), law, dtype, e.tensor.numel())


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
            _record(report, e, _law(init, None, None, None))
            continue
        if allocated:
            check_place(e.tensor, e.name)
            check_writable(e.tensor, e.name)
        try:
            if isinstance(init, Computed):
                if allocated:
                    check_distinct(e.tensor, e.name)
                computed = check_value(init.value(e.tensor, e.match), e.tensor, f"{init!r}")
                out.values.append((e, computed))
                report.filled[e.name] = repr(init)
                _record(report, e, _law(init, None, None, None))
                continue
            value = init.constant(e.match)
            if value is not None:
                check_constant(value, e.tensor.dtype, e.name, "value")
                out.constants.append((e, value))
                report.filled[e.name] = repr(init)
                _record(report, e, _law(init, None, None, value))
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
                _record(report, e, _law(init, None, None, None))
                continue
            check_plan(plan, dt)
        except (TypeError, ValueError) as exc:
            if str(exc).startswith(e.name):
                raise
            raise _traced(exc, e) from exc
        out.work.append((e, plan, dt))
        report.filled[e.name] = _describe(init, plan, dt)
        _record(report, e, _law(init, plan, dt, None))
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
        for e, computed in prepared.values:
            e.tensor.detach().copy_(computed.reshape(e.tensor.shape))
        for e in [e for e, _, _ in prepared.work] + [e for e, _ in prepared.values]:
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
    root = unwrap(module) if isinstance(module, nn.Module) else module
    entries, _, defaults = assign_rules(root, preset, rules, pre)
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
    warn_unmatched(report, unmatched_rules(defaults, entries, root, pre))
    write_entries(prepared, entropy, report)
    return report
