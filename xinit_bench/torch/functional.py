"""``torch.nn.init``'s in-place functions, with the bits of the matching NumPy samplers.

Each takes any CPU tensor or ``Parameter`` of float32, float64, float16 or
bfloat16, writes its storage directly (no copy, no NumPy round trip), and
never touches torch's global RNG: the draws come from ``seed=`` or an
:class:`xinit_bench.Generator` as ``generator=``.  The law of each call is
the plan layer's (:mod:`xinit_bench.plans`): ``xavier_uniform_(w)`` draws
exactly ``xinit_bench.xavier_uniform(w.shape)``.

``kaiming_uniform_`` and ``kaiming_normal_`` on a tensor with a zero in its
shape warn "Initializing zero-element tensors is a no-op" and return it
untouched, before any fan is computed and without taking a stream, as
torch's do (the other functions fill nothing there, silently, as torch's do).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from .._rng import Generator
from ..gains import calculate_gain
from ..plans import normal_law, truncated_normal_law, uniform_law
from ..validation import check_int, check_real
from .tensors import (
    check_constant,
    check_generator,
    check_place,
    check_tensor,
    check_writable,
    fill_one,
    scheme_plan,
)

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


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
    check_generator(generator)
    low, high = check_real("a", a), check_real("b", b)
    if not low < high:
        raise ValueError(f"b must be > a, got a={a!r}, b={b!r}")
    return fill_one(tensor, uniform_law(low, high), seed, generator)


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
    check_generator(generator)
    return fill_one(tensor, normal_law(mean, std), seed, generator)


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
    check_generator(generator)
    return fill_one(tensor, truncated_normal_law(mean, std, a, b, absolute=True), seed, generator)


def xavier_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, generator: Generator | None = None, *, seed: int | None = None
) -> torch.Tensor:
    """U(-b, b) with ``b = gain * sqrt(6 / (fan_in + fan_out))``, as ``torch.nn.init.xavier_uniform_``."""
    check_generator(generator)
    return fill_one(tensor, scheme_plan("xavier_uniform", check_place(tensor, "tensor"), gain), seed, generator)


def xavier_normal_(
    tensor: torch.Tensor, gain: float = 1.0, generator: Generator | None = None, *, seed: int | None = None
) -> torch.Tensor:
    """N(0, std²) with ``std = gain * sqrt(2 / (fan_in + fan_out))``, as ``torch.nn.init.xavier_normal_``."""
    check_generator(generator)
    return fill_one(tensor, scheme_plan("xavier_normal", check_place(tensor, "tensor"), gain), seed, generator)


#: torch's words, ``torch.nn.init.kaiming_uniform_`` and ``kaiming_normal_`` on a tensor with a zero in its shape.
ZERO_ELEMENT_WARNING = "Initializing zero-element tensors is a no-op"


def _zero_element(tensor: torch.Tensor) -> bool:
    """Warn as torch does and say so when ``tensor``'s shape holds a zero (the caller then returns it)."""
    if 0 in tensor.shape:
        warnings.warn(ZERO_ELEMENT_WARNING, UserWarning, stacklevel=3)
        return True
    return False


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
    check_generator(generator)
    if _zero_element(check_place(tensor, "tensor")):
        return tensor
    plan = scheme_plan("he_uniform", tensor, a=a, mode=mode, nonlinearity=nonlinearity)
    return fill_one(tensor, plan, seed, generator)


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
    check_generator(generator)
    if _zero_element(check_place(tensor, "tensor")):
        return tensor
    plan = scheme_plan("he_normal", tensor, a=a, mode=mode, nonlinearity=nonlinearity)
    return fill_one(tensor, plan, seed, generator)


def constant_(tensor: torch.Tensor, val: float) -> torch.Tensor:
    """Fill ``tensor`` with ``val`` in place (torch's ``fill_``, which draws nothing).

    Raises
    ------
    ValueError
        A ``val`` the dtype cannot hold (``1e10`` in float16); an inference
        tensor outside ``torch.inference_mode()``.  Nothing is written.
    """
    check_tensor(tensor)
    v = check_real("val", val, allow_inf=True)
    check_constant(v, tensor.dtype, "tensor")
    check_writable(tensor, "tensor")
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
    check_tensor(tensor)
    if tensor.dim() != 2:
        raise ValueError(f"tensor must have rank 2, got shape {tuple(tensor.shape)}")
    check_writable(tensor, "tensor")
    return nn.init.eye_(tensor)


def dirac_(tensor: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """The Dirac delta in a 3-, 4- or 5-d ``tensor``, in place (``torch.nn.init.dirac_``, which draws nothing)."""
    check_tensor(tensor)
    if tensor.dim() not in (3, 4, 5):
        raise ValueError(f"tensor must have rank 3, 4 or 5, got shape {tuple(tensor.shape)}")
    g = check_int("groups", groups, minimum=1)
    if tensor.shape[0] % g:
        raise ValueError(f"groups must divide the tensor's first dimension {tensor.shape[0]}, got groups={groups!r}")
    check_writable(tensor, "tensor")
    return nn.init.dirac_(tensor, g)
