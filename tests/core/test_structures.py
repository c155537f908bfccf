"""``xinit_bench/structures.py``'s argument checks in ``orthogonal_law``: what they hand back and what they refuse.

The values and streams of identity, dirac and sparse are tested with the
orthogonal family (``tests/core/test_orthogonal.py``); here the checks
themselves, called as the three functions call them.
"""

from __future__ import annotations

import numpy as np
import pytest
from refusals import refused

import xinit_bench as xb
from xinit_bench import orthogonal_law as law


def test_the_checks_hand_back_python_numbers_and_the_dtype_scales() -> None:
    dims, g, scales = law.check_identity([3, np.int64(4)], np.float32(2.0))
    assert dims == (3, 4) and type(g) is float and g == 2.0
    assert scales == [("gain", 2.0, f"gain={np.float32(2.0)!r}")]
    dims, k = law.check_dirac((4, 2, 3), np.int32(2))
    assert dims == (4, 2, 3) and type(k) is int and k == 2
    dims, s, sd, scales = law.check_sparse((8, 4), 0.25, 0.5)
    assert dims == (8, 4) and (s, sd) == (0.25, 0.5)
    assert scales == [
        (f"{law.Z_MAX_F64} std (the largest sample)", law.Z_MAX_F64 * 0.5, "std=0.5"),
        ("std", 0.5, "std=0.5"),
    ]


def test_the_largest_normal_sample_is_below_the_bound_the_scales_check() -> None:
    # The float64 normal kernel's largest |z| is sqrt(-2 log 2**-53) (its smallest uniform is 2**-53): 8.57 < 8.6.
    assert np.sqrt(-2 * np.log(2.0**-53)) < law.Z_MAX_F64 < np.sqrt(-2 * np.log(2.0**-53)) + 0.05


@pytest.mark.refusal
def test_the_checks_refuse_with_the_functions_wording() -> None:
    message = refused(ValueError, "shape", law.check_identity, (3, 3, 3), 1.0)
    assert "Only tensors with 2 dimensions are supported" in message
    refused(ValueError, "gain", law.check_identity, (3, 3), -1.0)
    message = refused(ValueError, "shape", law.check_dirac, (3, 3), 1)
    assert "Only tensors with 3, 4, or 5 dimensions are supported" in message
    assert refused(ValueError, "groups", law.check_dirac, (4, 2, 3), 3) == "groups must divide shape[0] = 4, got 3"
    refused(TypeError, "groups", law.check_dirac, (4, 2, 3), 2.0)
    message = refused(ValueError, "sparsity", law.check_sparse, (8, 4), 1.0, 0.1)
    assert message == "sparsity must be a finite real number in [0, 1), got 1.0"
    refused(ValueError, "std", law.check_sparse, (8, 4), 0.5, -1.0)
    assert "Only tensors with 2 dimensions" in refused(ValueError, "shape", law.check_sparse, (8,), 0.5, 0.1)


@pytest.mark.refusal
def test_a_scale_the_dtype_cannot_hold_is_refused_by_begin_before_allocation() -> None:
    g = xb.Generator(1)
    dims, _, _, scales = law.check_sparse((8, 4), 0.5, 1e4)
    refused(ValueError, "8.6 std (the largest sample)", law.begin, dims, np.float16, None, None, scales, (None, g))
    assert g.stream == 0
