"""Shared fixtures: thread-count control and the KAT file."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numba
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """Restore Numba's thread count after a test that changes it."""
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)
