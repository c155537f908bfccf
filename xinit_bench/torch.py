"""PyTorch tensors and modules: ``torch.nn.init``'s in-place functions, whole-model init and meta materialisation.

Needs ``torch`` (the ``torch`` extra); ``import xinit_bench`` does not import
this module.  Three layers of use:

- **In-place functions** with the names and signatures of ``torch.nn.init``
  (:func:`uniform_`, :func:`normal_`, :func:`trunc_normal_`,
  :func:`xavier_uniform_`, :func:`xavier_normal_`, :func:`kaiming_uniform_`,
  :func:`kaiming_normal_`, :func:`constant_`, :func:`ones_`, :func:`zeros_`,
  :func:`eye_`, :func:`dirac_`).  They take any CPU tensor or ``Parameter``
  of float32, float64, float16 or bfloat16, write its storage directly (no
  copy, no NumPy round trip), and never touch torch's global RNG: the draws
  come from ``seed=`` or an :class:`xinit_bench.Generator` as ``generator=``,
  with the bits of the matching NumPy sampler (``xb.normal(t.shape, ...,
  dtype=...)``).  A half-precision tensor gets the clamped, once-rounded
  float32 fill (the half contract of :mod:`xinit_bench.half`).
- :func:`init_module` fills every parameter and buffer that a preset (or a
  custom :class:`Rule`) names, with **one kernel launch per (kind, dtype)**
  for the whole module (:mod:`xinit_bench.batch`).  Each tensor's key is a
  hash of ``(seed, qualified name)``, so its values do not depend on the
  order in which the parameters were created, on which subset is
  initialised, or on the thread count.
- :func:`materialize` allocates and fills a module built under
  ``torch.device("meta")``, with a peak memory of about the model's size.

**Non-contiguous tensors.**  A strided view is filled with the values that a
contiguous tensor of the same logical shape gets (stream position = C-order
index).  When its innermost axis has stride 1 and its rows do not overlap,
the rows are written in place as runs of the stream (one launch); otherwise
(rows shorter than :data:`MIN_RUN` elements, more than :data:`MAX_RUNS`
rows, or any other layout) a contiguous temporary of the tensor's size is
filled and copied in with ``copy_``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._rng import Generator, check_seed, check_source, resolve
from .batch import Job, fill_jobs
from .fans import compute_fans
from .gains import calculate_gain
from .half import clamps
from .init import distribution_plan
from .samplers import Plan, normal_plan, symmetric_plan, truncated_plan, uniform_plan
from .schemes import fan_size
from .validation import bfloat16, check_choice, check_real, is_half

__all__ = [
    "MAX_RUNS",
    "MIN_RUN",
    "PRESETS",
    "BiasUniform",
    "Constant",
    "HiddenUniform",
    "Init",
    "InitReport",
    "KaimingNormal",
    "KaimingUniform",
    "Normal",
    "Rule",
    "Skip",
    "TruncNormal",
    "Uniform",
    "XavierNormal",
    "XavierUniform",
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "gpt2",
    "init_module",
    "kaiming_normal_",
    "kaiming_uniform_",
    "llama",
    "materialize",
    "normal_",
    "ones_",
    "preset_rules",
    "rope_inv_freq",
    "torch_default",
    "trunc_normal_",
    "uniform_",
    "vit",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

#: A strided tensor is written in place as runs only if its rows have at least this many elements ...
MIN_RUN = 16
#: ... and there are at most this many rows; otherwise through a contiguous temporary and ``copy_``.
MAX_RUNS = 4096

_FLOATS = "a float32, float64, float16 or bfloat16"


# --- tensors ---------------------------------------------------------------------
def _np_dtype(dtype: torch.dtype) -> np.dtype[Any] | None:
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


def _check_place(tensor: Any, name: str) -> torch.Tensor:
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


def _check_tensor(tensor: Any, name: str = "tensor") -> np.dtype[Any]:
    """The fill dtype of ``tensor``, after checking it is a dense float CPU tensor the samplers can fill."""
    t = _check_place(tensor, name)
    dt = _np_dtype(t.dtype)
    if dt is None:
        raise TypeError(f"{name} must be {_FLOATS} tensor, got dtype {t.dtype}")
    return dt


def _check_generator(generator: Any) -> None:
    if isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be an xinit_bench.Generator or None, got a torch.Generator: this module never "
            "draws from torch's RNG; pass seed=<int> for a fixed stream, or generator=xinit_bench.Generator(seed)"
        )


def _check_plan(plan: Plan, dt: np.dtype[Any]) -> None:
    """Resolve ``plan`` for ``dt`` as :func:`~xinit_bench.batch.fill_jobs` will, so that it raises now."""
    kind, params = plan(np.dtype(np.float32) if is_half(dt) else dt)
    if is_half(dt):
        clamps(kind, params, dt)


def _jobs(
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
    runs = _runs(t)
    if runs is None:
        tmp = torch.empty(t.shape, dtype=t.dtype)
        return [Job(tmp.data_ptr(), n, dt, plan, key)], (tmp, t)
    addresses, positions, length = runs
    return [Job(int(a), length, dt, plan, key, int(p)) for a, p in zip(addresses, positions, strict=True)], None


def _runs(t: torch.Tensor) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], int] | None:
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


def _fill_one(tensor: torch.Tensor, plan: Plan, seed: Any, generator: Any) -> torch.Tensor:
    """Check ``tensor``, the plan and the seed/generator pair, then fill ``tensor`` in one launch."""
    dt = _check_tensor(tensor)
    _check_plan(plan, dt)
    check_source(seed, generator)
    key = resolve(seed, generator)  # the one state change, after every check
    jobs, copy = _jobs(tensor, dt, plan, key)
    fill_jobs(jobs)
    if copy is not None:
        with torch.no_grad():
            copy[1].copy_(copy[0])
    return tensor


def _fans(tensor: torch.Tensor) -> tuple[int, int]:
    """torch's ``_calculate_fan_in_and_fan_out``: rank >= 2, ``(size(1) * r, size(0) * r)``."""
    if tensor.dim() < 2:
        raise ValueError(
            f"tensor must have rank >= 2 for its fans to be computed, got shape {tuple(tensor.shape)}, "
            f"of rank {tensor.dim()}"
        )
    return compute_fans(tuple(tensor.shape))


def _scheme_plan(distribution: str, gain: float, mode: str, tensor: torch.Tensor) -> Plan:
    """The plan of ``variance_scaling(shape, gain**2, mode, distribution)``, so the bits are the NumPy API's.

    torch computes the same law (``std = gain * sqrt(2 / (fan_in + fan_out))``
    for Xavier, ``gain / sqrt(fan_mode)`` for Kaiming); the variance is
    formed here as :func:`xinit_bench.variance_scaling` forms it.
    """
    fan_in, fan_out = _fans(tensor)
    n = fan_size(mode, fan_in, fan_out)
    return distribution_plan(distribution, gain**2 / n if n else 0.0)  # type: ignore[arg-type]


def _kaiming_plan(distribution: str, tensor: torch.Tensor, a: float, mode: str, nonlinearity: str) -> Plan:
    mode = check_choice("mode", mode, ("fan_in", "fan_out"))
    gain = calculate_gain(nonlinearity, a) if nonlinearity == "leaky_relu" else calculate_gain(nonlinearity)
    return _scheme_plan(distribution, gain, mode, tensor)


# --- torch.nn.init's in-place functions ----------------------------------------
def uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    b: float = 1.0,
    generator: Generator | None = None,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with U[a, b) in place, as ``torch.nn.init.uniform_``; the bits of ``xb.uniform``.

    Raises
    ------
    TypeError
        Not a tensor, an integer or complex tensor, a torch.Generator as ``generator``.
    ValueError
        A meta or CUDA tensor, ``b <= a``.  Nothing is written and no generator advances.

    Examples
    --------
    >>> import torch, xinit_bench as xb
    >>> from xinit_bench import torch as xt
    >>> w = xt.uniform_(torch.empty(2, 3), -1.0, 1.0, seed=0)
    >>> bool((w.numpy() == xb.uniform((2, 3), -1.0, 1.0, seed=0)).all())
    True
    """
    _check_generator(generator)
    low, high = check_real("a", a), check_real("b", b)
    if not low < high:
        raise ValueError(f"b must be > a, got a={a!r}, b={b!r}")
    return _fill_one(tensor, uniform_plan(low, high), seed, generator)


def normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    generator: Generator | None = None,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with N(mean, std²) in place, as ``torch.nn.init.normal_``; the bits of ``xb.normal``.

    Examples
    --------
    >>> import torch, xinit_bench as xb
    >>> from xinit_bench import torch as xt
    >>> w = xt.normal_(torch.empty(4, dtype=torch.bfloat16), 0.0, 0.02, seed=3)
    >>> bool((w.float().numpy() == xb.normal(4, 0.0, 0.02, seed=3, dtype="bfloat16").astype("float32")).all())
    True
    """
    _check_generator(generator)
    m = check_real("mean", mean)
    s = check_real("std", std, minimum=0.0)
    return _fill_one(tensor, normal_plan(m, s), seed, generator)


def trunc_normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """N(mean, std²) conditioned on ``[a, b]``, in place; ``a`` and ``b`` are **absolute**, as in torch.

    So ``trunc_normal_(w, std=0.02)`` cuts at ±2, i.e. ±100 std, as torch's and
    timm's do.  The bits of ``xb.truncated_normal(shape, mean, std, a, b, absolute=True)``.
    """
    _check_generator(generator)
    m = check_real("mean", mean)
    s = check_real("std", std, positive=True)
    lo = check_real("a", a, allow_inf=True)
    hi = check_real("b", b, allow_inf=True)
    if not lo < hi:
        raise ValueError(f"b must be > a, got a={a!r}, b={b!r}")
    return _fill_one(tensor, truncated_plan(m, s, (lo - m) / s, (hi - m) / s), seed, generator)


def xavier_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, generator: Generator | None = None, *, seed: int | None = None
) -> torch.Tensor:
    """U(-b, b) with ``b = gain * sqrt(6 / (fan_in + fan_out))``, as ``torch.nn.init.xavier_uniform_``."""
    _check_generator(generator)
    g = check_real("gain", gain, minimum=0.0)
    return _fill_one(tensor, _scheme_plan("uniform", g, "fan_avg", _check_place(tensor, "tensor")), seed, generator)


def xavier_normal_(
    tensor: torch.Tensor, gain: float = 1.0, generator: Generator | None = None, *, seed: int | None = None
) -> torch.Tensor:
    """N(0, std²) with ``std = gain * sqrt(2 / (fan_in + fan_out))``, as ``torch.nn.init.xavier_normal_``."""
    _check_generator(generator)
    g = check_real("gain", gain, minimum=0.0)
    return _fill_one(tensor, _scheme_plan("normal", g, "fan_avg", _check_place(tensor, "tensor")), seed, generator)


def kaiming_uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """U(-b, b) with ``b = sqrt(3) * gain / sqrt(fan_mode)``, as ``torch.nn.init.kaiming_uniform_``.

    torch's default ``Linear`` and ``Conv*d`` weights are ``kaiming_uniform_(w, a=math.sqrt(5))``,
    i.e. ``b = 1 / sqrt(fan_in)``.
    """
    _check_generator(generator)
    plan = _kaiming_plan("uniform", _check_place(tensor, "tensor"), check_real("a", a), mode, nonlinearity)
    return _fill_one(tensor, plan, seed, generator)


def kaiming_normal_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """N(0, std²) with ``std = gain / sqrt(fan_mode)``, as ``torch.nn.init.kaiming_normal_``."""
    _check_generator(generator)
    plan = _kaiming_plan("normal", _check_place(tensor, "tensor"), check_real("a", a), mode, nonlinearity)
    return _fill_one(tensor, plan, seed, generator)


def constant_(tensor: torch.Tensor, val: float) -> torch.Tensor:
    """Fill ``tensor`` with ``val`` in place (torch's ``fill_``, which draws nothing)."""
    _check_tensor(tensor)
    v = check_real("val", val, allow_inf=True)
    with torch.no_grad():
        tensor.detach().fill_(v)
    return tensor


def ones_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill ``tensor`` with 1 in place."""
    return constant_(tensor, 1.0)


def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill ``tensor`` with 0 in place."""
    return constant_(tensor, 0.0)


def eye_(tensor: torch.Tensor) -> torch.Tensor:
    """The identity matrix in a 2-d ``tensor``, in place (``torch.nn.init.eye_``, which draws nothing)."""
    _check_tensor(tensor)
    if tensor.dim() != 2:
        raise ValueError(f"tensor must have rank 2, got shape {tuple(tensor.shape)}")
    return nn.init.eye_(tensor)


def dirac_(tensor: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """The Dirac delta in a 3-, 4- or 5-d ``tensor``, in place (``torch.nn.init.dirac_``, which draws nothing)."""
    _check_tensor(tensor)
    if tensor.dim() not in (3, 4, 5):
        raise ValueError(f"tensor must have rank 3, 4 or 5, got shape {tuple(tensor.shape)}")
    return nn.init.dirac_(tensor, groups)


# --- what a rule draws -----------------------------------------------------------
class Init:
    """What a :class:`Rule` puts into a tensor: a plan of random draws, a constant, or nothing.

    ``plan(tensor, owner)`` returns the tensor's plan (``owner`` is the module
    the rule matched, for rules that read its weight or its attributes);
    :class:`Constant` and :class:`Skip` have none.
    """

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan | None:
        return None

    def after(self, tensor: torch.Tensor, owner: nn.Module) -> None:
        """Work done after the fill (an embedding's padding row)."""


@dataclass(frozen=True)
class Uniform(Init):
    """U[a, b)."""

    a: float = 0.0
    b: float = 1.0

    def __post_init__(self) -> None:
        if not check_real("a", self.a) < check_real("b", self.b):
            raise ValueError(f"b must be > a, got a={self.a!r}, b={self.b!r}")

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return uniform_plan(float(self.a), float(self.b))


@dataclass(frozen=True)
class Normal(Init):
    """N(mean, std²); ``padding_idx=True`` zeroes the owner's ``padding_idx`` row afterwards (embeddings)."""

    mean: float = 0.0
    std: float = 1.0
    padding_idx: bool = False

    def __post_init__(self) -> None:
        check_real("mean", self.mean)
        check_real("std", self.std, minimum=0.0)

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return normal_plan(float(self.mean), float(self.std))

    def after(self, tensor: torch.Tensor, owner: nn.Module) -> None:
        row = getattr(owner, "padding_idx", None)
        if self.padding_idx and row is not None:
            with torch.no_grad():
                tensor.detach()[row].zero_()


@dataclass(frozen=True)
class TruncNormal(Init):
    """N(mean, std²) conditioned on the **absolute** bounds ``[a, b]``, as ``trunc_normal_``."""

    mean: float = 0.0
    std: float = 1.0
    a: float = -2.0
    b: float = 2.0

    def __post_init__(self) -> None:
        check_real("mean", self.mean)
        check_real("std", self.std, positive=True)
        if not check_real("a", self.a, allow_inf=True) < check_real("b", self.b, allow_inf=True):
            raise ValueError(f"b must be > a, got a={self.a!r}, b={self.b!r}")

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        m, s = float(self.mean), float(self.std)
        return truncated_plan(m, s, (self.a - m) / s, (self.b - m) / s)


@dataclass(frozen=True)
class XavierUniform(Init):
    """U(±gain·√(6 / (fan_in + fan_out)))."""

    gain: float = 1.0

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return _scheme_plan("uniform", self.gain, "fan_avg", tensor)


@dataclass(frozen=True)
class XavierNormal(Init):
    """N(0, gain²·2 / (fan_in + fan_out))."""

    gain: float = 1.0

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return _scheme_plan("normal", self.gain, "fan_avg", tensor)


@dataclass(frozen=True)
class KaimingUniform(Init):
    """U(±√3·gain / √fan_mode); ``a=math.sqrt(5)`` is torch's default Linear and Conv weight."""

    a: float = 0.0
    mode: str = "fan_in"
    nonlinearity: str = "leaky_relu"

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return _kaiming_plan("uniform", tensor, self.a, self.mode, self.nonlinearity)


@dataclass(frozen=True)
class KaimingNormal(Init):
    """N(0, gain² / fan_mode)."""

    a: float = 0.0
    mode: str = "fan_in"
    nonlinearity: str = "leaky_relu"

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan:
        return _kaiming_plan("normal", tensor, self.a, self.mode, self.nonlinearity)


@dataclass(frozen=True)
class BiasUniform(Init):
    """U(±1/√fan_in) with the fan-in of the owner's ``weight``: torch's default Linear and Conv bias."""

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan | None:
        weight = getattr(owner, "weight", None)
        if not isinstance(weight, torch.Tensor):
            raise ValueError(f"BiasUniform needs a module with a weight, got {type(owner).__name__}")
        fan_in = _fans(weight)[0]
        return symmetric_plan(1.0 / math.sqrt(fan_in)) if fan_in > 0 else None


@dataclass(frozen=True)
class HiddenUniform(Init):
    """U(±1/√hidden_size) of the owner: torch's default for every RNN, LSTM and GRU parameter."""

    def plan(self, tensor: torch.Tensor, owner: nn.Module) -> Plan | None:
        hidden = int(getattr(owner, "hidden_size", 0))
        return symmetric_plan(1.0 / math.sqrt(hidden)) if hidden > 0 else None


@dataclass(frozen=True)
class Constant(Init):
    """The constant ``value`` (any dtype, e.g. BatchNorm's integer ``num_batches_tracked``)."""

    value: float = 0.0

    def __post_init__(self) -> None:
        check_real("value", self.value, allow_inf=True)


@dataclass(frozen=True)
class Skip(Init):
    """Leave the tensor as it is (and count it as covered)."""


# --- rules and presets -----------------------------------------------------------
ModuleMatch = type | str | tuple[type | str, ...] | None


@dataclass(frozen=True)
class Rule:
    """Which tensors get ``init``.

    A rule matches the tensor of qualified name ``q`` when some module ``m``
    on ``q``'s path (the root included) matches ``module`` and ``q``'s path
    below ``m`` matches the glob ``tensor``, and, if ``name`` is given, ``q``
    matches the glob ``name``.  ``module`` is a module class (``isinstance``),
    a glob on the class name (``"*RMSNorm"``, for classes you cannot import),
    a tuple of those, or None for any module.  The first rule that matches a
    tensor decides it; custom rules come before the preset's.

    Examples
    --------
    >>> from torch import nn
    >>> Rule(Normal(0.0, 0.02), nn.Linear, "weight").tensor       # every Linear weight
    'weight'
    >>> Rule(Constant(0.0), None, "c_proj.bias")           # every c_proj.bias, at any depth
    Rule(init=Constant(value=0.0), module=None, tensor='c_proj.bias', name=None)
    """

    init: Init
    module: ModuleMatch = None
    tensor: str = "*"
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.init, Init):
            raise TypeError(f"init must be an xinit_bench.torch.Init (Normal, Uniform, ...), got {self.init!r}")
        for m in self.module if isinstance(self.module, tuple) else (self.module,):
            if not (m is None or isinstance(m, str) or (isinstance(m, type) and issubclass(m, nn.Module))):
                raise TypeError(
                    f"module must be a module class, a class-name glob, a tuple of those or None, got {m!r}"
                )
        if not isinstance(self.tensor, str):
            raise TypeError(f"tensor must be a str (a glob on the tensor's path), got {self.tensor!r}")
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"name must be a str (a glob on the qualified name) or None, got {self.name!r}")

    def owners(self, module: nn.Module) -> bool:
        """Whether ``module`` matches this rule's ``module``."""
        options = self.module if isinstance(self.module, tuple) else (self.module,)
        for m in options:
            if m is None:
                return True
            if isinstance(m, str):
                if fnmatch.fnmatchcase(type(module).__name__, m):
                    return True
            elif isinstance(module, m):
                return True
        return False


def _norm_rules() -> list[Rule]:
    norms = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase, nn.RMSNorm, "*RMSNorm", "*LayerNorm")
    return [
        Rule(Constant(1.0), norms, "weight"),
        Rule(Constant(0.0), norms, "bias"),
        Rule(Constant(0.0), nn.modules.batchnorm._NormBase, "running_mean"),
        Rule(Constant(1.0), nn.modules.batchnorm._NormBase, "running_var"),
        Rule(Constant(0.0), nn.modules.batchnorm._NormBase, "num_batches_tracked"),
    ]


_LINEAR_CONV = (nn.Linear, nn.modules.conv._ConvNd, nn.Bilinear)


def torch_default() -> list[Rule]:
    """What each layer's ``reset_parameters`` draws (torch 2.x).

    - ``Linear`` and ``Conv*d``/``ConvTranspose*d``: weight ``kaiming_uniform_(a=√5)``
      (U(±1/√fan_in)); bias U(±1/√fan_in) of the weight.
    - ``MultiheadAttention``: ``xavier_uniform_`` on ``in_proj_weight`` (or
      ``q/k/v_proj_weight``), zero ``in_proj_bias`` and ``out_proj.bias``,
      ``xavier_normal_`` on ``bias_k``/``bias_v``; ``out_proj.weight`` as a Linear.
    - ``Embedding``/``EmbeddingBag``: N(0, 1), the ``padding_idx`` row zeroed.
    - ``LayerNorm``, ``GroupNorm``, ``RMSNorm``, ``BatchNorm*d``, ``InstanceNorm*d``: weight 1,
      bias 0, running mean 0, running variance 1, ``num_batches_tracked`` 0.
    - ``RNN``/``LSTM``/``GRU``: every parameter U(±1/√hidden_size).

    References: the ``reset_parameters`` / ``_reset_parameters`` methods of
    ``torch.nn.Linear``, ``torch.nn.modules.conv._ConvNd``, ``torch.nn.Embedding``,
    ``torch.nn.MultiheadAttention`` and ``torch.nn.RNNBase``, and the layers'
    documentation ("initialized from U(-√k, √k), k = 1/in_features").
    """
    mha = nn.MultiheadAttention
    return [
        Rule(XavierUniform(), mha, "in_proj_weight"),
        Rule(XavierUniform(), mha, "[qkv]_proj_weight"),
        Rule(Constant(0.0), mha, "in_proj_bias"),
        Rule(Constant(0.0), mha, "out_proj.bias"),
        Rule(XavierNormal(), mha, "bias_[kv]"),
        Rule(KaimingUniform(a=math.sqrt(5.0)), (nn.Linear, nn.modules.conv._ConvNd), "weight"),
        Rule(BiasUniform(), (nn.Linear, nn.modules.conv._ConvNd), "bias"),
        Rule(Normal(0.0, 1.0, padding_idx=True), (nn.Embedding, nn.EmbeddingBag), "weight"),
        *_norm_rules(),
        Rule(HiddenUniform(), nn.RNNBase, "*"),
    ]


def gpt2(n_layer: int, std: float = 0.02) -> list[Rule]:
    """Hugging Face GPT-2 (``GPT2PreTrainedModel._init_weights``), then :func:`torch_default` for other layers.

    Linear and ``Conv1D`` weights and embeddings N(0, std²) (std =
    ``initializer_range``, 0.02), biases 0, LayerNorm 1 and 0, and every
    ``c_proj.weight`` (the residual projections) N(0, (std / √(2·n_layer))²).
    """
    layers = int(check_real("n_layer", n_layer, positive=True))
    s = float(check_real("std", std, minimum=0.0))
    linear = (nn.Linear, "Conv1D")
    return [
        Rule(Normal(0.0, s / math.sqrt(2.0 * layers)), None, "c_proj.weight"),
        Rule(Normal(0.0, s), linear, "weight"),
        Rule(Constant(0.0), linear, "bias"),
        Rule(Normal(0.0, s, padding_idx=True), nn.Embedding, "weight"),
        *_norm_rules(),
        *torch_default(),
    ]


def llama(std: float = 0.02) -> list[Rule]:
    """Hugging Face LLaMA (``LlamaPreTrainedModel._init_weights``), then :func:`torch_default`.

    Linear weights and embeddings N(0, std²) (``initializer_range``, 0.02),
    Linear biases 0, the embedding's padding row 0, RMSNorm weights 1.
    """
    s = float(check_real("std", std, minimum=0.0))
    return [
        Rule(Normal(0.0, s), nn.Linear, "weight"),
        Rule(Constant(0.0), nn.Linear, "bias"),
        Rule(Normal(0.0, s, padding_idx=True), nn.Embedding, "weight"),
        *_norm_rules(),
        *torch_default(),
    ]


def vit(std: float = 0.02) -> list[Rule]:
    """timm's Vision Transformer (``init_weights_vit_timm``), then :func:`torch_default`.

    Linear weights ``trunc_normal_(std=0.02)`` (absolute bounds ±2, i.e.
    ±100 std), Linear biases 0, ``pos_embed`` ``trunc_normal_(std=0.02)``,
    ``cls_token`` and ``reg_token`` N(0, 1e-6²); the patch embedding's conv
    and the norms keep torch's defaults.
    """
    s = float(check_real("std", std, positive=True))
    return [
        Rule(TruncNormal(0.0, s, -2.0, 2.0), nn.Linear, "weight"),
        Rule(Constant(0.0), nn.Linear, "bias"),
        Rule(TruncNormal(0.0, s, -2.0, 2.0), None, "pos_embed"),
        Rule(Normal(0.0, 1e-6), None, "cls_token"),
        Rule(Normal(0.0, 1e-6), None, "reg_token"),
        *torch_default(),
    ]


def _n_layer(module: nn.Module) -> int:
    config = getattr(module, "config", None)
    for source in (config, module):
        for attr in ("n_layer", "num_hidden_layers"):
            value = getattr(source, attr, None)
            if isinstance(value, int) and value > 0:
                return value
    raise ValueError(
        "preset 'gpt2' needs the number of layers, which this module does not carry (no config.n_layer or "
        "n_layer attribute): pass preset=xinit_bench.torch.gpt2(n_layer=...)"
    )


#: The preset names and how each builds its rules from the module.
PRESETS: dict[str, Callable[[nn.Module], list[Rule]]] = {
    "torch_default": lambda module: torch_default(),
    "gpt2": lambda module: gpt2(_n_layer(module)),
    "llama": lambda module: llama(),
    "vit": lambda module: vit(),
}


def preset_rules(preset: Any, module: nn.Module) -> list[Rule]:
    """The rules of ``preset``: a name of :data:`PRESETS` or a sequence of :class:`Rule`."""
    if isinstance(preset, str):
        name = check_choice("preset", preset, tuple(PRESETS))
        return PRESETS[name](module)
    return _check_rules("preset", preset)


def _check_rules(name: str, rules: Any) -> list[Rule]:
    if isinstance(rules, (str, bytes, Rule)) or not isinstance(rules, Iterable):
        raise TypeError(f"{name} must be a preset name or a sequence of xinit_bench.torch.Rule, got {rules!r}")
    out = list(rules)
    for i, r in enumerate(out):
        if not isinstance(r, Rule):
            raise TypeError(f"{name}[{i}] must be an xinit_bench.torch.Rule, got {r!r}")
    return out


# --- whole-module init -----------------------------------------------------------
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
class _Entry:
    name: str
    tensor: torch.Tensor
    owner: nn.Module
    local: str
    rule: Rule | None = None
    match: nn.Module | None = None


def _entries(module: nn.Module, prefix: str) -> list[_Entry]:
    """Every parameter and buffer once (a tied tensor under its first name), with its owning module."""
    seen: set[int] = set()
    found: list[_Entry] = []
    for mname, mod in module.named_modules(remove_duplicate=False):
        for local, t in [*mod._parameters.items(), *mod._buffers.items()]:
            if t is None or id(t) in seen:
                continue
            seen.add(id(t))
            q = ".".join(p for p in (prefix, mname, local) if p)
            found.append(_Entry(q, t, mod, local))
    return found


def _match(rule: Rule, entry: _Entry, root: nn.Module, prefix: str) -> nn.Module | None:
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


def _check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str (the module's qualified name in the whole model), got {prefix!r}")
    return prefix.strip(".")


def _name_key(entropy: int, name: str) -> tuple[np.uint32, np.uint32, np.uint32]:
    """The key of the tensor ``name``: ``SeedSequence(seed, spawn_key=(tag, h0, h1))`` on stream 0.

    ``(h0, h1)`` are the 64 bits of a BLAKE2b hash of the UTF-8 name, and the
    tag word keeps these keys apart from :meth:`xinit_bench.Generator.spawn`'s
    children.  SeedSequence hashes the seed and the name together into the
    64-bit key, so two of N tensors share a key with probability about
    N² / 2**65.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=b"xinit-torch").digest()
    h0, h1 = int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")
    seq = np.random.SeedSequence(entropy, spawn_key=(_NAME_TAG, h0, h1))
    k0, k1 = seq.generate_state(2, np.uint32)
    return np.uint32(k0), np.uint32(k1), np.uint32(0)


#: "tnam": the first spawn-key word of the name-keyed streams.
_NAME_TAG = 0x746E616D


def _assign(module: nn.Module, preset: Any, rules: Any, prefix: str) -> tuple[list[_Entry], list[Rule]]:
    """Every tensor of ``module`` with the first rule that covers it; custom rules must each match something."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    custom = _check_rules("rules", rules)
    ordered = [*custom, *preset_rules(preset, module)]
    entries = _entries(module, prefix)
    unmatched = []
    for rule in custom:
        if not any(_match(rule, e, module, prefix) is not None for e in entries):
            unmatched.append(rule)
    if unmatched:
        raise ValueError(
            "rules must each match a tensor of the module, got "
            + "; ".join(repr(r) for r in unmatched)
            + " which match nothing"
        )
    for e in entries:
        for rule in ordered:
            owner = _match(rule, e, module, prefix)
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


def _entropy(seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    return check_seed(seed)


def _describe(init: Init, plan: Plan | None, dt: np.dtype[Any] | None) -> str:
    if plan is None or dt is None:
        return repr(init)
    kind, params = plan(np.dtype(np.float32) if is_half(dt) else dt)
    return f"{init!r}: {kind}{tuple(float(v) for v in params)}"


def _fill_entries(entries: Sequence[_Entry], entropy: int, report: InitReport) -> None:
    """Check every entry, then fill the random ones in one launch per (kind, dtype), then the constants."""
    work: list[tuple[_Entry, Plan, np.dtype[Any]]] = []
    constants: list[tuple[_Entry, float]] = []
    for e in entries:
        assert e.rule is not None and e.match is not None
        init = e.rule.init
        if isinstance(init, Skip):
            report.filled[e.name] = repr(init)
            continue
        if isinstance(init, Constant):
            _check_place(e.tensor, e.name)
            constants.append((e, float(init.value)))
            report.filled[e.name] = repr(init)
            continue
        dt = _check_tensor(e.tensor, e.name)
        plan = init.plan(e.tensor, e.match)
        if plan is None:  # a zero fan: nothing to draw (torch warns and leaves it)
            report.filled[e.name] = repr(init)
            continue
        _check_plan(plan, dt)
        work.append((e, plan, dt))
        report.filled[e.name] = _describe(init, plan, dt)
    jobs: list[Job] = []
    copies: list[tuple[torch.Tensor, torch.Tensor]] = []
    for e, plan, dt in work:
        more, copy = _jobs(e.tensor, dt, plan, _name_key(entropy, e.name))
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
        Each tensor's key is a hash of ``(seed, qualified name)`` (see
        ``_name_key``); ``None`` draws fresh entropy once for the call.
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
    pre = _check_prefix(prefix)
    patterns = _check_only(only)
    entropy = _entropy(seed)
    entries, _ = _assign(module, preset, rules, pre)
    report = InitReport()
    chosen = []
    for e in entries:
        if patterns is not None and not any(fnmatch.fnmatchcase(e.name, p) for p in patterns):
            continue
        if e.rule is None:
            report.untouched.append(e.name)
        else:
            chosen.append(e)
    _fill_entries(chosen, entropy, report)
    return report


# --- meta-device materialisation ------------------------------------------------
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
    pre = _check_prefix(prefix)
    entropy = _entropy(seed)
    hook_map = dict(hooks or {})
    for pattern, fn in hook_map.items():
        if not isinstance(pattern, str) or not callable(fn):
            raise TypeError(f"hooks must map globs (str) to callables, got {pattern!r}: {fn!r}")
    entries, _ = _assign(module, preset, rules, pre)
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
        if drawn and _np_dtype(e.tensor.dtype) is None:
            raise TypeError(f"{e.name} must be {_FLOATS} tensor, got dtype {e.tensor.dtype}")
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
    _fill_entries([e for e in meta if e.name not in hooked and e.rule is not None], entropy, report)
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
