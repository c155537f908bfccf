"""The orthogonal rows of the case table: ``orthogonal((n, n))`` against torch's ``orthogonal_`` and LAPACK's QR.

A :class:`QRCase` is an ``n x n`` orthogonal matrix of one output dtype; its
:attr:`QRCase.name` (``"orthogonal-float32-1024x1024"``) names the row in the
bench's JSON report, the asv suite and the pytest-benchmark groups.  Each row
times three *sides*, the calls :func:`side_call` makes:

``xinit``
    ``xinit_bench.orthogonal((n, n), seed=..., dtype=dtype)``: a Philox float64
    Gaussian, the library's own Householder QR in float64 whatever the output
    dtype, the sign fix and one rounding (bit-reproducible);
``torch``
    ``torch.nn.init.orthogonal_`` on an ``(n, n)`` tensor of ``dtype``
    (LAPACK's ``geqrf`` and ``orgqr`` in that dtype, with torch's BLAS);
``lapack``
    NumPy's Gaussian of ``dtype``, ``scipy.linalg.qr(mode="economic")`` (NumPy's
    ``linalg.qr`` without SciPy) in that dtype, and the sign fix: what a NumPy
    user writes.

The rate of a row is in GFLOP/s of the Householder QR with ``Q`` formed,

.. math:: F(n) = \\underbrace{\\tfrac{4}{3} n^3}_{\\texttt{geqrf}} + \\underbrace{\\tfrac{4}{3} n^3}_{\\texttt{orgqr}}
          = \\tfrac{8}{3} n^3

(Golub & Van Loan, *Matrix Computations*, 4th ed., sec. 5.2.2: ``2 m n^2 -
2/3 n^3`` for the factorisation of an ``m x n`` matrix, as much again to form
``Q``), the same count for every side, so the rates compare as the times do.

As in :mod:`.cases`, the library under test is imported inside the factories,
so :mod:`benchmarks.tree` can time an older commit's library with this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .cases import DEFAULT_SEED, DTYPES, LibraryLacks, _public

__all__ = [
    "ALL_QR_CASES",
    "DEFAULT_QR_CASES",
    "DEFAULT_QR_SIZES",
    "FULL_QR_SIZES",
    "GATE_QR_SIZE",
    "SIDES",
    "TORCH_BOUND",
    "QRCase",
    "Side",
    "SideMissing",
    "flops",
    "side_call",
]

Side = Literal["xinit", "torch", "lapack"]
SIDES: tuple[Side, ...] = ("xinit", "torch", "lapack")
#: The ``n`` of the rows ``xinit-bench bench`` times by default (float32), and of ``--full`` (every dtype).
DEFAULT_QR_SIZES: tuple[int, ...] = (1024, 4096)
FULL_QR_SIZES: tuple[int, ...] = (256, 1024, 4096)
#: The one size cheap enough for quick suites (the pytest-benchmark smoke run, asv's every-commit rows).
GATE_QR_SIZE = 256
#: The acceptance bound of the reproducible QR: at most this many times torch's ``orthogonal_`` time.
TORCH_BOUND = 3.0

Call = Callable[[], object]


class SideMissing(RuntimeError):
    """A side's library (torch, or NumPy's LAPACK) is not installed: its figures are left out, not failed."""


def flops(n: int) -> float:
    """:math:`\\tfrac{8}{3} n^3`: the flops of a Householder QR of an ``n x n`` matrix with ``Q`` formed."""
    return 8.0 / 3.0 * n**3


@dataclass(frozen=True)
class QRCase:
    """One orthogonal row: an ``n x n`` matrix of ``dtype``."""

    n: int
    dtype: str

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")

    @property
    def name(self) -> str:
        """The row's name, e.g. ``"orthogonal-float32-1024x1024"``."""
        return f"orthogonal-{self.dtype}-{self.n}x{self.n}"

    @property
    def flops(self) -> float:
        """The flops of the row's QR, :func:`flops` of ``n``."""
        return flops(self.n)


DEFAULT_QR_CASES: tuple[QRCase, ...] = tuple(QRCase(n, "float32") for n in DEFAULT_QR_SIZES)
ALL_QR_CASES: tuple[QRCase, ...] = tuple(QRCase(n, d) for d in DTYPES for n in FULL_QR_SIZES)


def _xinit(case: QRCase, seed: int) -> Call:
    fn, shape, dtype = _public("orthogonal"), (case.n, case.n), np.dtype(case.dtype)
    return lambda: fn(shape, seed=seed, dtype=dtype)


def _torch(case: QRCase, seed: int) -> Call:
    try:
        import torch
    except ImportError as exc:
        raise SideMissing(f"torch is not installed: {exc}") from None
    tensor = torch.empty((case.n, case.n), dtype=getattr(torch, case.dtype))
    return lambda: torch.nn.init.orthogonal_(tensor, generator=torch.Generator().manual_seed(seed))


def _lapack(case: QRCase, seed: int) -> Call:
    try:
        from scipy import linalg

        def qr(a: Any) -> tuple[Any, Any]:
            q, r = linalg.qr(a, mode="economic", overwrite_a=True, check_finite=False)
            return q, r

    except ImportError:  # NumPy's own LAPACK
        from numpy import linalg as np_linalg

        def qr(a: Any) -> tuple[Any, Any]:
            q, r = np_linalg.qr(a, mode="reduced")
            return q, r

    shape, dtype = (case.n, case.n), np.dtype(case.dtype).type

    def call() -> object:
        q, r = qr(np.random.default_rng(seed).standard_normal(shape, dtype=dtype))
        q *= np.sign(np.diag(r))
        return q

    return call


_FACTORIES: dict[Side, Callable[[QRCase, int], Call]] = {"xinit": _xinit, "torch": _torch, "lapack": _lapack}


def side_call(side: str, case: QRCase, seed: int = DEFAULT_SEED) -> Call:
    """The allocating call of ``side`` for ``case``: one orthogonal ``n x n`` matrix per call.

    Raises
    ------
    ValueError
        An unknown side.
    SideMissing
        torch (the ``torch`` side) is not installed.
    LibraryLacks
        The library under test has no ``orthogonal`` (an older commit).
    """
    if side not in _FACTORIES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    return _FACTORIES[side](case, seed)


#: Raised by :func:`side_call` when a side cannot run here; callers leave that side's figures out.
UNAVAILABLE: tuple[type[Exception], ...] = (SideMissing, LibraryLacks)
