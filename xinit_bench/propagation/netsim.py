r"""Monte Carlo forward and backward propagation through a :class:`~xinit_bench.propagation.architecture.Network`.

One repeat draws an input batch ``x ~ N(0, q^0)`` (shape ``(B, *spatial, c)``,
channels last), then runs the layers in order, drawing each layer's weights
(and biases) when it is reached, then draws a unit-variance top gradient
``dL/dy ~ N(0, 1)`` and runs back down.  Per entry of
:attr:`Network.labels` it records ``E[y^2]`` of the entry's output and
``E[(dL/dy)^2]`` at it, each averaged over the batch, the units and the
positions.  The repeats are independent networks; the result is their mean
and standard error.

The layers' operations are in :mod:`~xinit_bench.propagation.netops`, one
repeat's pass and the memory estimate in
:mod:`~xinit_bench.propagation.netengine`; this module validates, runs the
repeats and holds the results.

Weights come from this project's samplers (:mod:`xinit_bench.init`,
:mod:`xinit_bench.samplers`, :mod:`xinit_bench.orthogonal`) and one
``xinit_bench.Generator``, in the order above, and every sum outside BLAS is
in an order fixed by the shapes: a seed gives the same bits for any number of
Numba threads (``kernel_threads``, ``NUMBA_NUM_THREADS``).  The GEMMs are
OpenBLAS's, whose result depends on its own thread count: of eight float32
shapes from (16, 256, 256) to (512, 512, 512), seven gave different bits on 1
and 2 OpenBLAS threads (only (40, 96, 96), below its threading threshold,
agreed).  To reproduce bits across machines, fix ``OPENBLAS_NUM_THREADS``.

Memory: the weights, ``phi'(X)`` of every activation, ``Y`` and
``1/sqrt(s^2 + eps)`` of every LayerNorm (what the backward pass reads), plus a
pool of work buffers that the pass takes and returns (a few per nesting level
of residuals) and the im2col buffers; :func:`estimate_network_memory` bounds
it, and :func:`simulate_network` refuses above ``max_memory`` before
allocating.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._rng import Generator
from ..runtime import check_thread_count, threads
from ..validation import check_callable, check_dtype, check_int
from .architecture import Network
from .mcstats import MAGNITUDE_MARGIN, CorrelationStats, interleaved, progress_ticker, standard_error, summary
from .netengine import NetEngine as _Engine
from .netengine import check_network_memory, estimate_network_memory
from .nettheory import TheoryUnavailable, predict_network
from .network import bounded_count
from .pairs import check_c0, check_pairs

__all__ = [
    "NetworkSimulation",
    "NetworkSpeed",
    "estimate_network_memory",
    "measure_network_speed",
    "simulate_network",
]

Array = NDArray[np.float64]
Progress = Callable[[int, int], None]


# --- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkSimulation(CorrelationStats):
    """Output of :func:`simulate_network`: per entry of :attr:`Network.labels`.

    ``per_repeat_forward`` and ``per_repeat_backward`` are (repeats, entries);
    ``forward``, ``backward`` their means over repeats, ``forward_se``,
    ``backward_se`` the standard errors ``std(ddof=1)/sqrt(repeats)`` (NaN for
    one repeat).  With ``c0`` given, ``per_repeat_correlation`` (repeats,
    entries) is each network's measured correlation of its input pairs at
    each entry's output (the indexing of :attr:`forward`), and
    :attr:`correlation`, :attr:`correlation_se` its mean and standard error;
    otherwise all three are None.
    """

    labels: tuple[str, ...]
    batch: int
    repeats: int
    seed: int
    dtype: str
    per_repeat_forward: Array
    per_repeat_backward: Array
    c0: float | None = None
    per_repeat_correlation: Array | None = None

    @property
    def forward(self) -> Array:
        """Mean over repeats of ``E[y^2]`` per entry."""
        return np.asarray(self.per_repeat_forward.mean(axis=0))

    @property
    def backward(self) -> Array:
        """Mean over repeats of ``E[(dL/dy)^2]`` per entry."""
        return np.asarray(self.per_repeat_backward.mean(axis=0))

    @property
    def forward_se(self) -> Array:
        """Standard error of :attr:`forward`."""
        return standard_error(self.per_repeat_forward)

    @property
    def backward_se(self) -> Array:
        """Standard error of :attr:`backward`."""
        return standard_error(self.per_repeat_backward)

    @property
    def depth(self) -> int:
        """Entries."""
        return len(self.labels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (standard errors None for one repeat; ``correlation`` None without ``c0``)."""
        return {
            "labels": list(self.labels),
            "batch": self.batch,
            "repeats": self.repeats,
            "seed": self.seed,
            "dtype": self.dtype,
            "forward": summary(self.per_repeat_forward),
            "backward": summary(self.per_repeat_backward),
            "c0": self.c0,
            "correlation": summary(self.per_repeat_correlation),
        }


def _check_run(
    net: Any, batch: Any, repeats: Any, seed: Any, dtype: Any, kernel_threads: Any, repeats_name: str = "repeats"
) -> tuple[int, int, int, type, int | None]:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    return (
        bounded_count("batch", batch, 2**31 - 1),
        bounded_count(repeats_name, repeats, 2**31 - 1),
        check_int("seed", seed, minimum=0),
        check_dtype("dtype", dtype).type,
        None if kernel_threads is None else check_thread_count("kernel_threads", kernel_threads),
    )


def _check_magnitudes(net: Network, dt: type) -> None:
    """Refuse a network whose predicted second moments come near the dtype's largest value."""
    try:
        p = predict_network(net)
    except TheoryUnavailable:
        return
    root = float(np.finfo(dt).max) / MAGNITUDE_MARGIN
    limit = root * root
    peak = max(float(np.max(p.forward)), float(np.max(p.backward)))
    if not peak <= limit:
        k = int(np.argmax(np.maximum(p.forward, p.backward)))
        raise ValueError(
            f"the network must keep its values well inside {np.dtype(dt).name}: the mean-field prediction "
            f"reaches a second moment of {peak:.3g} at {net.labels[k]!r}, above {limit:.3g}; "
            "use float64, fewer layers or smaller gains"
        )


def simulate_network(
    net: Network,
    *,
    batch: int = 256,
    repeats: int = 4,
    seed: int = 0,
    dtype: DTypeLike = np.float32,
    max_memory: int | None = None,
    progress: Progress | None = None,
    kernel_threads: int | None = 1,
    c0: float | None = None,
) -> NetworkSimulation:
    """Measure ``E[y^2]`` and ``E[(dL/dy)^2]`` per entry of ``net`` by Monte Carlo (module docstring).

    Parameters
    ----------
    net : Network
    batch, repeats : int
        Examples per network, independent networks.
    seed : int
        Same seed, same bits (any number of Numba threads; OpenBLAS threads fixed, see the module docstring).
    dtype : float32 or float64
    max_memory : int, optional
        Refuse above this many bytes (default 80% of available memory).
    progress : callable, optional
        ``progress(done, total)`` after each entry of each pass.
    kernel_threads : int or None
        Numba threads of the kernels, as for :func:`~xinit_bench.propagation.simulate`.
    c0 : float, optional
        Also measure the correlation of ``batch / 2`` input pairs of
        correlation ``c0`` (each of the input's second moment) at every
        entry's output, ``sum_p <y_a, y_b> / sqrt(sum_p |y_a|^2 sum_p |y_b|^2)``
        over the pairs, units and positions (:mod:`~xinit_bench.propagation.pairs`).

    Raises
    ------
    TypeError, ValueError
        Before anything is allocated: a bad argument, a network whose values
        would overflow ``dtype`` by the theory, or one that does not fit in
        memory; ``c0`` outside [-1, 1], or with an odd batch or an input of
        one value per example (unless ``c0 = +-1``): such inputs cannot be paired.

    Examples
    --------
    >>> from xinit_bench.propagation.architecture import Act, Dense, Input
    >>> r = simulate_network(Network(Input(32), Dense(32), Act("relu")), batch=16, repeats=2)
    >>> r.per_repeat_forward.shape
    (2, 2)
    """
    B, R, s0, dt, n_threads = _check_run(net, batch, repeats, seed, dtype, kernel_threads)
    limit = None if max_memory is None else check_int("max_memory", max_memory, minimum=0)
    check_callable("progress", progress, optional=True)
    pair_c0 = check_c0(c0)
    check_pairs(pair_c0, B, math.prod(net.input_shape))
    _check_magnitudes(net, dt)
    check_network_memory(net, B, dt, limit, R, pair_c0 is not None)
    eng = _Engine(net, B, dt, pair_c0)
    gen = Generator(s0)
    L = net.depth
    raw = np.empty((R, 2 if pair_c0 is None else 3, L))
    tick = progress_ticker(progress, R * 2 * L)

    with threads(n_threads):
        for r in range(R):
            eng.run(gen, raw[r], tick)
    corr = None if pair_c0 is None else raw[:, 2, :].copy()
    fwd, bwd = raw[:, 0, :].copy(), raw[:, 1, :].copy()
    return NetworkSimulation(net.labels, B, R, s0, np.dtype(dt).name, fwd, bwd, pair_c0, corr)


@dataclass(frozen=True)
class NetworkSpeed:
    """Interleaved timings of :func:`measure_network_speed` (seconds per forward+backward pass)."""

    name: str
    simulate_seconds: list[float]
    bare_seconds: list[float]
    runs: int
    batch: int

    @property
    def ratio(self) -> float:
        """Median simulation time over median bare-operation time."""
        return statistics.median(self.simulate_seconds) / statistics.median(self.bare_seconds)


def measure_network_speed(
    net: Network,
    *,
    name: str = "network",
    batch: int = 256,
    runs: int = 5,
    dtype: DTypeLike = np.float32,
    seed: int = 0,
    kernel_threads: int | None = 1,
) -> NetworkSpeed:
    """Time one Monte Carlo repeat of ``net`` against its bare operations, interleaved, in the same run.

    The baseline is the same GEMMs forward and backward (``X W^T`` and
    ``G W`` per dense layer), and for a conv the same im2col (``numpy.take``)
    and GEMMs, on buffers of the same shapes.  One untimed warm-up of each,
    then ``runs`` alternations timed with ``time.perf_counter``.
    """
    B, n_runs, s0, dt, n_threads = _check_run(net, batch, runs, seed, dtype, kernel_threads, "runs")
    check_network_memory(net, B, dt, None, 1)
    eng = _Engine(net, B, dt)
    gen = Generator(s0)
    out = np.empty((2, net.depth))
    with threads(n_threads):
        ts_sim, ts_bare = interleaved(lambda: eng.run(gen, out), eng.bare, n_runs)
    return NetworkSpeed(name, ts_sim, ts_bare, n_runs, B)
