r"""Critical gains: the weight scale that holds the forward or the backward variance, or the edge of chaos.

With ``Var[W] = g^2 / fan_in`` on square layers and the Gaussian moments of
:mod:`xinit_bench.gauss`, :func:`critical_gain` solves the mean-field
conditions of Poole et al. (2016) and Schoenholz et al. (2017) for ``g`` (and
for the bias ``sigma_b`` at the edge of chaos); :func:`gain_table` shows them
for every built-in activation beside PyTorch's recommended gains
(:data:`xinit_bench.gains.PYTORCH_GAINS`).

References
----------
.. [1] Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential
   expressivity in deep neural networks through transient chaos", NeurIPS.
   https://arxiv.org/abs/1606.05340
.. [2] Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep Information
   Propagation", ICLR. https://arxiv.org/abs/1611.01232
.. [3] Glorot & Bengio (2010), https://proceedings.mlr.press/v9/glorot10a.html
.. [4] He, Zhang, Ren & Sun (2015), https://arxiv.org/abs/1502.01852
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ..activations import ACTIVATIONS, Activation, get_activation
from ..gains import PYTORCH_GAINS
from ..gauss import length_map_slope, moment
from ..validation import check_choice, check_real
from .correlation import CRITICAL_TOLERANCE, Phase, depth_scale, phase, scales_at

__all__ = [
    "CRITERIA",
    "CRITICAL_TOLERANCE",
    "Criterion",
    "CriticalGain",
    "Phase",
    "critical_gain",
    "gain_table",
    "phase",
]

Criterion = Literal["forward", "backward", "edge_of_chaos"]
CRITERIA: tuple[str, ...] = ("forward", "backward", "edge_of_chaos")


@dataclass(frozen=True)
class CriticalGain:
    """Result of :func:`critical_gain`.

    ``gain`` is ``sigma_w`` with ``Var[W] = gain^2 / fan_in``; ``bias_std`` is
    ``sigma_b``; ``chi1 = gain^2 E[phi'(sqrt(q) z)^2]`` is the per-layer gradient factor at ``q``;
    ``length_slope`` is the slope of the length map at ``q`` (stable < 1).
    ``feasible`` is False when the edge of chaos needs ``sigma_b^2 < 0``;
    ``stable`` is None when not feasible.  ``phase`` is :func:`phase` of
    ``chi1``: ``"ordered"`` (gradients vanish as ``chi1^L``), ``"critical"``
    or ``"chaotic"`` (they explode), Schoenholz et al. (2017), section 3.
    """

    activation: str
    criterion: str
    q: float
    gain: float
    bias_std: float
    chi1: float
    length_slope: float
    feasible: bool
    stable: bool | None
    note: str
    phase: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def critical_gain(
    activation: str | Activation,
    criterion: Criterion = "forward",
    q: float = 1.0,
    *,
    param: float | None = None,
) -> CriticalGain:
    r"""The gain that keeps forward or backward variance constant, or the edge of chaos.

    With ``Var[W] = g^2 / fan_in`` on square layers:

    * ``"forward"``: ``q`` is a fixed point of the length map without bias,
      :math:`g^2\,\mathbb{E}[\phi(\sqrt q z)^2] = q` (at ``q = 1``,
      :math:`g^2 \mathbb{E}[\phi^2] = 1`; Glorot & Bengio 2010, He et al. 2015).
    * ``"backward"``: :math:`\chi_1 = g^2\,\mathbb{E}[\phi'(\sqrt q z)^2] = 1`
      (Schoenholz et al. 2017, eq. (5)).
    * ``"edge_of_chaos"``: both at once with a bias, :math:`\sigma_w^2 =
      1/\mathbb{E}[\phi'^2]`, :math:`\sigma_b^2 = q - \sigma_w^2 \mathbb{E}[\phi^2]`
      (Poole et al. 2016; Schoenholz et al. 2017, section 3).  Infeasible when
      :math:`\sigma_b^2 < 0`; the fixed point is stable when the length-map
      slope :math:`\sigma_w^2\, d\mathbb{E}[\phi^2]/dq < 1`.  Neither case
      raises: both are reported in the result.

    Raises
    ------
    TypeError
        ``activation`` or ``criterion`` is not a str, ``q`` or ``param`` not a real number.
    ValueError
        An unknown activation or criterion; ``q`` not finite and > 0; a bad ``param``.

    Examples
    --------
    >>> round(critical_gain("relu").gain ** 2, 12), round(critical_gain("relu", "backward").gain ** 2, 12)
    (2.0, 2.0)
    """
    act = get_activation(activation, param)
    check_choice("criterion", criterion, CRITERIA)
    q = check_real("q", q, positive=True)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
        m2 = moment(act, q, "phi2")
        d2 = moment(act, q, "dphi2")
        slope = length_map_slope(act, q)
    usable = all(math.isfinite(v) and v > 0 for v in (m2, d2)) and math.isfinite(slope)
    if not (usable and math.isfinite(q / m2) and math.isfinite(1.0 / d2)):
        # E[phi^2] or E[phi'^2] overflowed or vanished in float64: no gain to report.
        raise ValueError(
            f"{'param' if param is not None else 'q'} must keep E[phi^2] and E[phi'^2] finite and > 0 in float64, "
            f"got q={q!r}, param={param!r} for {act.label} (E[phi^2] = {m2:.6g}, E[phi'^2] = {d2:.6g})"
        )
    sb2 = 0.0
    feasible = True
    note = ""
    if criterion == "forward":
        g2 = q / m2
    elif criterion == "backward":
        g2 = 1.0 / d2
    else:
        g2 = 1.0 / d2
        sb2 = q - g2 * m2
        if sb2 < -1e-12 * q:
            feasible = False
            note = f"infeasible: needs sigma_b^2 = {sb2:.6g} < 0 at q* = {q:g}"
        sb2 = max(sb2, 0.0)
    s = g2 * slope
    stable: bool | None = None
    if feasible:
        if abs(s - 1.0) <= 1e-9:
            stable, note = True, note or "marginal: length-map slope is exactly 1"
        else:
            stable = bool(s < 1.0)
            note = note or ("stable fixed point" if stable else f"unstable fixed point (slope {s:.4g} > 1)")
    chi1 = g2 * d2
    where = phase(chi1)
    if criterion == "forward" and where != "critical":
        growth = "grow" if where == "chaotic" else "shrink"
        decades = 100 * math.log10(chi1)  # chi1**100 itself may overflow
        note += f"; {where}: chi_1 = {chi1:.4g}, gradients {growth} as chi_1^L (x10^{decades:.1f} over 100 layers)"
    return CriticalGain(act.label, criterion, q, math.sqrt(g2), math.sqrt(sb2), chi1, s, feasible, stable, note, where)


def gain_table(q: float = 1.0) -> list[dict[str, Any]]:
    """Critical gains of every built-in activation under each criterion, beside PyTorch's.

    Each row holds ``"activation"`` (its label), one :class:`CriticalGain` per
    criterion of :data:`CRITERIA` at second moment ``q``, and ``"pytorch"``:
    ``torch.nn.init.calculate_gain`` for the activations PyTorch knows, else None.

    Depth scales (Schoenholz et al. 2017, eqs. (4) and (9)):
    ``"forward_scales"`` is the :class:`~xinit_bench.propagation.correlation.DepthScales`
    of the forward-gain network without bias (``sigma_w^2 = g^2``,
    ``sigma_b^2 = 0``) at its fixed point ``q``: how many layers its
    correlations (``xi_c``) and lengths (``xi_q``) take to settle, the depth
    scale of trainability.  At the edge of chaos ``chi_c = chi_1 = 1``, so its
    ``xi_c`` is infinite by construction; ``"eoc_xi_q"`` is its length depth
    scale (None where the edge of chaos is infeasible).

    Raises
    ------
    TypeError
        ``q`` is not a real number.
    ValueError
        ``q`` is not finite and > 0.

    Examples
    --------
    >>> [row["activation"] for row in gain_table()][:3]
    ['linear', 'relu', 'leaky_relu(0.01)']
    """
    q = check_real("q", q, positive=True)
    rows = []
    for name in ACTIVATIONS:
        act = get_activation(name)
        row: dict[str, Any] = {"activation": act.label}
        for crit in CRITERIA:
            row[crit] = critical_gain(act, crit, q)  # type: ignore[arg-type]
        row["pytorch"] = PYTORCH_GAINS[name](act.param) if name in PYTORCH_GAINS else None
        fwd, eoc = row["forward"], row["edge_of_chaos"]
        row["forward_scales"] = scales_at(act, fwd.gain**2, 0.0, q)
        row["eoc_xi_q"] = depth_scale(eoc.length_slope) if eoc.feasible else None
        rows.append(row)
    return rows
