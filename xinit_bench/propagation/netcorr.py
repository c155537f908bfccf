r"""Correlation of two inputs through a :class:`~xinit_bench.propagation.architecture.Network` (mean field).

Two inputs ``x_1, x_2`` of the same second moment ``q^0`` and correlation
``c^0`` go through the same random network.  Beside each unit's law (the
rules of :mod:`xinit_bench.propagation.nettheory`), the recursion carries the
cross moment ``q_{12} = E[x_1 x_2]`` (per unit, averaged over units), and,
when the units are functions ``f`` of one Gaussian, the correlation ``c_g`` of
the two underlying Gaussians.  The correlation of an entry is
``c = q_{12} / E[x^2]``, and ``q_{12}`` is the off-diagonal NNGP kernel.

**Dense and conv** (Poole et al. 2016, eq. (5)): the output pair is centred
Gaussian, independent over units, with

.. math:: q_{12}' = f_{fwd}\, q_{12} + \sigma_b^2, \qquad c_g' = q_{12}' / q' .

For a conv with circular padding every output position sees ``k^d`` inputs,
so this is exact for the cross moment of the same position averaged over
positions; it stays exact after a nonlinearity only when every position has
the same ``(q, c)`` (spatially homogeneous inputs, such as i.i.d. pixels):
in general the per-position kernels of Xiao et al. (2018) would be needed.

**Activation**: ``q_{12}' = E[\phi(f(u_1))\phi(f(u_2))]`` with ``(u_1, u_2)``
centred Gaussian, variances ``q``, correlation ``c_g`` (closed forms of
:func:`~xinit_bench.gauss.cross_moment` when ``f`` is the identity, else
:func:`~xinit_bench.gauss.bivariate_expectation`); ``c_g`` is unchanged.

**Residual** ``y = \beta x + \alpha F(x)``: with a Dense or Conv at the top
level of the branch, the branch output is independent of ``x`` over the
branch's fresh weights and has mean ``m_F`` per unit, so
``E[x_1 F(x_2)] = m_x m_F`` and covariances add (Yang & Schoenholz 2017,
section 3):

.. math:: q_{12}' - m'^2 = \beta^2 (q_{12} - m_x^2) + \alpha^2 (q_{12,F} - m_F^2),
          \qquad m' = \beta m_x + \alpha m_F .

A sum of independent Gaussian pairs is a Gaussian pair, so ``c_g' = q_{12}'/q'``
for a Gaussian stream.

**LayerNorm** at infinite width: each input is centred and scaled by its own
per-example statistics, which tend to the unit mean ``m`` and variance ``v``
(the same for both inputs, since they share ``q^0``), so

.. math:: q_{12}' = \frac{q_{12} - m^2}{v + \epsilon}, \qquad c' = \frac{q_{12} - m^2}{v}\ (\epsilon = 0):

the correlation is unchanged for a centred input (after a Dense) and becomes
the centred correlation otherwise (after a ReLU).  The assumption ends at
finite width, where the two inputs' statistics fluctuate by
``O(n^{-1/2})`` independently, and for inputs of different norms, which
LayerNorm equalises but this recursion (one ``q`` for both) does not model.

References
----------
.. [1] Poole et al. (2016), https://arxiv.org/abs/1606.05340
.. [2] Yang & Schoenholz (2017), "Mean field residual networks: on the edge of chaos",
   NeurIPS. https://arxiv.org/abs/1712.08969
.. [3] Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018), https://arxiv.org/abs/1806.05393
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..activations import Activation
from ..bivariate import bivariate_expectation, cross_moment
from .architecture import Network
from .netresolve import Node
from .nettheory import TheoryUnavailable, _act_law, _Law, _layernorm_law

__all__ = ["mlp_point", "network_correlation"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class _Pair:
    """The law of one input's units, the cross moment of the two inputs, and ``c_g`` for a one-dim law."""

    law: _Law
    cross: float
    cg: float | None


def _clip(c: float) -> float:
    return min(1.0, max(-1.0, c))


def _act_pair(node: Node, pair: _Pair) -> _Pair:
    act = node.act
    assert act is not None
    law, _ = _act_law(node, pair.law)  # raises TheoryUnavailable where the single-input rules do
    if act.kind == 0:
        return _Pair(law, pair.cross, pair.cg)
    assert pair.cg is not None
    src = pair.law
    if src.gaussian:
        cross = cross_moment(act, src.q, src.q, _clip(pair.cg), "phiphi")
    else:
        f = src.f
        assert f is not None
        phi: Activation = act

        def g(x: Array) -> Array:
            return phi.phi(f(x))

        kinks = src.kinks + act.kinks
        cross = bivariate_expectation(g, g, src.q, src.q, _clip(pair.cg), kinks, kinks)
    return _Pair(law, cross, pair.cg)


def _layernorm_pair(node: Node, pair: _Pair) -> _Pair:
    law, _ = _layernorm_law(node, pair.law, False)
    src = pair.law
    cross = (pair.cross - src.mean * src.mean) / (src.var + node.eps)
    return _Pair(law, cross, pair.cg if src.onedim else None)


def _forward(nodes: tuple[Node, ...], pair: _Pair, record: list[_Pair] | None) -> _Pair:
    for node in nodes:
        if node.kind in ("dense", "conv"):
            w = node.weights
            assert w is not None
            sb2 = w.bias_std * w.bias_std
            q = w.forward_factor * pair.law.second + sb2
            cross = w.forward_factor * pair.cross + sb2
            pair = _Pair(_Law.normal(q), cross, cross / q if q > 0 else 1.0)
        elif node.kind == "act":
            pair = _act_pair(node, pair)
        elif node.kind == "layernorm":
            pair = _layernorm_pair(node, pair)
        else:
            if not node.mixes:
                raise TheoryUnavailable(
                    f"{node.where}: the mean-field theory needs a Dense or Conv at the top level of a residual "
                    "branch, so that the branch is independent of the skip"
                )
            a2, b2 = node.alpha * node.alpha, node.beta * node.beta
            for _ in range(node.repeat):
                out = _forward(node.branch, pair, None)
                x, fx = pair.law, out.law
                mean = node.beta * x.mean + node.alpha * fx.mean
                var = b2 * x.var + a2 * fx.var
                cov = b2 * (pair.cross - x.mean**2) + a2 * (out.cross - fx.mean**2)
                gauss = x.gaussian and fx.gaussian
                law = _Law.normal(var) if gauss else _Law(mean, var, b2 * b2 * x.k4 + a2 * a2 * fx.k4, False)
                cross = cov + mean * mean
                pair = _Pair(law, cross, cross / law.second if gauss and law.second > 0 else None)
                if record is not None:
                    record.append(pair)
            continue
        if record is not None:
            record.append(pair)
    return pair


def network_correlation(net: Network, c0: float) -> tuple[Array, Array]:
    """``(c, q12)`` per entry of :attr:`Network.labels` for two inputs of correlation ``c0`` (module docstring).

    ``c[k] = q12[k] / E[x^2]`` of entry ``k``'s output (1 where that second moment is 0).

    Raises
    ------
    TheoryUnavailable
        Where :func:`~xinit_bench.propagation.nettheory.predict_network` does.
    """
    q0 = net.input_second_moment
    record: list[_Pair] = []
    _forward(net.nodes, _Pair(_Law.normal(q0), c0 * q0, c0), record)
    cross = np.array([p.cross for p in record])
    second = np.array([p.law.second for p in record])
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(second > 0, cross / np.where(second > 0, second, 1.0), 1.0)
    return np.clip(c, -1.0, 1.0), cross


def mlp_point(net: Network) -> tuple[Activation, float, float] | None:
    """``(activation, sigma_w2, sigma_b2)`` when ``net`` is a plain MLP of identical layers, else None.

    A plain MLP here is ``Dense (Act Dense)*`` or ``(Dense Act)+``, every Dense
    with the same forward factor (``sigma_w2 = n_in Var[W]``) and bias, every Act
    the same: the network whose depth scales are those of
    :func:`~xinit_bench.propagation.correlation.depth_scales`.
    """
    nodes = net.nodes
    if not nodes or any(n.kind not in ("dense", "act") for n in nodes):
        return None
    kinds = [n.kind for n in nodes]
    if kinds[0] != "dense" or any(a == b for a, b in itertools.pairwise(kinds)) or "act" not in kinds:
        return None
    dense = [n.weights for n in nodes if n.kind == "dense"]
    acts = {n.act for n in nodes if n.kind == "act"}
    factors = {(w.forward_factor, w.bias_std) for w in dense if w is not None}
    if len(acts) != 1 or len(factors) != 1:
        return None
    (act,) = acts
    ((sw2, sb),) = factors
    assert act is not None
    return act, sw2, sb * sb
