"""Fan-in and fan-out of a weight tensor, in PyTorch's and Keras/JAX's layouts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from .validation import check_choice, check_int, check_shape, is_int

Layout = Literal["torch", "keras", "jax"]
LAYOUTS: tuple[str, ...] = ("torch", "keras", "jax")


def _axis(name: str, axis: Any, ndim: int) -> int:
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without building the message
        return axis % ndim
    what = f"an int in [{-ndim}, {ndim - 1}] (an axis of a tensor of rank {ndim})"
    return check_int(name, axis, minimum=-ndim, maximum=ndim - 1, what=what) % ndim


def _batch_axes(batch_axis: Any, ndim: int) -> set[int]:
    if type(batch_axis) is tuple and not batch_axis:  # the default
        return set()
    if is_int(batch_axis) or isinstance(batch_axis, (str, bytes)) or not isinstance(batch_axis, Sequence):
        raise TypeError(f"batch_axis must be a sequence of ints, got {batch_axis!r}")
    return {_axis(f"batch_axis[{k}]", b, ndim) for k, b in enumerate(batch_axis)}


def compute_fans(
    shape: int | Sequence[int],
    layout: Layout = "torch",
    *,
    in_axis: int | None = None,
    out_axis: int | None = None,
    batch_axis: Sequence[int] = (),
) -> tuple[int, int]:
    """Fan-in and fan-out of a weight of ``shape``.

    .. math::

        \\text{fan\\_in} = n_\\text{in} \\cdot r, \\qquad
        \\text{fan\\_out} = n_\\text{out} \\cdot r, \\qquad
        r = \\prod_{d \\notin \\{\\text{in}, \\text{out}, \\text{batch}\\}} \\text{shape}[d],

    where :math:`r` is the receptive-field size (the kernel's spatial extent).

    Parameters
    ----------
    shape : sequence of int
        The weight's shape; rank at least 2.
    layout : {"torch", "keras", "jax"}
        ``"torch"``: ``(out, in, *kernel)``, as ``torch.nn.Linear``/``Conv*d``
        store weights (``in_axis=1, out_axis=0``).  ``"keras"`` and ``"jax"``:
        ``(*kernel, in, out)`` (``in_axis=-2, out_axis=-1``).
    in_axis, out_axis : int, optional
        Explicit axes; they override ``layout``.
    batch_axis : sequence of int
        Axes excluded from both fans (JAX's ``batch_axis``), e.g. a stack of
        independent matrices.

    Returns
    -------
    (fan_in, fan_out) : tuple of int

    Raises
    ------
    TypeError
        A shape that is not ints, a layout that is not a str, an axis that is
        not an int.
    ValueError
        For rank < 2 (pass ``fans=`` to the initialiser instead), an unknown
        layout, an axis out of range, or overlapping axes.

    References
    ----------
    PyTorch ``torch.nn.init._calculate_fan_in_and_fan_out``; Keras
    ``initializers._compute_fans``; JAX ``nn.initializers.variance_scaling``.

    Examples
    --------
    >>> compute_fans((64, 3, 5, 5))                    # torch Conv2d(3, 64, 5)
    (75, 1600)
    >>> compute_fans((5, 5, 3, 64), layout="keras")     # keras Conv2D(64, 5) on 3 channels
    (75, 1600)
    """
    dims = check_shape(shape)
    check_choice("layout", layout, LAYOUTS)
    ndim = len(dims)
    if ndim < 2:
        raise ValueError(
            f"shape must have rank >= 2 for the fans to be inferred (or pass fans=(fan_in, fan_out) "
            f"explicitly), got {dims}, of rank {ndim}"
        )
    default_in, default_out = (1, 0) if layout == "torch" else (-2, -1)
    i = _axis("in_axis", default_in if in_axis is None else in_axis, ndim)
    o = _axis("out_axis", default_out if out_axis is None else out_axis, ndim)
    batch = _batch_axes(batch_axis, ndim)
    if i == o or i in batch or o in batch:
        raise ValueError(f"in_axis, out_axis and batch_axis must be distinct, got {i}, {o}, {sorted(batch)}")
    receptive = math.prod(d for k, d in enumerate(dims) if k not in batch and k not in (i, o))
    return dims[i] * receptive, dims[o] * receptive
