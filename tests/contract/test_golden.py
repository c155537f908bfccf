"""Golden SHA-256 checksums that pin the streams across versions.

Changing any of them is a deliberate, documented stream-version bump
(docs/design.md, "Stream-version policy"); the sampler table is
``tests/pinned_samplers.py``.  To regenerate:
``PYTHONPATH=tests python tests/contract/test_golden.py --regenerate``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from pinned_samplers import DTYPES, SAMPLERS

import xinit_bench as xb

pytestmark = pytest.mark.known_answer


GOLDEN = Path(__file__).parents[1] / "data" / "golden_sha256.json"


#: Raised by one with every stream change (docs/design.md, "Stream-version policy"):
#: 2 sends truncations beyond the normal kernel's reach to the normal kernel.
STREAM_VERSION = 2


def _golden_cases() -> dict[str, np.ndarray]:
    return (
        {f"{name}/{np.dtype(dt).name}": SAMPLERS[name](4096, dt, seed=20261122) for name in SAMPLERS for dt in DTYPES}
        | {
            "random_bits/stream3/offset5": xb.random_bits(4096, seed=20261122, stream=3, offset=5),
            "he_normal/conv": xb.he_normal((32, 16, 3, 3), seed=1),
        }
        | {  # half precision is derived from float32, but the checksums pin the rounding and clamps
            f"{name}/{dt}": SAMPLERS[name](4096, dt, seed=20261122)
            for name in ("uniform", "normal", "truncated_normal_tail")
            for dt in ("float16", "bfloat16")
        }
    )


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_golden_checksums() -> None:
    """Pinned streams.  To bump deliberately: ``PYTHONPATH=tests python tests/contract/test_golden.py --regenerate``."""
    golden = json.loads(GOLDEN.read_text())
    assert golden["stream_version"] == STREAM_VERSION
    got = {k: _sha(v) for k, v in _golden_cases().items()}
    assert got == golden["sha256"]


if __name__ == "__main__":
    import sys

    if "--regenerate" in sys.argv:
        GOLDEN.write_text(
            json.dumps(
                {"stream_version": STREAM_VERSION, "sha256": {k: _sha(v) for k, v in _golden_cases().items()}},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
