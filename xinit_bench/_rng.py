"""Seeds, keys and streams: the user-facing side of the Philox contract.

A seed (a non-negative integer of any size) maps to the two 32-bit key words
through ``numpy.random.SeedSequence(seed).generate_state(2, np.uint32)``, so
nearby seeds give unrelated keys.  Each call draws from one *stream* (counter
word ``c2``): a call with ``seed=`` uses stream 0; a :class:`Generator` hands
out streams 0, 1, 2, ... to successive calls, so successive layers get
independent draws and ``Generator(s)``'s first draw equals the ``seed=s`` draw.
"""

from __future__ import annotations

import numbers
import threading
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .kernels import fill as _fill
from .kernels._jit import compile_quietly

Key = tuple[np.uint32, np.uint32]
STREAMS = 2**32


def key_from_seed(seed: Any) -> Key:
    """The Philox key for ``seed``; ``None`` draws fresh OS entropy."""
    if seed is None:
        seq = np.random.SeedSequence()
    elif isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be a non-negative int or None, got {seed!r}")
    elif int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    else:
        return _key_of_int(int(seed))
    k0, k1 = seq.generate_state(2, np.uint32)
    return np.uint32(k0), np.uint32(k1)


@lru_cache(maxsize=4096)
def _key_of_int(seed: int) -> Key:
    # SeedSequence costs ~13 us, more than filling 1K elements; seeds repeat a lot.
    k0, k1 = np.random.SeedSequence(seed).generate_state(2, np.uint32)
    return np.uint32(k0), np.uint32(k1)


class Generator:
    """A stateful source of independent Philox streams.

    Every sampler accepts ``generator=g``; each call uses ``g.stream`` and then
    advances it, so two calls never share random words.  The same seed and the
    same sequence of calls reproduce the same arrays bit for bit, on any
    thread count or machine.

    Parameters
    ----------
    seed : int or None
        Non-negative integer; ``None`` takes fresh entropy from the OS.
    stream : int
        The first stream to hand out (default 0).

    Examples
    --------
    >>> import xinit_bench as xb
    >>> g = xb.Generator(7)
    >>> a = xb.normal((2, 3), generator=g)   # stream 0
    >>> b = xb.normal((2, 3), generator=g)   # stream 1
    >>> bool((a == xb.normal((2, 3), seed=7)).all()), bool((a == b).any())
    (True, False)
    """

    def __init__(self, seed: int | None = None, *, stream: int = 0) -> None:
        self.key = key_from_seed(seed)
        self.seed = seed
        if isinstance(stream, bool) or not isinstance(stream, (numbers.Integral, np.integer)):
            raise TypeError(f"stream must be an int, got {stream!r}")
        if not 0 <= int(stream) < STREAMS:
            raise ValueError(f"stream must be in [0, 2**32), got {stream}")
        self._stream: int = int(stream)
        self._lock: threading.Lock = threading.Lock()

    @property
    def stream(self) -> int:
        """The stream the next call will use."""
        return self._stream

    def next_stream(self) -> int:
        """Reserve the current stream for one call and advance."""
        with self._lock:
            s = self._stream
            if s >= STREAMS:
                raise OverflowError("this Generator has used all 2**32 streams")
            self._stream = s + 1
        return s

    def __repr__(self) -> str:
        return f"Generator(seed={self.seed!r}, stream={self._stream})"


def resolve(seed: Any, generator: Generator | None) -> tuple[np.uint32, np.uint32, np.uint32]:
    """``(k0, k1, stream)`` for one call, validating the seed/generator pair."""
    if generator is not None:
        if seed is not None:
            raise ValueError("pass either seed= or generator=, not both")
        if not isinstance(generator, Generator):
            raise TypeError(f"generator must be an xinit_bench.Generator, got {type(generator).__name__}")
        k0, k1 = generator.key
        return k0, k1, np.uint32(generator.next_stream())
    k0, k1 = key_from_seed(seed)
    return k0, k1, np.uint32(0)


def random_bits(
    n: int,
    seed: int | None = None,
    *,
    generator: Generator | None = None,
    stream: int | None = None,
    offset: int = 0,
) -> NDArray[np.uint32]:
    """The raw Philox4x32-10 words ``offset .. offset + n - 1`` of one stream.

    Word ``j`` is word ``j % 4`` of ``philox4x32_10((lo32(j // 4), hi32(j // 4),
    stream, 0), key)``.  Meant for external test batteries (TestU01,
    PractRand) that read the stream directly.

    Parameters
    ----------
    n : int
        Number of words.
    seed, generator
        As for every sampler.
    stream : int, optional
        Explicit stream (only with ``seed``); default 0.
    offset : int
        Position of the first word in the stream.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> xb.random_bits(4, seed=0).tolist() == xb.random_bits(6, seed=0)[:4].tolist()
    True
    """
    if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)) or int(n) < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if isinstance(offset, bool) or not isinstance(offset, (numbers.Integral, np.integer)) or not 0 <= int(offset) < 2**62:
        raise ValueError(f"offset must be an int in [0, 2**62), got {offset!r}")
    k0, k1, s = resolve(seed, generator)
    if stream is not None:
        if generator is not None:
            raise ValueError("pass stream= with seed=, not with generator=")
        if isinstance(stream, bool) or not isinstance(stream, (numbers.Integral, np.integer)) or not 0 <= int(stream) < STREAMS:
            raise ValueError(f"stream must be an int in [0, 2**32), got {stream!r}")
        s = np.uint32(stream)
    out = np.empty(int(n), np.uint32)
    if n:
        key = (k0, k1, s)
        compile_quietly(_fill.fill_bits, out, key, int(offset), ())
        _fill.fill_bits(out, key, int(offset), ())
    return out
