"""Whole-module init: every tensor a rule covers, keyed by its qualified name, in one launch per (kind, dtype).

Each tensor's key is :func:`xinit_bench.key_for_name` of ``(seed, qualified
name)``, so its values do not depend on the order in which the parameters
were created, on which subset is initialised, or on the thread count.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import check_seed, key_for_name
from ..batch import Job, fill_jobs
from ..plans import Plan, resolve_plan
from .inits import Constant, Init, Skip
from .presets import check_rules, preset_rules
from .rules import Rule
from .tensors import check_place, check_plan, check_tensor, tensor_jobs

__all__ = ["Entry", "InitReport", "assign", "check_entropy", "check_prefix", "entries_of", "init_module", "name_key"]


@dataclass
class InitReport:
    """What :func:`init_module` did.

    ``filled`` maps each tensor it wrote (by qualified name) to what it drew;
    ``untouched`` lists the tensors that no rule covers (left as they were);
    ``launches`` counts the kernel launches per (kind, dtype) and how many
    tensors each filled.
    """

    filled: dict[str, str] = field(default_factory=dict)
    untouched: list[str] = field(default_factory=list)
    launches: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass
class Entry:
    name: str
    tensor: torch.Tensor
    owner: nn.Module
    local: str
    rule: Rule | None = None
    match: nn.Module | None = None


def entries_of(module: nn.Module, prefix: str) -> list[Entry]:
    """Every parameter and buffer once (a tied tensor under its first name), with its owning module."""
    seen: set[int] = set()
    found: list[Entry] = []
    for mname, mod in module.named_modules(remove_duplicate=False):
        for local, t in [*mod._parameters.items(), *mod._buffers.items()]:
            if t is None or id(t) in seen:
                continue
            seen.add(id(t))
            q = ".".join(p for p in (prefix, mname, local) if p)
            found.append(Entry(q, t, mod, local))
    return found


def match(rule: Rule, entry: Entry, root: nn.Module, prefix: str) -> nn.Module | None:
    """The module on ``entry``'s path that ``rule`` matches it through, or None."""
    if rule.name is not None and not fnmatch.fnmatchcase(entry.name, rule.name):
        return None
    inner = entry.name[len(prefix) + 1 :] if prefix else entry.name
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
    """Every tensor of ``module`` with the first rule that covers it; custom rules must each match something."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    custom = check_rules("rules", rules)
    ordered = [*custom, *preset_rules(preset, module)]
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
        for rule in ordered:
            owner = match(rule, e, module, prefix)
            if owner is not None:
                e.rule, e.match = rule, owner
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


def fill_entries(entries: Sequence[Entry], entropy: int, report: InitReport) -> None:
    """Check every entry, then fill the random ones in one launch per (kind, dtype), then the constants."""
    work: list[tuple[Entry, Plan, np.dtype[Any]]] = []
    constants: list[tuple[Entry, float]] = []
    for e in entries:
        assert e.rule is not None and e.match is not None
        init = e.rule.init
        if isinstance(init, Skip):
            report.filled[e.name] = repr(init)
            continue
        if isinstance(init, Constant):
            check_place(e.tensor, e.name)
            constants.append((e, float(init.value)))
            report.filled[e.name] = repr(init)
            continue
        dt = check_tensor(e.tensor, e.name)
        plan = init.plan(e.tensor, e.match)
        if plan is None:  # a zero fan: nothing to draw (torch warns and leaves it)
            report.filled[e.name] = repr(init)
            continue
        check_plan(plan, dt)
        work.append((e, plan, dt))
        report.filled[e.name] = _describe(init, plan, dt)
    jobs: list[Job] = []
    copies: list[tuple[torch.Tensor, torch.Tensor]] = []
    for e, plan, dt in work:
        more, copy = tensor_jobs(e.tensor, dt, plan, name_key(entropy, e.name))
        jobs.extend(more)
        if copy is not None:
            copies.append(copy)
    report.launches = fill_jobs(jobs)
    with torch.no_grad():
        for tmp, target in copies:
            target.copy_(tmp)
        for e, value in constants:
            e.tensor.detach().fill_(value)
    for e, _, _ in work:
        assert e.rule is not None and e.match is not None
        e.rule.init.after(e.tensor, e.match)


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
        Fill only the tensors whose qualified names match.

    Returns
    -------
    InitReport
        What was filled, what no rule covers, and the launches.

    Raises
    ------
    TypeError
        Not a module, an integer or complex tensor given a random rule, a bad rule.
    ValueError
        An unknown preset, a rule that matches nothing, a meta or CUDA tensor,
        parameters that a tensor's dtype cannot hold.  Every tensor is checked
        before any is written.

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
    entries, _ = assign(module, preset, rules, pre)
    report = InitReport()
    chosen = []
    for e in entries:
        if patterns is not None and not any(fnmatch.fnmatchcase(e.name, p) for p in patterns):
            continue
        if e.rule is None:
            report.untouched.append(e.name)
        else:
            chosen.append(e)
    fill_entries(chosen, entropy, report)
    return report
