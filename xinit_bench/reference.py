"""NumPy reference implementations: the baseline of every test and benchmark.

Two families, both pure NumPy:

1. **What a user would write** with :class:`numpy.random.Generator`: the same
   schemes as :mod:`xinit_bench` (``rng=`` instead of ``seed=``), and
   ``fill_*`` functions that are NumPy's fastest float32 paths
   (``Generator.random(dtype=float32, out=)``, ``standard_normal(dtype=float32,
   out=)``, then an in-place scale), against which speed is measured.
2. **A vectorised Philox4x32-10** with the kernels' word layout, conversions
   and transforms, written independently from the Numba code and operation for
   operation in the same floating-point order, so that its output can be
   compared with the kernels bit for bit (``philox_*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .fans import compute_fans
from .kernels import erfinv_coefficients as _erf
from .kernels.kinds import KINDS
from .samplers import TRUNCATED_STD_2
from .schemes import NAMED_SCHEMES, fan_size

FloatArray = NDArray[np.floating[Any]]
U32 = np.uint32

# ------------------------------------------------------------------------------
# 1. NumPy Generator baselines
# ------------------------------------------------------------------------------


def fill_uniform(out: FloatArray, low: float, high: float, rng: np.random.Generator) -> FloatArray:
    """``out[...] = U[low, high)`` by ``rng.random(dtype=out.dtype, out=out)`` and an in-place scale."""
    flat = out.reshape(-1)
    rng.random(dtype=out.dtype, out=flat)
    flat *= out.dtype.type(high - low)
    flat += out.dtype.type(low)
    return out


def fill_normal(out: FloatArray, mean: float, std: float, rng: np.random.Generator) -> FloatArray:
    """``out[...] = N(mean, std^2)`` by ``rng.standard_normal(dtype=out.dtype, out=out)`` and a scale."""
    flat = out.reshape(-1)
    rng.standard_normal(dtype=out.dtype, out=flat)
    flat *= out.dtype.type(std)
    flat += out.dtype.type(mean)
    return out


def fill_truncated_normal(
    out: FloatArray, mean: float, std: float, a: float, b: float, rng: np.random.Generator
) -> FloatArray:
    """Normal truncated to standardised ``[a, b]``: draw, then redraw the rejects until none is left."""
    flat = out.reshape(-1)
    rng.standard_normal(dtype=out.dtype, out=flat)
    bad = np.flatnonzero((flat < a) | (flat > b))
    while bad.size:
        redraw = rng.standard_normal(bad.size, dtype=out.dtype)
        flat[bad] = redraw
        bad = bad[(redraw < a) | (redraw > b)]
    flat *= out.dtype.type(std)
    flat += out.dtype.type(mean)
    return out


def _empty(shape: int | Sequence[int], dtype: DTypeLike) -> FloatArray:
    return np.empty(shape, dtype=dtype)


def uniform(
    shape: int | Sequence[int],
    low: float = 0.0,
    high: float = 1.0,
    *,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
) -> FloatArray:
    """``U[low, high)`` with NumPy's Generator."""
    return fill_uniform(_empty(shape, dtype), low, high, rng)


def normal(
    shape: int | Sequence[int],
    mean: float = 0.0,
    std: float = 1.0,
    *,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
) -> FloatArray:
    """``N(mean, std^2)`` with NumPy's Generator."""
    return fill_normal(_empty(shape, dtype), mean, std, rng)


def truncated_normal(
    shape: int | Sequence[int],
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
) -> FloatArray:
    """``N(mean, std^2)`` truncated to standardised ``[a, b]``, by rejection with NumPy's Generator."""
    return fill_truncated_normal(_empty(shape, dtype), mean, std, a, b, rng)


def variance_scaling(
    shape: Sequence[int],
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    *,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
    layout: str = "torch",
) -> FloatArray:
    """The NumPy version of :func:`xinit_bench.variance_scaling`: ``Var[W] = scale / fan_size(mode)``."""
    fan_in, fan_out = compute_fans(shape, layout)  # type: ignore[arg-type]
    std = math.sqrt(scale / fan_size(mode, fan_in, fan_out))
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return uniform(shape, -bound, bound, rng=rng, dtype=dtype)
    if distribution == "normal":
        return normal(shape, 0.0, std, rng=rng, dtype=dtype)
    return truncated_normal(shape, 0.0, std / TRUNCATED_STD_2, -2.0, 2.0, rng=rng, dtype=dtype)


def scheme(
    name: str,
    shape: Sequence[int],
    gain: float | None = None,
    *,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
) -> FloatArray:
    """Named scheme ``name`` (a key of :data:`xinit_bench.schemes.NAMED_SCHEMES`) with NumPy's Generator.

    ``gain`` defaults to the scheme's: 1 (Xavier, LeCun) or :math:`\\sqrt 2`
    (He, as PyTorch's ``kaiming_*`` with ``a = 0``).
    """
    spec = NAMED_SCHEMES[name]
    scale = spec.default_scale if gain is None else gain**2
    return variance_scaling(shape, scale, spec.mode, spec.distribution, rng=rng, dtype=dtype)


def xavier_uniform(
    shape: Sequence[int], gain: float = 1.0, *, rng: np.random.Generator, dtype: DTypeLike = np.float32
) -> FloatArray:
    """The NumPy version of :func:`xinit_bench.xavier_uniform`."""
    return scheme("xavier_uniform", shape, gain, rng=rng, dtype=dtype)


def he_normal(
    shape: Sequence[int], gain: float = math.sqrt(2.0), *, rng: np.random.Generator, dtype: DTypeLike = np.float32
) -> FloatArray:
    """The NumPy version of :func:`xinit_bench.he_normal`."""
    return scheme("he_normal", shape, gain, rng=rng, dtype=dtype)


# ------------------------------------------------------------------------------
# 2. Vectorised Philox4x32-10 and the kernels' transforms
# ------------------------------------------------------------------------------

PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
_MASK32 = 0xFFFFFFFF


def philox4x32_10(counter: NDArray[np.uint32], key: Sequence[int]) -> NDArray[np.uint32]:
    """Philox4x32-10 of every column of ``counter`` (shape ``(4, n)``) under ``key = (k0, k1)``."""
    c = [np.asarray(row, dtype=np.uint64) for row in np.asarray(counter, dtype=np.uint32)]
    k0, k1 = int(key[0]), int(key[1])
    m0, m1 = np.uint64(PHILOX_M[0]), np.uint64(PHILOX_M[1])
    for _ in range(10):
        p0 = c[0] * m0
        p1 = c[2] * m1
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(_MASK32)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(_MASK32)
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
        k0 = (k0 + PHILOX_W[0]) & _MASK32
        k1 = (k1 + PHILOX_W[1]) & _MASK32
    return np.stack(c).astype(np.uint32)


def key_from_seed(seed: int) -> tuple[int, int]:
    """The documented seed mapping: ``SeedSequence(seed).generate_state(2, uint32)``."""
    k0, k1 = np.random.SeedSequence(seed).generate_state(2, np.uint32)
    return int(k0), int(k1)


def _blocks(first: int, count: int, key: Sequence[int], stream: int) -> NDArray[np.uint32]:
    j = np.arange(first, first + count, dtype=np.uint64)
    counter = np.stack([j & np.uint64(_MASK32), j >> np.uint64(32), np.full_like(j, stream), np.zeros_like(j)]).astype(
        np.uint32
    )
    return philox4x32_10(counter, key)


def random_bits(n: int, key: Sequence[int], stream: int = 0, offset: int = 0) -> NDArray[np.uint32]:
    """Words ``offset .. offset + n - 1``; word ``j`` is word ``j % 4`` of block ``j // 4``."""
    first, last = offset // 4, (offset + n + 3) // 4
    words = _blocks(first, last - first, key, stream).T.reshape(-1)
    return words[offset - 4 * first : offset - 4 * first + n]


# -- conversions (see kernels/convert.py for the grids) --
F32, F64 = np.float32, np.float64
_M24, _M53 = F32(2.0**-24), F64(2.0**-53)


def _top24(w: NDArray[np.uint32]) -> NDArray[np.int64]:
    return (w >> U32(8)).astype(np.int64)


def _bits53(wa: NDArray[np.uint32], wb: NDArray[np.uint32]) -> NDArray[np.int64]:
    hi = (wa >> U32(5)).astype(np.uint64) << np.uint64(26)
    return (hi | (wb >> U32(6)).astype(np.uint64)).astype(np.int64)


def _i2f32(k: NDArray[np.int64]) -> NDArray[np.float32]:
    return k.astype(np.int32).astype(F32)


# -- transforms, in the kernels' operation order --
def log_f32(x: NDArray[np.float32]) -> NDArray[np.float32]:
    ix = x.view(np.int32).astype(np.int64)
    e = (ix - 0x3F3504F3) >> 23
    m = (ix - (e << 23)).astype(np.int32).view(F32)
    s = (m - F32(1)) / (m + F32(1))
    z = s * s
    c = [F32(1.0 / n) for n in (3, 5, 7, 9)]
    two_s = F32(2) * s
    series = z * (c[0] + z * (c[1] + z * (c[2] + z * c[3])))
    out: NDArray[np.float32] = e.astype(F32) * F32(math.log(2.0)) + (two_s + two_s * series)
    return out


def _horner(coeffs: Sequence[float | np.floating[Any]], z: NDArray[Any]) -> NDArray[Any]:
    acc = np.full_like(z, coeffs[-1])
    for c in coeffs[-2::-1]:
        acc = c + z * acc
    return acc


def log_f64(x: NDArray[np.float64]) -> NDArray[np.float64]:
    ix = x.view(np.int64)
    e = (ix - 0x3FE6A09E667F3BCD) >> 52
    m = (ix - (e << 52)).view(F64)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    two_s = 2.0 * s
    fe = e.astype(F64)
    series = _horner([1.0 / n for n in range(3, 23, 2)], z)
    out: NDArray[np.float64] = fe * F64(6.93147180369123816490e-01) + (
        two_s + (two_s * (z * series) + fe * F64(1.90821492927058770002e-10))
    )
    return out


def _rotate(c: NDArray[Any], s: NDArray[Any], q: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
    f = c.dtype.type
    swap = (q & 1).astype(c.dtype)
    keep = f(1) - swap
    sign_c = f(1) - f(2) * (((q + 1) >> 1) & 1).astype(c.dtype)
    sign_s = f(1) - f(2) * ((q >> 1) & 1).astype(c.dtype)
    return (c * keep + s * swap) * sign_c, (s * keep + c * swap) * sign_s


def sincos_turn_f32(k: NDArray[np.int64]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    qr = (k + (1 << 21)) >> 22
    theta = _i2f32(k - (qr << 22)) * F32(2.0 * math.pi * 2.0**-24)
    z = theta * theta
    sn = [F32((-1) ** j / math.factorial(2 * j + 1)) for j in range(1, 5)]
    cs = [F32((-1) ** j / math.factorial(2 * j)) for j in range(1, 6)]
    s = theta + theta * z * (sn[0] + z * (sn[1] + z * (sn[2] + z * sn[3])))
    c = F32(1) + z * (cs[0] + z * (cs[1] + z * (cs[2] + z * (cs[3] + z * cs[4]))))
    return _rotate(c, s, qr & 3)


def sincos_turn_f64(k: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    qr = (k + (1 << 50)) >> 51
    theta = (k - (qr << 51)).astype(F64) * F64(2.0 * math.pi * 2.0**-53)
    z = theta * theta
    s = theta + theta * z * _horner([(-1) ** j / math.factorial(2 * j + 1) for j in range(1, 9)], z)
    c = 1.0 + z * _horner([(-1) ** j / math.factorial(2 * j) for j in range(1, 10)], z)
    return _rotate(c, s, qr & 3)


def _clenshaw(coeffs: Sequence[float | np.floating[Any]], tau: NDArray[Any]) -> NDArray[Any]:
    two_tau = tau + tau
    b1 = np.zeros_like(tau)
    b2 = np.zeros_like(tau)
    for c in coeffs[:0:-1]:
        b0 = c + two_tau * b1 - b2
        b2 = b1
        b1 = b0
    acc: NDArray[Any] = coeffs[0] + tau * b1 - b2
    return acc


def _cheb_on(coeffs: Sequence[float], t: NDArray[Any], lo: float, hi: float) -> NDArray[Any]:
    return _clenshaw(coeffs, (t + t - (hi + lo)) / (hi - lo))


def ndtri_central_f32(p: NDArray[np.float32]) -> NDArray[np.float32]:
    w = -log_f32(F32(4) * p * (F32(1) - p))
    f = _horner([F32(c) for c in _erf.CENTRAL_F32_W], w)
    return F32(math.sqrt(2.0)) * f * (F32(2) * p - F32(1))


def ndtri_f64(p: NDArray[np.float64], central_only: bool = False) -> NDArray[np.float64]:
    w = -log_f64(4.0 * p * (1.0 - p))
    f = _horner(_erf.CENTRAL_F64_W, w)
    if not central_only:
        t = np.sqrt(w)
        for i in range(1, 6):
            lo, hi = getattr(_erf, f"TAIL{i}_F64_LO"), getattr(_erf, f"TAIL{i}_F64_HI")
            sel = (w >= _erf.CENTRAL_F64_HI) & (t >= (lo if i > 1 else 0.0)) & ((t < hi) if i < 5 else True)
            if sel.any():
                f[sel] = _cheb_on(getattr(_erf, f"TAIL{i}_F64"), t[sel], lo, hi)
    x: NDArray[np.float64] = math.sqrt(2.0) * f * (2.0 * p - 1.0)
    return x


def _clip(x: NDArray[Any], lo: Any, hi: Any) -> NDArray[Any]:
    clipped: NDArray[Any] = np.maximum(np.minimum(x, hi), lo)
    return clipped


def _values(kind: str, dtype: np.dtype[Any], w: NDArray[np.uint32], p: Sequence[Any]) -> list[NDArray[Any]]:
    """The per-block values (4 for float32, 2 for float64) of ``kind``; ``w`` is ``(4, n)``."""
    f32 = dtype == np.float32
    u: list[NDArray[Any]]
    if kind == "uniform":
        u = (
            [_i2f32(_top24(x)) * _M24 for x in w]
            if f32
            else [_bits53(w[0], w[1]).astype(F64) * _M53, _bits53(w[2], w[3]).astype(F64) * _M53]
        )
        return [np.minimum(p[0] + p[1] * x, p[2]) for x in u]
    if kind == "symmetric_uniform":
        if f32:
            v = [_i2f32(2 * _top24(x) + 1 - (1 << 24)) * _M24 for x in w]
        else:
            v = [(2 * _bits53(w[i], w[i + 1]) + 1 - (1 << 53)).astype(F64) * _M53 for i in (0, 2)]
        return [_clip(p[0] * x, -p[1], p[1]) for x in v]
    if kind == "normal":
        r: NDArray[Any]  # float32 or float64, by branch
        c: NDArray[Any]
        s: NDArray[Any]
        if f32:
            out: list[NDArray[Any]] = []
            for i in (0, 2):
                r = np.sqrt(-F32(2) * log_f32(_i2f32(_top24(w[i]) + 1) * _M24))
                c, s = sincos_turn_f32(_top24(w[i + 1]))
                out += [r * c, r * s]
        else:
            r = np.sqrt(-2.0 * log_f64((_bits53(w[0], w[1]) + 1).astype(F64) * _M53))
            c, s = sincos_turn_f64(_bits53(w[2], w[3]))
            out = [r * c, r * s]
        return [p[0] + p[1] * z for z in out]
    if kind in ("truncated_normal_central", "truncated_normal", "truncated_normal_tail"):
        if f32:
            u = [_i2f32(2 * (w[i] >> U32(9)).astype(np.int64) + 1) * _M24 for i in range(4)]
        else:
            u = [(2 * (_bits53(w[i], w[i + 1]) >> 1) + 1).astype(F64) * _M53 for i in (0, 2)]
        if kind == "truncated_normal_central":
            nd = ndtri_central_f32 if f32 else (lambda q: ndtri_f64(q, central_only=True))
            return [_clip(p[2] + p[3] * nd(p[0] + p[1] * x), p[4], p[5]) for x in u]
        vals = [_clip(p[2] + p[3] * ndtri_f64(p[0] + p[1] * x.astype(F64)), p[4], p[5]) for x in u]
        return [v.astype(dtype) for v in vals]
    raise ValueError(f"kind must be one of the float kinds of xinit_bench.kernels.kinds.KINDS, got {kind!r}")


def philox_fill(
    kind: str, n: int, key: Sequence[int], stream: int, offset: int, params: Sequence[float], dtype: DTypeLike
) -> FloatArray:
    """Stream positions ``offset .. offset + n - 1`` of ``kind`` -- what ``kernels.fill`` computes.

    ``kind`` is a name of :data:`xinit_bench.kernels.kinds.KINDS` other than
    ``"bits"`` (:func:`random_bits` gives those): ``"uniform"``,
    ``"symmetric_uniform"``, ``"normal"``, ``"truncated_normal_central"``,
    ``"truncated_normal"`` or ``"truncated_normal_tail"``; ``params`` are as
    for the kernel ``FILLS[kind]``.  ``"truncated_normal_tail"`` is computed
    exactly as ``"truncated_normal"``: the branch-free tail kernel gives the
    same bits as the branchy one wherever the planner picks it.
    """
    if kind not in KINDS or kind == "bits":
        raise ValueError(f"kind must be one of the float kinds of xinit_bench.kernels.kinds.KINDS, got {kind!r}")
    dt = np.dtype(dtype)
    e = 4 if dt == np.float32 else 2
    first, last = offset // e, (offset + n + e - 1) // e
    w = _blocks(first, last - first, key, stream)
    float64_params = kind in ("truncated_normal", "truncated_normal_tail")
    ptype: Callable[[float], np.generic] = F64 if float64_params else dt.type
    vals = _values(kind, dt, w, [ptype(v) for v in params])
    flat = np.stack(vals).T.reshape(-1)
    return flat[offset - e * first : offset - e * first + n]
