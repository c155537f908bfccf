"""What whole-module init did: :class:`InitReport`, one :class:`Filled` per tensor, and the unmatched-rule warning."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from .rules import Rule

__all__ = ["Filled", "InitReport", "UnmatchedRuleWarning", "rule_label", "warn_unmatched"]


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


def warn_unmatched(report: InitReport, unmatched: list[str]) -> None:
    """Record the unmatched preset rules in the report and warn about each, before anything is written."""
    report.unmatched.extend(unmatched)
    for text in unmatched:
        warnings.warn(
            f"preset rule {text}; those tensors get the preset's other rules instead (pass a rule naming them)",
            UnmatchedRuleWarning,
            stacklevel=3,
        )
