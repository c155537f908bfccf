"""``xinit_bench.warmup``: the warm-up compiles what the library calls, and the cache then holds all of it."""

from __future__ import annotations

import numpy as np
import pytest

import xinit_bench as xb
from xinit_bench import propagation
from xinit_bench.kernels import activations as A
from xinit_bench.kernels import fill as K
from xinit_bench.kernels import qr as Q
from xinit_bench.orthogonal import orthogonal  # the function (the package attribute can be the submodule)
from xinit_bench.warmup import cache_status, compile_all, targets


def _signatures() -> dict[str, int]:
    kernels = [*K.FILLS.values(), *K.SERIAL_FILLS.values(), *A.FORWARD, A.backward, A.rows_sumsq]
    kernels += [Q.serial_householder_q, Q.householder_q, Q.householder_q_batch]
    return {k.__name__: len(k.signatures) for k in kernels}


def test_targets_cover_every_entry_point_in_both_dtypes() -> None:
    names = {(name, dtype) for name, dtype, _, _ in targets()}
    for kind in K.KINDS:
        dtypes = ("uint32",) if kind == "bits" else ("float32", "float64")
        for dtype in dtypes:
            assert (f"fill_{kind}", dtype) in names
            assert (f"serial_{kind}", dtype) in names
    for kernel in [*A.FORWARD, A.backward, A.rows_sumsq]:
        assert (kernel.__name__, "float32") in names and (kernel.__name__, "float64") in names
    # the QR runs in float64 for every output dtype: one signature per entry point, whatever dtypes asks for
    qr = {(name, dtype) for name, dtype, _, _ in targets(["orthogonal"], ["float32"])}
    assert qr == {("serial_householder_q", "float64"), ("householder_q", "float64"), ("householder_q_batch", "float64")}


def test_after_warmup_the_library_compiles_no_new_signature() -> None:
    # If the warm-up compiled a signature the library never calls (say float32
    # params where the library passes float64), the library's first call would
    # add a signature here: the cache would not have helped.
    compile_all()
    before = _signatures()
    for dtype in (np.float32, np.float64):
        for shape in ((16, 16), (256, 256)):  # the serial and the parallel entry points
            xb.uniform(shape, -1.0, 2.0, seed=0, dtype=dtype)
            xb.xavier_uniform(shape, seed=0, dtype=dtype)
            xb.he_normal(shape, seed=0, dtype=dtype)
            xb.truncated_normal(shape, seed=0, dtype=dtype)
            xb.truncated_normal(shape, 0.0, 0.02, -2.0, 2.0, absolute=True, seed=0, dtype=dtype)
            xb.truncated_normal(shape, a=-12.0, b=-3.0, seed=0, dtype=dtype)
        for act in ("relu", "tanh", "elu"):
            propagation.simulate(act, depth=2, width=16, batch=8, repeats=1, dtype=dtype)
        # the QR's serial (small), parallel (256 x 256 is past its threshold) and batch entry points
        for shape, kwargs in (((16, 16), {}), ((256, 256), {}), ((3, 16, 8), {"batch_axis": 0})):
            orthogonal(shape, seed=0, dtype=dtype, **kwargs)
    xb.random_bits(10, seed=0)
    xb.random_bits(100_000, seed=0)
    assert _signatures() == before


def test_records_are_cheap_once_cached() -> None:
    compile_all(["fills"], ["float32"])
    again = compile_all(["fills"], ["float32"])
    assert {r.kernel for r in again} >= {"fill_normal", "serial_normal", "fill_bits"}
    # A cached signature is a dictionary look-up in this process: well under a
    # second even on a loaded machine (a compile takes seconds).
    assert max(r.cpu_seconds for r in again) < 0.5
    assert not any(r.compiled for r in again)  # Numba's own count: no cache miss


def test_after_compile_all_the_cache_holds_every_signature() -> None:
    compile_all(["fills", "runs"], ["float32"])
    status = cache_status(["fills", "runs"], ["float32"])
    assert status.enabled and status.total == len(targets(["fills", "runs"], ["float32"]))
    assert status.warm == status.total and status.cold == ()
    assert len(status.folders) == 1  # every kernel module lives in one folder, so one cache folder


def test_bad_group_or_dtype_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="group must be one of"):
        compile_all(["kernels"])
    with pytest.raises(ValueError, match="dtype must be one of"):
        compile_all(["fills"], ["float16"])
