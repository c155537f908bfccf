"""Tier 1: published Philox4x32-10 known-answer vectors (Random123 ``kat_vectors``).

The file ``tests/data/philox4x32_10_kat.txt`` is copied from the project's
shared data, which cites its source: Random123 (D. E. Shaw Research),
tests/kat_vectors; Salmon et al., SC11.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xinit_bench import reference
from xinit_bench.kernels.philox import philox_block

DATA = Path(__file__).parent / "data"


def _vectors() -> list[tuple[list[int], list[int], list[int]]]:
    rows = []
    for line in (DATA / "philox4x32_10_kat.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split()
        assert f[0] == "philox4x32" and f[1] == "10"
        rows.append(([int(x, 16) for x in f[2:6]], [int(x, 16) for x in f[6:8]], [int(x, 16) for x in f[8:12]]))
    return rows


VECTORS = _vectors()


def test_file_has_the_three_published_vectors() -> None:
    assert len(VECTORS) == 3


@pytest.mark.parametrize("counter,key,expected", VECTORS)
def test_kernel_reproduces_kat(counter: list[int], key: list[int], expected: list[int]) -> None:
    got = philox_block(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert got.tolist() == expected


@pytest.mark.parametrize("counter,key,expected", VECTORS)
def test_numpy_reference_reproduces_kat(counter: list[int], key: list[int], expected: list[int]) -> None:
    got = reference.philox4x32_10(np.array(counter, np.uint32).reshape(4, 1), key)
    assert got[:, 0].tolist() == expected
