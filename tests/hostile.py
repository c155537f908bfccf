"""The contract every property test checks on hostile input.

For each input an entry point either returns a valid result (the right shape
and dtype, finite values inside the documented range) or raises ``TypeError``
or ``ValueError`` whose message names the parameter (``"<name> must ..."``,
or ``"pass either ..."`` for exclusive pairs).  A refused call leaves a canary
``out`` unchanged, a :class:`~xinit_bench.Generator` where it was, and writes
no file.  ``MemoryError`` is allowed only for a shape too large for memory.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
from hypothesis import event

import xinit_bench as xb

#: Messages that refuse an argument: "<what> must ...", or the exclusive pairs' "pass either ...".
_NAMED = re.compile(r"^(?P<what>[^\s].*?) must |^pass |^stream= goes with seed=")


class Call:
    """One call under test: its canary ``out`` and generator, checked after a refusal."""

    def __init__(self, source: Any, out: Any) -> None:
        self.generator = xb.Generator(123) if source == "gen" else None
        self.seed = 5 if source == "seed" else (None if source == "gen" else source)
        self.out = out
        self.before = None if not isinstance(out, np.ndarray) else np.array(out, copy=True)

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"seed": self.seed, "generator": self.generator}

    def run(self, fn: Any, *args: Any, names: tuple[str, ...], **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` or None after a refusal that kept the contract."""
        start = None if self.generator is None else self.generator.stream
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a RuntimeWarning (overflow in a cast) is a silent wrong value
                result = fn(*args, **kwargs)
            event("valid result")
            return result
        except (TypeError, ValueError) as exc:
            event(f"refused: {type(exc).__name__}")
            message = str(exc)
            match = _NAMED.match(message)
            assert match, f"{type(exc).__name__} does not name its parameter: {message}"
            what = match.group("what")
            if what is not None:
                assert any(n in what for n in names), f"{what!r} names none of {names}: {message}"
            assert "\n" not in message and len(message) < 2000, message
        except MemoryError:
            event(
                "refused: MemoryError"
            )  # a shape that fits an array but not memory; the generator must still not move
        if self.generator is not None:
            assert self.generator.stream == start, "a refused call advanced the generator"
        if self.before is not None:
            assert np.array_equal(self.out, self.before, equal_nan=True), "a refused call wrote into out"
        return None


def _expected_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def check_array(x: Any, shape: Any, dtype: Any, out: Any) -> np.ndarray:
    assert type(x) is np.ndarray or isinstance(x, np.ndarray)
    assert x.shape == _expected_shape(shape)
    if out is not None:
        assert x is out
    want = np.dtype(np.float32) if dtype is None and out is None else (out.dtype if dtype is None else np.dtype(dtype))
    assert x.dtype == want
    assert np.isfinite(x).all(), "non-finite values in a valid result"
    return x
