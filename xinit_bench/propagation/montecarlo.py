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
the top gradient), the kernels sum in an order fixed by the shapes, and
OpenBLAS splits a GEMM over output blocks, never over the inner dimension;
so a seed gives the same bits on 1 and 2 threads (tested).
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np
from numpy.typing import DTypeLike, NDArray

from xinit_bench.kernels import activations as _k

from .activations import Activation, get_activation
from .network import InitSpec, resolve_widths, validate_nonneg

if TYPE_CHECKING:
    from xinit_bench import Generator

__all__ = [
    "STATS",
    "SimulationResult",
    "SpeedResult",
    "estimate_memory",
    "gemm_baseline_seconds",
    "measure_speed",
    "simulate",
]

Array = NDArray[np.float64]
Buffer = NDArray[np.floating[Any]]
Progress = Callable[[int, int], None]

#: Per-layer statistics of :func:`simulate`, in output order.
STATS: tuple[str, ...] = ("pre_sq", "act_sq", "act_var", "grad_act_sq", "grad_pre_sq", "weight_grad_var")
_DTYPES = (np.float32, np.float64)


@dataclass(frozen=True)
class SimulationResult:
    """Output of :func:`simulate`.

    ``per_repeat[stat]`` is a (repeats, L) array (column ``l - 1`` is layer
    ``l``); ``mean[stat]`` and ``se[stat]`` are the mean over repeats and its
    standard error ``std(ddof=1) / sqrt(repeats)`` (NaN for one repeat).
    ``singular_value_mean`` is the mean singular value of each ``W^l`` of
    the first repeat, when requested.
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
            k: {"mean": self.mean[k].tolist(),
                "se": None if self.repeats == 1 else self.se[k].tolist(),
                "per_repeat": self.per_repeat[k].tolist()}
            for k in STATS
        }
        out["singular_value_mean"] = None if self.singular_value_mean is None else self.singular_value_mean.tolist()
        return out


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def estimate_memory(widths: Sequence[int], batch: int, dtype: DTypeLike = np.float32) -> int:
    """Bytes that :func:`simulate` allocates for one network.

    Weights and biases of every layer, the input, ``A^l`` and ``D^l`` of every
    layer, one GEMM output ``H``, two gradient buffers and one weight-gradient
    buffer, in ``dtype``; plus the float64 per-row partial sums.

    Examples
    --------
    >>> estimate_memory((1024,) * 51, 1024) // 2**20
    620
    """
    item = np.dtype(dtype).itemsize
    ws = list(widths)
    nmax = max(ws)
    elems = sum(ws[l] * ws[l + 1] + ws[l + 1] for l in range(len(ws) - 1))
    elems += batch * ws[0] + 2 * batch * sum(ws[1:]) + 3 * batch * nmax
    elems += max(ws[l] * ws[l + 1] for l in range(len(ws) - 1))
    return int(elems * item + 8 * (3 * batch + nmax))


class _Engine:
    """Preallocated buffers of one network and the per-repeat forward/backward pass."""

    def __init__(self, act: Activation, widths: tuple[int, ...], spec: InitSpec, bias_std: float,
                 batch: int, dtype: type, q0: float) -> None:
        self.act, self.ws, self.spec, self.sb, self.B, self.dtype, self.q0 = act, widths, spec, bias_std, batch, dtype, q0
        L = len(widths) - 1
        B = batch
        nmax = max(widths)
        self.W: list[Buffer] = [np.empty((widths[l + 1], widths[l]), dtype) for l in range(L)]
        self.b: list[Buffer] = [np.zeros(widths[l + 1], dtype) for l in range(L)]
        self.X: Buffer = np.empty((B, widths[0]), dtype)
        self.A: list[Buffer] = [np.empty((B, widths[l + 1]), dtype) for l in range(L)]
        self.D: list[Buffer] = [np.empty((B, widths[l + 1]), dtype) for l in range(L)]
        self._h: Buffer = np.empty(B * nmax, dtype)
        self._g: list[Buffer] = [np.empty(B * nmax, dtype), np.empty(B * nmax, dtype)]
        self._G: Buffer = np.empty(max(widths[l] * widths[l + 1] for l in range(L)), dtype)
        self._pf = np.empty((B, 3))
        self._pb = np.empty((B, 2))
        self._pg = np.empty(nmax)
        self.forward_kernel = _k.FORWARD[act.kind]

    def run(self, gen: "Generator", out: Array, progress: Callable[[], None] | None = None,
            svals: Array | None = None) -> None:
        """One repeat; writes the six statistics into ``out`` (6, L)."""
        import xinit_bench as xb

        ws, B, L = self.ws, self.B, len(self.ws) - 1
        xb.normal(self.X.shape, 0.0, math.sqrt(self.q0), generator=gen, dtype=self.dtype, out=self.X)
        prev = self.X
        p = float(self.act.param)
        for l in range(L):
            n = ws[l + 1]
            self.spec.sample(self.W[l], gen)
            if self.sb > 0:
                xb.normal((n,), 0.0, self.sb, generator=gen, dtype=self.dtype, out=self.b[l])
            h = self._h[: B * n].reshape(B, n)
            np.matmul(prev, self.W[l].T, out=h)
            self.forward_kernel(h, self.b[l], self.A[l], self.D[l], p, self._pf)
            s = self._pf.sum(axis=0) / (B * n)
            out[0, l], out[1, l], out[2, l] = s[0], s[2], s[2] - s[1] * s[1]
            if svals is not None:
                svals[l] = np.linalg.svd(self.W[l].astype(np.float64), compute_uv=False).mean()
            prev = self.A[l]
            if progress is not None:
                progress()
        g = self._g[0][: B * ws[L]].reshape(B, ws[L])
        xb.normal(g.shape, 0.0, 1.0, generator=gen, dtype=self.dtype, out=g)
        for l in range(L - 1, -1, -1):
            n_out, n_in = ws[l + 1], ws[l]
            _k.backward(self.D[l], g, self._pb)
            s = self._pb.sum(axis=0) / (B * n_out)
            out[3, l], out[4, l] = s[0], s[1]
            a_prev = self.X if l == 0 else self.A[l - 1]
            G = self._G[: n_out * n_in].reshape(n_out, n_in)
            np.matmul(self.D[l].T, a_prev, out=G)
            _k.rows_sumsq(G, self._pg[:n_out])
            out[5, l] = self._pg[:n_out].sum() / (n_out * n_in) / B
            if l > 0:
                g = self._g[(L - l) % 2][: B * n_in].reshape(B, n_in)
                np.matmul(self.D[l], self.W[l], out=g)
            if progress is not None:
                progress()

    def gemms(self) -> None:
        """Only the GEMMs of :meth:`run`, on the same buffers (the speed baseline)."""
        ws, B, L = self.ws, self.B, len(self.ws) - 1
        prev = self.X
        for l in range(L):
            h = self._h[: B * ws[l + 1]].reshape(B, ws[l + 1])
            np.matmul(prev, self.W[l].T, out=h)
            prev = self.A[l]
        for l in range(L - 1, -1, -1):
            n_out, n_in = ws[l + 1], ws[l]
            a_prev = self.X if l == 0 else self.A[l - 1]
            np.matmul(self.D[l].T, a_prev, out=self._G[: n_out * n_in].reshape(n_out, n_in))
            if l > 0:
                np.matmul(self.D[l], self.W[l], out=self._g[(L - l) % 2][: B * n_in].reshape(B, n_in))


def _validate_common(batch: object, repeats: object, seed: object, dtype: DTypeLike) -> type:
    for name, v in (("batch", batch), ("repeats", repeats)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {type(v).__name__} {v!r}")
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    try:
        dt = np.dtype(dtype).type
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt not in _DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dt).name}")
    return dt


def _validate_kernel_threads(kernel_threads: object) -> int | None:
    if kernel_threads is None:
        return None
    import numba

    top = int(getattr(numba.config, "NUMBA_NUM_THREADS"))
    if isinstance(kernel_threads, bool) or not isinstance(kernel_threads, (int, np.integer)):
        raise TypeError(f"kernel_threads must be an integer or None, got {type(kernel_threads).__name__}")
    if not 1 <= kernel_threads <= top:
        raise ValueError(f"kernel_threads must be in [1, {top}] (NUMBA_NUM_THREADS), got {kernel_threads}")
    return int(kernel_threads)


@contextlib.contextmanager
def _numba_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` Numba threads (None: unchanged), then restore.

    ``numba.set_num_threads`` is thread-local, so this touches neither other
    threads of the process nor anything after the block.
    """
    if n is None:
        yield
        return
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _check_memory(widths: tuple[int, ...], batch: int, dt: type, max_memory: int | None) -> None:
    need = estimate_memory(widths, batch, dt)
    limit = int(0.8 * _available_memory()) if max_memory is None else int(max_memory)
    if need > limit:
        raise ValueError(
            f"simulation needs an estimated {need / 2**30:.2f} GiB ({need} bytes) for widths of "
            f"{len(widths) - 1} layers up to {max(widths)} units, batch={batch}, dtype={np.dtype(dt).name}; "
            f"the limit is {limit / 2**30:.2f} GiB "
            f"({'80% of available memory' if max_memory is None else 'max_memory'}). "
            "Reduce batch or width, or raise max_memory."
        )


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
) -> SimulationResult:
    r"""Measure forward and backward second moments layer by layer by Monte Carlo.

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
        (:func:`measure_speed`).  The results are the same bits for any value.

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError, TypeError
        Any bad argument, before anything runs, including a network that
        would not fit in memory (the message gives the estimate).

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
    act = get_activation(activation, param)
    ws = resolve_widths(depth, width, widths)
    spec = InitSpec.parse(init, gain)
    sb = validate_nonneg("bias_std", bias_std)
    q0 = validate_nonneg("input_second_moment", input_second_moment, strict=True)
    dt = _validate_common(batch, repeats, seed, dtype)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    threads = _validate_kernel_threads(kernel_threads)
    _check_memory(ws, int(batch), dt, max_memory)

    import xinit_bench as xb

    L = len(ws) - 1
    eng = _Engine(act, ws, spec, sb, int(batch), dt, q0)
    gen = xb.Generator(int(seed))
    raw = np.empty((int(repeats), len(STATS), L))
    svals = np.empty(L) if singular_values else None
    total = int(repeats) * 2 * L
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    with _numba_threads(threads):
        for r in range(int(repeats)):
            eng.run(gen, raw[r], tick, svals if r == 0 else None)
    return SimulationResult(
        activation=act.label, widths=ws, init=spec.label, bias_std=sb, batch=int(batch),
        repeats=int(repeats), seed=int(seed), dtype=np.dtype(dt).name, input_second_moment=q0,
        per_repeat={k: raw[:, i, :].copy() for i, k in enumerate(STATS)}, singular_value_mean=svals,
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
    import xinit_bench as xb

    act = get_activation(activation)
    ws = resolve_widths(depth, width, None)
    dt = _validate_common(batch, runs, seed, dtype)
    threads = _validate_kernel_threads(kernel_threads)
    _check_memory(ws, int(batch), dt, None)
    eng = _Engine(act, ws, InitSpec.parse(init), 0.0, int(batch), dt, 1.0)
    gen = xb.Generator(int(seed))
    out = np.empty((len(STATS), len(ws) - 1))
    ts_sim, ts_gemm = [], []
    with _numba_threads(threads):
        eng.run(gen, out)
        eng.gemms()
        for _ in range(int(runs)):
            t0 = time.perf_counter()
            eng.run(gen, out)
            ts_sim.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            eng.gemms()
            ts_gemm.append(time.perf_counter() - t0)
    return SpeedResult(ts_sim, ts_gemm, int(runs), ws, int(batch), act.label, np.dtype(dt).name)


def gemm_baseline_seconds(depth: int = 50, width: int = 1024, batch: int = 1024, runs: int = 5,
                          dtype: DTypeLike = np.float32) -> float:
    """Median time of the bare GEMMs of one forward+backward pass (see :func:`measure_speed`)."""
    ws = resolve_widths(depth, width, None)
    dt = _validate_common(batch, runs, 0, dtype)
    _check_memory(ws, int(batch), dt, None)
    eng = _Engine(get_activation("linear"), ws, InitSpec.parse("he_normal"), 0.0, int(batch), dt, 1.0)
    for a in [eng.X, *eng.W, *eng.A, *eng.D]:
        a.fill(1.0)
    eng.gemms()
    ts = []
    for _ in range(int(runs)):
        t0 = time.perf_counter()
        eng.gemms()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
