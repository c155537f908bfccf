r"""The result of :func:`~xinit_bench.propagation.jacobian.jacobian_spectrum`: spectra, moments and their summaries.

:class:`JacobianSpectrum` holds, per random network, the singular values of
``J = \partial x^L / \partial x^0`` (``method="svd"``) or the Hutchinson
estimates of the first two moments of the eigenvalues of ``JJ^T``, beside the
free-probability prediction (:mod:`~xinit_bench.propagation.jactheory`).  Its
summaries are, per network with ``m_k = tr((JJ^T)^k) / n_out``,

.. math:: \text{mean} = m_1,\qquad \text{var} = m_2 - m_1^2,\qquad
          \text{normalised var} = (m_2 - m_1^2) / m_1^2,

their pooled values over all networks' eigenvalues, the standard error of
the normalised variance over networks, the histogram of the pooled squared
singular values, and the closed-form density where one exists (the
Fuss-Catalan law of a linear network of square Gaussian layers).

References
----------
.. [1] Pennington, Schoenholz & Ganguli (2017), https://arxiv.org/abs/1711.04735
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..validation import check_int
from .jactheory import JacobianTheory, fuss_catalan_density

__all__ = ["JacobianSpectrum"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class JacobianSpectrum:
    r"""Output of :func:`jacobian_spectrum`.

    Attributes
    ----------
    singular_values : ndarray or None
        ``(repeats, min(n_out, n_in))``, descending, one row per network
        (``method="svd"``); None for Hutchinson estimates.
    moments : ndarray
        ``(repeats, 2)``: per network, ``tr(JJ^T)/n_out`` and ``tr((JJ^T)^2)/n_out``,
        the first two moments of the eigenvalues of ``JJ^T`` (exact from the
        singular values, estimates for Hutchinson).
    theory : JacobianTheory or None
        The free-probability prediction; ``theory_reason`` says why it is None.
    """

    labels: tuple[str, ...]
    shape: tuple[int, int]
    repeats: int
    seed: int
    dtype: str
    method: str
    probes: int
    input_second_moment: float
    singular_values: Array | None
    moments: Array
    theory: JacobianTheory | None
    theory_reason: str | None

    @property
    def theory_mean(self) -> float | None:
        """``m_1 = prod chi_1``, or None."""
        return None if self.theory is None else self.theory.mean

    @property
    def theory_var(self) -> float | None:
        """``sigma^2_JJ^T = m_1^2 sum(mu_2/mu_1^2 - 1 + s)``, or None."""
        return None if self.theory is None else self.theory.var

    @property
    def theory_normalised_var(self) -> float | None:
        """``sigma^2_JJ^T / m_1^2``, or None."""
        return None if self.theory is None else self.theory.normalised_var

    @property
    def mean(self) -> Array:
        """Per network: the mean eigenvalue of ``JJ^T``."""
        return np.asarray(self.moments[:, 0])

    @property
    def var(self) -> Array:
        """Per network: the variance of ``JJ^T``'s eigenvalues."""
        return np.asarray(self.moments[:, 1] - self.moments[:, 0] ** 2)

    @property
    def normalised_var(self) -> Array:
        """Per network: its variance over its own squared mean (the mean fluctuates log-normally)."""
        return np.asarray(self.var / self.moments[:, 0] ** 2)

    @property
    def pooled_mean(self) -> float:
        """The mean eigenvalue over all networks' eigenvalues."""
        return float(self.moments[:, 0].mean())

    @property
    def pooled_var(self) -> float:
        """The variance of all networks' eigenvalues pooled."""
        return float(self.moments[:, 1].mean() - self.pooled_mean**2)

    def _se(self, a: Array) -> float:
        return math.nan if self.repeats < 2 else float(a.std(ddof=1) / math.sqrt(self.repeats))

    @property
    def normalised_var_mean(self) -> float:
        """Mean over networks of :attr:`normalised_var`."""
        return float(self.normalised_var.mean())

    @property
    def normalised_var_se(self) -> float:
        """Its standard error, ``std(ddof=1)/sqrt(repeats)`` (NaN for one repeat)."""
        return self._se(self.normalised_var)

    def squared(self) -> Array:
        """All networks' squared singular values, pooled (``method="svd"`` only)."""
        if self.singular_values is None:
            raise ValueError("method='hutchinson' gives moments only; use method='svd' for the singular values")
        return np.asarray((self.singular_values**2).ravel())

    def histogram(self, bins: int = 60, *, log: bool = False) -> tuple[Array, Array]:
        """``(density, edges)`` of the pooled squared singular values (log-spaced edges with ``log=True``)."""
        b = check_int("bins", bins, minimum=1, maximum=10**6)
        lam = self.squared()
        if log:
            pos = lam[lam > 0]
            lo, hi = (float(pos.min()), float(pos.max())) if pos.size else (1e-300, 1.0)
            edges = np.geomspace(lo, hi * (1 + 1e-12), b + 1) if hi > lo else np.array([lo * 0.999, hi * 1.001])
        else:
            edges = np.histogram_bin_edges(lam, b)
        dens, edges = np.histogram(lam, edges, density=True)
        return np.asarray(dens, np.float64), np.asarray(edges, np.float64)

    def theory_density(self, points: int = 4000) -> tuple[Array, Array] | None:
        """The closed-form density ``(x, rho)`` of the squared singular values, where one exists.

        The Fuss-Catalan law for a linear network of square Gaussian layers;
        a point mass is returned as ``(array([m_1]), array([inf]))``; None otherwise.
        """
        th = self.theory
        if th is None or th.closed_form is None:
            return None
        if th.closed_form == "point_mass":
            return np.array([th.mean]), np.array([math.inf])
        return fuss_catalan_density(th.products, points, th.mean)

    def to_dict(self, *, singular_values: bool = True) -> dict[str, Any]:
        """JSON-ready dict (the singular values only with ``singular_values=True``)."""
        one = self.repeats < 2
        return {
            "labels": list(self.labels),
            "shape": list(self.shape),
            "repeats": self.repeats,
            "seed": self.seed,
            "dtype": self.dtype,
            "method": self.method,
            "probes": self.probes,
            "input_second_moment": self.input_second_moment,
            "theory": None
            if self.theory is None
            else {
                "mean": self.theory.mean,
                "var": self.theory.var,
                "normalised_var": self.theory.normalised_var,
                "closed_form": self.theory.closed_form,
            },
            "theory_reason": self.theory_reason,
            "measured": {
                "mean": self.mean.tolist(),
                "var": self.var.tolist(),
                "normalised_var": self.normalised_var.tolist(),
                "normalised_var_mean": self.normalised_var_mean,
                "normalised_var_se": None if one else self.normalised_var_se,
                "pooled_mean": self.pooled_mean,
                "pooled_var": self.pooled_var,
            },
            "singular_values": None
            if (self.singular_values is None or not singular_values)
            else self.singular_values.tolist(),
        }
