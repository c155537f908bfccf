r"""Free-probability prediction of the input-output Jacobian's spectrum, and the closed-form densities.

For a network ``x^l = \phi(W^l x^{l-1} + b^l)`` the Jacobian at an input is
``J = D_L W_L \cdots D_1 W_1`` with ``D_l = diag(\phi'(h^l))``.  At infinite
width the ``D_l`` and the ``W_l W_l^T`` are asymptotically free (Pennington,
Schoenholz & Ganguli 2017, 2018), so the S-transform of ``JJ^T`` is the
product of theirs, and the first two moments of its eigenvalue distribution
follow from each factor's.  For free positive ``a, b``,
``\varphi(abab) = \varphi(a^2)\varphi(b)^2 + \varphi(a)^2\varphi(b^2) - \varphi(a)^2\varphi(b)^2``,
so the *normalised* variance ``Var/mean^2`` of a free product is the sum of
the factors' normalised variances.  The factors:

* a weight layer of gain ``\sigma_w`` (``W W^T`` has mean ``\sigma_w^2``):
  normalised variance ``s = 1`` for i.i.d. entries (Marchenko-Pastur at
  aspect ratio 1, whatever the entries' law), ``s = 0`` for orthogonal ones;
* an activation at pre-activation variance ``q``: ``D^2`` has moments
  ``\mu_k = \mathbb{E}[\phi'(\sqrt q z)^{2k}]``, normalised variance
  ``\mu_2/\mu_1^2 - 1``.

Hence Pennington et al. (2017)'s moments, with their ``s_1`` the first
S-transform coefficient of ``W W^T`` and ``s = -s_1``:

.. math::

    m_1 = \prod_l \sigma_{w,l}^2\,\mu_{1,l} = \prod_l \chi_{1,l}, \qquad
    \frac{\sigma^2_{JJ^T}}{m_1^2} = \sum_{\text{weights}} s_l
        + \sum_{\text{activations}} \Big(\frac{\mu_{2,l}}{\mu_{1,l}^2} - 1\Big),

which at a fixed point ``q^l = q^*`` is their
``\sigma^2_{JJ^T} = m_1^2 L (\mu_2/\mu_1^2 - 1 + s)``.  For piecewise-linear
``\phi`` with a fraction ``p`` of units active, ``\mu_1 = \mu_2 = p``: ``L/p``
(Gaussian) and ``L(1 - p)/p`` (orthogonal); ReLU (``p = 1/2``) gives ``2L``
and ``L``, a linear network ``L`` and ``0``.

What the prediction covers (:func:`jacobian_theory` says why it returns
``None`` otherwise): a chain of square ``Dense`` layers (i.i.d. or
orthogonal weights) and activations, each activation right after a weight
layer or the input, so that its input is one Gaussian; and delta-orthogonal
convolutions with as many input as output channels (Xiao et al. 2018), which
act as the same orthogonal matrix at every position, so that ``J`` is block
diagonal over positions with blocks of the dense kind.  ``q^l`` comes from
the mean-field forward pass (:func:`~xinit_bench.propagation.nettheory.predict_network`),
so the network need not sit at its fixed point.  LayerNorm, residual blocks,
i.i.d. convolution kernels (which mix positions) and rectangular layers are
outside it.

Closed-form densities of ``JJ^T``'s eigenvalues (the squared singular values):
for a linear network of ``L`` square Gaussian layers the Fuss-Catalan law
(the free multiplicative power of Marchenko-Pastur; parametrised by
Haagerup & Möller 2012 and Neuschel 2014); for a linear orthogonal network a
point mass at ``m_1``.

References
----------
.. [1] Pennington, Schoenholz & Ganguli (2017), "Resurrecting the sigmoid in deep learning
   through dynamical isometry: theory and practice", NeurIPS. https://arxiv.org/abs/1711.04735
.. [2] Pennington, Schoenholz & Ganguli (2018), "The emergence of spectral universality in
   deep networks", AISTATS. https://arxiv.org/abs/1802.09979
.. [3] Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018), https://arxiv.org/abs/1806.05393
.. [4] Haagerup & Möller (2012), "The law of large numbers for the free multiplicative
   convolution", https://arxiv.org/abs/1211.4457
.. [5] Neuschel (2014), "Plancherel-Rotach formulae for average characteristic polynomials of
   products of Ginibre random matrices and the Fuss-Catalan distribution", Random Matrices:
   Theory Appl. 3. https://arxiv.org/abs/1311.0365
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..activations import Activation, get_activation
from ..gauss import gaussian_expectation
from ..validation import check_int, check_real
from .architecture import Network
from .netlayers import Input
from .netresolve import Node
from .nettheory import TheoryUnavailable, predict_network

__all__ = ["JacobianTheory", "critical_point", "fixed_point_input", "fuss_catalan_density", "jacobian_theory"]

Array = NDArray[np.float64]
Closed = Literal["fuss_catalan", "point_mass"]


@dataclass(frozen=True)
class JacobianTheory:
    """The prediction for one network: ``mean`` (``m_1``), ``normalised_var`` (``Var/m_1^2``) and ``var``.

    ``closed_form`` names the closed-form density, when there is one:
    ``"fuss_catalan"`` with ``products`` square Gaussian factors, or
    ``"point_mass"`` at ``mean``.
    """

    mean: float
    normalised_var: float
    closed_form: Closed | None = None
    products: int = 0

    @property
    def var(self) -> float:
        """``sigma^2_JJ^T = m_1^2 * normalised_var``."""
        return self.mean * self.mean * self.normalised_var


def _dphi_moments(act: Activation, q: float) -> tuple[float, float]:
    """``(mu_1, mu_2)`` with ``mu_k = E[phi'(sqrt(q) z)^{2k}]``."""
    mu1 = gaussian_expectation(lambda x: act.dphi(x) ** 2, q, act.kinks)
    mu2 = gaussian_expectation(lambda x: act.dphi(x) ** 4, q, act.kinks)
    return mu1, mu2


def _refuse(node: Node, why: str) -> str:
    return f"{node.where}: {why}"


def jacobian_theory(net: Network, q0: float | None = None) -> tuple[JacobianTheory | None, str | None]:
    """The free-probability moments of ``JJ^T`` for ``net`` (module docstring), or ``(None, reason)``.

    ``q0`` replaces the Input's second moment (an input scaled to a fixed point, or a given input).
    """
    if q0 is not None:
        net = Network(Input(net.input_shape, q0), *net.layers[1:])
    try:
        pred = predict_network(net)
    except TheoryUnavailable as e:
        return None, f"the mean-field forward pass does not cover the network: {e}"
    mean, nvar = 1.0, 0.0
    kinds: set[str] = set()
    linear, products = True, 0
    prev = "input"
    for k, node in enumerate(net.nodes):
        if node.kind == "dense" or node.kind == "conv":
            w = node.weights
            assert w is not None
            if node.kind == "conv" and not (w.kind == "delta_orthogonal" and w.channels_in == w.rows):
                return None, _refuse(
                    node,
                    "the prediction covers delta-orthogonal convolutions with as many input as output channels "
                    f"(position-wise orthogonal); this one is {w.label} with {w.channels_in} -> {w.rows} channels",
                )
            if node.kind == "dense" and w.rows != w.cols:
                return None, _refuse(
                    node, f"the prediction covers square layers; this one maps {w.cols} features to {w.rows}"
                )
            mean *= w.backward_factor
            s = 1.0 if w.kind == "iid" else 0.0
            nvar += s
            kinds.add(w.kind)
            products += 1
            prev = node.kind
        elif node.kind == "act":
            act = node.act
            assert act is not None
            if prev == "act":
                return None, _refuse(node, "the prediction needs a weight layer (or the input) before an activation")
            q = net.input_second_moment if k == 0 else float(pred.forward[k - 1])
            if act.name != "linear":
                linear = False
                mu1, mu2 = _dphi_moments(act, q)
                if not mu1 > 0:
                    return None, _refuse(node, f"phi' vanishes at the pre-activation variance q = {q:.6g}")
                mean *= mu1
                nvar += mu2 / (mu1 * mu1) - 1.0
            prev = "act"
        else:
            what = "LayerNorm" if node.kind == "layernorm" else "residual blocks"
            return None, _refuse(node, f"the free-probability prediction covers no {what}")
    closed: Closed | None = None
    if linear and kinds == {"iid"}:
        closed = "fuss_catalan"
    elif linear and kinds and kinds <= {"orthogonal", "delta_orthogonal"}:
        closed = "point_mass"
    return JacobianTheory(mean, nvar, closed, products if closed == "fuss_catalan" else 0), None


def critical_point(activation: str | Activation, q_star: float, param: float | None = None) -> tuple[float, float]:
    r"""``(sigma_w^2, sigma_b^2)`` of the critical network whose length map has the fixed point ``q_star``.

    Pennington et al. (2017) parametrise the critical line by ``q*``:

    .. math:: \sigma_w^2 = \frac{1}{\mathbb{E}[\phi'(\sqrt{q^*} z)^2]},\qquad
              \sigma_b^2 = q^* - \sigma_w^2\,\mathbb{E}[\phi(\sqrt{q^*} z)^2],

    so that ``chi_1 = 1`` and ``q*`` is a fixed point.

    Raises
    ------
    ValueError
        ``q_star`` not finite and > 0, or no critical point with ``sigma_b^2 >= 0`` at it
        (for ReLU every ``q*`` has ``sigma_b^2 = 0``).

    Examples
    --------
    >>> [round(v, 12) for v in critical_point("relu", 1.0)]
    [2.0, 0.0]
    """
    act = activation if isinstance(activation, Activation) else get_activation(activation, param)
    q = check_real("q_star", q_star, positive=True)
    mu1 = gaussian_expectation(lambda x: act.dphi(x) ** 2, q, act.kinks)
    if not mu1 > 0:
        raise ValueError(f"q_star must leave phi' nonzero somewhere, got q_star={q_star!r} for {act.label}")
    sw2 = 1.0 / mu1
    sb2 = q - sw2 * gaussian_expectation(lambda x: act.phi(x) ** 2, q, act.kinks)
    if sb2 < -1e-12 * q:
        raise ValueError(
            f"q_star must give sigma_b^2 >= 0 on the critical line, got q_star={q_star!r} for {act.label} "
            f"(sigma_b^2 = {sb2:.6g})"
        )
    return sw2, max(sb2, 0.0)


def fuss_catalan_density(products: int, points: int = 4000, scale: float = 1.0) -> tuple[Array, Array]:
    r"""The Fuss-Catalan density of ``JJ^T``'s eigenvalues for ``products`` square Gaussian factors.

    With ``s = products`` and ``0 < \varphi < \pi/(s+1)`` (Haagerup & Möller
    2012, Neuschel 2014):

    .. math::

        x(\varphi) = \frac{\sin^{s+1}((s+1)\varphi)}{\sin\varphi\,\sin^s(s\varphi)},\qquad
        \rho(x(\varphi)) = \frac{1}{\pi}\,\frac{\sin^2\varphi\,\sin^{s-1}(s\varphi)}{\sin^s((s+1)\varphi)} .

    The support is ``(0, (s+1)^{s+1}/s^s]``, the ``k``-th moment the
    Fuss-Catalan number ``\binom{(s+1)k}{k}/(sk+1)`` (mean 1, second moment
    ``s+1``); ``s = 1`` is Marchenko-Pastur, ``\sqrt{(4-x)/x}/(2\pi)``.  The
    curve is returned in increasing ``x``, scaled to mean ``scale``.

    Examples
    --------
    >>> x, rho = fuss_catalan_density(1, 5)
    >>> bool(np.allclose(rho, np.sqrt((4 - x) / x) / (2 * np.pi)))
    True
    """
    s = check_int("products", products, minimum=1, maximum=100_000)
    n = check_int("points", points, minimum=2, maximum=10**7)
    sc = check_real("scale", scale, positive=True)
    # Chebyshev-like nodes in (0, pi/(s+1)), denser at both ends of the support.
    t = (np.arange(n) + 0.5) / n
    phi = (math.pi / (s + 1)) * 0.5 * (1.0 - np.cos(math.pi * t))
    a, b, c = np.sin(phi), np.sin(s * phi), np.sin((s + 1) * phi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        x = np.exp((s + 1) * np.log(c) - np.log(a) - s * np.log(b))
        rho = np.exp(2 * np.log(a) + (s - 1) * np.log(b) - s * np.log(c)) / math.pi
    order = np.argsort(x)
    return x[order] * sc, rho[order] / sc


def fixed_point_input(net: Network) -> tuple[float | None, str | None]:
    """The input second moment that puts the first pre-activation on the length map's fixed point.

    The network must repeat one block ``Dense -> Act`` or ``Conv -> Act``
    (same weights' factor, bias and activation), optionally ending with a weight layer; ``q*`` comes from
    :func:`~xinit_bench.propagation.correlation.fixed_point_q`.  ``(None, reason)`` otherwise.
    """
    from .correlation import fixed_point_q

    nodes = net.nodes
    blocks: list[tuple[Any, ...]] = []
    for i in range(0, len(nodes) - 1, 2):
        d, a = nodes[i], nodes[i + 1]
        if d.kind not in ("dense", "conv") or a.kind != "act" or d.weights is None or a.act is None:
            bad = a.where if d.kind in ("dense", "conv") else d.where
            return None, f"{bad}: a fixed-point input needs a network of (Dense or Conv) -> Act blocks"
        w = d.weights
        blocks.append((w.forward_factor, w.bias_std, a.act))
    if not blocks:
        return None, "a fixed-point input needs at least one Dense -> Act block"
    if len(nodes) % 2 == 1 and nodes[-1].kind not in ("dense", "conv"):
        return None, f"{nodes[-1].where}: a fixed-point input needs a network of (Dense or Conv) -> Act blocks"
    if any(b != blocks[0] for b in blocks):
        return None, "a fixed-point input needs every weight -> Act block alike (factor, bias and activation)"
    f, sb, act = blocks[0]
    q = fixed_point_q(act, f, sb * sb, q0=f * net.input_second_moment + sb * sb)
    if not (math.isfinite(q) and q > 0):
        return None, f"the length map has no finite, nonzero fixed point (q* = {q:g})"
    if not q > sb * sb:
        return None, f"q* = {q:g} is not above the bias variance {sb * sb:g}"
    return (q - sb * sb) / f, None
