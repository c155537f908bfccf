r"""Monte Carlo forward and backward propagation through a :class:`~xinit_bench.propagation.architecture.Network`.

One repeat draws an input batch ``x ~ N(0, q^0)`` (shape ``(B, *spatial, c)``,
channels last), then runs the layers in order, drawing each layer's weights
(and biases) when it is reached, then draws a unit-variance top gradient
``dL/dy ~ N(0, 1)`` and runs back down.  Per entry of
:attr:`Network.labels` it records ``E[y^2]`` of the entry's output and
``E[(dL/dy)^2]`` at it, each averaged over the batch, the units and the
positions.  The repeats are independent networks; the result is their mean
and standard error.

The operations, with ``X`` the ``(rows, c)`` matrix of a layer's input:

* dense: ``Y = X W^T (+ b)``, ``G_X = G_Y W`` (BLAS, NumPy ``matmul``);
* conv (circular, stride 1): ``Y = im2col(X) W^T`` with
  ``im2col(X)[(b, p), (t, c)] = X[b, p + o_t]`` (positions modulo the size),
  and ``G_X = im2col'(G_Y) W'`` -- the transposed convolution is the
  convolution with the mirrored offsets ``-o_t`` and ``W'[(t, o), c] = W[o, t, c]``;
  ``im2col`` is one ``numpy.take`` over a precomputed index table;
* activation: the project's fused Numba kernels
  (``xinit_bench.kernels.activations``) for ``phi``, ``phi'`` and
  ``G_X = phi'(X) * G_Y``;
* LayerNorm: ``Y = (X - mu) / sqrt(s^2 + eps)`` per row, and
  ``G_X = (G_Y - mean(G_Y) - Y mean(G_Y * Y)) / sqrt(s^2 + eps)``;
* residual: ``beta X + alpha F(X)``, and ``beta G_Y + alpha J_F^T G_Y``.

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._rng import Generator
from ..init import variance_scaling
from ..kernels import activations as _k
from ..runtime import available_memory, check_thread_count, launch_guard, parallel_allowed, prepare_threading, threads
from ..samplers import normal, uniform
from ..schemes import NAMED_SCHEMES
from ..validation import check_callable, check_dtype, check_int
from .architecture import Network, Node, Weights
from .mcstats import standard_error, summary
from .nettheory import TheoryUnavailable, predict_network
from .network import STANDARD, bounded_count
from .pairs import check_c0, check_pairs, correlation, pair_inputs

__all__ = [
    "NetworkSimulation",
    "NetworkSpeed",
    "estimate_network_memory",
    "measure_network_speed",
    "simulate_network",
]

Array = NDArray[np.float64]
Buffer = NDArray[np.floating[Any]]
Progress = Callable[[int, int], None]


# --- buffers ------------------------------------------------------------------------------
class _Pool:
    """Work buffers by shape, reference-counted: a pass takes them and gives them back.

    Buffers the pool did not make (stored ``phi'`` and LayerNorm outputs) pass
    through :meth:`hold` and :meth:`give` untouched.
    """

    def __init__(self, dtype: type) -> None:
        self.dtype = dtype
        self.free: dict[tuple[int, ...], list[Buffer]] = {}
        self.refs: dict[int, int] = {}
        self.made = 0

    def take(self, shape: tuple[int, ...]) -> Buffer:
        stack = self.free.setdefault(shape, [])
        if stack:
            a = stack.pop()
        else:
            a = np.empty(shape, self.dtype)
            self.made += a.nbytes
        self.refs[id(a)] = 1
        return a

    def hold(self, a: Buffer) -> None:
        if id(a) in self.refs:
            self.refs[id(a)] += 1

    def give(self, a: Buffer) -> None:
        k = id(a)
        if k in self.refs:
            self.refs[k] -= 1
            if self.refs[k] == 0:
                del self.refs[k]
                self.free.setdefault(a.shape, []).append(a)


def _rows(shape: tuple[int, ...]) -> int:
    """Positions per example of a (c, *spatial) shape."""
    return math.prod(shape[1:]) if len(shape) > 1 else 1


def _draw(w: Weights, out: Buffer, gen: Generator) -> None:
    """Fill ``out`` ``(rows, cols)`` (columns ordered (kernel offset, input channel)) with the layer's weights."""
    if w.kind == "iid":
        spec = w.spec
        assert spec is not None
        if spec.scheme == STANDARD:
            bound = spec.gain / math.sqrt(w.fan_in)
            uniform(out.shape, -bound, bound, generator=gen, dtype=out.dtype, out=out)
        else:
            variance_scaling(
                out.shape,
                scale=w.variance * w.cols,
                mode="fan_in",
                distribution=NAMED_SCHEMES[spec.name].distribution,
                generator=gen,
                dtype=out.dtype,
                out=out,
            )
        return
    from ..orthogonal import delta_orthogonal, orthogonal

    if w.kind == "orthogonal":
        orthogonal(out.shape, w.gain, generator=gen, dtype=out.dtype, out=out)
        return
    kern = delta_orthogonal((w.rows, w.channels_in, *w.kernel), w.gain, generator=gen, dtype=out.dtype)
    d = len(w.kernel)
    out[...] = np.moveaxis(kern, 1, 1 + d).reshape(w.rows, w.cols)


def _offsets(spatial: tuple[int, ...], kernel: tuple[int, ...], sign: int) -> NDArray[np.intp]:
    """``idx[p, t]``: the flat position ``p + sign * (offset_t - kernel // 2)`` modulo the spatial size."""
    grids = np.meshgrid(*[np.arange(s) for s in spatial], indexing="ij")
    pos = [g.reshape(-1, 1) for g in grids]
    offs = np.meshgrid(*[np.arange(k) - k // 2 for k in kernel], indexing="ij")
    off = [o.reshape(1, -1) for o in offs]
    flat = np.zeros((math.prod(spatial), math.prod(kernel)), dtype=np.intp)
    for p, o, s in zip(pos, off, spatial, strict=True):
        flat = flat * s + (p + sign * o) % s
    return flat


# --- operations ---------------------------------------------------------------------------
class _Op:
    """One layer of one network: forward and backward on (rows, c) buffers of the pool."""

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        raise NotImplementedError

    def backward(self, g: Buffer) -> Buffer:
        raise NotImplementedError

    def bare(self) -> None:
        """Only this layer's GEMMs (and im2col), forward and backward, on buffers of the same shapes."""


class _Dense(_Op):
    def __init__(self, node: Node, env: _Env) -> None:
        w = node.weights
        assert w is not None
        self.w, self.env = w, env
        self.W: Buffer = np.empty((w.rows, w.cols), env.dtype)
        self.b: Buffer = np.zeros(w.rows, env.dtype)
        self.in_shape = node.in_shape

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        env, B = self.env, self.env.B
        _draw(self.w, self.W, gen)
        if self.w.bias_std > 0:
            normal((self.w.rows,), 0.0, self.w.bias_std, generator=gen, dtype=env.dtype, out=self.b)
        y = env.pool.take((B, self.w.rows))
        np.matmul(x.reshape(B, self.w.cols), self.W.T, out=y)
        if self.w.bias_std > 0:
            y += self.b
        env.pool.give(x)
        return y

    def backward(self, g: Buffer) -> Buffer:
        env, B = self.env, self.env.B
        shape = (B * _rows(self.in_shape), self.in_shape[0])
        gx = env.pool.take(shape)
        np.matmul(g, self.W, out=gx.reshape(B, self.w.cols))
        env.pool.give(g)
        return gx

    def bare(self) -> None:
        env, B = self.env, self.env.B
        x, y = env.bare((B, self.w.cols), 0), env.bare((B, self.w.rows), 1)
        np.matmul(x, self.W.T, out=y)
        np.matmul(y, self.W, out=x)


class _Conv(_Op):
    def __init__(self, node: Node, env: _Env) -> None:
        w = node.weights
        assert w is not None
        self.w, self.env = w, env
        spatial = node.in_shape[1:]
        self.P = math.prod(spatial)
        self.T = math.prod(w.kernel)
        self.c_in, self.c_out = node.in_shape[0], w.rows
        self.W: Buffer = np.empty((w.rows, w.cols), env.dtype)
        self.Wb: Buffer = np.empty((self.T * self.c_out, self.c_in), env.dtype)
        self.b: Buffer = np.zeros(w.rows, env.dtype)
        self.fwd_idx = env.index(spatial, w.kernel, -1)
        self.bwd_idx = env.index(spatial, w.kernel, 1)

    def _im2col(self, x: Buffer, idx: NDArray[np.intp], c: int) -> Buffer:
        B = self.env.B
        cols = self.env.scratch((B, self.P, self.T, c))
        np.take(x.reshape(B, self.P, c), idx, axis=1, out=cols, mode="clip")
        return cols.reshape(B * self.P, self.T * c)

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        env = self.env
        _draw(self.w, self.W, gen)
        self.Wb[...] = self.W.reshape(self.c_out, self.T, self.c_in).transpose(1, 0, 2).reshape(-1, self.c_in)
        if self.w.bias_std > 0:
            normal((self.c_out,), 0.0, self.w.bias_std, generator=gen, dtype=env.dtype, out=self.b)
        cols = self._im2col(x, self.fwd_idx, self.c_in)
        env.pool.give(x)
        y = env.pool.take((env.B * self.P, self.c_out))
        np.matmul(cols, self.W.T, out=y)
        if self.w.bias_std > 0:
            y += self.b
        return y

    def backward(self, g: Buffer) -> Buffer:
        env = self.env
        cols = self._im2col(g, self.bwd_idx, self.c_out)
        env.pool.give(g)
        gx = env.pool.take((env.B * self.P, self.c_in))
        np.matmul(cols, self.Wb, out=gx)
        return gx

    def bare(self) -> None:
        env, rows = self.env, self.env.B * self.P
        x, y = env.bare((rows, self.c_in), 0), env.bare((rows, self.c_out), 1)
        np.matmul(self._im2col(x, self.fwd_idx, self.c_in), self.W.T, out=y)
        np.matmul(self._im2col(y, self.bwd_idx, self.c_out), self.Wb, out=x)


class _Act(_Op):
    def __init__(self, node: Node, env: _Env) -> None:
        act = node.act
        assert act is not None
        self.env = env
        rows = env.B * _rows(node.in_shape)
        c = node.in_shape[0]
        self.D: Buffer = np.empty((rows, c), env.dtype)
        self.zero: Buffer = np.zeros(c, env.dtype)
        self.kernel = _k.FORWARD[act.kind]
        self.p = float(act.param)
        self.pf = np.empty((rows, 3))
        self.pb = np.empty((rows, 2))

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        env = self.env
        a = env.pool.take(x.shape)
        with launch_guard():
            self.kernel(x, self.zero, a, self.D, self.p, self.pf)
        env.pool.give(x)
        return a

    def backward(self, g: Buffer) -> Buffer:
        with launch_guard():
            _k.backward(self.D, g, self.pb)
        self.env.pool.give(g)
        return self.D


class _LayerNorm(_Op):
    def __init__(self, node: Node, env: _Env) -> None:
        self.env, self.eps = env, node.eps
        rows = env.B * _rows(node.in_shape)
        c = node.in_shape[0]
        self.Y: Buffer = np.empty((rows, c), env.dtype)
        self.inv: Buffer = np.empty((rows, 1), env.dtype)
        self.c = c

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        Y, inv = self.Y, self.inv
        mu = x.mean(axis=1, keepdims=True)
        np.subtract(x, mu, out=Y)
        var = np.einsum("ij,ij->i", Y, Y)[:, None] / self.c
        np.sqrt(var + self.eps, out=inv)
        np.divide(1.0, inv, out=inv)
        Y *= inv
        self.env.pool.give(x)
        return Y

    def backward(self, g: Buffer) -> Buffer:
        env = self.env
        gx = env.pool.take(g.shape)
        mg = g.mean(axis=1, keepdims=True)
        mgy = (np.einsum("ij,ij->i", g, self.Y) / self.c)[:, None]
        np.multiply(self.Y, mgy, out=gx)
        np.subtract(g, gx, out=gx)
        gx -= mg
        gx *= self.inv
        env.pool.give(g)
        return gx


class _Residual(_Op):
    def __init__(self, node: Node, env: _Env) -> None:
        self.env, self.alpha, self.beta = env, node.alpha, node.beta
        self.branch = [make_op(n, env) for n in node.branch]

    def _combine(self, x: Buffer, b: Buffer) -> Buffer:
        pool = self.env.pool
        y = pool.take(x.shape)
        np.multiply(b, self.alpha, out=y)
        if self.beta == 1.0:
            np.add(y, x, out=y)
        else:
            t = pool.take(x.shape)
            np.multiply(x, self.beta, out=t)
            np.add(y, t, out=y)
            pool.give(t)
        pool.give(b)
        pool.give(x)
        return y

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        self.env.pool.hold(x)
        b = x
        for op in self.branch:
            b = op.forward(b, gen)
        return self._combine(x, b)

    def backward(self, g: Buffer) -> Buffer:
        self.env.pool.hold(g)
        gb = g
        for op in reversed(self.branch):
            gb = op.backward(gb)
        return self._combine(g, gb)

    def bare(self) -> None:
        for op in self.branch:
            op.bare()


def make_op(node: Node, env: _Env) -> _Op:
    """The operation of one node (a residual: of one repeat)."""
    kinds: dict[str, Callable[[Node, _Env], _Op]] = {
        "dense": _Dense,
        "conv": _Conv,
        "act": _Act,
        "layernorm": _LayerNorm,
        "residual": _Residual,
    }
    return kinds[node.kind](node, env)


class _Env:
    """What the operations of one network share: batch, dtype, the pool, im2col buffers and index tables."""

    def __init__(self, B: int, dtype: type) -> None:
        self.B, self.dtype = B, dtype
        self.pool = _Pool(dtype)
        self._scratch: dict[tuple[int, ...], Buffer] = {}
        self._bare: dict[tuple[int, ...], Buffer] = {}
        self._index: dict[tuple[Any, ...], NDArray[np.intp]] = {}

    def scratch(self, shape: tuple[int, ...]) -> Buffer:
        size = math.prod(shape)
        buf = self._scratch.get((0,))
        if buf is None or buf.size < size:
            buf = np.empty(size, self.dtype)
            self._scratch[(0,)] = buf
        return buf[:size].reshape(shape)

    def bare(self, shape: tuple[int, ...], slot: int) -> Buffer:
        """A buffer of ``shape`` for the speed baseline, one per shape and slot, zero-filled once."""
        key = (slot, *shape)
        if key not in self._bare:
            self._bare[key] = np.zeros(shape, self.dtype)
        return self._bare[key]

    def index(self, spatial: tuple[int, ...], kernel: tuple[int, ...], sign: int) -> NDArray[np.intp]:
        key = (spatial, kernel, sign)
        if key not in self._index:
            self._index[key] = _offsets(spatial, kernel, sign)
        return self._index[key]


class _Engine:
    """The operations of one network (each residual repeat its own), and one repeat's pass."""

    def __init__(self, net: Network, B: int, dtype: type, c0: float | None = None) -> None:
        self.net, self.B, self.dtype, self.c0 = net, B, dtype, c0
        self.env = _Env(B, dtype)
        self.entries: list[_Op] = []
        for node in net.nodes:
            for _ in range(node.repeat if node.kind == "residual" else 1):
                self.entries.append(make_op(node, self.env))
        self.out_shapes = [n.out_shape for n in net.nodes for _ in range(n.repeat if n.kind == "residual" else 1)]
        rows = max(B * _rows(s) for s in (net.input_shape, *self.out_shapes))
        self.part = np.empty(rows)
        self.x_shape = (B * _rows(net.input_shape), net.input_shape[0])

    def _sumsq(self, a: Buffer) -> float:
        with launch_guard():
            _k.rows_sumsq(a, self.part[: a.shape[0]])
        return float(self.part[: a.shape[0]].sum()) / a.size

    def run(self, gen: Generator, out: Array, tick: Callable[[], None] | None = None) -> None:
        """One repeat: ``out[0]`` the forward, ``out[1]`` the backward statistic of every entry.

        With ``c0`` set, the input rows are made pairs and ``out[2]`` receives
        the correlation of every entry's output (:mod:`~.pairs`).
        """
        prepare_threading()
        if not parallel_allowed():
            raise RuntimeError(
                "the Monte Carlo engine's parallel kernels cannot run in a process forked from one that uses "
                "Numba's OpenMP threading layer (GNU OpenMP kills the child); start workers with the 'spawn' "
                "method, or install tbb so that Numba uses its fork-safe TBB layer"
            )
        pool = self.env.pool
        x = pool.take(self.x_shape)
        normal(x.shape, 0.0, math.sqrt(self.net.input_second_moment), generator=gen, dtype=self.dtype, out=x)
        if self.c0 is not None:
            pair_inputs(x.reshape(self.B, -1), self.c0, self.net.input_second_moment)
        for k, op in enumerate(self.entries):
            x = op.forward(x, gen)
            out[0, k] = self._sumsq(x)
            if self.c0 is not None:
                h = x.shape[0] // 2
                out[2, k] = correlation(x, float(self.part[:h].sum()), float(self.part[h : 2 * h].sum()))
            if tick is not None:
                tick()
        pool.give(x)
        g = pool.take(x.shape)
        normal(g.shape, 0.0, 1.0, generator=gen, dtype=self.dtype, out=g)
        for k in range(len(self.entries) - 1, -1, -1):
            out[1, k] = self._sumsq(g)
            g = self.entries[k].backward(g)
            if tick is not None:
                tick()
        pool.give(g)

    def bare(self) -> None:
        """The GEMMs (and im2col) of :meth:`run`, forward and backward, on buffers of the same shapes."""
        for op in self.entries:
            op.bare()


# --- memory -------------------------------------------------------------------------------
def _node_bytes(node: Node, B: int, item: int) -> tuple[int, int]:
    """(stored bytes, largest work buffer in elements) of one node, all its repeats."""
    rows = B * _rows(node.in_shape)
    if node.kind in ("dense", "conv"):
        w = node.weights
        assert w is not None
        stored = (w.rows * w.cols * (2 if node.kind == "conv" else 1) + w.rows) * item
        if w.kind != "iid":
            # the orthogonal samplers' float64 work: the Gaussian matrix, its factor and the result
            stored += 3 * 8 * w.rows * (w.cols if w.kind == "orthogonal" else w.channels_in) + w.rows * w.cols * item
        work = B * math.prod(node.out_shape)
        if node.kind == "conv":
            work = max(work, rows * math.prod(w.kernel) * max(node.in_shape[0], w.rows))
            stored += 2 * 8 * _rows(node.in_shape) * math.prod(w.kernel)
        return stored, work
    if node.kind == "act":
        return rows * node.in_shape[0] * item + 40 * rows + node.in_shape[0] * item, 0
    if node.kind == "layernorm":
        return rows * (node.in_shape[0] + 1) * item, 0
    stored, work = 0, 0
    for n in node.branch:
        s, w_ = _node_bytes(n, B, item)
        stored += s
        work = max(work, w_)
    return stored * node.repeat, work


def estimate_network_memory(
    net: Network, batch: int, dtype: DTypeLike = np.float32, repeats: int = 1, pairs: bool = False
) -> int:
    """Bytes :func:`simulate_network` allocates, an upper bound.

    Stored buffers (weights, ``phi'``, LayerNorm outputs, index tables, the
    orthogonal samplers' float64 work), then the work buffers: at most four of
    the largest activation per nesting level of residuals plus four more (the
    pass, the residual sums, the two gradients), two im2col buffers, the
    results (float64, ``2 x 2 x repeats x entries``), the kernels' per-row
    sums and 1 MiB for the small arrays of a pass.  With ``pairs`` (a run with
    ``c0``): the float64 work of :func:`~.pairs.pair_inputs` (four half-batch
    copies of the input) and the correlations.

    Examples
    --------
    >>> from xinit_bench.propagation.architecture import Dense, Input
    >>> estimate_network_memory(Network(Input(1024), Dense(1024)), 1024) // 2**20
    29
    """
    item = np.dtype(dtype).itemsize
    stored, work = 0, 0
    act = B_act = batch * math.prod(net.input_shape)

    def depth(nodes: tuple[Node, ...]) -> int:
        return max((1 + depth(n.branch) for n in nodes if n.kind == "residual"), default=0)

    for node in net.nodes:
        s, w = _node_bytes(node, batch, item)
        stored += s
        work = max(work, w)
        act = max(act, batch * math.prod(node.out_shape))
    pool = 4 * (depth(net.nodes) + 1) * max(act, B_act) * item
    results = 2 * (2 + pairs) * repeats * net.depth * 8
    if pairs:
        results += 2 * 8 * batch * math.prod(net.input_shape)
    # float64 partial sums of the kernels (per row) and a fixed 1 MiB for the small arrays of a pass
    rows = batch * max(_rows(node.in_shape) for node in net.nodes)
    return int(stored + pool + 2 * work * item + results + 8 * 8 * rows + 2**20)


def _check_memory(net: Network, B: int, dt: type, limit: int | None, R: int, pairs: bool = False) -> None:
    need = estimate_network_memory(net, B, dt, R, pairs)
    cap = int(0.8 * available_memory()) if limit is None else int(limit)
    if need > cap:
        raise ValueError(
            f"batch and the network must fit in memory: the simulation needs an estimated {need / 2**30:.2f} GiB "
            f"({need} bytes) for {net.depth} entries, batch={B}, repeats={R}, dtype={np.dtype(dt).name}; "
            f"the limit is {cap / 2**30:.2f} GiB ({'80% of available memory' if limit is None else 'max_memory'}). "
            "Reduce batch or the widths, or raise max_memory."
        )


# --- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkSimulation:
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
    def correlation(self) -> Array | None:
        """Mean over repeats of the measured correlation per entry (None without ``c0``)."""
        c = self.per_repeat_correlation
        return None if c is None else np.asarray(c.mean(axis=0))

    @property
    def correlation_se(self) -> Array | None:
        """Standard error of :attr:`correlation` (None without ``c0``)."""
        c = self.per_repeat_correlation
        return None if c is None else standard_error(c)

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


#: Margin between the predicted RMS of a value and the dtype's largest value (as for the MLP).
_MAGNITUDE_MARGIN = 1e6


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
    root = float(np.finfo(dt).max) / _MAGNITUDE_MARGIN
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
        Same seed, same bits (any thread count).
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
    _check_memory(net, B, dt, limit, R, pair_c0 is not None)
    eng = _Engine(net, B, dt, pair_c0)
    gen = Generator(s0)
    L = net.depth
    raw = np.empty((R, 2 if pair_c0 is None else 3, L))
    total, done = R * 2 * L, 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

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
    _check_memory(net, B, dt, None, 1)
    eng = _Engine(net, B, dt)
    gen = Generator(s0)
    out = np.empty((2, net.depth))
    ts_sim: list[float] = []
    ts_bare: list[float] = []
    with threads(n_threads):
        eng.run(gen, out)
        eng.bare()
        for _ in range(n_runs):
            t0 = time.perf_counter()
            eng.run(gen, out)
            ts_sim.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            eng.bare()
            ts_bare.append(time.perf_counter() - t0)
    return NetworkSpeed(name, ts_sim, ts_bare, n_runs, B)
