"""The preallocated buffers of one random MLP and its forward/backward pass (see ``montecarlo.py``).

:class:`Engine` holds every weight, bias, activation, derivative and gradient
buffer of one network, allocated once; :meth:`Engine.run` draws one network
and one batch into them and writes the six per-layer statistics of
:data:`STATS`.  :func:`estimate_memory` counts those buffers, and
:func:`check_memory` refuses a network that would not fit, before anything is
allocated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._rng import Generator
from ..activations import Activation
from ..kernels import activations as _k
from ..runtime import launch_guard
from ..samplers import normal
from .mcstats import check_fits_memory, require_parallel
from .network import InitSpec
from .pairs import correlation, pair_inputs

__all__ = ["STATS", "Engine", "check_memory", "estimate_memory"]

Array = NDArray[np.float64]
Buffer = NDArray[np.floating[Any]]

#: Per-layer statistics of :func:`~xinit_bench.propagation.simulate`, in output order.
STATS: tuple[str, ...] = ("pre_sq", "act_sq", "act_var", "grad_act_sq", "grad_pre_sq", "weight_grad_var")


def estimate_memory(
    widths: Sequence[int], batch: int, dtype: DTypeLike = np.float32, repeats: int = 1, pairs: bool = False
) -> int:
    """Bytes that :func:`simulate` allocates for one network and its ``repeats`` rows of results.

    Weights and biases of every layer, the input, ``A^l`` and ``D^l`` of every
    layer, one GEMM output ``H``, two gradient buffers and one weight-gradient
    buffer, in ``dtype``; plus the float64 per-row partial sums, and the
    float64 results: ``repeats x len(STATS) x L``, held twice (the raw array
    and the per-statistic copies of the result).  With ``pairs`` (a run with
    ``c0``), the float64 work of :func:`~.pairs.pair_inputs` (four half-batch
    copies of the input), two column sums and the correlations, held twice.

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
    results = 2 * repeats * (len(STATS) + pairs) * (len(ws) - 1)
    extra = 2 * batch * ws[0] + 2 * nmax if pairs else 0
    return int(elems * item + 8 * (3 * batch + nmax) + 8 * (results + extra))


class Engine:
    """Preallocated buffers of one network and the per-repeat forward/backward pass."""

    def __init__(
        self,
        act: Activation,
        widths: tuple[int, ...],
        spec: InitSpec,
        bias_std: float,
        batch: int,
        dtype: type,
        q0: float,
        c0: float | None = None,
    ) -> None:
        self.act, self.ws, self.spec, self.sb, self.B, self.dtype, self.q0 = (
            act,
            widths,
            spec,
            bias_std,
            batch,
            dtype,
            q0,
        )
        self.c0 = c0
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

    def run(
        self,
        gen: Generator,
        out: Array,
        progress: Callable[[], None] | None = None,
        svals: Array | None = None,
        corr: Array | None = None,
    ) -> None:
        """One repeat; writes the six statistics into ``out`` (6, L).

        With ``c0`` set, the input rows are made pairs (:func:`~.pairs.pair_inputs`)
        and ``corr`` (L,) receives the correlation of each layer's
        pre-activations ``h^l`` of the pairs (:func:`~.pairs.correlation`).

        The activation kernels are parallel kernels: each launch goes through
        :func:`~xinit_bench.runtime.launch_guard` (a lock under Numba's
        workqueue layer), and in a forked child of an OpenMP process, where a
        parallel launch would kill the child, the run is refused up front.

        Raises
        ------
        RuntimeError
            In a forked child of a process whose threading layer is OpenMP.
        """
        require_parallel()
        ws, B, L = self.ws, self.B, len(self.ws) - 1
        normal(self.X.shape, 0.0, math.sqrt(self.q0), generator=gen, dtype=self.dtype, out=self.X)
        if self.c0 is not None:
            pair_inputs(self.X, self.c0, self.q0)
        half = B // 2
        prev = self.X
        p = float(self.act.param)
        for l in range(L):
            n = ws[l + 1]
            self.spec.sample(self.W[l], gen)
            if self.sb > 0:
                normal((n,), 0.0, self.sb, generator=gen, dtype=self.dtype, out=self.b[l])
            h = self._h[: B * n].reshape(B, n)
            np.matmul(prev, self.W[l].T, out=h)
            with launch_guard():
                self.forward_kernel(h, self.b[l], self.A[l], self.D[l], p, self._pf)
            s = self._pf.sum(axis=0) / (B * n)
            out[0, l], out[1, l], out[2, l] = s[0], s[2], s[2] - s[1] * s[1]
            if corr is not None:
                sq = self._pf[:, 0]
                bias = self.b[l] if self.sb > 0 else None
                corr[l] = correlation(h, float(sq[:half].sum()), float(sq[half:].sum()), bias)
            if svals is not None:
                svals[l] = np.linalg.svd(self.W[l].astype(np.float64), compute_uv=False).mean()
            prev = self.A[l]
            if progress is not None:
                progress()
        g = self._g[0][: B * ws[L]].reshape(B, ws[L])
        normal(g.shape, 0.0, 1.0, generator=gen, dtype=self.dtype, out=g)
        for l in range(L - 1, -1, -1):
            n_out, n_in = ws[l + 1], ws[l]
            with launch_guard():
                _k.backward(self.D[l], g, self._pb)
            s = self._pb.sum(axis=0) / (B * n_out)
            out[3, l], out[4, l] = s[0], s[1]
            a_prev = self.X if l == 0 else self.A[l - 1]
            G = self._G[: n_out * n_in].reshape(n_out, n_in)
            np.matmul(self.D[l].T, a_prev, out=G)
            with launch_guard():
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


def check_memory(
    widths: tuple[int, ...], batch: int, dt: type, max_memory: int | None, repeats: int = 1, pairs: bool = False
) -> None:
    """Refuse (``ValueError``) a network whose :func:`estimate_memory` exceeds the limit.

    The limit is ``max_memory`` bytes, by default 80% of
    :func:`~xinit_bench.runtime.available_memory`.
    """
    need = estimate_memory(widths, batch, dt, repeats, pairs)
    what = (
        f"widths of {len(widths) - 1} layers up to {max(widths)} units, batch={batch}, repeats={repeats}, "
        f"dtype={np.dtype(dt).name}"
    )
    check_fits_memory(
        need, max_memory, "batch, widths and repeats", what, "Reduce batch or width, or raise max_memory."
    )
