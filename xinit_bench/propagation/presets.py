r"""Presets that reproduce the propagation experiments of two papers.

* :func:`glorot2010`: Glorot & Bengio (2010), section 4.2, figures 6 and 7 --
  five hidden tanh layers of 1000 units, the "standard" initialisation
  ``U[-1/sqrt(n), 1/sqrt(n)]`` (their eq. (1)) against the "normalised" one
  (their eq. (16), ``xavier_uniform``).  With standard init the
  back-propagated gradients shrink toward the input, with normalised init
  they hold.  The paper reports a mean singular value of the layer Jacobians
  (equal to ``W`` while tanh is near linear) of about 0.5 against 0.8: for a
  square ``n x n`` matrix with i.i.d. entries of variance ``v`` the singular
  values follow the quarter-circle law, whose mean is
  :math:`\frac{8}{3\pi}\sqrt{n v}` (Marchenko & Pastur 1967, aspect ratio 1),
  i.e. ``0.490`` for ``v = 1/(3n)`` and ``0.849`` for ``v = 1/n``.
* :func:`he2015`: He et al. (2015), section 2.2 and figure 3 -- a 30-layer
  ReLU network: under Xavier the forward second moment halves at every layer
  (``2^-30`` at the top), under He (``Var[W] = 2/n``) it holds.

References
----------
.. [1] Glorot & Bengio (2010), https://proceedings.mlr.press/v9/glorot10a.html
.. [2] He, Zhang, Ren & Sun (2015), https://arxiv.org/abs/1502.01852
.. [3] Marchenko & Pastur (1967), "Distribution of eigenvalues for some sets of
   random matrices", Mat. Sb. 72(114):4, https://doi.org/10.1070/SM1967v001n04ABEH001994
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from .montecarlo import Progress, SimulationResult, simulate
from .network import InitSpec
from .theory import Prediction, predict

__all__ = ["PRESETS", "PresetResult", "glorot2010", "he2015", "quarter_circle_mean", "run_preset"]


def quarter_circle_mean(n: int, var: float) -> float:
    r"""Mean singular value of a large square ``n x n`` matrix of i.i.d. entries of variance ``var``.

    .. math:: \bar s = \frac{8}{3\pi}\sqrt{n\,\mathrm{var}}

    Examples
    --------
    >>> round(quarter_circle_mean(1000, 1 / 1000), 4)
    0.8488
    """
    return 8.0 / (3.0 * math.pi) * math.sqrt(n * var)


@dataclass(frozen=True)
class PresetResult:
    """Runs of one preset: ``runs[label] = (simulation, prediction)``.

    ``expected_singular_value_mean[label]`` is the quarter-circle value when the
    preset records singular values.
    """

    name: str
    description: str
    runs: dict[str, tuple[SimulationResult, Prediction]]
    expected_singular_value_mean: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "preset": self.name,
            "description": self.description,
            "runs": {k: {"simulation": s.to_dict(), "theory": p.to_dict()} for k, (s, p) in self.runs.items()},
            "expected_singular_value_mean": self.expected_singular_value_mean,
        }


def _run(
    activation: str,
    inits: dict[str, str],
    widths: tuple[int, ...],
    batch: int,
    repeats: int,
    seed: int,
    singular_values: bool,
    progress: Progress | None,
) -> dict[str, tuple[SimulationResult, Prediction]]:
    runs = {}
    total = len(inits) * repeats * 2 * (len(widths) - 1)
    for i, (label, init) in enumerate(inits.items()):
        base = i * repeats * 2 * (len(widths) - 1)

        def step(done: int, _total: int, base: int = base) -> None:
            if progress is not None:
                progress(base + done, total)

        sim = simulate(
            activation,
            widths=widths,
            init=init,
            batch=batch,
            repeats=repeats,
            seed=seed,
            singular_values=singular_values,
            progress=step,
        )
        runs[label] = (sim, predict(activation, widths=widths, init=init))
    return runs


def glorot2010(
    *, batch: int = 500, repeats: int = 4, seed: int = 2010, progress: Progress | None = None
) -> PresetResult:
    """Glorot & Bengio (2010): 5 tanh layers x 1000, standard vs normalised init.

    Examples
    --------
    >>> r = glorot2010(batch=16, repeats=2)
    >>> sorted(r.runs)
    ['normalised', 'standard']
    """
    widths = (1000,) * 6
    inits = {"standard": "standard", "normalised": "xavier_uniform"}
    runs = _run("tanh", inits, widths, batch, repeats, seed, True, progress)
    expected = {k: quarter_circle_mean(1000, InitSpec.parse(v).variance(1000, 1000)) for k, v in inits.items()}
    return PresetResult(
        "glorot2010", "tanh, 5 x 1000, standard U[-1/sqrt n, 1/sqrt n] vs normalised (Xavier) init", runs, expected
    )


def he2015(*, batch: int = 256, repeats: int = 4, seed: int = 2015, progress: Progress | None = None) -> PresetResult:
    """He et al. (2015): 30 ReLU layers x 512, Xavier vs He init.

    Examples
    --------
    >>> r = he2015(batch=16, repeats=2)
    >>> sorted(r.runs)
    ['he', 'xavier']
    """
    widths = (512,) * 31
    runs = _run("relu", {"xavier": "xavier_normal", "he": "he_normal"}, widths, batch, repeats, seed, False, progress)
    return PresetResult("he2015", "ReLU, 30 x 512, Xavier vs He init", runs)


#: Preset name -> function, for the CLI.
PRESETS: dict[str, Callable[..., PresetResult]] = {"glorot2010": glorot2010, "he2015": he2015}


def run_preset(name: str, **kwargs: Any) -> PresetResult:
    """Run a preset by name (``glorot2010`` or ``he2015``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    return PRESETS[name](**kwargs)
