"""Which rule covers which tensor: a module's tensors as entries, matched to rules through the modules on their path.

A rule matches the tensor of qualified name ``q`` through the first module
``m`` on ``q``'s path (the root first) that its ``module`` matches, when the
rest of the path below ``m`` matches its ``tensor`` glob (:class:`Rule`).  A
model's tensors are matched against every rule of a preset, so
:class:`Matcher` walks each name's path once and remembers, for the length of
one call, each rule's verdict on a module class and each glob's on a path.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .inits import Skip
from .presets import ExpectedRule
from .report import rule_label
from .rules import Rule

__all__ = ["Entry", "Matcher", "describe_entry", "match", "match_name", "refuse_uncovered", "unmatched_rules"]

#: The characters that make a glob more than a literal (``fnmatch``'s ``*``, ``?`` and ``[``).
_MAGIC = frozenset("*?[")


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


class Matcher:
    """:func:`match_name` and :func:`match` over one module tree, with what they computed kept for the next call.

    ``path(name)`` is the list of ``(module, rest of the name below it)`` from
    the root down to the tensor's owner; a rule's ``owners`` depends only on
    the module's class (``isinstance`` and the class name), so its verdict is
    kept per (rule, class); glob verdicts per (text, glob); a ``tensor`` glob
    without wildcards (``"weight"``, ``"c_proj.weight"``) can only match the
    rest of the name of its own length, so one depth is looked at.  The answers are
    those of :meth:`Rule.owners` and :func:`fnmatch.fnmatchcase`; the module
    tree must not change while a matcher is in use.
    """

    def __init__(self, root: nn.Module, prefix: str) -> None:
        self.root = root
        self.prefix = prefix
        self._paths: dict[str, list[tuple[nn.Module, str]]] = {}
        self._depths: dict[str, int] = {}  # the depth of each name's last part
        self._owners: dict[tuple[int, type], bool] = {}
        self._globs: dict[tuple[str, str], bool] = {}
        self._rules: dict[int, Rule] = {}  # every rule seen, kept alive so that its id is not reused by another

    def path(self, name: str) -> list[tuple[nn.Module, str]]:
        found = self._paths.get(name)
        if found is None:
            inner = name[len(self.prefix) + 1 :] if self.prefix else name
            parts = inner.split(".")
            self._depths[name] = len(parts) - 1
            found = []
            mod: nn.Module | None = self.root
            for depth in range(len(parts)):
                if mod is None:
                    break
                found.append((mod, ".".join(parts[depth:])))
                mod = mod._modules.get(parts[depth]) if depth < len(parts) - 1 else None
            self._paths[name] = found
        return found

    def glob(self, text: str, pattern: str) -> bool:
        key = (text, pattern)
        hit = self._globs.get(key)
        if hit is None:
            hit = self._globs[key] = fnmatch.fnmatchcase(text, pattern)
        return hit

    def owners(self, rule: Rule, module: nn.Module) -> bool:
        key = (id(rule), type(module))
        hit = self._owners.get(key)
        if hit is None:
            self._rules[id(rule)] = rule
            hit = self._owners[key] = rule.owners(module)
        return hit

    def match_name(self, rule: Rule, name: str) -> nn.Module | None:
        """The module on the path of the qualified name ``name`` that ``rule`` matches it through, or None."""
        if rule.name is not None and not self.glob(name, rule.name):
            return None
        path = self.path(name)
        pattern = rule.tensor
        if not _MAGIC.intersection(pattern):
            # A glob without wildcards matches only the rest of its own length: one depth to look at.
            depth = self._depths[name] - pattern.count(".")
            if 0 <= depth < len(path) and path[depth][1] == pattern and self.owners(rule, path[depth][0]):
                return path[depth][0]
            return None
        for mod, rest in path:
            if self.owners(rule, mod) and self.glob(rest, pattern):
                return mod
        return None

    def match(self, rule: Rule, entry: Entry) -> nn.Module | None:
        """The module ``rule`` matches ``entry`` through, by any of its names (the first name first), or None."""
        for name in entry.names or [entry.name]:
            owner = self.match_name(rule, name)
            if owner is not None:
                return owner
        return None


def match_name(rule: Rule, name: str, root: nn.Module, prefix: str) -> nn.Module | None:
    """The module on the path of the qualified name ``name`` that ``rule`` matches it through, or None."""
    return Matcher(root, prefix).match_name(rule, name)


def match(rule: Rule, entry: Entry, root: nn.Module, prefix: str) -> nn.Module | None:
    """The module ``rule`` matches ``entry`` through, by any of its names (the first name first), or None."""
    return Matcher(root, prefix).match(rule, entry)


def unmatched_rules(
    defaults: Sequence[Rule], entries: Sequence[Entry], root: nn.Module, prefix: str, matcher: Matcher | None = None
) -> list[str]:
    """Each :class:`ExpectedRule` of the preset with the modules of its ``within`` where it matches no tensor.

    A module matching ``within`` (an attention or MLP block for GPT-2's
    ``c_proj.weight``) should hold a tensor, at any depth, that the rule
    matches; a model that names the projection otherwise gets the preset's
    unscaled law there.  Matching is by the rule alone: a custom rule that
    overrides the tensor does not hide it.  ``matcher`` is one of the same
    ``root`` and ``prefix`` whose work may be reused.
    """
    m = matcher if matcher is not None else Matcher(root, prefix)
    out = []
    for rule in defaults:
        if not isinstance(rule, ExpectedRule):
            continue
        probe = Rule(Skip(), rule.within)
        hits = [n for e in entries if m.match(rule, e) is not None for n in e.names]
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


def describe_entry(e: Entry) -> str:
    """``name (shape) dtype``: how a refusal lists a tensor."""
    return f"{e.name} {tuple(e.tensor.shape)} {e.tensor.dtype}"


def refuse_uncovered(what: str, uncovered: Sequence[Entry], remedy: str, by: str = "a rule that writes it") -> None:
    """Refuse, listing them all, the tensors that must get values and that no rule (or hook) gives one.

    A tensor without storage (on the meta device, or to be written to a
    checkpoint) has no values to keep, so a rule that keeps them
    (:class:`~xinit_bench.torch.Skip`) covers it no more than no rule does.
    """
    if uncovered:
        raise ValueError(
            f"every {what} must be covered by {by}, got these uncovered: "
            + ", ".join(describe_entry(e) for e in uncovered)
            + f" ({remedy})"
        )
