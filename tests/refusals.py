"""Helpers of the refusal tests: the message check, and the canary that a refused call must leave alone.

The ``canary`` fixture itself (an ``(8, 4)`` float32 array of 7.0) is in ``tests/conftest.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest


def refused(exc: type[Exception], what: str, call, *args, **kwargs) -> str:
    """Call ``call``; check it raises ``exc`` with a message that starts with ``"<what> must "``."""
    param = what
    with pytest.raises(exc) as info:
        call(*args, **kwargs)
    assert type(info.value) is exc or issubclass(type(info.value), exc)
    assert re.match(rf"{re.escape(param)} must ", str(info.value)), str(info.value)
    return str(info.value)


def untouched(a: np.ndarray) -> bool:
    return bool((a == 7.0).all())
