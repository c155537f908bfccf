"""Checking and writing the entries a rule covers: every check first, then one launch per (kind, dtype).

:func:`prepare_entries` checks every entry's rule, law, value, dtype and
tensor and writes nothing; :func:`write_entries` then fills the random ones
in one launch per (kind, dtype) of :func:`xinit_bench.batch.fill_jobs` (each
tensor's stream is that of :func:`name_key`), and writes the constants and the
computed values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._rng import key_for_name
from ..batch import Job, fill_jobs
from ..plans import Plan, resolve_plan
from .hf import Computed
from .inits import Init, Skip
from .matching import Entry
from .report import Filled, InitReport, rule_label
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

__all__ = ["Prepared", "check_value", "fill_entries", "name_key", "prepare_entries", "write_entries"]


def name_key(entropy: int, name: str) -> tuple[np.uint32, np.uint32, np.uint32]:
    """``(k0, k1, 0)``: stream 0 of :func:`xinit_bench.key_for_name` ``(entropy, name)``, the tensor's stream."""
    k0, k1 = key_for_name(entropy, name).key
    return k0, k1, _STREAM_0


_STREAM_0 = np.uint32(0)


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
