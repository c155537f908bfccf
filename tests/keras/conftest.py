"""The Keras tests run on Keras 3's torch back end, which needs neither TensorFlow nor JAX.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so it is set
here, before any test module of this room imports Keras.

The ``host`` fixture turns the back end's tensors into NumPy arrays without
Keras's ``convert_to_numpy``: Keras 3.15's torch back end calls
``np.array(tensor)``, and NumPy 2.4 then warns that torch 2.13's
``Tensor.__array__`` takes no ``copy`` keyword (a DeprecationWarning, an error
under this suite's filters).  ``host`` goes through torch's own ``.numpy()``,
bfloat16 as its raw bits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != "torch":
    raise RuntimeError("keras was imported before tests/keras/conftest.py could choose its torch back end")
os.environ["KERAS_BACKEND"] = "torch"


def _host(value: Any) -> Any:
    import ml_dtypes
    import numpy as np
    import torch

    inner = getattr(value, "value", value)  # a keras.Variable holds its torch Parameter as .value
    if isinstance(inner, torch.Tensor):
        t = inner.detach().cpu()
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        return t.numpy()
    return np.asarray(inner)


@pytest.fixture
def host() -> Callable[[Any], Any]:
    """``host(value)``: a torch tensor, a Keras variable on the torch back end, or an array, as a NumPy array."""
    return _host


@pytest.fixture
def bits() -> Callable[[Any], Any]:
    """``bits(value)``: the raw bits of ``host(value)``, so that -0.0 and 0.0, or two NaNs, are told apart."""

    def raw(value: Any) -> Any:
        x = _host(value)
        return x.view(f"u{x.dtype.itemsize}")

    return raw
