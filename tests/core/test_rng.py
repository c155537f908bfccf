"""``xinit_bench/_rng.py``: seeds, streams and generators: the documented bits, copies, spawning, refusals.

Also :func:`~xinit_bench.random_bits` and :class:`~xinit_bench.Generator` on
hostile input (strategies in ``tests/strategies.py``, the contract in
``tests/hostile.py``).
"""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import numpy as np
import pytest
from hostile import Call
from hypothesis import given
from hypothesis import strategies as st
from refusals import refused, untouched
from stat_checks import N, Z
from strategies import budget, ints, sources

import xinit_bench as xb
from xinit_bench import reference


@pytest.mark.reference
def test_raw_bits_equal_reference() -> None:
    got = xb.random_bits(10_001, seed=99, stream=5, offset=7)
    assert np.array_equal(got, reference.random_bits(10_001, reference.key_from_seed(99), 5, 7))


@pytest.mark.statistical
def test_streams_of_a_generator_are_independent() -> None:
    # Successive calls must not share words: correlation of two calls ~ N(0, 1/n).
    g = xb.Generator(108)
    a, b = xb.normal(N, generator=g), xb.normal(N, generator=g)
    r = float(np.corrcoef(a, b)[0, 1])
    assert abs(r) <= Z / math.sqrt(N)


# --- copies and children ----------------------------------------------------------------------------
@pytest.mark.invariance
@pytest.mark.parametrize("clone", [lambda g: pickle.loads(pickle.dumps(g)), copy.deepcopy, copy.copy])
def test_generator_copies_replay_the_same_streams(clone) -> None:
    g = xb.Generator(11)
    xb.normal(3, generator=g)
    h = clone(g)
    assert h.stream == g.stream == 1 and h.key == g.key
    assert (xb.normal(16, generator=g) == xb.normal(16, generator=h)).all()
    assert h.stream == 2
    xb.normal(4, generator=h)  # the copy has its own working lock


@pytest.mark.reference
def test_spawned_children_follow_seedsequence_spawn() -> None:
    g = xb.Generator(42)
    children = g.spawn(3)
    for k, child in enumerate(children):
        expected = np.random.SeedSequence(42).spawn(3)[k].generate_state(2, np.uint32)
        assert tuple(int(w) for w in child.key) == tuple(int(w) for w in expected)
    assert [c._spawn_key for c in g.spawn(2)] == [(3,), (4,)]  # successive calls give new children
    assert g.stream == 0


@pytest.mark.statistical
def test_spawned_children_streams_are_disjoint_from_parent_and_siblings() -> None:
    g = xb.Generator(0)
    family = [g, *g.spawn(4), *g.spawn(1)[0].spawn(3)]
    assert len({gen.key for gen in family}) == len(family)
    words = [xb.random_bits(4096, generator=gen) for gen in family]
    for i in range(len(words)):
        for j in range(i):
            # 2 x 4096 independent 32-bit words share a value with probability ~ 4096**2 / 2**32 = 0.4%;
            # equal leading blocks would mean a shared stream.
            assert not (words[i][:4] == words[j][:4]).all()
            assert len(np.intersect1d(words[i], words[j])) <= 3


# --- refusals leave the generator where it was ------------------------------------------------------
@pytest.mark.refusal
def test_memory_error_leaves_the_generator_where_it_was(monkeypatch) -> None:
    from xinit_bench import validation

    g = xb.Generator(5)

    def no_memory(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(validation.np, "empty", no_memory)
    with pytest.raises(MemoryError):
        xb.normal(8, generator=g)
    with pytest.raises(MemoryError):
        xb.random_bits(8, generator=g)
    monkeypatch.undo()
    assert g.stream == 0
    assert (xb.normal(8, generator=g) == xb.normal(8, seed=5)).all()


@pytest.mark.refusal
def test_spawn_validates_n() -> None:
    refused(TypeError, "n", xb.Generator(0).spawn, 2.0)
    refused(ValueError, "n", xb.Generator(0).spawn, -1)


@pytest.mark.refusal
@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (1.5, TypeError), ("7", TypeError), (True, TypeError)])
def test_bad_seed(seed: object, exc: type, canary: np.ndarray) -> None:
    with pytest.raises(exc, match="seed"):
        xb.normal((8, 4), seed=seed, out=canary)  # type: ignore[arg-type]
    assert untouched(canary)


@pytest.mark.refusal
def test_seed_and_generator_together() -> None:
    with pytest.raises(ValueError, match="either seed= or generator="):
        xb.normal(4, seed=1, generator=xb.Generator(1))
    with pytest.raises(TypeError, match="Generator"):
        xb.normal(4, generator=np.random.default_rng(0))  # type: ignore[arg-type]


# --- hostile input ----------------------------------------------------------------------------------
@pytest.mark.property
@budget("random_bits")
@given(n=ints, stream=st.one_of(st.none(), ints), offset=st.one_of(st.just(0), ints), source=sources)
def test_random_bits(n: Any, stream: Any, offset: Any, source: Any) -> None:
    call = Call(source, None)
    x = call.run(
        xb.random_bits,
        n,
        call.seed,
        generator=call.generator,
        stream=stream,
        offset=offset,
        names=("n", "seed", "generator", "stream", "offset"),
    )
    if x is not None:
        assert x.dtype == np.uint32 and x.shape == (int(n),)
        if int(n) and call.seed == 5:
            again = xb.random_bits(int(n) + 1, 5, stream=stream, offset=offset)
            assert (again[: int(n)] == x).all()


@pytest.mark.property
@budget("Generator")
@given(seed=st.one_of(st.none(), ints), stream=ints, children=st.one_of(st.integers(0, 4), ints))
def test_generator(seed: Any, stream: Any, children: Any) -> None:
    import copy
    import pickle

    call = Call(None, None)
    g = call.run(xb.Generator, seed, stream=stream, names=("seed", "stream"))
    if g is None:
        return
    assert g.stream == int(stream)
    twin = pickle.loads(pickle.dumps(g))
    deep = copy.deepcopy(g)
    kids = call.run(g.spawn, children, names=("n",))
    if g.stream < 2**32 - 1:
        first = xb.random_bits(8, generator=g)
        assert (xb.random_bits(8, generator=twin) == first).all()
        assert (xb.random_bits(8, generator=deep) == first).all()
        for kid in kids or []:
            assert not (xb.random_bits(8, generator=kid) == first).all()
    if kids:
        assert len({k.key for k in kids} | {g.key}) == len(kids) + 1
