r"""The trainability grid against the theory: which cells train, and where they lie relative to :math:`6\xi_c`.

Schoenholz et al. (2017, section 5 and figure 1) find that a random tanh
network of depth :math:`L` trains only if :math:`L \lesssim 6\xi_c`, where
:math:`\xi_c = -1/\ln\chi_c` is the depth over which the correlation of two
inputs reaches its fixed point (:func:`xinit_bench.propagation.correlation.depth_scales`);
beyond it the network cannot tell its inputs apart and gradients carry no
signal. :math:`\xi_c` diverges at the edge of chaos (:math:`\chi_1 = 1`).

A cell *trains* when its test accuracy (the mean over the grid's seeds) after
the fixed step budget is at least the grid's threshold. With the tolerance
stated as a factor, :data:`FAR` = 2, :func:`grid_verdict` reports

* the fraction of the cells that train which lie below the curve,
  :math:`L \le 6\xi_c(\sigma_w^2)`;
* the fraction of the cells far above it, :math:`L > 2 \cdot 6\xi_c`, that do
  not train;
* and, for information, the fraction of the cells below the curve that train
  (smaller: the curve bounds the trainable depth, and a short budget does not
  reach the bound, least of all near the edge of chaos where the bound is
  thousands of layers).

``scale="xi_q"`` uses :math:`6\xi_q` (the length scale) instead: a wrong
theory, kept so a test can show that the verdict tells the two apart.

References
----------
.. [1] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..propagation.correlation import depth_scales

__all__ = ["FAR", "GridSpec", "GridVerdict", "Scale", "grid_label", "grid_verdict", "six_xi"]

#: "Far above" the curve: deeper than this factor times :math:`6\xi_c`.
FAR = 2.0
Scale = Literal["xi_c", "xi_q"]


@dataclass(frozen=True)
class GridSpec:
    """The axes of a trainability grid, its fixed bias variance and the accuracy that counts as training."""

    sigma_w2: tuple[float, ...]
    depths: tuple[int, ...]
    sigma_b2: float
    threshold: float
    activation: str = "tanh"


def grid_label(sigma_w2: float, depth: int) -> str:
    """``"sigma_w2=1.33 L=24"``: the arm label of a trainability cell."""
    return f"sigma_w2={sigma_w2:.3g} L={depth}"


@functools.lru_cache(maxsize=512)
def _six_xi(activation: str, sigma_w2: float, sigma_b2: float, scale: str) -> float:
    d = depth_scales(activation, sigma_w2, sigma_b2)
    xi = d.xi_c if scale == "xi_c" else d.xi_q
    return 6.0 * xi if not math.isnan(xi) else math.nan


def six_xi(activation: str, sigma_w2: Sequence[float], sigma_b2: float, scale: Scale = "xi_c") -> NDArray[np.float64]:
    r""":math:`6\xi_c` (or :math:`6\xi_q`) at each ``sigma_w2``: infinite at the edge of chaos (cached)."""
    if scale not in ("xi_c", "xi_q"):
        raise ValueError(f"scale must be one of 'xi_c', 'xi_q', got {scale!r}")
    return np.array([_six_xi(activation, float(s), float(sigma_b2), scale) for s in sigma_w2], dtype=np.float64)


@dataclass(frozen=True)
class GridVerdict:
    """Accuracy per cell (``accuracy[depth index, sigma index]``), the curve, and the module docstring's fractions."""

    grid: GridSpec
    scale: str
    accuracy: NDArray[np.float64]
    curve: NDArray[np.float64]
    trained_below: float
    far_above_untrained: float
    below_trained: float
    n_trained: int
    n_below: int
    n_far_above: int

    @property
    def trains(self) -> NDArray[np.bool_]:
        """Cells whose accuracy reaches the threshold."""
        return self.accuracy >= self.grid.threshold

    def sentence(self) -> str:
        """The verdict in one line."""
        return (
            f"{self.trained_below:.0%} of the {self.n_trained} cells that train lie below 6 {self.scale} "
            f"(L <= 6 {self.scale}); {self.far_above_untrained:.0%} of the {self.n_far_above} cells far above it "
            f"(L > {FAR:g} x 6 {self.scale}) do not train; {self.below_trained:.0%} of the {self.n_below} cells "
            f"below it train (accuracy >= {self.grid.threshold:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (an infinite curve value is written as None)."""
        return {
            "sigma_w2": list(self.grid.sigma_w2),
            "depths": list(self.grid.depths),
            "sigma_b2": self.grid.sigma_b2,
            "threshold": self.grid.threshold,
            "scale": self.scale,
            "far_factor": FAR,
            "accuracy": self.accuracy.tolist(),
            "six_xi": [v if math.isfinite(v) else None for v in self.curve.tolist()],
            "trained_below": self.trained_below,
            "far_above_untrained": self.far_above_untrained,
            "below_trained": self.below_trained,
            "n_trained": self.n_trained,
            "n_below": self.n_below,
            "n_far_above": self.n_far_above,
            "sentence": self.sentence(),
        }


def _fraction(hits: int, of: int) -> float:
    return hits / of if of else math.nan


def grid_verdict(
    grid: GridSpec,
    records: Sequence[Any],
    labels: Sequence[str],
    *,
    scale: Scale = "xi_c",
    threshold: float | None = None,
) -> GridVerdict:
    """The verdict of a trained grid: ``records[i]`` is the run of the cell ``labels[i]`` (``"sigma_w2=.. L=.."``).

    ``threshold`` overrides the grid's (a test shows a wrong one fails).

    Raises
    ------
    ValueError
        A cell of the grid has no run.
    """
    index = {grid_label(s, d): (i, j) for i, d in enumerate(grid.depths) for j, s in enumerate(grid.sigma_w2)}
    sums = np.zeros((len(grid.depths), len(grid.sigma_w2)))
    counts = np.zeros_like(sums)
    for r, lab in zip(records, labels, strict=True):
        i, j = index[lab]
        sums[i, j] += r.test_accuracy[-1]
        counts[i, j] += 1
    if np.any(counts == 0):
        missing = [lab for lab, (i, j) in index.items() if counts[i, j] == 0]
        raise ValueError(f"every cell of the grid needs a run, got none for {missing[:3]}")
    accuracy = sums / counts
    curve = six_xi(grid.activation, grid.sigma_w2, grid.sigma_b2, scale)
    th = grid.threshold if threshold is None else threshold
    trains = accuracy >= th
    depth = np.asarray(grid.depths, dtype=np.float64)[:, None]
    below = depth <= curve[None, :]
    far = depth > FAR * curve[None, :]
    return GridVerdict(
        grid=grid if threshold is None else GridSpec(grid.sigma_w2, grid.depths, grid.sigma_b2, th, grid.activation),
        scale=scale,
        accuracy=accuracy,
        curve=curve,
        trained_below=_fraction(int(np.sum(trains & below)), int(np.sum(trains))),
        far_above_untrained=_fraction(int(np.sum(far & ~trains)), int(np.sum(far))),
        below_trained=_fraction(int(np.sum(below & trains)), int(np.sum(below))),
        n_trained=int(np.sum(trains)),
        n_below=int(np.sum(below)),
        n_far_above=int(np.sum(far)),
    )
