r"""Presets that reproduce the Jacobian-spectrum experiments of Pennington et al. (2017) and Xiao et al. (2018).

* :func:`pennington2017`: linear, ReLU and hard-tanh MLPs of width 1000 at
  criticality, Gaussian against orthogonal weights, depths 2 to 128.  The
  squared singular values of ``J`` spread as the free-probability formula
  says, ``Var/m_1^2 = L (\mu_2/\mu_1^2 - 1 + s)``: ``L`` and ``0`` for linear,
  ``2L`` and ``L`` for ReLU, ``L/p`` and ``L(1-p)/p`` for hard-tanh with a
  fraction ``p`` of units in the linear region (``q^* = 1/2``:
  ``p = erf(1) = 0.843``).  Only orthogonal weights with a bounded
  activation near its linear regime keep the spectrum concentrated at depth
  (the densities of their Fig. 2, at the same width).
* :func:`xiao2018`: tanh CNNs (3x3 circular convolutions, 64 channels,
  4x4 positions, so ``J`` is 1024 x 1024) at criticality, depths 2 to 32,
  i.i.d. Gaussian against delta-orthogonal kernels.  A delta-orthogonal
  kernel acts as one orthogonal matrix per position, so ``J`` is block
  diagonal with 16 blocks of 64 x 64, each an orthogonal dense network: its
  spectrum follows the orthogonal dense prediction, with finite-width
  corrections of order ``L/c`` (``c`` the channels, not ``c H W``).  Gaussian
  kernels mix positions and their spectrum spreads with depth: the spectral
  side of Xiao et al.'s result that delta-orthogonal tanh CNNs train at
  depths where Gaussian ones do not.

References
----------
.. [1] Pennington, Schoenholz & Ganguli (2017), https://arxiv.org/abs/1711.04735
.. [2] Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018), https://arxiv.org/abs/1806.05393
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .architecture import Network
from .jacobian import Progress, jacobian_spectrum
from .jacspectrum import JacobianSpectrum
from .jactheory import critical_point
from .netlayers import Act, Conv, Dense, Input

__all__ = ["JACOBIAN_PRESETS", "JacobianPresetResult", "pennington2017", "run_jacobian_preset", "xiao2018"]

#: ``q*`` of the hard-tanh and tanh networks of the presets.
HARD_TANH_Q = 0.5
CNN_TANH_Q = 0.25


@dataclass(frozen=True)
class JacobianPresetResult:
    """``runs[label][depth]``: the spectrum of one configuration at one depth; ``notes`` in words."""

    name: str
    description: str
    runs: dict[str, dict[int, JacobianSpectrum]]
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per (configuration, depth): theory, measured mean +- SE, and the mean eigenvalue."""
        out = []
        for label, by_depth in self.runs.items():
            for depth, r in by_depth.items():
                out.append(
                    {
                        "network": label,
                        "depth": depth,
                        "theory_normalised_var": r.theory_normalised_var,
                        "normalised_var": r.normalised_var_mean,
                        "normalised_var_se": None if r.repeats < 2 else r.normalised_var_se,
                        "theory_mean": r.theory_mean,
                        "mean": r.pooled_mean,
                    }
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the table, and per run its moments and a histogram of log10 of the squared values."""
        runs: dict[str, Any] = {}
        for label, by_depth in self.runs.items():
            runs[label] = {}
            for depth, r in by_depth.items():
                d = r.to_dict(singular_values=False)
                if r.singular_values is not None:
                    dens, edges = log_histogram(r)
                    d["log10_histogram"] = {"density": dens.tolist(), "edges": edges.tolist()}
                runs[label][str(depth)] = d
        return {
            "preset": self.name,
            "description": self.description,
            "notes": self.notes,
            "table": self.rows(),
            "runs": runs,
        }


def log_histogram(
    r: JacobianSpectrum, bins: int = 60, floor: float = -6.0
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Density of ``u = log10`` of the pooled squared singular values on ``[floor, max u]``.

    Normalised by all the values, so the area is the fraction above ``10**floor``
    (ReLU and hard-tanh networks have singular values near 0, and exact zeros).
    """
    lam = r.squared()
    u = np.log10(np.maximum(lam, 1e-300))
    hi = float(u.max())
    lo = max(float(u.min()), floor)
    if lo >= hi:  # every value below the floor: show them all
        lo = float(u.min())
    if hi - lo < 1e-6:
        lo, hi = lo - 0.05, hi + 0.05
    counts, edges = np.histogram(u, np.linspace(lo, hi, bins + 1))
    return counts / (u.size * np.diff(edges)), edges


def _mlp(act: str, weights: str, n: int, L: int) -> Network:
    if act == "linear":
        sw2, sb2 = 1.0, 0.0
    elif act == "relu":
        sw2, sb2 = 2.0, 0.0
    else:
        sw2, sb2 = critical_point(act, HARD_TANH_Q)
    init = "orthogonal" if weights == "orthogonal" else "lecun_normal"
    layers: list[Any] = []
    for _ in range(L):
        layers.append(Dense(n, init=init, gain=math.sqrt(sw2), bias_std=math.sqrt(sb2)))
        if act != "linear":
            layers.append(Act(act))
    return Network(Input(n), *layers)


def _cnn(init: str, c: int, size: int, L: int) -> Network:
    sw2, sb2 = critical_point("tanh", CNN_TANH_Q)
    layers: list[Any] = []
    for _ in range(L):
        layers += [Conv(c, 3, init=init, gain=math.sqrt(sw2), bias_std=math.sqrt(sb2)), Act("tanh")]
    return Network(Input((c, size, size)), *layers)


def _run(
    nets: dict[str, dict[int, tuple[Network, Any]]], repeats: int, seed: int, progress: Progress | None
) -> dict[str, dict[int, JacobianSpectrum]]:
    total = sum(repeats * n.depth for by in nets.values() for n, _ in by.values())
    base = 0
    out: dict[str, dict[int, JacobianSpectrum]] = {}
    for label, by_depth in nets.items():
        out[label] = {}
        for depth, (net, inp) in by_depth.items():

            def step(done: int, _total: int, base: int = base) -> None:
                if progress is not None:
                    progress(base + done, total)

            out[label][depth] = jacobian_spectrum(
                net, repeats=repeats, seed=seed, input=inp, method="svd", progress=step
            )
            base += repeats * net.depth
    return out


def _growth_notes(runs: dict[str, dict[int, JacobianSpectrum]]) -> list[str]:
    notes = []
    for label, by_depth in runs.items():
        cells = []
        for depth, r in by_depth.items():
            th = r.theory_normalised_var
            cells.append(f"L={depth}: {r.normalised_var_mean:.3g}" + ("" if th is None else f" (theory {th:.3g})"))
        notes.append(f"{label}: Var/m1^2 " + ", ".join(cells))
    return notes


def pennington2017(
    *,
    width: int = 1000,
    depths: Sequence[int] = (2, 8, 32, 128),
    repeats: int = 2,
    seed: int = 2017,
    progress: Progress | None = None,
) -> JacobianPresetResult:
    """Linear, ReLU and hard-tanh MLPs, Gaussian against orthogonal, at criticality (module docstring)."""
    nets: dict[str, dict[int, tuple[Network, Any]]] = {}
    for act in ("linear", "relu", "hard_tanh"):
        for weights in ("gaussian", "orthogonal"):
            inp = None if act in ("linear", "relu") else "fixed_point"
            nets[f"{act}, {weights}"] = {L: (_mlp(act, weights, width, L), inp) for L in depths}
    runs = _run(nets, repeats, seed, progress)
    p = math.erf(1.0 / math.sqrt(2.0 * HARD_TANH_Q))
    notes = [
        f"width {width}, {repeats} networks per point, float64; ReLU and linear at sigma_w^2 = 2 and 1, "
        f"hard-tanh on the critical line at q* = {HARD_TANH_Q} (sigma_w^2 = 1/p = {1 / p:.4g}, p = {p:.4g})",
        *_growth_notes(runs),
    ]
    description = f"Jacobian spectra of critical MLPs x {width}: linear, ReLU, hard-tanh; Gaussian vs orthogonal"
    return JacobianPresetResult("pennington2017", description, runs, notes)


def xiao2018(
    *,
    channels: int = 64,
    size: int = 4,
    depths: Sequence[int] = (2, 8, 32),
    repeats: int = 2,
    seed: int = 2018,
    progress: Progress | None = None,
) -> JacobianPresetResult:
    """Critical tanh CNNs, Gaussian against delta-orthogonal kernels (module docstring)."""
    nets: dict[str, dict[int, tuple[Network, Any]]] = {
        "tanh CNN, Gaussian": {L: (_cnn("lecun_normal", channels, size, L), "fixed_point") for L in depths},
        "tanh CNN, delta-orthogonal": {L: (_cnn("delta_orthogonal", channels, size, L), "fixed_point") for L in depths},
    }
    runs = _run(nets, repeats, seed, progress)
    sw2, sb2 = critical_point("tanh", CNN_TANH_Q)
    notes = [
        f"{channels} channels, {size}x{size} positions, 3x3 circular kernels (J is {channels * size * size} square), "
        f"{repeats} networks per point; tanh on the critical line at q* = {CNN_TANH_Q} "
        f"(sigma_w^2 = {sw2:.4g}, sigma_b^2 = {sb2:.4g})",
        *_growth_notes(runs),
        "Gaussian kernels: no prediction (they mix positions); delta-orthogonal: the orthogonal dense one",
    ]
    description = f"Jacobian spectra of critical tanh CNNs, {channels} ch {size}x{size}: Gaussian vs delta-orthogonal"
    return JacobianPresetResult("xiao2018", description, runs, notes)


#: Jacobian preset name -> function, for the CLI.
JACOBIAN_PRESETS: dict[str, Callable[..., JacobianPresetResult]] = {
    "pennington2017": pennington2017,
    "xiao2018": xiao2018,
}


def run_jacobian_preset(name: str, **kwargs: Any) -> JacobianPresetResult:
    """Run a Jacobian preset by name."""
    if name not in JACOBIAN_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, JACOBIAN_PRESETS))}, got {name!r}")
    return JACOBIAN_PRESETS[name](**kwargs)
