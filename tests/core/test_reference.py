"""``xinit_bench/reference.py``: the NumPy reference itself: the published known answers, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
from kat import VECTORS

from xinit_bench import reference


@pytest.mark.known_answer
@pytest.mark.parametrize("counter,key,expected", VECTORS)
def test_numpy_reference_reproduces_kat(counter: list[int], key: list[int], expected: list[int]) -> None:
    got = reference.philox4x32_10(np.array(counter, np.uint32).reshape(4, 1), key)
    assert got[:, 0].tolist() == expected


@pytest.mark.refusal
def test_reference_refuses_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        reference.philox_fill("truncated", 4, (1, 2), 0, 0, (), np.float32)  # the old name
    with pytest.raises(ValueError, match="kind must be one of"):
        reference.philox_fill("bits", 4, (1, 2), 0, 0, (), np.float32)
