"""What the two Monte Carlo engines (``montecarlo.py`` for MLPs, ``netsim.py`` for networks) share.

The summary of a per-repeat statistic (mean and standard error over the
independent networks) and the measured correlation of a run with ``c0``; the
progress counter; the refusal of a parallel run in a forked child; the
memory check against the limit; and the interleaved timing of the speed
measurements.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..runtime import available_memory, parallel_allowed, prepare_threading

__all__ = [
    "MAGNITUDE_MARGIN",
    "CorrelationStats",
    "check_fits_memory",
    "interleaved",
    "progress_ticker",
    "require_parallel",
    "standard_error",
    "summary",
]

Array = NDArray[np.float64]
Progress = Callable[[int, int], None]

#: Margin between the predicted RMS of a value and the dtype's largest value: the GEMMs sum
#: products of heavy-tailed terms, and one overflow makes a statistic inf or NaN.
MAGNITUDE_MARGIN = 1e6


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


class CorrelationStats:
    """``correlation`` and ``correlation_se`` of a result's ``per_repeat_correlation`` (None without ``c0``)."""

    per_repeat_correlation: Array | None

    @property
    def correlation(self) -> Array | None:
        """Mean over repeats of the measured correlation per layer (None without ``c0``)."""
        c = self.per_repeat_correlation
        return None if c is None else np.asarray(c.mean(axis=0))

    @property
    def correlation_se(self) -> Array | None:
        """Standard error of :attr:`correlation`, ``std(ddof=1) / sqrt(repeats)`` (NaN for one repeat)."""
        c = self.per_repeat_correlation
        return None if c is None else standard_error(c)


def progress_ticker(progress: Progress | None, total: int) -> Callable[[], None]:
    """A callable that counts one step and reports ``progress(done, total)`` when ``progress`` is given."""
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    return tick


def require_parallel() -> None:
    """Prepare Numba's threading layer, or refuse (``RuntimeError``) in a forked child of an OpenMP process."""
    prepare_threading()
    if not parallel_allowed():
        raise RuntimeError(
            "the Monte Carlo engine's parallel kernels cannot run in a process forked from one that uses "
            "Numba's OpenMP threading layer (GNU OpenMP kills the child); start workers with the 'spawn' "
            "method, or install tbb so that Numba uses its fork-safe TBB layer"
        )


def check_fits_memory(need: int, max_memory: int | None, subject: str, what: str, remedy: str) -> None:
    """Refuse (``ValueError``) ``need`` bytes above ``max_memory``, by default 80% of the available memory.

    The message reads ``"{subject} must fit in memory: the simulation needs an
    estimated ... for {what}; the limit is ... {remedy}"``.
    """
    cap = int(0.8 * available_memory()) if max_memory is None else int(max_memory)
    if need > cap:
        raise ValueError(
            f"{subject} must fit in memory: the simulation needs an estimated {need / 2**30:.2f} GiB "
            f"({need} bytes) for {what}; the limit is {cap / 2**30:.2f} GiB "
            f"({'80% of available memory' if max_memory is None else 'max_memory'}). {remedy}"
        )


def interleaved(first: Callable[[], None], second: Callable[[], None], runs: int) -> tuple[list[float], list[float]]:
    """One untimed call of each, then ``runs`` alternations, each call timed with ``time.perf_counter``."""
    first()
    second()
    ts_a: list[float] = []
    ts_b: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        first()
        ts_a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        second()
        ts_b.append(time.perf_counter() - t0)
    return ts_a, ts_b
