"""The samplers whose streams are pinned: the golden checksums and the thread-count tests share this table."""

from __future__ import annotations

import numpy as np

import xinit_bench as xb

SAMPLERS = {
    "uniform": lambda n, dt, **kw: xb.uniform(n, -1.0, 1.0, dtype=dt, **kw),
    "variance_scaling_uniform": lambda n, dt, **kw: xb.variance_scaling(
        n, 2.0, "fan_avg", "uniform", fans=(64, 128), dtype=dt, **kw
    ),
    "normal": lambda n, dt, **kw: xb.normal(n, dtype=dt, **kw),
    "truncated_normal": lambda n, dt, **kw: xb.truncated_normal(n, dtype=dt, **kw),
    "truncated_normal_tail": lambda n, dt, **kw: xb.truncated_normal(n, 0.0, 1.0, 3.0, 9.0, dtype=dt, **kw),
    # torch's trunc_normal_(std=0.02): +-100 std, beyond the normal kernel's reach (stream version 2)
    "truncated_normal_wide": lambda n, dt, **kw: xb.truncated_normal(
        n, 0.0, 0.02, -2.0, 2.0, absolute=True, dtype=dt, **kw
    ),
}


DTYPES = (np.float32, np.float64)
