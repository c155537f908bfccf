r"""The input-output Jacobian of a random :class:`~xinit_bench.propagation.architecture.Network` and its spectrum.

:func:`jacobian_spectrum` draws ``repeats`` independent networks and, at one
input each, forms ``J = \partial x^L / \partial x^0`` in forward mode, layer
by layer: a matrix ``V`` of tangents (one row per direction of the input) is
pushed through the layers beside the input itself,

* dense: ``x \to W x + b``, ``V \to V W^T``;
* conv (circular, stride 1): ``x \to w * x + b``, ``V \to w * V`` (a sum of
  ``k^d`` rolled copies times the ``(c_out, c_in)`` slice at each offset);
* activation: ``x \to \phi(h)``, ``V \to V\,diag(\phi'(h))``;
* LayerNorm ``y = (x - \bar x)/\tilde s``:
  ``V \to (V - \bar V - y\,\overline{yV})/\tilde s`` over the normalised axis;
* residual: ``x \to \beta x + \alpha F(x)``, ``V \to \beta V + \alpha F'(V)``.

``method="svd"`` starts from the identity (the first weight layer's product
is skipped: ``V = W^T``), so that ``V = J^T``, and ends with
``numpy.linalg.svd``: every singular value.  ``method="hutchinson"`` (the
default for a network with a convolution, whose ``J`` has ``C H W`` rows)
pushes ``K`` Gaussian probes ``v_i`` instead and estimates, from the Gram
matrix ``G_{ij} = (J v_i) \cdot (J v_j)``,

.. math:: \widehat{\operatorname{tr}(JJ^T)} = \frac1K\sum_i G_{ii},\qquad
          \widehat{\operatorname{tr}((JJ^T)^2)} = \frac{1}{K(K-1)}\sum_{i\ne j} G_{ij}^2,

both unbiased (Hutchinson 1989; for ``i != j``,
``E[(v_i^T A v_j)^2] = tr(A^2)`` with ``A = J^T J``).

Weights come from this project's samplers, each layer's from
:func:`xinit_bench.key_for_name` of ``(seed, "<repeat>/<layer>")``, so the
draws do not depend on the order of the work.  The prediction of
:mod:`~xinit_bench.propagation.jactheory` comes with the measurement, in a
:class:`~xinit_bench.propagation.jacspectrum.JacobianSpectrum` (its
histogram and summaries are there).

References
----------
.. [1] Pennington, Schoenholz & Ganguli (2017), https://arxiv.org/abs/1711.04735
.. [2] Hutchinson (1989), "A stochastic estimator of the trace of the influence matrix for
   Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18(3).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._rng import Generator, key_for_name
from ..init import variance_scaling
from ..runtime import available_memory
from ..samplers import normal, uniform
from ..schemes import NAMED_SCHEMES
from ..validation import check_callable, check_choice, check_dtype, check_int
from .architecture import Network
from .jacspectrum import JacobianSpectrum
from .jactheory import fixed_point_input, jacobian_theory
from .netlayers import Weights
from .netresolve import Node
from .network import STANDARD, bounded_count

__all__ = ["JacobianSpectrum", "Method", "estimate_jacobian_memory", "jacobian_spectrum"]

Array = NDArray[np.float64]
Buffer = NDArray[np.floating[Any]]
Method = Literal["auto", "svd", "hutchinson"]
METHODS: tuple[str, ...] = ("auto", "svd", "hutchinson")
Progress = Callable[[int, int], None]


# --- weights ------------------------------------------------------------------------------
def draw_weights(w: Weights, gen: Generator, dtype: type) -> Buffer:
    """The layer's weights: ``(rows, cols)`` for a dense layer, ``(c_out, c_in, *kernel)`` for a conv."""
    from ..orthogonal import delta_orthogonal, orthogonal

    shape = (w.rows, w.channels_in, *w.kernel) if w.kernel else (w.rows, w.cols)
    if w.kind == "delta_orthogonal":
        return delta_orthogonal(shape, w.gain, generator=gen, dtype=dtype)
    if w.kind == "orthogonal":
        return orthogonal(shape, w.gain, generator=gen, dtype=dtype)
    spec = w.spec
    assert spec is not None
    if spec.scheme == STANDARD:
        bound = spec.gain / math.sqrt(w.fan_in)
        return uniform(shape, -bound, bound, generator=gen, dtype=dtype)
    dist = NAMED_SCHEMES[spec.name].distribution
    return variance_scaling(
        shape, scale=w.variance * w.fan_in, mode="fan_in", distribution=dist, generator=gen, dtype=dtype
    )


# --- forward mode -------------------------------------------------------------------------
class _Tangents:
    """The input ``x`` (shape ``(1, *shape)``) and its tangents ``V`` (``(K, *shape)``), pushed layer by layer.

    ``V is None`` stands for the identity (``method="svd"`` before the first weight layer).
    """

    def __init__(self, seed: int, repeat: int, dtype: type, tick: Callable[[], None]) -> None:
        self.seed, self.repeat, self.dtype, self.tick = seed, repeat, dtype, tick

    def gen(self, where: str, rep: int) -> Generator:
        return key_for_name(self.seed, f"{self.repeat}/{where}/{rep}")

    def run(self, nodes: tuple[Node, ...], x: Buffer, V: Buffer | None, rep: int = 0) -> tuple[Buffer, Buffer | None]:
        for node in nodes:
            if node.kind == "residual":
                for r in range(node.repeat):
                    xb, Vb = self.run(node.branch, x, V, r)
                    x = node.beta * x + node.alpha * xb
                    V = self._combine(node, V, Vb, x.shape[1:])
                    self.tick()
                continue
            x, V = self._one(node, x, V, rep)
            self.tick()
        return x, V

    def _identity(self, shape: tuple[int, ...]) -> Buffer:
        n = math.prod(shape)
        return np.eye(n, dtype=self.dtype).reshape(n, *shape)

    def _combine(self, node: Node, V: Buffer | None, Vb: Buffer | None, shape: tuple[int, ...]) -> Buffer:
        V0 = self._identity(shape) if V is None else V
        Vb0 = self._identity(shape) if Vb is None else Vb
        return np.asarray(node.beta * V0 + node.alpha * Vb0, dtype=self.dtype)

    def _one(self, node: Node, x: Buffer, V: Buffer | None, rep: int) -> tuple[Buffer, Buffer | None]:
        y: Buffer
        if node.kind == "dense":
            w = node.weights
            assert w is not None
            gen = self.gen(node.where, rep)
            W = draw_weights(w, gen, self.dtype)
            y = x.reshape(1, -1) @ W.T
            if w.bias_std > 0:
                y += normal((w.rows,), 0.0, w.bias_std, generator=gen, dtype=self.dtype)
            if V is None:
                return y, np.ascontiguousarray(W.T)
            return y, V.reshape(V.shape[0], -1) @ W.T
        if node.kind == "conv":
            w = node.weights
            assert w is not None
            gen = self.gen(node.where, rep)
            K = draw_weights(w, gen, self.dtype)
            y = _conv(x, K)
            if w.bias_std > 0:
                b = normal((w.rows,), 0.0, w.bias_std, generator=gen, dtype=self.dtype)
                y += b.reshape(1, -1, *([1] * len(w.kernel)))
            V0 = self._identity(x.shape[1:]) if V is None else V
            return y, _conv(V0, K)
        if node.kind == "act":
            act = node.act
            assert act is not None
            h = x.astype(np.float64)
            d: Buffer = act.dphi(h).astype(self.dtype)
            y = act.phi(h).astype(self.dtype)
            if V is None:
                V = self._identity(x.shape[1:])
            return y, V * d
        # layernorm, over the channels (axis 1) at each position
        xs = x.astype(np.float64)
        mu = xs.mean(axis=1, keepdims=True)
        c = xs - mu
        inv = 1.0 / np.sqrt((c * c).mean(axis=1, keepdims=True) + node.eps)
        yn = c * inv
        V0 = self._identity(x.shape[1:]) if V is None else V
        Vd = V0.astype(np.float64)
        Vn = (Vd - Vd.mean(axis=1, keepdims=True) - yn * (yn * Vd).mean(axis=1, keepdims=True)) * inv
        return yn.astype(self.dtype), Vn.astype(self.dtype)


def _conv(x: Buffer, W: Buffer) -> Buffer:
    """Circular, stride-1 convolution (cross-correlation, as torch) of ``x`` ``(K, c_in, *sp)`` by ``W``."""
    kernel = W.shape[2:]
    d = len(kernel)
    K, sp = x.shape[0], x.shape[2:]
    out = np.zeros((K, W.shape[0], math.prod(sp)), dtype=x.dtype)
    for t in np.ndindex(*kernel):
        shift = tuple(-(ti - ki // 2) for ti, ki in zip(t, kernel, strict=True))
        rolled = np.roll(x, shift, axis=tuple(range(2, 2 + d))).reshape(K, x.shape[1], -1)
        out += W[(slice(None), slice(None), *t)] @ rolled
    return out.reshape(K, W.shape[0], *sp)


# --- memory -------------------------------------------------------------------------------
def _widest(nodes: tuple[Node, ...]) -> tuple[int, int]:
    """(largest feature count of any value, largest weight count)."""
    feats, weights = 0, 0
    for n in nodes:
        feats = max(feats, math.prod(n.in_shape), math.prod(n.out_shape))
        if n.weights is not None:
            weights = max(weights, n.weights.rows * n.weights.cols)
        if n.branch:
            f, w = _widest(n.branch)
            feats, weights = max(feats, f), max(weights, w)
    return feats, weights


def estimate_jacobian_memory(net: Network, method: str, probes: int, dtype: DTypeLike, repeats: int) -> int:
    """Bytes :func:`jacobian_spectrum` needs at its peak, an upper bound.

    Tangents ``K x N`` (``K`` = input features for ``svd``, the probes for
    Hutchinson) for the widest value ``N``: four of them in ``dtype`` (the
    current one, the next, a rolled copy for a conv, a residual's skip) plus
    two in float64 for a LayerNorm; the weights and the orthogonal samplers'
    float64 work (three matrices); for ``svd`` the LAPACK work of the last
    ``J`` in float64 (three copies) and the singular values; 1 MiB more.
    """
    item = np.dtype(dtype).itemsize
    feats, weights = _widest(net.nodes)
    K = math.prod(net.input_shape) if method == "svd" else probes
    has_ln = any(n.kind == "layernorm" for n in net.nodes)
    tangents = K * feats * (4 * item + (16 if has_ln else 0))
    w = weights * (item + 3 * 8)
    last = math.prod(net.nodes[-1].out_shape)
    svd = 3 * 8 * K * last + 8 * repeats * min(K, last) if method == "svd" else 8 * probes * probes
    return int(tangents + w + svd + 2**20)


def jacobian_spectrum(
    net: Network,
    *,
    seed: int = 0,
    repeats: int = 32,
    input: Any = None,
    dtype: DTypeLike = np.float64,
    method: Method = "auto",
    probes: int = 16,
    max_memory: int | None = None,
    progress: Progress | None = None,
) -> JacobianSpectrum:
    r"""Singular values (or Hutchinson moments) of ``J = dx^L/dx^0`` of ``repeats`` random networks (module docstring).

    Parameters
    ----------
    net : Network
    seed : int
        Same seed, same weights, input and probes.
    repeats : int
        Independent networks, one row of the result each.
    input : None, "fixed_point" or array
        None: ``x^0 ~ N(0, q^0)`` with the Input's second moment, drawn per
        network.  ``"fixed_point"``: the same with ``q^0`` scaled so that the
        first pre-activation sits on the length map's fixed point ``q*`` (a
        network of identical ``Dense -> Act`` blocks).  An array of the
        Input's shape (one input for every network) or ``(repeats, *shape)``.
    dtype : float32 or float64
        Of the weights and the products (the SVD runs in the same dtype).
    method : "auto", "svd" or "hutchinson"
        "auto": "svd" without convolutions, "hutchinson" with one.
    probes : int
        Hutchinson probes per network (>= 2).
    max_memory : int, optional
        Refuse above this many bytes (default 80% of available memory).
    progress : callable, optional
        ``progress(done, total)`` after each layer of each network.

    Returns
    -------
    JacobianSpectrum

    Raises
    ------
    TypeError, ValueError
        Before any work: a bad argument, a ``"fixed_point"`` input for a
        network without one, an input array of the wrong shape or with a
        non-finite value, or a ``J`` too large for memory (with the estimate).

    Examples
    --------
    >>> from xinit_bench.propagation import Dense, Input, Network
    >>> r = jacobian_spectrum(Network(Input(16), Dense(16, init="orthogonal"), Dense(16, init="orthogonal")), repeats=2)
    >>> bool(np.allclose(r.singular_values, 1.0)), r.theory_normalised_var
    (True, 0.0)
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    s0 = check_int("seed", seed, minimum=0)
    R = bounded_count("repeats", repeats, 10**6)
    dt = check_dtype("dtype", dtype, (np.float32, np.float64)).type
    m = check_choice("method", method, METHODS)
    K = check_int("probes", probes, minimum=2, maximum=10**6)
    limit = None if max_memory is None else check_int("max_memory", max_memory, minimum=0)
    check_callable("progress", progress, optional=True)
    has_conv = _has(net.nodes, "conv")
    chosen = ("hutchinson" if has_conv else "svd") if m == "auto" else m
    q0, given = _resolve_input(net, input, R)
    need = estimate_jacobian_memory(net, chosen, K, dt, R)
    cap = int(0.8 * available_memory()) if limit is None else limit
    if need > cap:
        n_in, n_out = math.prod(net.input_shape), math.prod(net.nodes[-1].out_shape)
        raise ValueError(
            f"the Jacobian must fit in memory: method={chosen!r} needs an estimated {need / 2**30:.2f} GiB "
            f"({need} bytes) for J of {n_out} x {n_in}; the limit is {cap / 2**30:.2f} GiB "
            f"({'80% of available memory' if limit is None else 'max_memory'}). "
            + (
                "Use method='hutchinson' (moments only) or a smaller network."
                if chosen == "svd"
                else "Use fewer probes."
            )
        )
    theory, reason = jacobian_theory(net, q0)
    n_in = math.prod(net.input_shape)
    n_out = math.prod(net.nodes[-1].out_shape)
    per_net = sum(n.repeat if n.kind == "residual" else 1 for n in net.nodes)
    total, done = R * per_net, 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and done <= total:
            progress(done, total)

    svs: list[Array] = []
    moments = np.empty((R, 2))
    for r in range(R):
        eng = _Tangents(s0, r, dt, tick)
        if given is not None:
            x = np.asarray(given[r if given.shape[0] > 1 else 0], dtype=dt).reshape(1, *net.input_shape)
        else:
            x = normal((1, *net.input_shape), 0.0, math.sqrt(q0), generator=key_for_name(s0, f"{r}/input"), dtype=dt)
        V: Buffer | None = None
        if chosen == "hutchinson":
            V = normal((K, *net.input_shape), generator=key_for_name(s0, f"{r}/probes"), dtype=dt)
        _x, V = eng.run(net.nodes, x, V)
        if V is None:  # a network without weights or activations: J = I
            V = np.eye(n_in, dtype=dt)
        Y = V.reshape(V.shape[0], -1)
        if chosen == "svd":
            sv = np.linalg.svd(Y, compute_uv=False).astype(np.float64)
            svs.append(sv)
            lam = sv * sv
            moments[r] = (lam.sum() / n_out, (lam * lam).sum() / n_out)
        else:
            G = (Y @ Y.T).astype(np.float64)
            diag = np.diag(G)
            off = (G * G).sum() - (diag * diag).sum()
            moments[r] = (diag.mean() / n_out, off / (K * (K - 1)) / n_out)
    return JacobianSpectrum(
        net.labels,
        (n_out, n_in),
        R,
        s0,
        np.dtype(dt).name,
        chosen,
        K if chosen == "hutchinson" else 0,
        q0 if given is None else float(np.mean(np.asarray(given, np.float64) ** 2)),
        np.vstack(svs) if svs else None,
        moments,
        theory,
        reason,
    )


def _has(nodes: tuple[Node, ...], kind: str) -> bool:
    return any(n.kind == kind or _has(n.branch, kind) for n in nodes)


def _resolve_input(net: Network, value: Any, R: int) -> tuple[float, NDArray[Any] | None]:
    """``(q^0, given)``: the input's second moment, and the given input array (or None)."""
    if value is None:
        return net.input_second_moment, None
    if isinstance(value, str):
        check_choice("input", value, ("fixed_point",))
        q0, why = fixed_point_input(net)
        if q0 is None:
            raise ValueError(f"input='fixed_point' needs a network with a fixed point: {why}")
        return q0, None
    if not isinstance(value, (np.ndarray, list, tuple)):
        raise TypeError(f"input must be None, 'fixed_point' or an array, got {type(value).__name__}")
    a = np.asarray(value)
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise TypeError(f"input must be a real array, got dtype {a.dtype}")
    shape = net.input_shape
    if a.shape == shape:
        a = a.reshape(1, *shape)
    elif a.shape != (R, *shape):
        raise ValueError(
            f"input must have the Input's shape {shape!r} or (repeats, *shape) = {(R, *shape)!r}, got {a.shape!r}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("input must be finite, got a NaN or an infinity")
    q0 = float(np.mean(a.astype(np.float64) ** 2))
    if not q0 > 0:
        raise ValueError("input must not be all zeros (its second moment sets the theory's q^0)")
    return q0, a
