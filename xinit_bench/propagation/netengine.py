"""One network's operations and one repeat's pass (``netsim.py``), and the memory they take.

:class:`NetEngine` builds the :mod:`~xinit_bench.propagation.netops`
operations of a :class:`~xinit_bench.propagation.architecture.Network` (each
repeat of a residual its own) and runs one repeat: the input, then every
entry forward with its second moment (and, with ``c0``, its pair
correlation), then the top gradient and every entry backward.
:func:`estimate_network_memory` bounds what a simulation allocates, and
:func:`check_network_memory` refuses above the limit before anything is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._rng import Generator
from ..kernels import activations as _k
from ..runtime import launch_guard
from ..samplers import normal
from .architecture import Network
from .mcstats import check_fits_memory, require_parallel
from .netops import Env, Op, make_op, positions
from .netresolve import Node
from .pairs import correlation, pair_inputs

__all__ = ["NetEngine", "check_network_memory", "estimate_network_memory"]

Array = NDArray[np.float64]
Buffer = NDArray[np.floating[Any]]


class NetEngine:
    """The operations of one network (each residual repeat its own), and one repeat's pass."""

    def __init__(self, net: Network, B: int, dtype: type, c0: float | None = None) -> None:
        self.net, self.B, self.dtype, self.c0 = net, B, dtype, c0
        self.env = Env(B, dtype)
        self.entries: list[Op] = []
        for node in net.nodes:
            for _ in range(node.repeat if node.kind == "residual" else 1):
                self.entries.append(make_op(node, self.env))
        self.out_shapes = [n.out_shape for n in net.nodes for _ in range(n.repeat if n.kind == "residual" else 1)]
        rows = max(B * positions(s) for s in (net.input_shape, *self.out_shapes))
        self.part = np.empty(rows)
        self.x_shape = (B * positions(net.input_shape), net.input_shape[0])

    def _sumsq(self, a: Buffer) -> float:
        with launch_guard():
            _k.rows_sumsq(a, self.part[: a.shape[0]])
        return float(self.part[: a.shape[0]].sum()) / a.size

    def run(self, gen: Generator, out: Array, tick: Callable[[], None] | None = None) -> None:
        """One repeat: ``out[0]`` the forward, ``out[1]`` the backward statistic of every entry.

        With ``c0`` set, the input rows are made pairs and ``out[2]`` receives
        the correlation of every entry's output (:mod:`~.pairs`).
        """
        require_parallel()
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


def _node_bytes(node: Node, B: int, item: int) -> tuple[int, int]:
    """(stored bytes, largest work buffer in elements) of one node, all its repeats."""
    rows = B * positions(node.in_shape)
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
            stored += 2 * 8 * positions(node.in_shape) * math.prod(w.kernel)
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
    rows = batch * max(positions(node.in_shape) for node in net.nodes)
    return int(stored + pool + 2 * work * item + results + 8 * 8 * rows + 2**20)


def check_network_memory(net: Network, B: int, dt: type, limit: int | None, R: int, pairs: bool = False) -> None:
    """Refuse (``ValueError``) a simulation whose :func:`estimate_network_memory` exceeds ``limit`` bytes.

    The default limit (``limit=None``) is 80% of the available memory.
    """
    need = estimate_network_memory(net, B, dt, R, pairs)
    what = f"{net.depth} entries, batch={B}, repeats={R}, dtype={np.dtype(dt).name}"
    check_fits_memory(need, limit, "batch and the network", what, "Reduce batch or the widths, or raise max_memory.")
