"""What the two Monte Carlo engines (``montecarlo.py`` for MLPs, ``netsim.py`` for networks) share.

The summary of a per-repeat statistic: mean and standard error over the
independent networks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["standard_error", "summary"]

Array = NDArray[np.float64]


def standard_error(per_repeat: Array) -> Array:
    r"""Standard error of the mean over rows (repeats) of ``per_repeat``, NaN for one row.

    .. math::

        \mathrm{se} = \frac{\mathrm{std}_{\mathrm{ddof}=1}}{\sqrt{R}}

    Examples
    --------
    >>> standard_error(np.array([[1.0, 2.0], [3.0, 2.0]])).tolist()
    [1.0, 0.0]
    """
    R = per_repeat.shape[0]
    if R < 2:
        return np.full(per_repeat.shape[1], np.nan)
    return np.asarray(per_repeat.std(axis=0, ddof=1) / math.sqrt(R))


def summary(per_repeat: Array | None) -> dict[str, Any] | None:
    """JSON-ready ``{"mean", "se", "per_repeat"}`` of a (repeats, L) statistic; ``se`` None for one repeat."""
    if per_repeat is None:
        return None
    return {
        "mean": per_repeat.mean(axis=0).tolist(),
        "se": None if per_repeat.shape[0] < 2 else standard_error(per_repeat).tolist(),
        "per_repeat": per_repeat.tolist(),
    }
