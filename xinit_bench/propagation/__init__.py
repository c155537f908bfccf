"""Deep forward/backward variance propagation: Monte Carlo, mean-field theory, critical gains.

* :func:`simulate` measures per-layer second moments of pre-activations,
  activations and back-propagated gradients in a random MLP (Monte Carlo).
* :func:`predict` gives their mean-field values (Poole et al. 2016;
  Schoenholz et al. 2017).
* :func:`depth_scales` gives the fixed points ``q*``, ``c*`` of the length and
  correlation maps and the depth scales ``xi_q``, ``xi_c`` (order and chaos);
  ``predict(..., c0=...)`` the correlation of two inputs layer by layer.
* :func:`critical_gain` solves for the gain that holds the forward or the
  backward variance, or puts the network at the edge of chaos.
* :class:`Network` describes residual, normalised and convolutional
  networks (:class:`Input`, :class:`Dense`, :class:`Conv`, :class:`Act`,
  :class:`LayerNorm`, :class:`Residual`); ``predict(net)`` and
  ``simulate(net)`` give their per-layer theory and Monte Carlo.
* :func:`glorot2010` and :func:`he2015` reproduce the experiments of
  Glorot & Bengio (2010) and He et al. (2015).

This package sits above the core API: it imports :mod:`xinit_bench.gains`,
:mod:`xinit_bench.gauss`, :mod:`xinit_bench.bivariate`, :mod:`xinit_bench.activations` and the samplers,
never the other way round.  The activations and the Gaussian expectations
are re-exported here under the names this package has always had.

References
----------
.. [1] Glorot & Bengio (2010), https://proceedings.mlr.press/v9/glorot10a.html
.. [2] He, Zhang, Ren & Sun (2015), https://arxiv.org/abs/1502.01852
.. [3] Poole et al. (2016), https://arxiv.org/abs/1606.05340
.. [4] Schoenholz et al. (2017), https://arxiv.org/abs/1611.01232
.. [5] Saxe, McClelland & Ganguli (2014), https://arxiv.org/abs/1312.6120
"""

from ..activations import ACTIVATIONS, Activation, ActivationName, get_activation
from ..bivariate import bivariate_expectation, expected_dphi_dphi, expected_phi_phi
from ..gains import PYTORCH_GAINS
from ..gauss import (
    expected_dphi_squared,
    expected_phi,
    expected_phi_squared,
    gaussian_expectation,
    length_map_slope,
)
from .architecture import Network, load_network
from .correlation import (
    DepthScales,
    correlation_map,
    correlation_slope,
    depth_scales,
    fixed_point_c,
    fixed_point_q,
    length_map,
)
from .critical import CRITERIA, Criterion, CriticalGain, critical_gain, gain_table
from .jacobian import jacobian_spectrum
from .jacpresets import JACOBIAN_PRESETS, JacobianPresetResult, run_jacobian_preset
from .jacspectrum import JacobianSpectrum
from .jactheory import JacobianTheory, critical_point
from .montecarlo import STATS, SimulationResult, SpeedResult, estimate_memory, measure_speed, simulate
from .netlayers import Act, Conv, Dense, Input, LayerNorm, NetworkError, Residual
from .netpresets import NETWORK_PRESETS, NetworkPresetResult, run_network_preset, speed_networks
from .netsim import NetworkSimulation, NetworkSpeed, estimate_network_memory, measure_network_speed
from .nettheory import NetworkPrediction, TheoryUnavailable
from .network import INIT_NAMES, InitSpec
from .phase import PhaseDiagram, critical_line, phase_diagram
from .phasemc import XiCurves, schoenholz2017
from .presets import PRESETS, PresetResult, glorot2010, he2015, run_preset
from .theory import Prediction, predict

__all__ = [
    "ACTIVATIONS",
    "CRITERIA",
    "INIT_NAMES",
    "JACOBIAN_PRESETS",
    "NETWORK_PRESETS",
    "PRESETS",
    "PYTORCH_GAINS",
    "STATS",
    "Act",
    "Activation",
    "ActivationName",
    "Conv",
    "Criterion",
    "CriticalGain",
    "Dense",
    "DepthScales",
    "InitSpec",
    "Input",
    "JacobianPresetResult",
    "JacobianSpectrum",
    "JacobianTheory",
    "LayerNorm",
    "Network",
    "NetworkError",
    "NetworkPrediction",
    "NetworkPresetResult",
    "NetworkSimulation",
    "NetworkSpeed",
    "PhaseDiagram",
    "Prediction",
    "PresetResult",
    "Residual",
    "SimulationResult",
    "SpeedResult",
    "TheoryUnavailable",
    "XiCurves",
    "bivariate_expectation",
    "correlation_map",
    "correlation_slope",
    "critical_gain",
    "critical_line",
    "critical_point",
    "depth_scales",
    "estimate_memory",
    "estimate_network_memory",
    "expected_dphi_dphi",
    "expected_dphi_squared",
    "expected_phi",
    "expected_phi_phi",
    "expected_phi_squared",
    "fixed_point_c",
    "fixed_point_q",
    "gain_table",
    "gaussian_expectation",
    "get_activation",
    "glorot2010",
    "he2015",
    "jacobian_spectrum",
    "length_map",
    "length_map_slope",
    "load_network",
    "measure_network_speed",
    "measure_speed",
    "phase_diagram",
    "predict",
    "run_jacobian_preset",
    "run_network_preset",
    "run_preset",
    "schoenholz2017",
    "simulate",
    "speed_networks",
]
