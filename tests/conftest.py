"""Shared fixtures: thread-count control and the KAT file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numba
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """Restore Numba's thread count after a test that changes it."""
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)
