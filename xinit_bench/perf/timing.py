"""Interleaved timing under two clocks.

* **Same run, interleaved.**  The callables of one measurement alternate:
  repetition ``r`` runs them in an order rotated by ``r``, so slow drifts of
  the machine hit all of them alike.
* **No compilation in the clock.**  Each callable is called once before timing.
* **Medians** of the repetitions; one repetition times ``number`` back-to-back
  calls, with ``number`` chosen so a repetition lasts at least
  ``min_sample_time`` (small calls are shorter than the clocks' useful
  resolution).
* **Both timers.**  ``time.perf_counter`` (wall time: what a user waits) and
  ``time.process_time`` (CPU time summed over the threads of this process) are
  recorded for every sample.  Throughput is reported from wall time; the gate
  uses CPU time (see :mod:`xinit_bench.perf.figures`).
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

Timer = Literal["wall", "cpu"]
TIMERS: tuple[Timer, ...] = ("wall", "cpu")
DEFAULT_REPEATS = 5
#: A repetition lasts at least this long, so that clock resolution and
#: per-call jitter stay below 1 % of a sample.
DEFAULT_MIN_SAMPLE_TIME = 0.01


@dataclass
class Timing:
    """Per-call times of one callable, seconds, one sample per repetition."""

    number: int
    wall: list[float]
    cpu: list[float]

    def samples(self, timer: Timer = "wall") -> list[float]:
        """The per-call samples under ``timer``."""
        return self.wall if timer == "wall" else self.cpu

    def median(self, timer: Timer = "wall") -> float:
        """Median seconds per call under ``timer``."""
        return statistics.median(self.samples(timer))


def _time_block(call: Callable[[], object], number: int) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(number):
        call()
    return time.perf_counter() - wall0, time.process_time() - cpu0


def time_interleaved(
    calls: Mapping[str, Callable[[], object]],
    *,
    repeats: int = DEFAULT_REPEATS,
    min_sample_time: float = DEFAULT_MIN_SAMPLE_TIME,
) -> dict[str, Timing]:
    """Time ``calls`` against each other, interleaved, after one warm-up call each.

    Parameters
    ----------
    calls
        Name -> zero-argument callable.  All are timed in each repetition, in
        an order rotated by the repetition index.
    repeats
        Number of repetitions (samples per callable); at least 1.
    min_sample_time
        Each callable's ``number`` of calls per sample is chosen from its
        warm-up time so that one sample lasts at least this many seconds.

    Returns
    -------
    dict
        Name -> :class:`Timing` with ``repeats`` per-call samples of both timers.

    Raises
    ------
    ValueError
        If ``repeats`` is below 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    names = list(calls)
    numbers: dict[str, int] = {}
    for name in names:
        calls[name]()  # warm-up: compilation and first-touch effects stay out of the clock
        wall, _ = _time_block(calls[name], 1)
        numbers[name] = max(1, math.ceil(min_sample_time / max(wall, 1e-9)))
    timings = {name: Timing(numbers[name], [], []) for name in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rep in range(repeats):
            shift = rep % len(names)
            for name in names[shift:] + names[:shift]:
                wall, cpu = _time_block(calls[name], numbers[name])
                timings[name].wall.append(wall / numbers[name])
                timings[name].cpu.append(cpu / numbers[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings
