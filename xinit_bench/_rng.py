"""Seeds, keys and streams: the user-facing side of the Philox contract.

A seed (a non-negative integer of any size) maps to the two 32-bit key words
through ``numpy.random.SeedSequence(seed).generate_state(2, np.uint32)``, so
nearby seeds give unrelated keys.  Each call draws from one *stream* (counter
word ``c2``): a call with ``seed=`` uses stream 0; a :class:`Generator` hands
out streams 0, 1, 2, ... to successive calls, so successive layers get
independent draws and ``Generator(s)``'s first draw equals the ``seed=s`` draw.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .launch import fill_flat
from .validation import allocate, check_int, is_int

Key = tuple[np.uint32, np.uint32]
#: The version of the stream contract (docs/stream.md): the same (seed, stream, shape, dtype, law) gives the
#: same bits within a version; a change of any sampler's output is a new version, with new golden checksums.
STREAM_VERSION = 2
STREAMS = 2**32
#: Largest stream position (exclusive) of :func:`random_bits`' ``offset``.
OFFSETS = 2**62
#: Children per :meth:`Generator.spawn` call (exclusive).
MAX_SPAWN = 2**24


def key_from_seed(seed: Any) -> Key:
    """The Philox key for ``seed``; ``None`` draws fresh OS entropy.

    Raises
    ------
    TypeError
        ``seed`` is neither an int nor None.
    ValueError
        A negative seed.
    """
    if type(seed) is int and seed >= 0:  # the common case, without the checks' ABC look-ups
        return _key_of_int(seed)
    if seed is None:
        k0, k1 = np.random.SeedSequence().generate_state(2, np.uint32)
        return np.uint32(k0), np.uint32(k1)
    return _key_of_int(check_seed(seed))


def check_seed(seed: Any) -> int:
    """``seed`` as an int, after checking it is a non-negative int (None is handled by the caller)."""
    if is_int(seed) and int(seed) >= 0:
        return int(seed)
    return check_int("seed", seed, minimum=0, what="an int >= 0 or None")


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

    **Copies replay.**  A generator can be pickled, copied and deep-copied;
    the copy holds the same key and the same next stream, so it replays the
    streams the original would hand out next (the two then draw the same
    arrays: use :meth:`spawn` for independent generators).

    **Children.**  :meth:`spawn` returns generators whose keys come from
    NumPy's ``SeedSequence`` tree: child ``k`` of a generator of entropy
    ``s`` and spawn key ``t`` has the key of ``SeedSequence(s, spawn_key=t +
    (k,))``, i.e. of ``SeedSequence(s).spawn(k + 1)[k]`` for a top-level
    generator.  Children never share a key with their parent or with each
    other (the key words are a hash of the whole tree position), so their
    streams are disjoint from the parent's and from one another's.

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
    >>> left, right = g.spawn(2)
    >>> bool((xb.normal(3, generator=left) == xb.normal(3, generator=right)).any())
    False
    """

    def __init__(self, seed: int | None = None, *, stream: int = 0) -> None:
        first = check_int("stream", stream, minimum=0, maximum=STREAMS - 1)
        if seed is None:
            # The same key as key_from_seed(None), with its entropy kept for spawn().
            root = np.random.SeedSequence()
            k0, k1 = root.generate_state(2, np.uint32)
            self.key: Key = (np.uint32(k0), np.uint32(k1))
            self._entropy: int = int(root.entropy)  # type: ignore[arg-type]
        else:
            self.key = key_from_seed(seed)
            self._entropy = int(seed)
        self.seed = seed
        self._spawn_key: tuple[int, ...] = ()
        self._children = 0
        self._stream: int = first
        self._lock: threading.Lock = threading.Lock()

    def spawn(self, n: int) -> list[Generator]:
        """``n`` new generators with keys disjoint from this one's and from every other child's.

        Successive calls give new children (as ``SeedSequence.spawn`` does);
        this generator's own streams do not change.  See the class docstring
        for the key of each child.

        Raises
        ------
        TypeError
            ``n`` is not an int.
        ValueError
            ``n < 0`` or ``n >= 2**24`` (a list of that many generators takes gigabytes:
            spawn in batches, or spawn from the children).

        Examples
        --------
        >>> import xinit_bench as xb
        >>> [c.key == d.key for c, d in zip(xb.Generator(1).spawn(2), xb.Generator(1).spawn(2))]
        [True, True]
        """
        count = check_int("n", n, minimum=0, maximum=MAX_SPAWN - 1)
        with self._lock:
            first = self._children
            self._children = first + count
        return [_node(self._entropy, (*self._spawn_key, k), self.seed) for k in range(first, first + count)]

    def __getstate__(self) -> dict[str, Any]:
        """The state without the lock (a lock cannot be pickled); :meth:`__setstate__` makes a new one."""
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

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
        spawned = f", spawn_key={self._spawn_key}" if self._spawn_key else ""
        return f"Generator(seed={self.seed!r}{spawned}, stream={self._stream})"


def _node(entropy: int, spawn_key: tuple[int, ...], seed: int | None) -> Generator:
    """The generator at ``spawn_key`` of the SeedSequence tree of ``entropy``, on stream 0."""
    node = Generator.__new__(Generator)
    node._entropy, node._spawn_key = entropy, spawn_key
    node.key = _key_of_node(entropy, spawn_key)
    node.seed = seed
    node._children = 0
    node._stream = 0
    node._lock = threading.Lock()
    return node


@lru_cache(maxsize=65536)
def _key_of_node(entropy: int, spawn_key: tuple[int, ...]) -> Key:
    # A whole model asks for the same names' keys again and again (init_module, then materialize, then a check).
    k0, k1 = np.random.SeedSequence(entropy, spawn_key=spawn_key).generate_state(2, np.uint32)
    return np.uint32(k0), np.uint32(k1)


#: "tnam": the first spawn-key word of the name-keyed streams, which keeps them apart from spawn()'s children.
NAME_TAG = 0x746E616D


def name_spawn_key(name: str) -> tuple[int, int, int]:
    """``(NAME_TAG, h0, h1)``: the spawn key of the tensor ``name``, ``(h0, h1)`` the 64 bits of its BLAKE2b hash."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=b"xinit-torch").digest()
    return NAME_TAG, int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")


def key_for_name(seed: int, name: str) -> Generator:
    """The generator of the tensor ``name`` of a model initialised with ``seed``: its first stream is that tensor's.

    :func:`xinit_bench.torch.init_module` (and ``materialize``, and every
    adapter that initialises a model by its tensors' names) draws the tensor
    with qualified name ``name`` from stream 0 of the key
    ``SeedSequence(seed, spawn_key=(tag, h0, h1))``: ``(h0, h1)`` are the 64
    bits of a BLAKE2b hash of the UTF-8 name, and the tag word
    (:data:`NAME_TAG`) keeps these keys apart from :meth:`Generator.spawn`'s
    children.  So a tensor's values depend on the seed and its name only, not
    on the order in which a model's tensors are built or visited; two of N
    names share a key with probability about N² / 2**65.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> a = xb.he_normal((4, 3), generator=xb.key_for_name(0, "h.0.mlp.c_fc.weight"))
    >>> b = xb.he_normal((4, 3), generator=xb.key_for_name(0, "h.0.mlp.c_fc.weight"))
    >>> c = xb.he_normal((4, 3), generator=xb.key_for_name(0, "h.1.mlp.c_fc.weight"))
    >>> bool((a == b).all()), bool((a == c).any())
    (True, False)

    Raises
    ------
    TypeError
        ``seed`` is not an int, or ``name`` not a str.
    ValueError
        A negative seed.
    """
    entropy = check_int("seed", seed, minimum=0)
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (a tensor's qualified name), got {type(name).__name__}")
    return _node(entropy, name_spawn_key(name), entropy)


def peek(seed: Any, generator: Generator | None) -> tuple[np.uint32, np.uint32, np.uint32]:
    """The ``(k0, k1, stream)`` that :func:`resolve` would return now, without reserving the stream.

    For a graph built before it runs (:mod:`xinit_bench.dask`): the caller
    checks everything with the key in hand, then calls :func:`take` to reserve
    the stream.  ``seed=None`` draws its entropy here, once.
    """
    check_source(seed, generator)
    if generator is not None:
        return generator.key[0], generator.key[1], np.uint32(generator.stream)
    k0, k1 = key_from_seed(seed)
    return k0, k1, _STREAM_0


def take(generator: Generator | None, stream: int) -> None:
    """Reserve ``stream`` of ``generator`` (a :func:`peek`'s), refusing if another call took it meanwhile.

    Raises
    ------
    RuntimeError
        Another thread drew from ``generator`` between :func:`peek` and this call.
    """
    if generator is not None and generator.next_stream() != stream:
        raise RuntimeError("generator was used by another thread while this call was being checked; call it again")


def check_source(seed: Any, generator: Any) -> None:
    """Check the seed/generator pair of one call without touching the generator.

    Raises
    ------
    ValueError
        Both given.
    TypeError
        ``generator`` is not a :class:`Generator`, or ``seed`` is not an int.
    """
    if generator is not None:
        if seed is not None:
            raise ValueError(f"pass either seed= or generator=, not both (got seed={seed!r})")
        if not isinstance(generator, Generator):
            raise TypeError(f"generator must be an xinit_bench.Generator or None, got {type(generator).__name__}")
    elif seed is not None:
        check_seed(seed)


def resolve(seed: Any, generator: Generator | None) -> tuple[np.uint32, np.uint32, np.uint32]:
    """``(k0, k1, stream)`` for one call: checks the pair first, then reserves a stream.

    The generator advances only after every check has passed, so callers
    validate all their other arguments before they call this.
    """
    if generator is None and type(seed) is int and seed >= 0:  # the common case, checked as it is
        k0, k1 = _key_of_int(seed)
        return k0, k1, _STREAM_0
    check_source(seed, generator)
    if generator is not None:
        k0, k1 = generator.key
        return k0, k1, np.uint32(generator.next_stream())
    k0, k1 = key_from_seed(seed)
    return k0, k1, _STREAM_0


#: The stream of every call with ``seed=``.
_STREAM_0 = np.uint32(0)


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
    count = check_int("n", n, minimum=0)
    first = check_int("offset", offset, minimum=0, maximum=OFFSETS - 1)
    if stream is not None:
        explicit = check_int("stream", stream, minimum=0, maximum=STREAMS - 1)
        if generator is not None:
            raise ValueError(f"stream= goes with seed=, not with generator= (got stream={stream!r})")
    check_source(seed, generator)
    out = allocate((count,), np.dtype(np.uint32), "n")  # before the stream: a MemoryError consumes none
    k0, k1, s = resolve(seed, generator)  # checks the pair, then advances the generator
    if stream is not None:
        s = np.uint32(explicit)
    if count:
        key = (k0, k1, s)
        fill_flat("bits", out, key, first, ())
    return out
