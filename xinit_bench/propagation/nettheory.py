r"""Mean-field theory of a :class:`~xinit_bench.propagation.architecture.Network`, forward and backward.

Every unit of a layer's output is described by its law over random weights
and inputs: its mean ``m``, variance ``v`` and fourth cumulant ``k4``, and,
when it is a function of one Gaussian, that function ``f`` (the unit is
``f(sqrt(q) z)``, ``z ~ N(0, 1)``; a Gaussian has ``f`` the identity).  The
second moment ``E[x^2] = v + m^2`` is :attr:`NetworkPrediction.forward`.
The rules, per layer kind (``n`` the features of a LayerNorm):

**Dense and conv** (Poole et al. 2016, eq. (3); Xiao et al. 2018, eq. (2.4)
for circular padding, where every output position sees ``k^d`` inputs and
every input feeds ``k^d`` outputs):

.. math:: q_{out} = f_{fwd}\,\mathbb{E}[x^2] + \sigma_b^2,\qquad
          \gamma_{in} = f_{bwd}\,\gamma_{out},

with ``f_fwd = n_in Var[W]``, ``f_bwd = n_out Var[W]`` (fans ``c k^d`` for a
conv; orthogonal and delta-orthogonal weights in
:class:`~xinit_bench.propagation.netlayers.Weights`) and ``gamma`` the
gradient second moment ``E[(dL/dx)^2]``.  The output is Gaussian and, per
unit, independent of the input (the central limit over the fan-in).

**Activation:** ``E[phi(x)^2]`` under the input law (closed forms of
:mod:`xinit_bench.gauss` for a Gaussian, quadrature of ``phi(f(sqrt(q) z))``
otherwise), and ``gamma_in = E[phi'(x)^2] gamma_out`` under the
gradient-independence assumption (Schoenholz et al. 2017, eq. (10)).

**LayerNorm** ``y = (x - mu^) / sqrt(s^2 + eps)`` with ``mu^``, ``s^2`` the
per-example mean and (biased) variance over ``n`` features.  As ``n -> inf``,
``mu^ -> m``, ``s^2 -> v``, so ``y = (x - m)/sqrt(v + eps)``:

.. math:: \mathbb{E}[y^2] = \frac{v}{v + \epsilon} = 1 - \frac{\epsilon}{v} + O(\epsilon^2).

Its Jacobian is ``J = (I - 11^T/n - y y^T/n) / sqrt(s^2 + eps)``: ``1`` is
an eigenvector with eigenvalue 0, ``y/|y|`` one with ``1 - r``
(``r = s^2/(s^2 + eps)``) and the other ``n - 2`` eigenvalues are 1.  For a
gradient ``g`` with i.i.d. components independent of ``y`` (what a next
dense layer gives), ``E|J^T g|^2 = gamma tr(J J^T)``, so

.. math:: \gamma_{in} = \gamma_{out}\,\frac{n - 2 + (1 - r)^2}{n}\;
          \mathbb{E}\Big[\frac{1}{s^2 + \epsilon}\Big],

the ``1/q_in`` factor of Xiong et al. (2020), eq. (6), with its exact
finite-width projection factor.  ``E[1/(s^2 + eps)]`` is ``1/(v + eps)`` at
infinite width (the default); with ``finite_width=True`` it is the second-order delta
method around ``E[s^2] = v (n - 1)/n`` with ``Var[s^2] = (mu_4 - v^2)/n``
(``mu_4 = k4 + 3 v^2``, the fourth central moment):
``1/(E s^2 + eps) + Var[s^2]/(E s^2 + eps)^3``.  For a Gaussian input and
``eps = 0`` that is ``(1 + 3/n)/v + O(n^{-2})``, against the exact
``n/((n - 3) v)`` of an inverse chi-squared.

**Residual** ``y = beta x + alpha F(x)``.  When a top-level layer of the
branch has weights, the branch output is (per unit, in the mean-field limit)
independent of ``x`` and its Jacobian has mean zero, so means, variances and
fourth cumulants add and the cross term of the gradient vanishes:

.. math:: q_{out} = \beta^2 q + \alpha^2 q_F(q)\ \ (\text{zero means}),\qquad
          \gamma_{in} = (\beta^2 + \alpha^2 \chi_F)\,\gamma_{out},

where ``chi_F`` is the product of the branch's backward factors (Yang &
Schoenholz 2017, eq. (3); Hayou et al. 2021).  For a ReLU branch
``[Act(relu), Dense]`` under He init (``chi_F = 1``, ``q_F = q``) this is
``q_L = q_0 (1 + alpha^2)^L``.  Sums of independent Gaussians stay
Gaussian, so a Gaussian residual stream stays Gaussian; a sum with a
non-Gaussian part is only known by its moments, and an activation after it
is refused (:class:`TheoryUnavailable`), as is a branch without weights
(its output is a function of ``x``).

References
----------
.. [1] Poole et al. (2016), https://arxiv.org/abs/1606.05340
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), https://arxiv.org/abs/1611.01232
.. [3] Yang & Schoenholz (2017), "Mean field residual networks: on the edge of chaos",
   NeurIPS. https://arxiv.org/abs/1712.08969
.. [4] Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018), https://arxiv.org/abs/1806.05393
.. [5] Xiong et al. (2020), "On layer normalization in the transformer architecture",
   ICML. https://arxiv.org/abs/2002.04745
.. [6] Hayou, Clerico, He, Deligiannidis, Doucet & Rousseau (2021), "Stable ResNet",
   AISTATS. https://arxiv.org/abs/2010.12859
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..activations import Activation
from ..gauss import gaussian_expectation, moment
from ..validation import check_bool
from .architecture import Network
from .correlation import DepthScales, depth_scales
from .netlayers import NetworkError
from .netresolve import Node

__all__ = ["NetworkPrediction", "TheoryUnavailable", "predict_network"]

Array = NDArray[np.float64]
Fn = Callable[[Array], Array]


class TheoryUnavailable(NetworkError):
    """The mean-field rules of this module do not cover the network (the message names the layer)."""


@dataclass(frozen=True)
class _Law:
    """A unit's law: mean, variance, fourth cumulant; ``f`` and ``q`` when it is ``f(sqrt(q) z)``."""

    mean: float
    var: float
    k4: float
    gaussian: bool
    q: float = 0.0
    f: Fn | None = None
    kinks: tuple[float, ...] = ()

    @property
    def second(self) -> float:
        return self.var + self.mean * self.mean

    @property
    def onedim(self) -> bool:
        return self.gaussian or self.f is not None

    @staticmethod
    def normal(q: float) -> _Law:
        return _Law(0.0, q, 0.0, True, q)

    def expect(self, g: Fn, extra_kinks: tuple[float, ...] = ()) -> float:
        """``E[g(x)]`` for a one-dimensional law."""
        if self.gaussian:
            return gaussian_expectation(g, self.q, extra_kinks)
        f = self.f
        assert f is not None
        return gaussian_expectation(lambda x: g(f(x)), self.q, self.kinks)

    @staticmethod
    def from_fn(f: Fn, q: float, kinks: tuple[float, ...]) -> _Law:
        m = gaussian_expectation(f, q, kinks)
        v = max(gaussian_expectation(lambda x: (f(x) - m) ** 2, q, kinks), 0.0)
        mu4 = gaussian_expectation(lambda x: (f(x) - m) ** 4, q, kinks)
        return _Law(m, v, mu4 - 3.0 * v * v, False, q, f, kinks)


@dataclass(frozen=True)
class NetworkPrediction:
    """Mean-field values per entry of :attr:`Network.labels`.

    ``forward[k]`` is ``E[x^2]`` of the output of entry ``k`` (per unit,
    averaged over units and positions); ``backward[k]`` is ``E[(dL/dx)^2]``
    at that output, with a unit-variance gradient at the network's output
    (``backward[-1] == 1``).  ``mean`` is ``E[x]`` of each output;
    ``input_backward`` is ``E[(dL/dx)^2]`` at the network's input.

    With ``predict(net, c0=...)``, ``correlation[k]`` is the correlation
    ``E[x_1 x_2] / E[x^2]`` of two inputs of correlation ``c0`` at the output of
    entry ``k`` and ``cross[k]`` their cross moment ``E[x_1 x_2]`` (the
    off-diagonal NNGP kernel), by the rules of
    :mod:`xinit_bench.propagation.netcorr`; both are None otherwise.
    ``c_star``, ``chi_c``, ``xi_c`` and ``xi_q`` are the fixed point and depth
    scales (:attr:`scales`) of a plain MLP of identical ``Dense``/``Act`` layers;
    NaN for other networks (a residual stream with weights has no finite
    fixed point of the length map, and a LayerNorm network has no
    one-layer map) and where the length map diverges.
    """

    labels: tuple[str, ...]
    forward: Array
    backward: Array
    mean: Array
    input_second_moment: float
    finite_width: bool
    input_backward: float = math.nan
    correlation: Array | None = None
    cross: Array | None = None
    c0: float | None = None
    point: tuple[Activation, float, float] | None = field(default=None, repr=False)

    @cached_property
    def scales(self) -> DepthScales | None:
        """:func:`~xinit_bench.propagation.correlation.depth_scales` of the MLP's layer map, or None."""
        return None if self.point is None else depth_scales(*self.point)

    def _scale(self, name: str) -> float:
        sc = self.scales
        return math.nan if sc is None else float(getattr(sc, name))

    @property
    def c_star(self) -> float:
        """Stable fixed point of the correlation map (1 in the ordered phase); NaN when undefined."""
        return self._scale("c_star")

    @property
    def chi_c(self) -> float:
        """Slope of the correlation map at ``c_star``."""
        return self._scale("chi_c")

    @property
    def xi_c(self) -> float:
        """Correlation depth scale ``-1 / ln chi_c``."""
        return self._scale("xi_c")

    @property
    def xi_q(self) -> float:
        """Length depth scale, from the slope of the length map at ``q*``."""
        return self._scale("xi_q")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; with ``c0``, also ``correlation``, ``cross`` and ``scales`` (None if undefined)."""
        out: dict[str, Any] = {
            "labels": list(self.labels),
            "forward": self.forward.tolist(),
            "backward": self.backward.tolist(),
            "mean": self.mean.tolist(),
            "input_second_moment": self.input_second_moment,
            "finite_width": self.finite_width,
            "input_backward": self.input_backward,
        }
        if self.c0 is not None and self.correlation is not None and self.cross is not None:
            sc = self.scales
            out.update(
                c0=self.c0,
                correlation=self.correlation.tolist(),
                cross=self.cross.tolist(),
                scales=None if sc is None else sc.to_dict(),
            )
        return out


def _act_law(node: Node, law: _Law) -> tuple[_Law, float]:
    act = node.act
    assert act is not None
    if law.gaussian:
        q = law.q
        if act.kind == 0:  # linear: the law is unchanged
            return law, 1.0
        m2 = moment(act, q, "phi2")
        m1 = moment(act, q, "phi")
        mu4 = gaussian_expectation(lambda x: (act.phi(x) - m1) ** 4, q, act.kinks)
        v = max(m2 - m1 * m1, 0.0)
        out = _Law(m1, v, mu4 - 3.0 * v * v, False, q, act.phi, act.kinks)
        return out, moment(act, q, "dphi2")
    if not law.onedim:
        raise TheoryUnavailable(
            f"{node.where}: the mean-field theory needs the input of an activation to be one Gaussian, or a "
            "function of one; here it is a sum of a non-Gaussian skip and a branch (put a Dense or Conv first)"
        )
    f = law.f
    assert f is not None
    phi: Activation = act

    def g(x: Array) -> Array:
        return phi.phi(f(x))

    chi = law.expect(lambda y: phi.dphi(y) ** 2)
    return _Law.from_fn(g, law.q, law.kinks + act.kinks), chi


def _layernorm_law(node: Node, law: _Law, finite_width: bool) -> tuple[_Law, float]:
    n = node.in_shape[0]
    eps = node.eps
    v, m = law.var, law.mean
    if not v + eps > 0:
        raise TheoryUnavailable(f"{node.where}: the input of a LayerNorm with eps=0 must have a nonzero variance")
    s = math.sqrt(v + eps)
    r = v / (v + eps)
    if finite_width:
        mean_s2 = v * (n - 1) / n
        var_s2 = max(law.k4 + 2.0 * v * v, 0.0) / n  # (mu_4 - v^2) / n with mu_4 = k4 + 3 v^2
        inv = 1.0 / (mean_s2 + eps) + var_s2 / (mean_s2 + eps) ** 3
        chi = (n - 2 + (1 - r) ** 2) / n * inv
    else:
        chi = 1.0 / (v + eps)
    k4 = law.k4 / (v + eps) ** 2
    if law.gaussian:
        out = _Law.normal(v / (v + eps))
    elif law.f is not None:
        f = law.f

        def g(x: Array) -> Array:
            return (f(x) - m) / s

        out = _Law(0.0, r, k4, False, law.q, g, law.kinks)
    else:
        out = _Law(0.0, r, k4, False)
    return out, chi


def _forward(
    nodes: tuple[Node, ...], law: _Law, finite_width: bool, record: list[tuple[_Law, Any]] | None
) -> tuple[_Law, list[Any]]:
    """Push ``law`` through ``nodes``; return the output law and each entry's backward rule."""
    rules: list[Any] = []
    for node in nodes:
        if node.kind in ("dense", "conv"):
            w = node.weights
            assert w is not None
            q = w.forward_factor * law.second + w.bias_std * w.bias_std
            if not math.isfinite(q):
                raise TheoryUnavailable(f"{node.where}: the second moment overflows float64")
            law = _Law.normal(q)
            rule: Any = w.backward_factor
        elif node.kind == "act":
            law, rule = _act_law(node, law)
        elif node.kind == "layernorm":
            law, rule = _layernorm_law(node, law, finite_width)
        else:
            if not node.mixes:
                raise TheoryUnavailable(
                    f"{node.where}: the mean-field theory needs a Dense or Conv at the top level of a residual "
                    "branch, so that the branch is independent of the skip"
                )
            a2, b2 = node.alpha * node.alpha, node.beta * node.beta
            for _ in range(node.repeat):
                out, branch_rules = _forward(node.branch, law, finite_width, None)
                gauss = law.gaussian and out.gaussian
                mean = node.beta * law.mean + node.alpha * out.mean
                var = b2 * law.var + a2 * out.var
                k4 = b2 * b2 * law.k4 + a2 * a2 * out.k4
                if not math.isfinite(var + mean * mean):
                    raise TheoryUnavailable(f"{node.where}: the second moment overflows float64")
                law = _Law.normal(var) if gauss else _Law(mean, var, k4, False)
                rule = ("residual", b2, a2, branch_rules)
                rules.append(rule)
                if record is not None:
                    record.append((law, rule))
            continue
        rules.append(rule)
        if record is not None:
            record.append((law, rule))
    return law, rules


def _chi(rule: Any) -> float:
    """The backward factor of one entry: a number, or ``beta^2 + alpha^2 chi_F`` for a residual."""
    if isinstance(rule, tuple):
        _tag, b2, a2, branch = rule
        chi_f = 1.0
        for r in branch:
            chi_f *= _chi(r)
        return float(b2 + a2 * chi_f)
    return float(rule)


def predict_network(net: Network, *, finite_width: bool = False) -> NetworkPrediction:
    """Mean-field forward and backward second moments of ``net`` (see the module docstring).

    ``finite_width=True`` adds the finite-width corrections of the LayerNorm
    gradient (the ``(n - 2 + (1 - r)^2)/n`` projection and the delta-method
    ``E[1/(s^2 + eps)]``); the default is the infinite-width limit.  The
    correction assumes a gradient isotropic with respect to ``y`` and a
    Gaussian example-to-example spread of ``s^2``, as when the gradient
    reaches the LayerNorm through fresh weights and its input comes from
    them.  Along a chain of post-LN blocks with a dominant skip (DeepNorm)
    neither holds: the gradient from the next LayerNorm has already lost its
    component along nearly the same ``y``, and ``s^2`` barely varies, so the
    infinite-width factor is the closer one (measured: within 1% over 100
    DeepNorm blocks at width 256, against 32% low with the correction).

    Raises
    ------
    TypeError
        ``net`` is not a Network, or ``finite_width`` not a bool.
    TheoryUnavailable
        A layer the rules do not cover, named by index and kind.

    Examples
    --------
    >>> from xinit_bench.propagation.architecture import Act, Dense, Input, Network, Residual
    >>> net = Network(Input(64), Dense(64), Residual([Act("relu"), Dense(64)], alpha=1.0, repeat=3))
    >>> [round(float(q), 12) for q in predict_network(net).forward]
    [2.0, 4.0, 8.0, 16.0]
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    fw = check_bool("finite_width", finite_width)
    record: list[tuple[_Law, Any]] = []
    _forward(net.nodes, _Law.normal(net.input_second_moment), fw, record)
    L = len(record)
    forward = np.array([law.second for law, _ in record])
    mean = np.array([law.mean for law, _ in record])
    backward = np.empty(L)
    g = 1.0
    for k in range(L - 1, -1, -1):
        backward[k] = g
        g *= _chi(record[k][1])
    return NetworkPrediction(net.labels, forward, backward, mean, net.input_second_moment, fw, g)
