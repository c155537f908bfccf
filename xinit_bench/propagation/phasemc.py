r"""Monte Carlo on the phase diagram, and the ``schoenholz2017`` preset: :math:`\xi_c` against :math:`\sigma_w^2`.

:func:`measure_cells` runs random tanh-style MLPs (``lecun_normal`` weights
of gain :math:`\sigma_w`, so :math:`\mathrm{Var}[W] = \sigma_w^2/n`, biases of
standard deviation :math:`\sigma_b`) on pairs of inputs of correlation
:math:`c^0` at a few cells of the grid, and reports the measured :math:`c^L`
beside :func:`~xinit_bench.propagation.predict`'s.

:func:`schoenholz2017` reproduces the depth-scale panel of Schoenholz et al.
(2017), Fig. 1: :math:`\xi_c = -1/\ln\chi_c` of tanh against
:math:`\sigma_w^2` at a few :math:`\sigma_b^2`, diverging at the critical
:math:`\sigma_w^2` of each, with Monte Carlo estimates.  A network's
:math:`\xi_c` is measured from the decay of :math:`d^l = |c^l - c^*|`, which
near the fixed point obeys :math:`d^{l+1} \approx \chi_c d^l`, so
:math:`\ln d^l = \mathrm{const} - l/\xi_c`; the least-squares slope of
:math:`\ln d^l` over the layers where :math:`d^l` stands clear of its
standard error gives one :math:`\xi_c` per network, and the points are the
mean and standard error over the networks.  The inputs have second moment
:math:`q^0 = (q^* - \sigma_b^2)/\sigma_w^2`, so that :math:`q^l = q^*` at
every layer, and :math:`c^0 = c^* - 0.05\,(1 + c^*)`, close enough to
:math:`c^*` for the linearised map to hold from the first layers on.  In the chaotic phase :math:`c^*` is the theory's.

References
----------
.. [1] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232 (Fig. 1, section 3).
.. [2] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), https://arxiv.org/abs/1606.05340
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..activations import Activation, get_activation
from ..validation import check_bool, check_callable, check_int, check_real
from .correlation import correlation_map, depth_scales, length_map
from .montecarlo import simulate
from .phaseline import Grid, _axis, critical_line

__all__ = [
    "MC_DEFAULTS",
    "XiCurves",
    "check_cells",
    "check_mc_options",
    "measure_cells",
    "measure_xi_c",
    "schoenholz2017",
    "theory_c",
]

Array = NDArray[np.float64]
Progress = Callable[[int, int], None]

#: Monte Carlo defaults of :func:`measure_cells`: layers, units, examples (pairs x 2), networks, seed, c^0.
MC_DEFAULTS: dict[str, Any] = {"depth": 20, "width": 256, "batch": 128, "repeats": 4, "seed": 0, "c0": 0.5}
#: The preset's sigma_b^2 values, sigma_w^2 axis, and its Monte Carlo cells as fractions of the critical sigma_w^2.
SCHOENHOLZ_B2 = (0.01, 0.05, 0.3)
SCHOENHOLZ_W2: Grid = (0.5, 4.0, 71)
SCHOENHOLZ_MC_FRACTIONS = (0.5, 0.7, 0.85, 0.93)
#: The largest theory xi_c a Monte Carlo point is measured at: deeper decays need more layers than the preset runs.
MAX_MC_XI = 20.0
#: How far below c* the measured pairs start, as a fraction of 1 + c*.
C0_OFFSET = 0.05


def check_cells(act: Activation, cells: Sequence[tuple[float, float]]) -> None:
    """Refuse (``ValueError``) a Monte Carlo cell without a finite fixed point, before any run."""
    for k, (w2, b2) in enumerate(cells):
        if not depth_scales(act, w2, b2).bounded:
            raise ValueError(
                f"monte_carlo[{k}] must be a bounded cell (a finite fixed point q*), got "
                f"(sigma_w2, sigma_b2) = ({w2:g}, {b2:g}) for {act.label}"
            )


def check_mc_options(options: Any) -> dict[str, Any]:
    """:data:`MC_DEFAULTS` updated with ``options``, after checking every value (before any run).

    Raises
    ------
    TypeError
        ``options`` is not a mapping, or a value of the wrong type.
    ValueError
        An unknown key, a value out of range, or an odd ``batch`` (the examples are pairs).
    """
    if options is None:
        return dict(MC_DEFAULTS)
    if not isinstance(options, dict):
        raise TypeError(f"monte_carlo_options must be None or a dict, got {options!r}")
    unknown = sorted(set(options) - set(MC_DEFAULTS))
    if unknown:
        raise ValueError(f"monte_carlo_options must have keys among {', '.join(MC_DEFAULTS)}, got {unknown}")
    out = {**MC_DEFAULTS, **options}
    for name, lo in (("depth", 1), ("width", 2), ("batch", 2), ("repeats", 2), ("seed", 0)):
        out[name] = check_int(name, out[name], minimum=lo)
    if out["batch"] % 2:
        raise ValueError(f"batch must be even (the examples are pairs), got {out['batch']}")
    c0 = check_real("c0", out["c0"], minimum=-1.0)
    if c0 > 1.0:
        raise ValueError(f"c0 must be a finite real number in [-1, 1], got {out['c0']!r}")
    out["c0"] = c0
    return out


def theory_c(act: Activation, sigma_w2: float, sigma_b2: float, q0: float, c0: float, depth: int) -> float:
    r"""Mean-field :math:`c^L` of the pre-activations for two inputs of second moment ``q0`` and correlation ``c0``.

    Layer 1 sees the raw inputs, :math:`q^1 = \sigma_w^2 q^0 + \sigma_b^2` and
    :math:`c^1 = (\sigma_w^2 q^0 c^0 + \sigma_b^2)/q^1` (the convention of
    :func:`~xinit_bench.propagation.predict` and
    :func:`~xinit_bench.propagation.simulate`); then the length and
    correlation maps of :mod:`~xinit_bench.propagation.correlation`, ``depth - 1`` times.
    """
    q = sigma_w2 * q0 + sigma_b2
    c = (sigma_w2 * q0 * c0 + sigma_b2) / q
    for _ in range(depth - 1):
        q, c = length_map(act, sigma_w2, sigma_b2, q), correlation_map(act, sigma_w2, sigma_b2, q, q, c)
    return c


def measure_cells(
    activation: str | Activation,
    cells: Sequence[tuple[float, float]],
    *,
    depth: int = 20,
    width: int = 256,
    batch: int = 128,
    repeats: int = 4,
    seed: int = 0,
    c0: float = 0.5,
) -> list[dict[str, Any]]:
    r"""Measured :math:`c^L` at each cell :math:`(\sigma_w^2, \sigma_b^2)`, beside the theory's.

    One :func:`~xinit_bench.propagation.simulate` per cell with ``c0=c0``
    (float64, ``lecun_normal`` of gain :math:`\sigma_w`, bias std :math:`\sigma_b`,
    unit input second moment); cell ``k`` uses seed ``seed + k``.

    Returns
    -------
    list of dict
        ``sigma_w2``, ``sigma_b2``, ``depth``, ``c0``, ``c_measured``, ``c_se``
        (standard error over ``repeats`` networks), ``c_theory`` and
        ``z = (c_measured - c_theory) / c_se``.
    """
    act = get_activation(activation)
    out = []
    for k, (w2, b2) in enumerate(cells):
        kw: dict[str, Any] = {
            "depth": depth,
            "width": width,
            "init": "lecun_normal",
            "gain": math.sqrt(w2),
            "bias_std": math.sqrt(b2),
        }
        sim = simulate(act, batch=batch, repeats=repeats, seed=seed + k, dtype=np.float64, c0=c0, **kw)
        assert sim.correlation is not None and sim.correlation_se is not None
        c, se, th = float(sim.correlation[-1]), float(sim.correlation_se[-1]), theory_c(act, w2, b2, 1.0, c0, depth)
        out.append(
            {
                "sigma_w2": w2,
                "sigma_b2": b2,
                "depth": depth,
                "c0": c0,
                "c_measured": c,
                "c_se": se,
                "c_theory": th,
                "z": (c - th) / se if se > 0 else None,
            }
        )
    return out


def _fit_xi(d: Array, se: Array, per_repeat: Array) -> tuple[float, float, int] | None:
    """xi_c from the decay of d^l: mean and standard error over networks, and the layers fitted."""
    good = (d > 5.0 * se) & (d > 1e-9)
    n = int(np.argmin(good)) if not good.all() else good.size
    if n < 3:
        return None
    layers = np.arange(1, n + 1, dtype=np.float64)
    xis = []
    for row in per_repeat[:, :n]:
        if not np.all(row > 0):
            return None
        slope = float(np.polyfit(layers, np.log(row), 1)[0])
        if not slope < 0:
            return None
        xis.append(-1.0 / slope)
    x = np.asarray(xis)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan, n


def measure_xi_c(
    activation: str | Activation,
    sigma_w2: float,
    sigma_b2: float,
    *,
    width: int = 256,
    batch: int = 128,
    repeats: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    r"""The correlation depth scale :math:`\xi_c` of one cell measured by Monte Carlo (module docstring).

    The depth is ``clip(ceil(4 xi_c), 8, 100)`` layers of the theory's
    :math:`\xi_c`.  Returns ``sigma_w2``, ``sigma_b2``, ``phase``, ``depth``,
    ``c0``, ``xi_c`` and ``xi_c_se`` (None when fewer than 3 layers stand clear
    of the noise), ``layers_fitted`` and ``xi_c_theory``.
    """
    act = get_activation(activation)
    ds = depth_scales(act, sigma_w2, sigma_b2)
    depth = int(min(max(math.ceil(4.0 * ds.xi_c), 8), 100))
    c_star = float(ds.c_star)
    c0 = max(c_star - C0_OFFSET * (1.0 + c_star), -1.0)
    q0 = (float(ds.q_star) - sigma_b2) / sigma_w2
    sim = simulate(
        act,
        depth=depth,
        width=width,
        init="lecun_normal",
        gain=math.sqrt(sigma_w2),
        bias_std=math.sqrt(sigma_b2),
        input_second_moment=q0 if q0 > 0 else 1.0,
        batch=batch,
        repeats=repeats,
        seed=seed,
        dtype=np.float64,
        c0=c0,
    )
    assert sim.per_repeat_correlation is not None and sim.correlation_se is not None
    per_repeat = np.abs(sim.per_repeat_correlation - c_star)
    fit = _fit_xi(np.abs(sim.per_repeat_correlation.mean(axis=0) - c_star), sim.correlation_se, per_repeat)
    return {
        "sigma_w2": sigma_w2,
        "sigma_b2": sigma_b2,
        "phase": ds.phase,
        "depth": depth,
        "c0": c0,
        "xi_c": None if fit is None else fit[0],
        "xi_c_se": None if fit is None or not math.isfinite(fit[1]) else fit[1],
        "layers_fitted": 0 if fit is None else fit[2],
        "xi_c_theory": float(ds.xi_c),
    }


@dataclass(frozen=True)
class XiCurves:
    r"""Result of :func:`schoenholz2017`: :math:`\xi_c` and :math:`\xi_q` against :math:`\sigma_w^2`.

    ``xi_c`` and ``xi_q`` have shape ``(len(sigma_b2), len(sigma_w2))``;
    ``critical_sigma_w2[k]`` is the order-to-chaos point of ``sigma_b2[k]``;
    ``monte_carlo`` holds :func:`measure_xi_c` dicts.
    """

    activation: str
    sigma_w2: Array
    sigma_b2: Array
    xi_c: Array
    xi_q: Array
    critical_sigma_w2: Array
    monte_carlo: tuple[dict[str, Any], ...]
    width: int
    batch: int
    repeats: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite depth scales as "inf", NaN as None)."""
        from .phaseline import _to_json

        return {
            "preset": "schoenholz2017",
            "activation": self.activation,
            "sigma_w2": self.sigma_w2.tolist(),
            "sigma_b2": self.sigma_b2.tolist(),
            "xi_c": _to_json(self.xi_c),
            "xi_q": _to_json(self.xi_q),
            "critical_sigma_w2": _to_json(self.critical_sigma_w2),
            "monte_carlo": [dict(m) for m in self.monte_carlo],
            "width": self.width,
            "batch": self.batch,
            "repeats": self.repeats,
            "seed": self.seed,
        }


def schoenholz2017(
    *,
    sigma_w2: Grid = SCHOENHOLZ_W2,
    sigma_b2: Sequence[float] = SCHOENHOLZ_B2,
    monte_carlo: bool = True,
    mc_fractions: Sequence[float] = SCHOENHOLZ_MC_FRACTIONS,
    width: int = 256,
    batch: int = 128,
    repeats: int = 4,
    seed: int = 0,
    progress: Progress | None = None,
) -> XiCurves:
    r"""The ``schoenholz2017`` preset: tanh's :math:`\xi_c(\sigma_w^2)` at a few :math:`\sigma_b^2`, with Monte Carlo.

    Theory at every point of ``sigma_w2`` (``numpy.linspace``) and each
    ``sigma_b2``; the critical :math:`\sigma_w^2` by
    :func:`~xinit_bench.propagation.phase.critical_line`; with
    ``monte_carlo``, :func:`measure_xi_c` at ``mc_fractions`` (each in (0, 1))
    of each critical :math:`\sigma_w^2`, in the ordered phase, where the theory
    :math:`\xi_c` is at most :data:`MAX_MC_XI` (cell ``k`` with seed ``seed + k``).

    The Monte Carlo stays in the ordered phase: in the chaotic phase
    :math:`c^l` settles to :math:`c^* < 1` within a few layers from a nearby
    start, where the finite-width scatter of the measured :math:`c^l` (about
    0.01 at width 256 with 64 pairs) hides the exponential approach, and from a
    start near 1 it leaves the unstable fixed point slowly, outside the
    linearised regime that defines :math:`\xi_c`.
    """
    act = get_activation("tanh")
    ws = _axis("sigma_w2", sigma_w2, minimum=0.0, strict=True)
    bs = np.asarray([check_real("sigma_b2", b, minimum=0.0) for b in sigma_b2], dtype=np.float64)
    if bs.size == 0:
        raise ValueError("sigma_b2 must hold at least one value, got ()")
    mc = check_bool("monte_carlo", monte_carlo)
    fractions = [check_real("mc_fractions", f, positive=True) for f in mc_fractions]
    if any(f >= 1.0 for f in fractions):
        raise ValueError(f"mc_fractions must each be in (0, 1) (the ordered phase), got {tuple(mc_fractions)!r}")
    for name, v, lo in (("width", width, 2), ("batch", batch, 2), ("repeats", repeats, 2), ("seed", seed, 0)):
        check_int(name, v, minimum=lo)
    check_callable("progress", progress, optional=True)
    total = bs.size * ws.size + (bs.size * len(fractions) if mc else 0)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    xi_c = np.empty((bs.size, ws.size))
    xi_q = np.empty((bs.size, ws.size))
    for k, b2 in enumerate(bs):
        for i, w2 in enumerate(ws):
            ds = depth_scales(act, float(w2), float(b2))
            xi_c[k, i] = float(ds.xi_c) if ds.bounded else math.nan
            xi_q[k, i] = float(ds.xi_q) if ds.bounded else math.nan
            tick()
    crit = critical_line(act, bs, (float(ws[0]), float(ws[-1])))
    points = []
    if mc:
        cell = 0
        for k, b2 in enumerate(bs):
            for f in fractions:
                w2 = f * float(crit[k])
                if math.isfinite(w2) and float(depth_scales(act, w2, float(b2)).xi_c) <= MAX_MC_XI:
                    m = measure_xi_c(act, w2, float(b2), width=width, batch=batch, repeats=repeats, seed=seed + cell)
                    points.append(m)
                cell += 1
                tick()
    return XiCurves(act.label, ws, bs, xi_c, xi_q, crit, tuple(points), width, batch, repeats, seed)
