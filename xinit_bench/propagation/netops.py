r"""The layers of the network Monte Carlo (``netsim.py``): each one's forward and backward pass on buffers.

The operations, with ``X`` the ``(rows, c)`` matrix of a layer's input (rows:
the examples times the positions, channels last):

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

Each layer draws its weights (and biases) when the forward pass reaches it.
Work buffers come from a :class:`Pool` that the pass takes from and gives
back to; an :class:`Env` holds what the layers of one network share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._rng import Generator
from ..init import variance_scaling
from ..kernels import activations as _k
from ..runtime import launch_guard
from ..samplers import normal, uniform
from ..schemes import NAMED_SCHEMES
from .netlayers import Weights
from .netresolve import Node
from .network import STANDARD

__all__ = ["Env", "Op", "Pool", "draw_weights", "make_op", "offsets", "positions"]

Buffer = NDArray[np.floating[Any]]


class Pool:
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


def positions(shape: tuple[int, ...]) -> int:
    """Positions per example of a (c, *spatial) shape."""
    return math.prod(shape[1:]) if len(shape) > 1 else 1


def draw_weights(w: Weights, out: Buffer, gen: Generator) -> None:
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


def offsets(spatial: tuple[int, ...], kernel: tuple[int, ...], sign: int) -> NDArray[np.intp]:
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
class Op:
    """One layer of one network: forward and backward on (rows, c) buffers of the pool."""

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        raise NotImplementedError

    def backward(self, g: Buffer) -> Buffer:
        raise NotImplementedError

    def bare(self) -> None:
        """Only this layer's GEMMs (and im2col), forward and backward, on buffers of the same shapes."""


class _Dense(Op):
    def __init__(self, node: Node, env: Env) -> None:
        w = node.weights
        assert w is not None
        self.w, self.env = w, env
        self.W: Buffer = np.empty((w.rows, w.cols), env.dtype)
        self.b: Buffer = np.zeros(w.rows, env.dtype)
        self.in_shape = node.in_shape

    def forward(self, x: Buffer, gen: Generator) -> Buffer:
        env, B = self.env, self.env.B
        draw_weights(self.w, self.W, gen)
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
        shape = (B * positions(self.in_shape), self.in_shape[0])
        gx = env.pool.take(shape)
        np.matmul(g, self.W, out=gx.reshape(B, self.w.cols))
        env.pool.give(g)
        return gx

    def bare(self) -> None:
        env, B = self.env, self.env.B
        x, y = env.bare((B, self.w.cols), 0), env.bare((B, self.w.rows), 1)
        np.matmul(x, self.W.T, out=y)
        np.matmul(y, self.W, out=x)


class _Conv(Op):
    def __init__(self, node: Node, env: Env) -> None:
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
        draw_weights(self.w, self.W, gen)
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


class _Act(Op):
    def __init__(self, node: Node, env: Env) -> None:
        act = node.act
        assert act is not None
        self.env = env
        rows = env.B * positions(node.in_shape)
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


class _LayerNorm(Op):
    def __init__(self, node: Node, env: Env) -> None:
        self.env, self.eps = env, node.eps
        rows = env.B * positions(node.in_shape)
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


class _Residual(Op):
    def __init__(self, node: Node, env: Env) -> None:
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


def make_op(node: Node, env: Env) -> Op:
    """The operation of one node (a residual: of one repeat)."""
    kinds: dict[str, Callable[[Node, Env], Op]] = {
        "dense": _Dense,
        "conv": _Conv,
        "act": _Act,
        "layernorm": _LayerNorm,
        "residual": _Residual,
    }
    return kinds[node.kind](node, env)


class Env:
    """What the operations of one network share: batch, dtype, the pool, im2col buffers and index tables."""

    def __init__(self, B: int, dtype: type) -> None:
        self.B, self.dtype = B, dtype
        self.pool = Pool(dtype)
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
            self._index[key] = offsets(spatial, kernel, sign)
        return self._index[key]
