"""The published Philox4x32-10 known-answer vectors (Random123 ``kat_vectors``), for every room that checks them.

The file ``tests/data/philox4x32_10_kat.txt`` holds Random123's vectors
(D. E. Shaw Research), tests/kat_vectors; Salmon et al., SC11.
"""

from __future__ import annotations

from pathlib import Path

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
