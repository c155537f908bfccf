r"""Monte Carlo forward and backward propagation through a random MLP.

One repeat draws a network (weights with this project's samplers, biases
``N(0, sigma_b^2)``), an input batch ``x ~ N(0, q^0)`` and a top gradient
``dL/da^L ~ N(0, 1)``, then runs, for layers ``l = 1..L`` (batch-major,
``A^0 = X``):

.. math::

    H^l = A^{l-1} W^{l\top} + b^l,\quad A^l = \phi(H^l),\quad D^l = \phi'(H^l)

and back down:

.. math::

    \Delta^l = D^l \odot \frac{\partial L}{\partial A^l},\quad
    \frac{\partial L}{\partial A^{l-1}} = \Delta^l W^l,\quad
    G^l = \Delta^{l\top} A^{l-1} .

The GEMMs go to BLAS (NumPy ``matmul`` into preallocated outputs) in the
chosen dtype; activation, derivative and every per-layer sum are one fused
Numba pass (``xinit_bench.kernels.activations``).  Only ``A^l`` and ``D^l``
of each layer are kept, for the backward pass; the weights are kept because
the backward pass multiplies by them.

**Statistics** (per layer, averaged over the batch and the units):
``pre_sq`` = mean of ``h^2`` (``q^l``), ``act_sq`` and ``act_var`` of ``a``,
``grad_act_sq`` and ``grad_pre_sq`` (second moments of ``dL/da`` and
``dL/dh``), and ``weight_grad_var`` = ``mean(G^2) / B``: the loss is the sum
over the batch of ``g_b . a^L_b`` with independent zero-mean ``g_b``, so the
cross-example terms of ``G = sum_b delta_b a_b^T`` have zero mean and
``E[G_ij^2] / B`` is the per-example variance ``E[delta_i^2 a_j^2]``
predicted by Glorot & Bengio (2010), eq. (6).

**Reproducibility.**  All randomness comes from one ``xinit_bench.Generator``
in a fixed order (per repeat: input, then ``W^l, b^l`` for each layer, then
the top gradient), and the kernels (and the pair correlations of ``c0``) sum
in an order fixed by the shapes, so a seed gives the same bits on any number
of Numba threads.  The GEMMs are OpenBLAS's, whose bits depend on its own
thread count above its threading threshold: with the same seed,
``OPENBLAS_NUM_THREADS=1`` and ``2`` gave different SHA-256 of the results for
a tanh MLP of width 300 and batch 64, in float32 and in float64, and the same
for width 96 and batch 40 (below the threshold).  To reproduce bits, fix
``OPENBLAS_NUM_THREADS``; the statistics agree to rounding either way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._rng import Generator
from ..activations import Activation, get_activation
from ..runtime import check_thread_count, threads
from ..validation import check_bool, check_callable, check_dtype, check_int, check_real
from .architecture import Network
from .engine import STATS, Engine, check_memory, estimate_memory
from .mcstats import MAGNITUDE_MARGIN, CorrelationStats, interleaved, progress_ticker, summary
from .netsim import NetworkSimulation, simulate_network
from .network import InitSpec, bounded_count, resolve_widths
from .pairs import check_c0, check_pairs
from .theory import predict

__all__ = ["STATS", "Progress", "SimulationResult", "SpeedResult", "estimate_memory", "measure_speed", "simulate"]

Array = NDArray[np.float64]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SimulationResult(CorrelationStats):
    """Output of :func:`simulate`.

    ``per_repeat[stat]`` is a (repeats, L) array (column ``l - 1`` is layer
    ``l``); ``mean[stat]`` and ``se[stat]`` are the mean over repeats and its
    standard error ``std(ddof=1) / sqrt(repeats)`` (NaN for one repeat).
    ``singular_value_mean`` is the mean singular value of each ``W^l`` of
    the first repeat, when requested.  With ``c0`` given,
    ``per_repeat_correlation`` (repeats, L) is each network's measured
    correlation ``c^l`` of the pre-activations ``h^l`` of its input pairs
    (the indexing of ``pre_sq`` and of the theory's ``correlation``), and
    :attr:`correlation`, :attr:`correlation_se` its mean and standard error
    over repeats; otherwise all three are None.
    """

    activation: str
    widths: tuple[int, ...]
    init: str
    bias_std: float
    batch: int
    repeats: int
    seed: int
    dtype: str
    input_second_moment: float
    per_repeat: dict[str, Array]
    mean: dict[str, Array] = field(init=False)
    se: dict[str, Array] = field(init=False)
    singular_value_mean: Array | None = None
    c0: float | None = None
    per_repeat_correlation: Array | None = None

    def __post_init__(self) -> None:
        r = self.repeats
        object.__setattr__(self, "mean", {k: v.mean(axis=0) for k, v in self.per_repeat.items()})
        se = {
            k: (v.std(axis=0, ddof=1) / math.sqrt(r) if r > 1 else np.full(v.shape[1], np.nan))
            for k, v in self.per_repeat.items()
        }
        object.__setattr__(self, "se", se)

    @property
    def depth(self) -> int:
        """Number of layers ``L``."""
        return len(self.widths) - 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; standard errors are None when there is one repeat."""
        out: dict[str, Any] = {
            k: getattr(self, k)
            for k in ("activation", "init", "bias_std", "batch", "repeats", "seed", "dtype", "input_second_moment")
        }
        out["widths"] = list(self.widths)
        out["layers"] = {
            k: {
                "mean": self.mean[k].tolist(),
                "se": None if self.repeats == 1 else self.se[k].tolist(),
                "per_repeat": self.per_repeat[k].tolist(),
            }
            for k in STATS
        }
        out["singular_value_mean"] = None if self.singular_value_mean is None else self.singular_value_mean.tolist()
        out["c0"] = self.c0
        out["correlation"] = summary(self.per_repeat_correlation)
        return out


def _check_run(
    batch: Any, repeats: Any, seed: Any, dtype: Any, kernel_threads: Any, repeats_name: str = "repeats"
) -> tuple[int, int, int, type, int | None]:
    """The checks :func:`simulate` and :func:`measure_speed` share."""
    return (
        bounded_count("batch", batch, 2**63 - 1),
        bounded_count(repeats_name, repeats, 2**63 - 1),
        check_int("seed", seed, minimum=0),
        check_dtype("dtype", dtype).type,
        None if kernel_threads is None else check_thread_count("kernel_threads", kernel_threads),
    )


@overload
def simulate(
    activation: Network,
    *,
    batch: int = 256,
    repeats: int = 4,
    seed: int = 0,
    dtype: DTypeLike = np.float32,
    max_memory: int | None = None,
    progress: Progress | None = None,
    kernel_threads: int | None = 1,
    c0: float | None = None,
) -> NetworkSimulation: ...


@overload
def simulate(
    activation: str | Activation,
    *,
    depth: int | None = None,
    width: int | None = None,
    widths: Sequence[int] | None = None,
    init: str | InitSpec = "he_normal",
    gain: float | None = None,
    bias_std: float = 0.0,
    batch: int = 256,
    repeats: int = 4,
    seed: int = 0,
    dtype: DTypeLike = np.float32,
    input_second_moment: float = 1.0,
    param: float | None = None,
    singular_values: bool = False,
    max_memory: int | None = None,
    progress: Progress | None = None,
    kernel_threads: int | None = 1,
    c0: float | None = None,
) -> SimulationResult: ...


def simulate(
    activation: str | Activation | Network,
    *,
    depth: int | None = None,
    width: int | None = None,
    widths: Sequence[int] | None = None,
    init: str | InitSpec = "he_normal",
    gain: float | None = None,
    bias_std: float = 0.0,
    batch: int = 256,
    repeats: int = 4,
    seed: int = 0,
    dtype: DTypeLike = np.float32,
    input_second_moment: float = 1.0,
    param: float | None = None,
    singular_values: bool = False,
    max_memory: int | None = None,
    progress: Progress | None = None,
    kernel_threads: int | None = 1,
    c0: float | None = None,
) -> SimulationResult | NetworkSimulation:
    r"""Measure forward and backward second moments layer by layer by Monte Carlo.

    ``simulate(net, batch=, repeats=, seed=, dtype=, max_memory=, progress=,
    kernel_threads=, c0=)`` with a :class:`~xinit_bench.propagation.architecture.Network`
    returns :func:`~xinit_bench.propagation.netsim.simulate_network` of it;
    the MLP keywords are refused there.

    See the module docstring for the network, the statistics and the
    reproducibility guarantee; :func:`~xinit_bench.propagation.predict` gives
    the mean-field values they estimate.

    Parameters
    ----------
    activation : str or Activation
        Name from ``ACTIVATIONS``; ``param`` sets leaky_relu's slope or elu's alpha.
    depth, width, widths
        ``depth`` layers of ``width`` units, or explicit ``(n_0, ..., n_L)``.
    init : str or InitSpec
        e.g. ``"he_normal"``, ``"xavier_uniform"``, ``"lecun_truncated_normal"``,
        ``"standard"`` (U[-1/sqrt(n_in), 1/sqrt(n_in)], Glorot & Bengio 2010).
    gain : float, optional
        Overrides the scheme's default gain.
    bias_std : float
        Standard deviation of the biases (0: no bias).
    batch, repeats : int
        Examples per network and independent networks.
    seed : int
        Seed of the ``xinit_bench.Generator``: same seed, same bits.
    dtype : float32 or float64
    input_second_moment : float
        ``q^0``, the variance of the Gaussian input.
    singular_values : bool
        Also record the mean singular value of each ``W^l`` (first repeat).
    max_memory : int, optional
        Refuse above this many bytes (default 80% of available memory).
    progress : callable, optional
        Called as ``progress(done, total)`` after each layer of each pass.
    kernel_threads : int or None
        Numba threads for the weight sampling and the fused activation
        kernels (None: Numba's current setting).  The default 1 leaves the
        cores to the BLAS GEMMs, which dominate: on this project's 2-core
        machine, 2-thread kernels ran about 3x *slower* than 1-thread ones,
        because the Numba (OpenMP) and OpenBLAS thread pools busy-wait
        between calls and take cores from each other; with one thread the
        whole pass costs ~1.1x its bare GEMMs against ~1.9x
        (:func:`measure_speed`).  The results are the same bits for any
        value; across OpenBLAS thread counts only with
        ``OPENBLAS_NUM_THREADS`` fixed (module docstring).
    c0 : float, optional
        Also measure the correlation map: the batch becomes ``batch / 2``
        pairs of inputs, each of second moment ``q^0`` and correlation ``c0``
        exactly (:mod:`~xinit_bench.propagation.pairs`), and per layer
        ``c^l = sum_p <h_a, h_b> / sqrt(sum_p |h_a|^2 sum_p |h_b|^2)`` of the
        pre-activations is recorded per network.  ``batch`` must be even, and
        ``c0`` in [-1, 1].  The other statistics are still over the whole
        batch; a run with ``c0`` draws the same numbers as one without but
        pairs them, so its bits differ from the run without.

    Returns
    -------
    SimulationResult

    Raises
    ------
    TypeError
        An argument of the wrong type (a float depth, a str seed, ...).
    ValueError
        A value out of range, before anything runs: including a dtype other
        than float32 and float64, ``c0`` outside [-1, 1] or with an odd batch
        (or an input of one unit, unless ``c0 = +-1``), ``kernel_threads`` outside
        ``[1, NUMBA_NUM_THREADS]`` and a network that would not fit in memory
        (the message gives the estimate).

    References
    ----------
    .. [1] Glorot & Bengio (2010), https://proceedings.mlr.press/v9/glorot10a.html
    .. [2] He et al. (2015), https://arxiv.org/abs/1502.01852

    Examples
    --------
    >>> r = simulate("relu", depth=2, width=64, batch=32, repeats=2, seed=1)
    >>> r.per_repeat["pre_sq"].shape
    (2, 2)
    """
    if isinstance(activation, Network):
        mlp_only = {
            "depth": depth is None,
            "width": width is None,
            "widths": widths is None,
            "init": init == "he_normal",
            "gain": gain is None,
            "bias_std": bias_std == 0.0,
            "input_second_moment": input_second_moment == 1.0,
            "param": param is None,
            "singular_values": singular_values is False,
        }
        given = [k for k, default in mlp_only.items() if not default]
        if given:
            raise TypeError(f"simulate(net) takes no {given[0]}=: a Network describes its own layers")
        return simulate_network(
            activation,
            batch=batch,
            repeats=repeats,
            seed=seed,
            dtype=dtype,
            max_memory=max_memory,
            progress=progress,
            kernel_threads=kernel_threads,
            c0=c0,
        )
    act = get_activation(activation, param)
    ws = resolve_widths(depth, width, widths)
    spec = InitSpec.parse(init, gain)
    sb = check_real("bias_std", bias_std, minimum=0.0)
    q0 = check_real("input_second_moment", input_second_moment, positive=True)
    B, R, s0, dt, n_threads = _check_run(batch, repeats, seed, dtype, kernel_threads)
    record_svals = check_bool("singular_values", singular_values)
    limit = None if max_memory is None else check_int("max_memory", max_memory, minimum=0)
    check_callable("progress", progress, optional=True)
    pair_c0 = check_c0(c0)
    check_pairs(pair_c0, B, ws[0])
    spec.check_fits(ws, dt)
    if sb > 0 and not (sb * 8.6 <= float(np.finfo(dt).max) and sb >= float(np.finfo(dt).smallest_normal)):
        info = np.finfo(dt)
        raise ValueError(
            f"bias_std must be 0 or in [{float(info.smallest_normal):.3g}, {float(info.max) / 8.6:.3g}] "
            f"for {np.dtype(dt).name} biases, got {bias_std!r}"
        )
    _check_magnitudes(act, ws, spec, sb, q0, dt)
    check_memory(ws, B, dt, limit, repeats=R, pairs=pair_c0 is not None)

    L = len(ws) - 1
    eng = Engine(act, ws, spec, sb, B, dt, q0, pair_c0)
    gen = Generator(s0)
    raw = np.empty((R, len(STATS), L))
    corr = None if pair_c0 is None else np.empty((R, L))
    svals = np.empty(L) if record_svals else None
    tick = progress_ticker(progress, R * 2 * L)

    with threads(n_threads):
        for r in range(R):
            eng.run(gen, raw[r], tick, svals if r == 0 else None, None if corr is None else corr[r])
    return SimulationResult(
        activation=act.label,
        widths=ws,
        init=spec.label,
        bias_std=sb,
        batch=B,
        repeats=R,
        seed=s0,
        dtype=np.dtype(dt).name,
        input_second_moment=q0,
        per_repeat={k: raw[:, i, :].copy() for i, k in enumerate(STATS)},
        singular_value_mean=svals,
        c0=pair_c0,
        per_repeat_correlation=corr,
    )


def _check_magnitudes(act: Activation, ws: tuple[int, ...], spec: InitSpec, sb: float, q0: float, dt: type) -> None:
    """Refuse, before any allocation, a network whose predicted second moments overflow ``dt``.

    The mean-field prediction (:func:`~xinit_bench.propagation.predict`,
    microseconds per layer) gives every layer's ``q^l`` and gradient second
    moments; when one's square root comes within ``MAGNITUDE_MARGIN`` of the
    dtype's largest value, the Monte Carlo would return inf or NaN statistics.
    """
    p = predict(act, widths=ws, init=spec, bias_std=sb, input_second_moment=q0)
    root = float(np.finfo(dt).max) / MAGNITUDE_MARGIN
    limit = root * root  # inf for float64 (no OverflowError, unlike **)
    peak = max(float(np.max(v)) for v in (p.pre_sq, p.act_sq, p.grad_act_sq, p.grad_pre_sq))
    if not peak <= limit:
        raise ValueError(
            f"gain, bias_std and input_second_moment must keep the network's values well inside "
            f"{np.dtype(dt).name}, got gain={spec.gain!r}, bias_std={sb!r}, input_second_moment={q0!r} "
            f"(the mean-field prediction reaches a second moment of {peak:.3g}, above {limit:.3g})"
        )


@dataclass(frozen=True)
class SpeedResult:
    """Interleaved timings of :func:`measure_speed` (seconds per forward+backward pass)."""

    simulate_seconds: list[float]
    gemm_seconds: list[float]
    runs: int
    widths: tuple[int, ...]
    batch: int
    activation: str
    dtype: str

    @property
    def ratio(self) -> float:
        """Median simulation time over median bare-GEMM time."""
        return statistics.median(self.simulate_seconds) / statistics.median(self.gemm_seconds)


def measure_speed(
    activation: str = "relu",
    *,
    depth: int = 50,
    width: int = 1024,
    batch: int = 1024,
    runs: int = 5,
    init: str = "he_normal",
    dtype: DTypeLike = np.float32,
    seed: int = 0,
    kernel_threads: int | None = 1,
) -> SpeedResult:
    """Time one Monte Carlo repeat against the bare GEMMs it needs, interleaved, same run.

    Both use the same preallocated buffers; after one untimed warm-up of each
    (JIT compilation, page faults), the two are timed alternately ``runs``
    times with ``time.perf_counter``.  The repeat includes drawing weights,
    input and top gradient; the baseline is its ``3 L - 1`` matmuls
    (forward, weight gradient, and input gradient except for layer 1).
    ``kernel_threads`` as in :func:`simulate`.

    Examples
    --------
    >>> s = measure_speed(depth=2, width=64, batch=64, runs=2)
    >>> s.runs
    2
    """
    act = get_activation(activation)
    ws = resolve_widths(depth, width, None)
    spec = InitSpec.parse(init)
    B, n_runs, s0, dt, n_threads = _check_run(batch, runs, seed, dtype, kernel_threads, "runs")
    check_memory(ws, B, dt, None)
    eng = Engine(act, ws, spec, 0.0, B, dt, 1.0)
    gen = Generator(s0)
    out = np.empty((len(STATS), len(ws) - 1))
    with threads(n_threads):
        ts_sim, ts_gemm = interleaved(lambda: eng.run(gen, out), eng.gemms, n_runs)
    return SpeedResult(ts_sim, ts_gemm, n_runs, ws, B, act.label, np.dtype(dt).name)
