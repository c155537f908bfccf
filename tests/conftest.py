"""Fixtures shared by every room: thread-count control, the refusal canary, and the ``--timing`` option."""

from __future__ import annotations

from collections.abc import Iterator

import numba
import numpy as np
import pytest


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """Restore Numba's thread count after a test that changes it."""
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


@pytest.fixture
def canary() -> np.ndarray:
    """An ``out`` of 7.0 that a refused call must leave as it was (``refusals.untouched`` checks it)."""
    return np.full((8, 4), 7.0, np.float32)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--timing",
        action="store_true",
        help="also run the tests marked 'timing', which assert on measured speed (make perf does)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``timing`` tests unless ``--timing``: a speed verdict is a benchmark's, not a correctness test's.

    On a shared machine a test that compares two timings taken seconds apart
    fails now and then however it is written (the host's slow spells reach
    1.5x); the correctness suite must not.
    """
    if config.getoption("--timing"):
        return
    timing = [item for item in items if item.get_closest_marker("timing") is not None]
    if timing:
        config.hook.pytest_deselected(items=timing)
        items[:] = [item for item in items if item.get_closest_marker("timing") is None]
