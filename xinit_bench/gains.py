"""Recommended gains for nonlinearities, PyTorch-compatible."""

from __future__ import annotations

import math
import numbers
from typing import Any

#: PyTorch's table (``torch.nn.init.calculate_gain``), reproduced exactly.
_UNIT = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")
TORCH_NAMES: tuple[str, ...] = _UNIT + ("tanh", "relu", "leaky_relu", "selu")
#: Activations PyTorch rejects, for which xinit-bench derives the gain.
DERIVED_NAMES: tuple[str, ...] = ("gelu", "silu", "elu", "mish", "softplus")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain :math:`g` for weights followed by ``nonlinearity``.

    For PyTorch's names the values are PyTorch's, exactly:

    ==================================  ========================================
    nonlinearity                        gain
    ==================================  ========================================
    linear, conv*, conv_transpose*,     :math:`1`
    sigmoid
    tanh                                :math:`5/3`
    relu                                :math:`\\sqrt 2`
    leaky_relu (slope ``param``,        :math:`\\sqrt{2 / (1 + a^2)}`
    default 0.01)
    selu                                :math:`3/4`
    ==================================  ========================================

    For ``gelu``, ``silu``, ``elu`` (``param`` = alpha, default 1), ``mish``
    and ``softplus``, which PyTorch rejects, the gain is the forward-criterion
    gain of mean-field theory: the :math:`g` with
    :math:`g^2\\,\\mathbb E[\\phi(z)^2] = 1` for :math:`z \\sim N(0, 1)`, which
    keeps the pre-activation second moment at 1 from layer to layer
    (:func:`xinit_bench.propagation.critical_gain`).  It is computed by
    quadrature, not tabulated.

    Raises
    ------
    ValueError
        For an unknown name, or a slope that is a bool, not a number, or not
        finite.

    References
    ----------
    PyTorch ``torch.nn.init.calculate_gain``.
    B. Poole et al., "Exponential expressivity in deep neural networks through
    transient chaos", NeurIPS 2016.  https://arxiv.org/abs/1606.05340

    Examples
    --------
    >>> calculate_gain("tanh")
    1.6666666666666667
    >>> calculate_gain("leaky_relu", 0.2)
    1.3867504905630728
    """
    if nonlinearity in _UNIT:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity in DERIVED_NAMES:
        return _derived_gain(nonlinearity, param)
    raise ValueError(
        f"Unsupported nonlinearity {nonlinearity!r}; allowed: "
        + ", ".join(repr(n) for n in TORCH_NAMES + DERIVED_NAMES)
    )


def _derived_gain(nonlinearity: str, param: Any) -> float:
    from .propagation import critical_gain

    if param is not None and (isinstance(param, bool) or not isinstance(param, numbers.Real) or not math.isfinite(param)):
        raise ValueError(f"param {param!r} for {nonlinearity} is not a valid number")
    return float(critical_gain(nonlinearity, "forward", param=None if param is None else float(param)).gain)
