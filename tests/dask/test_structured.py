"""The lazy orthogonal batch equals the local ``xinit_bench.orthogonal`` bit for bit, on any chunking of its batch.

Each task factorises the matrices of its own chunk from their own stream
positions; these tests compare the computed array's bytes with the local
call's for several chunkings, dtypes, layouts and schedulers, and check that a
chunking that would cut a matrix (whose QR needs all of it) is refused before
anything is built or any generator advances.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import xinit_bench as xb
from xinit_bench.orthogonal import orthogonal as local_orthogonal  # the function, whatever the package attribute

da = pytest.importorskip("dask.array")
xd = pytest.importorskip("xinit_bench.dask")

BF16 = "bfloat16"
SHAPE = (5, 12, 7)  # a batch of five tall 12 x 7 matrices along axis 0


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.invariance
@pytest.mark.parametrize("dtype", [np.float32, np.float64, BF16])
@pytest.mark.parametrize("chunks", [None, (2, -1, -1), ((1, 3, 1), 12, 7), (5, None, None)], ids=str)
def test_every_chunking_of_the_batch_equals_the_local_call(chunks: Any, dtype: Any) -> None:
    lazy = xd.orthogonal(SHAPE, 1.5, chunks=chunks, batch_axis=0, seed=7, dtype=dtype)
    local = local_orthogonal(SHAPE, 1.5, batch_axis=0, seed=7, dtype=dtype)
    assert same_bits(lazy.compute(scheduler="synchronous"), local)


@pytest.mark.invariance
@pytest.mark.parametrize(
    "shape,kwargs",
    [
        ((4, 3, 6, 2), {"batch_axis": 1}),  # wide 4 x 12 matrices, the batch in the middle
        ((3, 4, 5, 6), {"batch_axis": 2, "layout": "keras"}),
        ((6, 4, 5), {"batch_axis": 0, "layout": "keras", "column_axis": 1}),
        ((9, 5), {}),  # no batch axis: one matrix, one chunk
    ],
    ids=["torch-middle", "keras", "keras-column-axis", "one-matrix"],
)
def test_layouts_and_batch_axes_equal_the_local_call(shape: tuple[int, ...], kwargs: dict[str, Any]) -> None:
    lazy = xd.orthogonal(shape, seed=3, dtype=np.float64, **kwargs)
    assert same_bits(
        lazy.compute(scheduler="threads", num_workers=2), local_orthogonal(shape, seed=3, dtype=np.float64, **kwargs)
    )


@pytest.mark.invariance
def test_one_task_per_matrix_by_default() -> None:
    lazy = xd.orthogonal(SHAPE, batch_axis=0, seed=0)
    assert lazy.numblocks == (5, 1, 1)
    assert len(dict(lazy.__dask_graph__())) == 5
    grouped = xd.orthogonal(SHAPE, batch_axis=0, chunks=(2, -1, -1), seed=0)
    assert grouped.chunks == ((2, 2, 1), (12,), (7,))


@pytest.mark.invariance
def test_each_block_is_the_matching_slice_of_the_local_batch() -> None:
    local = local_orthogonal(SHAPE, batch_axis=0, seed=5, dtype=np.float64)
    lazy = xd.orthogonal(SHAPE, batch_axis=0, chunks=((2, 3), -1, -1), seed=5, dtype=np.float64)
    assert same_bits(lazy.blocks[1].compute(), local[2:])
    # the blocks are distinct matrices: a task that drew the first positions for every block would repeat matrix 0
    assert not np.array_equal(lazy.blocks[1].compute()[0], local[0])


@pytest.mark.invariance
def test_generator_gives_one_stream_when_the_graph_is_built() -> None:
    g = xb.Generator(4)
    first = xd.orthogonal(SHAPE, batch_axis=0, generator=g)
    second = xd.orthogonal(SHAPE, batch_axis=0, chunks=(3, -1, -1), generator=g)
    assert g.stream == 2
    h = xb.Generator(4)
    # computing twice, on threads that share the graph's source, gives the same stream each time
    assert same_bits(first.compute(scheduler="threads"), local_orthogonal(SHAPE, batch_axis=0, generator=h))
    assert same_bits(first.compute(scheduler="threads"), local_orthogonal(SHAPE, batch_axis=0, seed=4))
    assert same_bits(second.compute(), local_orthogonal(SHAPE, batch_axis=0, generator=h))


@pytest.mark.refusal
@pytest.mark.parametrize(
    "shape,kwargs,match",
    [
        (SHAPE, {"batch_axis": 0, "chunks": (1, 6, 7)}, "chunks must keep every matrix whole.*axis 1"),
        (SHAPE, {"batch_axis": 0, "chunks": 2}, "chunks must keep every matrix whole"),
        ((9, 5), {"chunks": (3, 5)}, "the tensor is one matrix"),
        (SHAPE, {"batch_axis": 1, "chunks": (2, 1, -1)}, "axis 0 of length 5 must be one block"),
        ((7,), {}, "Only tensors with 2 or more dimensions are supported"),
        (SHAPE, {"batch_axis": 3}, "batch_axis must be an axis"),
        (SHAPE, {"gain": -1.0}, "gain must be"),
        (SHAPE, {"gain": 1e5, "dtype": "float16"}, "gain must fit float16"),
        (SHAPE, {"layout": "jax"}, "layout must be"),
    ],
)
def test_bad_input_is_refused_before_a_stream_is_taken(shape: Any, kwargs: dict[str, Any], match: str) -> None:
    g = xb.Generator(1)
    with pytest.raises(ValueError, match=match):
        xd.orthogonal(shape, generator=g, **kwargs)
    assert g.stream == 0


@pytest.mark.refusal
def test_wrong_types_and_local_only_arguments() -> None:
    with pytest.raises(TypeError, match="chunks must be"):
        xd.orthogonal(SHAPE, batch_axis=0, chunks=2.5, seed=0)
    with pytest.raises(TypeError, match="generator must be"):
        xd.orthogonal(SHAPE, batch_axis=0, generator=3)
    with pytest.raises(ValueError, match="pass either seed= or generator="):
        xd.orthogonal(SHAPE, batch_axis=0, seed=1, generator=xb.Generator(1))
    with pytest.raises(TypeError, match="region"):
        xd.orthogonal(SHAPE, batch_axis=0, seed=0, region=(slice(0, 1),))
