"""The propagation study: one Monte Carlo forward/backward pass through a deep MLP.

``small`` is a quick 10-layer, 128-wide ReLU network; ``large`` a 50-layer,
512-wide one (the depth of the He et al. 2015 style experiments), whose cost
is dominated by the GEMMs and the weight initialisation.
"""

from __future__ import annotations

from typing import Any

#: name -> keyword arguments of ``xinit_bench.propagation.simulate``.
PROPAGATION_SIZES: dict[str, dict[str, int]] = {
    "small": {"depth": 10, "width": 128, "batch": 256, "repeats": 1},
    "large": {"depth": 50, "width": 512, "batch": 512, "repeats": 1},
}


def _simulate() -> Any:
    try:
        from xinit_bench.propagation import simulate
    except ImportError as exc:
        raise NotImplementedError(f"xinit_bench.propagation.simulate is not available: {exc}") from None
    return simulate


class Propagation:
    """``simulate("relu", init="he_normal", ...)`` at a small and a large size."""

    params = (list(PROPAGATION_SIZES), ["float32"])
    param_names = ["size", "dtype"]
    timeout = 600
    rounds = 1
    repeat = (2, 5, 20.0)
    warmup_time = 0.0

    def setup(self, size: str, dtype: str) -> None:
        import numpy as np

        self.simulate = _simulate()
        self.kwargs = dict(PROPAGATION_SIZES[size], seed=0, dtype=np.dtype(dtype).type)
        # Compile every kernel the call needs outside the clock.
        self.simulate("relu", init="he_normal", **dict(self.kwargs, depth=2))

    def time_simulate(self, size: str, dtype: str) -> None:
        self.simulate("relu", init="he_normal", **self.kwargs)
