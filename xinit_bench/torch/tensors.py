"""torch tensors as fill jobs: the checks, the dtype map, and strided views written as runs of the stream.

**Writes.**  Every write is checked first and then bumps the tensor's
autograd version counter (:func:`torch.autograd.graph.increment_version`),
as torch's own in-place ops do, so a graph that saved the old values refuses
to run backward.  An inference tensor (made under ``torch.inference_mode()``)
is refused outside inference mode, as torch refuses an in-place op on it.  A
random fill is refused on a tensor whose elements share memory (an
``expand``-ed view), where the draws would overwrite each other.

**Non-contiguous tensors.**  A strided view is filled with the values that a
contiguous tensor of the same logical shape gets (stream position = C-order
index).  When its innermost axis has stride 1 and its rows do not overlap,
the rows are written in place as runs of the stream (one launch); otherwise
(rows shorter than :data:`MIN_RUN` elements, more than :data:`MAX_RUNS`
rows, or any other layout) a contiguous temporary of the tensor's size is
filled and copied in with ``copy_``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._rng import check_source, resolve
from ..batch import Job, fill_jobs
from ..fans import compute_fans
from ..plans import Plan, resolve_plan, scheme_law
from ..validation import bfloat16, check_choice

__all__ = [
    "FLOATS",
    "MAX_RUNS",
    "MIN_RUN",
    "bump",
    "check_constant",
    "check_distinct",
    "check_generator",
    "check_place",
    "check_plan",
    "check_tensor",
    "check_writable",
    "fill_one",
    "internal_overlap",
    "np_dtype",
    "scheme_plan",
    "strided_runs",
    "tensor_fans",
    "tensor_jobs",
]

#: A strided tensor is written in place as runs only if its rows have at least this many elements ...
MIN_RUN = 16
#: ... and there are at most this many rows; otherwise through a contiguous temporary and ``copy_``.
MAX_RUNS = 4096

FLOATS = "a float32, float64, float16 or bfloat16"


# --- tensors ---------------------------------------------------------------------
def np_dtype(dtype: torch.dtype) -> np.dtype[Any] | None:
    """The NumPy dtype a fill job of a torch ``dtype`` uses, or None for a dtype the samplers do not make."""
    if dtype == torch.float32:
        return np.dtype(np.float32)
    if dtype == torch.float64:
        return np.dtype(np.float64)
    if dtype == torch.float16:
        return np.dtype(np.float16)
    if dtype == torch.bfloat16:
        return bfloat16()
    return None


def check_place(tensor: Any, name: str) -> torch.Tensor:
    """``tensor`` after checking it is a strided CPU tensor with storage (any dtype)."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or nn.Parameter, got {type(tensor).__name__}")
    if tensor.is_meta:
        raise ValueError(
            f"{name} must be a CPU tensor with storage, got a meta tensor (shape {tuple(tensor.shape)}); "
            "allocate it first, or build the module under torch.device('meta') and call "
            "xinit_bench.torch.materialize"
        )
    if tensor.device.type != "cpu":
        raise ValueError(
            f"{name} must be a CPU tensor, got a tensor on {tensor.device} (the kernels run on the CPU: "
            "initialise on the CPU and move the tensor with .to(device))"
        )
    if tensor.layout != torch.strided:
        raise ValueError(f"{name} must be a dense (strided) tensor, got layout {tensor.layout}")
    return tensor


def check_tensor(tensor: Any, name: str = "tensor") -> np.dtype[Any]:
    """The fill dtype of ``tensor``, after checking it is a dense float CPU tensor the samplers can fill."""
    t = check_place(tensor, name)
    dt = np_dtype(t.dtype)
    if dt is None:
        raise TypeError(f"{name} must be {FLOATS} tensor, got dtype {t.dtype}")
    return dt


def check_writable(tensor: torch.Tensor, name: str) -> None:
    """Refuse a write that torch refuses in place: an inference tensor outside ``torch.inference_mode()``."""
    if tensor.is_inference() and not torch.is_inference_mode_enabled():
        raise ValueError(
            f"{name} must be writable in place, got an inference tensor (made under torch.inference_mode()) "
            "outside inference mode, which torch refuses to update in place: write it inside "
            "torch.inference_mode(), or clone it first"
        )


def internal_overlap(t: torch.Tensor) -> bool:
    """Whether two elements of ``t`` share memory (a stride 0 of an axis longer than 1, or another such layout).

    The quick answer, when the axes sorted by stride each step over
    everything below them, is no; only a layout that fails it (made with
    ``as_strided``) has its element offsets compared one by one.
    """
    dims = sorted((int(st), int(s)) for s, st in zip(t.shape, t.stride(), strict=True) if s > 1)
    if any(st == 0 for st, _ in dims):
        return True
    extent = 1
    for stride, size in dims:
        if stride < extent:
            offsets = np.zeros(1, np.int64)
            for st, sz in dims:
                offsets = (offsets[:, None] + np.arange(sz, dtype=np.int64)[None, :] * st).reshape(-1)
            return bool(np.unique(offsets).size < offsets.size)
        extent = stride * size
    return False


def check_distinct(tensor: torch.Tensor, name: str) -> None:
    """Refuse a random fill of a tensor whose elements share memory: each draw would overwrite another."""
    if tensor.numel() > 1 and internal_overlap(tensor):
        raise ValueError(
            f"{name} must have one memory location per element for a random fill, got shape {tuple(tensor.shape)} "
            f"with strides {tuple(tensor.stride())} (an expanded view): fill the tensor it was expanded from, "
            "or .clone() it"
        )


def check_constant(value: float, dtype: torch.dtype, name: str, param: str = "val") -> None:
    """Refuse a constant that ``dtype`` cannot hold (torch's ``fill_`` raises for it, or truncates it)."""
    if dtype == torch.bool:
        if value not in (0.0, 1.0):
            raise ValueError(f"{param} must be 0 or 1 for {name} of dtype torch.bool, got {value!r}")
        return
    if dtype.is_complex:
        return
    if dtype.is_floating_point:
        largest = float(torch.finfo(dtype).max)
        if math.isfinite(value) and abs(value) > largest:
            raise ValueError(
                f"{param} must be finite in {name}'s dtype {dtype} (at most {largest:.6g} in magnitude), got {value!r}"
            )
        return
    info = torch.iinfo(dtype)
    if not (math.isfinite(value) and value == int(value) and info.min <= value <= info.max):
        raise ValueError(
            f"{param} must be an integer in [{info.min}, {info.max}] for {name} of dtype {dtype}, got {value!r}"
        )


def bump(tensors: list[torch.Tensor]) -> None:
    """Bump the autograd version counter of each tensor a kernel wrote behind torch's back, as ``normal_`` does."""
    if tensors:
        torch.autograd.graph.increment_version(tensors)


def check_generator(generator: Any) -> None:
    if isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be an xinit_bench.Generator or None, got a torch.Generator: this module never "
            "draws from torch's RNG; pass seed=<int> for a fixed stream, or generator=xinit_bench.Generator(seed)"
        )


def check_plan(plan: Plan, dt: np.dtype[Any]) -> None:
    """Resolve ``plan`` for ``dt`` as :func:`~xinit_bench.batch.fill_jobs` will, so that it raises now."""
    resolve_plan(plan, dt)


def tensor_jobs(
    tensor: torch.Tensor, dt: np.dtype[Any], plan: Plan, key: tuple[np.uint32, np.uint32, np.uint32]
) -> tuple[list[Job], tuple[torch.Tensor, torch.Tensor] | None]:
    """The jobs that fill ``tensor`` as a contiguous fill of its logical shape, and a (temporary, target) to copy.

    The tensor's elements get stream positions in C order of its shape.
    """
    t = tensor.detach()
    n = t.numel()
    if n == 0:
        return [], None
    if t.is_contiguous():
        return [Job(t.data_ptr(), n, dt, plan, key)], None
    runs = strided_runs(t)
    if runs is None:
        tmp = torch.empty(t.shape, dtype=t.dtype)
        return [Job(tmp.data_ptr(), n, dt, plan, key)], (tmp, t)
    addresses, positions, length = runs
    return [Job(int(a), length, dt, plan, key, int(p)) for a, p in zip(addresses, positions, strict=True)], None


def strided_runs(t: torch.Tensor) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], int] | None:
    """``(addresses, positions, length)`` of the rows of a strided view, or None if it cannot be written as runs."""
    dims = [(int(s), int(st)) for s, st in zip(t.shape, t.stride(), strict=True) if s != 1]
    if not dims or dims[-1][1] != 1:
        return None
    # merge the trailing axes that are laid out contiguously into the innermost run
    length = dims[-1][0]
    k = len(dims) - 1
    while k > 0 and dims[k - 1][1] == dims[k][1] * dims[k][0]:
        length *= dims[k - 1][0]
        k -= 1
    lead = dims[:k]
    rows = math.prod(s for s, _ in lead)
    if length < MIN_RUN or rows > MAX_RUNS:
        return None
    # the rows must not overlap: sorted by stride, each stride covers everything below it
    extent = length
    for size, stride in sorted(lead, key=lambda d: d[1]):
        if stride < extent:
            return None
        extent = stride * size
    item = t.element_size()
    addresses = np.array([t.data_ptr()], np.int64)
    positions = np.zeros(1, np.int64)
    c_stride = length
    for size, stride in reversed(lead):
        idx = np.arange(size, dtype=np.int64)
        addresses = (idx[:, None] * (stride * item) + addresses[None, :]).reshape(-1)
        positions = (idx[:, None] * c_stride + positions[None, :]).reshape(-1)
        c_stride *= size
    return addresses, positions, length


def fill_one(tensor: torch.Tensor, plan: Plan, seed: Any, generator: Any) -> torch.Tensor:
    """Check ``tensor``, the plan and the seed/generator pair, then fill ``tensor`` in one launch."""
    dt = check_tensor(tensor)
    check_writable(tensor, "tensor")
    check_distinct(tensor, "tensor")
    check_plan(plan, dt)
    check_source(seed, generator)
    key = resolve(seed, generator)  # the one state change, after every check
    jobs, copy = tensor_jobs(tensor, dt, plan, key)
    fill_jobs(jobs)
    if copy is not None:
        with torch.no_grad():
            copy[1].copy_(copy[0])
    bump([tensor])
    return tensor


def tensor_fans(tensor: torch.Tensor) -> tuple[int, int]:
    """torch's ``_calculate_fan_in_and_fan_out``: rank >= 2, ``(size(1) * r, size(0) * r)``."""
    if tensor.dim() < 2:
        raise ValueError(
            f"tensor must have rank >= 2 for its fans to be computed, got shape {tuple(tensor.shape)}, "
            f"of rank {tensor.dim()}"
        )
    return compute_fans(tuple(tensor.shape))


def scheme_plan(
    name: str,
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str | None = None,
) -> Plan:
    """The law of the named scheme ``name`` for ``tensor``'s shape: the plan layer's, so the bits are the NumPy API's.

    torch computes the same laws (``std = gain * sqrt(2 / (fan_in + fan_out))``
    for Xavier, ``gain / sqrt(fan_mode)`` for Kaiming, the slope ``a`` only for
    leaky_relu); ``torch.nn.init.kaiming_*`` takes only the modes
    ``fan_in`` and ``fan_out``.
    """
    tensor_fans(tensor)  # torch's rank check and message
    if name.startswith("he_"):
        check_choice("mode", mode, ("fan_in", "fan_out"))
        return scheme_law(
            name,
            tuple(tensor.shape),
            nonlinearity=nonlinearity or "leaky_relu",
            a=a,
            mode=mode,  # type: ignore[arg-type]
        )
    return scheme_law(name, tuple(tensor.shape), gain, nonlinearity)
