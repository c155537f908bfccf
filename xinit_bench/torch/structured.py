"""``torch.nn.init.orthogonal_`` and ``sparse_`` with the bits of :mod:`xinit_bench.orthogonal`.

``orthogonal_(w, gain, seed=s)`` writes ``xinit_bench.orthogonal.orthogonal(w.shape, gain, seed=s,
dtype=w's dtype)`` into ``w``: the same values on any thread count and any x86-64 CPU, in float32,
float64, float16 and bfloat16 (the QR runs in float64; half tensors get the float64 result rounded
once).  ``sparse_`` likewise writes :func:`xinit_bench.orthogonal.sparse`.  Neither draws from
torch's RNG: ``generator=`` is an :class:`xinit_bench.Generator`.

Every check runs before anything is written or a stream is reserved.  A zero-element tensor is
left as it is (torch's ``orthogonal_`` is a no-op there); like every call with a generator, it
still takes one stream.  A non-contiguous view gets the values of a contiguous tensor of its
logical shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._rng import Generator
from ..orthogonal import orthogonal, sparse
from .tensors import bump, check_distinct, check_generator, check_tensor, check_writable

__all__ = ["orthogonal_", "sparse_"]


def _write(tensor: torch.Tensor, values: np.ndarray[Any, Any]) -> None:
    """Copy the NumPy ``values`` (of the tensor's dtype; bfloat16 as ml_dtypes') into ``tensor``."""
    if values.size == 0:
        return
    if values.dtype.name == "bfloat16":
        source = torch.from_numpy(values.view(np.uint16)).view(torch.bfloat16)
    else:
        source = torch.from_numpy(values)
    with torch.no_grad():
        tensor.detach().copy_(source)
    bump([tensor])


def orthogonal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    generator: Generator | None = None,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with a (semi-)orthogonal matrix in place, as ``torch.nn.init.orthogonal_``.

    The tensor is read as ``(shape[0], prod(shape[1:]))``, as torch reads it, and gets
    :func:`xinit_bench.orthogonal.orthogonal` of its shape: ``gain`` times the sign-fixed ``Q``
    of a Householder QR of a Gaussian matrix, Haar-distributed, the same bits everywhere.

    Raises
    ------
    TypeError
        Not a float tensor, a ``torch.Generator`` as ``generator``, a gain that is not a number.
    ValueError
        Fewer than 2 dimensions ("Only tensors with 2 or more dimensions are supported"), a
        negative or non-finite gain, a meta or CUDA tensor, an expanded view.  Nothing is written
        and no generator advances.

    Examples
    --------
    >>> import torch
    >>> from xinit_bench.torch.structured import orthogonal_
    >>> w = orthogonal_(torch.empty(3, 5, dtype=torch.float64), seed=0)
    >>> bool(torch.allclose(w @ w.T, torch.eye(3, dtype=torch.float64), atol=1e-12))
    True
    """
    check_generator(generator)
    dt = check_tensor(tensor)
    if tensor.dim() < 2:
        raise ValueError(
            "tensor must have 2 or more dimensions (Only tensors with 2 or more dimensions are supported), "
            f"got shape {tuple(tensor.shape)}"
        )
    check_writable(tensor, "tensor")
    check_distinct(tensor, "tensor")
    values = orthogonal(tuple(tensor.shape), gain, seed=seed, generator=generator, dtype=dt)
    _write(tensor, values)
    return tensor


def sparse_(
    tensor: torch.Tensor,
    sparsity: float,
    std: float = 0.01,
    generator: Generator | None = None,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """Fill the 2-d ``tensor`` as a sparse matrix in place, as ``torch.nn.init.sparse_``.

    Each column gets ``ceil(sparsity * rows)`` zeros at uniformly random rows and
    :math:`N(0, \\text{std}^2)` elsewhere: :func:`xinit_bench.orthogonal.sparse`, whose
    docstring says which stream positions decide what.

    Raises
    ------
    TypeError
        Not a float tensor, a ``torch.Generator`` as ``generator``.
    ValueError
        Not 2 dimensions ("Only tensors with 2 dimensions are supported"), ``sparsity``
        outside ``[0, 1)``, a negative ``std``.  Nothing is written and no generator advances.

    Examples
    --------
    >>> import torch
    >>> from xinit_bench.torch.structured import sparse_
    >>> (sparse_(torch.empty(10, 4), 0.3, seed=0) == 0).sum(dim=0).tolist()
    [3, 3, 3, 3]
    """
    check_generator(generator)
    dt = check_tensor(tensor)
    if tensor.dim() != 2:
        raise ValueError(
            "tensor must have 2 dimensions (Only tensors with 2 dimensions are supported), "
            f"got shape {tuple(tensor.shape)}"
        )
    check_writable(tensor, "tensor")
    check_distinct(tensor, "tensor")
    values = sparse(tuple(tensor.shape), sparsity, std, seed=seed, generator=generator, dtype=dt)
    _write(tensor, values)
    return tensor
