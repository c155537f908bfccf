"""Fan-in and fan-out of a weight tensor, in PyTorch's and Keras/JAX's layouts."""

from __future__ import annotations

import math
from typing import Literal, Sequence

from ._validate import check_choice, check_shape

Layout = Literal["torch", "keras", "jax"]
LAYOUTS: tuple[str, ...] = ("torch", "keras", "jax")


def _axis(name: str, axis: int, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"{name} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


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
    ValueError
        For rank < 2 (pass ``fans=`` to the initialiser instead), an unknown
        layout, or overlapping axes.

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
            f"fans cannot be inferred for a tensor of rank {ndim} (shape {dims}); "
            "rank >= 2 is needed, or pass fans=(fan_in, fan_out) explicitly"
        )
    default_in, default_out = (1, 0) if layout == "torch" else (-2, -1)
    i = _axis("in_axis", default_in if in_axis is None else in_axis, ndim)
    o = _axis("out_axis", default_out if out_axis is None else out_axis, ndim)
    batch = {_axis("batch_axis", b, ndim) for b in batch_axis}
    if i == o or i in batch or o in batch:
        raise ValueError(f"in_axis, out_axis and batch_axis must be distinct, got {i}, {o}, {sorted(batch)}")
    receptive = math.prod(d for k, d in enumerate(dims) if k not in batch and k not in (i, o))
    return dims[i] * receptive, dims[o] * receptive
