"""Lazy dask arrays equal the local fill bit for bit, on any chunking and any scheduler.

The distributed case runs on a real ``dask.distributed.LocalCluster`` of two
worker processes (started by spawn, so each loads the kernels from Numba's
on-disk cache), started and stopped once for this module.  The companion test
shows that ``dask.array.random`` does not have the property.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import xinit_bench as xb

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
xd = pytest.importorskip("xinit_bench.dask")

BF16 = "bfloat16"
SHAPE_2D = (13, 11)
SHAPE_4D = (6, 5, 3, 3)

#: name -> chunks for the 2-d and the 4-d shape.
CHUNKINGS: dict[str, dict[tuple[int, ...], Any]] = {
    "regular": {SHAPE_2D: (4, 11), SHAPE_4D: (2, 5, 3, 3)},
    "irregular": {SHAPE_2D: ((1, 7, 5), (2, 9)), SHAPE_4D: ((3, 1, 2), (2, 3), (1, 2), (3,))},
    "single-element": {SHAPE_2D: 1, SHAPE_4D: 1},
    "row-splitting": {SHAPE_2D: (5, 3), SHAPE_4D: (4, 2, 2, 2)},
}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, BF16])
@pytest.mark.parametrize("shape", [SHAPE_2D, SHAPE_4D], ids=["2d", "4d"])
@pytest.mark.parametrize("chunking", list(CHUNKINGS))
def test_every_chunking_equals_the_local_fill(chunking: str, shape: tuple[int, ...], dtype: Any) -> None:
    chunks = CHUNKINGS[chunking][shape]
    lazy = xd.he_normal(shape, chunks=chunks, seed=7, dtype=dtype)
    assert same_bits(lazy.compute(scheduler="synchronous"), xb.he_normal(shape, seed=7, dtype=dtype))


def test_row_splitting_chunks_really_split_rows() -> None:
    chunks = xd.he_normal(SHAPE_2D, chunks=CHUNKINGS["row-splitting"][SHAPE_2D], seed=0).chunks
    assert len(chunks[1]) > 1 and len(chunks[0]) > 1


@pytest.mark.parametrize("function", xd.FUNCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float16", BF16])
def test_every_function_and_dtype(function: str, dtype: Any) -> None:
    chunks = CHUNKINGS["irregular"][SHAPE_4D]
    lazy = getattr(xd, function)(SHAPE_4D, chunks=chunks, seed=11, dtype=dtype)
    assert same_bits(lazy.compute(scheduler="synchronous"), getattr(xb, function)(SHAPE_4D, seed=11, dtype=dtype))


@pytest.mark.parametrize(
    "function,args,kwargs",
    [
        ("uniform", (-3.0, 5.0), {"offset": 1000}),
        ("normal", (1.0, 0.02), {}),
        ("truncated_normal", (0.0, 0.02, -2.0, 2.0), {"absolute": True}),
        ("he_uniform", (0.1, "fan_out", "leaky_relu"), {"layout": "keras"}),
        ("xavier_normal", (), {"nonlinearity": "tanh"}),
        ("variance_scaling", (2.0, "fan_geo_avg", "uniform"), {"fans": (3, 8)}),
    ],
)
def test_parameters_pass_through(function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    lazy = getattr(xd, function)(SHAPE_4D, *args, chunks=(4, 2, 3, 2), seed=5, **kwargs)
    assert same_bits(lazy.compute(scheduler="synchronous"), getattr(xb, function)(SHAPE_4D, *args, seed=5, **kwargs))


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
def test_local_schedulers(scheduler: str) -> None:
    lazy = xd.xavier_truncated_normal((40, 30), chunks=((7, 33), 11), seed=2, dtype=BF16)
    got = lazy.compute(scheduler=scheduler, num_workers=2)
    assert same_bits(got, xb.xavier_truncated_normal((40, 30), seed=2, dtype=BF16))


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A real LocalCluster of two worker processes, one thread each, for this module."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, BF16])
def test_local_cluster_of_two_worker_processes(client: Any, dtype: Any) -> None:
    shape = (64, 3, 5, 5)
    lazy = xd.he_truncated_normal(shape, chunks=((10, 30, 24), 2, 5, (2, 3)), seed=9, dtype=dtype)
    got = client.compute(lazy).result()
    assert same_bits(got, xb.he_truncated_normal(shape, seed=9, dtype=dtype))
    # the blocks really ran in both worker processes
    where = client.run(lambda dask_worker: len(dask_worker.data) + dask_worker.state.executed_count)
    assert len(where) == 2 and all(n > 0 for n in where.values())


def test_generator_gives_one_stream_when_the_graph_is_built() -> None:
    g = xb.Generator(4)
    first = xd.normal((9, 9), chunks=4, generator=g)
    second = xd.normal((9, 9), chunks=2, generator=g)
    assert g.stream == 2
    h = xb.Generator(4)
    assert same_bits(first.compute(), xb.normal((9, 9), generator=h))
    assert same_bits(second.compute(), xb.normal((9, 9), generator=h))


def test_graph_is_one_task_per_chunk_and_holds_no_data() -> None:
    # 4 TB of float32: the graph is built from plain values, nothing is filled.
    lazy = xd.he_normal((10**6, 10**6), chunks=(10**4, 10**5), seed=0)
    graph = dict(lazy.__dask_graph__())
    assert len(graph) == lazy.npartitions == 1000
    # A 2x3 block in the middle of that tensor, filled alone, equals the local block.
    n = 10**6
    lazy = xd.he_normal((n, n), chunks=((30000, 2, n - 30002), (700000, 3, n - 700003)), seed=0)
    assert same_bits(
        lazy.blocks[1, 1].compute(), xb.he_normal((n, n), seed=0, region=(slice(30000, 30002), slice(700000, 700003)))
    )


def test_dask_array_random_changes_with_chunking() -> None:
    """The comparison for the README: dask's own random arrays depend on the chunks, ours do not."""
    for shape in (SHAPE_2D, SHAPE_4D):
        ours = [xd.normal(shape, chunks=c, seed=0).compute() for c in CHUNKINGS_OF(shape)]
        assert all(same_bits(o, ours[0]) for o in ours)
        theirs = [da.random.default_rng(0).standard_normal(shape, chunks=c).compute() for c in CHUNKINGS_OF(shape)]
        assert not all(np.array_equal(t, theirs[0]) for t in theirs[1:])
        theirs = [da.random.RandomState(0).standard_normal(shape, chunks=c).compute() for c in CHUNKINGS_OF(shape)]
        assert not any(np.array_equal(t, theirs[0]) for t in theirs[1:])


def CHUNKINGS_OF(shape: tuple[int, ...]) -> list[Any]:
    # Single-element chunks are left out: dask.array.random seeds one RandomState per chunk (seconds for 270).
    return [c[shape] for name, c in CHUNKINGS.items() if name != "single-element"]


# --- bad input: the local call's errors, before anything is built -------------------------------
@pytest.mark.parametrize(
    "chunks,exc,msg",
    [
        (((4, 4), 11), ValueError, r"chunks\[0\] must be block sizes that add up to shape\[0\] = 13, got \(4, 4\)"),
        ((4, 11, 2), ValueError, r"chunks must have one entry per axis of shape \(13, 11\)"),
        (0, ValueError, r"chunks must be an int >= 1, got 0"),
        ((4, 0), ValueError, r"chunks\[1\] must be an int >= 1, -1 or None, got 0"),
        ("big", ValueError, r"chunks must be 'auto', an int >= 1 or one entry per axis, got 'big'"),
        (4.0, TypeError, r"chunks must be 'auto', an int >= 1 or one entry per axis, got 4.0"),
        ((4, 2.5), TypeError, r"chunks\[1\] must be an int >= 1, -1, None or a sequence of block sizes, got 2.5"),
    ],
)
def test_bad_chunks(chunks: Any, exc: type, msg: str) -> None:
    g = xb.Generator(0)
    with pytest.raises(exc, match=msg):
        xd.he_normal(SHAPE_2D, chunks=chunks, generator=g)
    assert g.stream == 0


@pytest.mark.parametrize(
    "kwargs,exc",
    [
        ({"dtype": "int32"}, ValueError),
        ({"dtype": object()}, TypeError),
        ({"gain": -1.0}, ValueError),
        ({"seed": -1}, ValueError),
        ({"seed": 1, "generator": xb.Generator(0)}, ValueError),
        ({"layout": "caffe"}, ValueError),
    ],
)
def test_bad_arguments_raise_as_the_local_call(kwargs: dict[str, Any], exc: type) -> None:
    with pytest.raises(exc) as local:
        xb.xavier_uniform(SHAPE_2D, **kwargs)
    with pytest.raises(exc) as lazy:
        xd.xavier_uniform(SHAPE_2D, chunks=4, **kwargs)
    assert str(lazy.value) == str(local.value)


def test_out_and_region_are_refused() -> None:
    with pytest.raises(TypeError, match="takes no out="):
        xd.normal(SHAPE_2D, chunks=4, out=np.empty(SHAPE_2D, np.float32))
    with pytest.raises(TypeError, match="takes no region="):
        xd.normal(SHAPE_2D, chunks=4, region=(slice(0, 2),))
    with pytest.raises(ValueError, match="function must be one of"):
        xd.chunked("orthogonal", SHAPE_2D)


def test_a_shape_beyond_the_streams_positions_is_refused_before_anything_is_built() -> None:
    # 2**62 stream positions per stream: a larger tensor would reuse positions, so it is refused by name.
    g = xb.Generator(0)
    with pytest.raises(ValueError, match=r"^shape must have at most 2\*\*62 elements"):
        xd.normal((2**31, 2**31, 2), chunks=2**20, generator=g)
    assert g.stream == 0
    # 2**62 elements exactly is allowed; the graph is 2048 lazy blocks, nothing is computed or allocated.
    assert xd.normal((2**31, 2**31), chunks=(2**31, 2**20), seed=0).numblocks == (1, 2048)
