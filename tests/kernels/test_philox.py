"""``kernels/philox.py``: the published Philox4x32-10 known-answer vectors (Random123 ``kat_vectors``)."""

from __future__ import annotations

import numpy as np
import pytest
from kat import VECTORS

from xinit_bench.kernels.philox import philox_block

pytestmark = pytest.mark.known_answer


def test_file_has_the_three_published_vectors() -> None:
    assert len(VECTORS) == 3


@pytest.mark.parametrize("counter,key,expected", VECTORS)
def test_kernel_reproduces_kat(counter: list[int], key: list[int], expected: list[int]) -> None:
    got = philox_block(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert got.tolist() == expected
