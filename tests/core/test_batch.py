"""``xinit_bench/batch.py``: work-list fills (``kernels/runs.py``): many tensors in one launch per kind and dtype.

Each buffer gets the bits its own call would give; a refused job list writes nothing.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import xinit_bench as xb
from xinit_bench._rng import resolve
from xinit_bench.batch import Job, fill_jobs
from xinit_bench.plans import distribution_plan, normal_plan, symmetric_plan, truncated_plan

BF16 = np.dtype(ml_dtypes.bfloat16)


@pytest.mark.invariance
def test_jobs_fill_many_tensors_in_one_launch_per_kind_and_dtype() -> None:
    shapes = [(64, 48), (48,), (7,), (300, 5), (1,)]
    plans = [distribution_plan("uniform", 1 / 48), normal_plan(0.0, 0.02), normal_plan(1.0, 0.0)]
    bufs, jobs, expected = [], [], []
    for i, shape in enumerate(shapes):
        for dt in (np.dtype(np.float32), BF16):
            plan = plans[i % len(plans)]
            buf = np.zeros(shape, dt)
            bufs.append(buf)
            jobs.append(Job(buf.ctypes.data, buf.size, dt, plan, resolve(100 + i, None), position=i))
            expected.append((plan, shape, dt, 100 + i, i))
    groups = fill_jobs(jobs)
    assert groups == {
        ("symmetric_uniform", "float32"): 2,
        ("symmetric_uniform", "bfloat16"): 2,
        ("normal", "float32"): 3,
        ("normal", "bfloat16"): 3,
    }
    for buf, (plan, shape, dt, seed, position) in zip(bufs, expected, strict=True):
        from xinit_bench.samplers import sample

        want = sample(shape, plan, seed, None, dt, None, position)
        assert np.array_equal(buf.view(np.uint8), want.view(np.uint8))


@pytest.mark.refusal
def test_a_refused_job_leaves_every_buffer_untouched() -> None:
    good = np.zeros(100, np.float32)
    bad = np.zeros(100, np.float16)
    key = resolve(0, None)
    jobs = [
        Job(good.ctypes.data, good.size, good.dtype, symmetric_plan(0.1), key),
        Job(bad.ctypes.data, bad.size, bad.dtype, truncated_plan(0.0, 1e5, -2.0, 2.0), key),
    ]
    with pytest.raises(xb.ParameterRangeError):
        fill_jobs(jobs)
    assert not good.any() and not bad.any()
