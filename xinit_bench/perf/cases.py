"""The one table of measured cases: what ``bench``, the gate, asv and ``tests/perf`` time.

A :class:`Case` is a scheme, an output dtype and a number of elements; its
:attr:`Case.name` (``"normal-float32-1M"``) keys the gate's baselines and the
JSON reports.  :data:`RECIPES` maps each scheme to the four calls it is
measured with:

``fill``
    the public xinit-bench call that fills a given buffer ``out``;
``reference_fill``
    NumPy's fastest path for the same distribution into ``out``
    (``xinit_bench.reference.fill_*``);
``call`` / ``reference_call``
    a whole allocating public call (validation, allocation, fill) and its
    ``xinit_bench.reference`` twin, for the small-call measurement.

The library under test is imported inside the call factories (``import
xinit_bench``), never at module level, and the NumPy references by relative
import: loaded from the working tree by ``benchmarks/tree.py``, the table then
times an older commit's library against today's references.  A public
function that the library under test lacks raises :class:`LibraryLacks`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from .. import reference
from .references import fill_call

Scheme = Literal["symmetric_uniform", "uniform", "normal", "truncated_normal", "truncated_normal_wide", "philox_words"]
Impl = Literal["xinit", "numpy", "fill"]
FloatArray = NDArray[np.floating[Any]]
Call = Callable[[], object]
#: ``(case, out) -> call``: replaces the xinit-bench call of a case (the tests slow it down on purpose).
XinitFactory = Callable[["Case", FloatArray], Call]

#: The four fills every report covers.  ``symmetric_uniform`` is the
#: Xavier/He uniform path, ``uniform`` is a plain ``[low, high)``.
SCHEMES: tuple[Scheme, ...] = ("symmetric_uniform", "uniform", "normal", "truncated_normal")
#: Also accepted by ``xinit-bench bench --schemes`` and in benchmark names, but
#: not in the default run or the gate's baseline.  ``truncated_normal_wide`` is
#: torch's ``trunc_normal_(std=0.02)``, whose default bounds a=-2, b=2 are
#: absolute: +-100 std (ViT and GPT-style models initialise this way).
#: ``philox_words`` writes the raw Philox words over the buffer (one per
#: float32 element, two per float64 one) with the library's ``bits`` kernel:
#: the speed of the generator alone, beside the fill, which no transform can
#: beat.
EXTRA_SCHEMES: tuple[Scheme, ...] = ("truncated_normal_wide", "philox_words")
ALL_SCHEMES: tuple[Scheme, ...] = SCHEMES + EXTRA_SCHEMES
DTYPES: tuple[str, ...] = ("float32", "float64")
#: Half-precision outputs (the float32 transform, rounded once and clamped):
#: timed by the A/B gate, which needs no NumPy reference for them.
HALF_DTYPES: tuple[str, ...] = ("bfloat16", "float16")
CASE_DTYPES: tuple[str, ...] = DTYPES + HALF_DTYPES
IMPLS: tuple[Impl, ...] = ("xinit", "numpy", "fill")
DEFAULT_SEED = 20240917

#: Scheme parameters.  The std of 0.02 is the initialisation std of GPT-2's
#: weights (Radford et al. 2019, the released ``model.py``), a typical large
#: tensor; ``uniform`` uses an asymmetric interval so the affine map is not
#: trivial; ``truncated_normal`` cuts at +-2 std.
NORMAL_STD = 0.02
UNIFORM_LOW, UNIFORM_HIGH = -0.05, 0.1
TRUNCATION = 2.0
WIDE_TRUNCATION = 2.0 / NORMAL_STD
#: The symmetric-uniform case fills a torch-layout matrix ``(size // 1024, 1024)``.
MATRIX_COLUMNS = 1024
#: Largest element count :func:`parse_size` accepts (and largest shift of ``"1<<k"``).
MAX_SHIFT = 62
MAX_SIZE = 1 << MAX_SHIFT


class LibraryLacks(NotImplementedError):
    """The library under test has no public function that a case needs (an older commit).

    A ``NotImplementedError``, so that asv reports the benchmark as skipped.
    """


def truncation(scheme: Scheme) -> float:
    """The cut, in standard deviations, of a truncated-normal ``scheme``."""
    return WIDE_TRUNCATION if scheme == "truncated_normal_wide" else TRUNCATION


def size_label(size: int) -> str:
    """Return ``size`` in binary units: ``1024 -> "1K"``, ``1 << 26 -> "64M"``.

    Sizes that are not a whole number of KiB keep their decimal spelling.
    """
    for shift, suffix in ((30, "G"), (20, "M"), (10, "K")):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{suffix}"
    return str(size)


def parse_size(text: str) -> int:
    """Parse ``"64M"``, ``"1K"``, ``"4096"`` or ``"1<<20"`` into a positive element count.

    Raises
    ------
    ValueError
        If ``text`` is not one of those forms, is not positive, or exceeds
        ``2**62`` elements (a shift is checked before it is computed).
    """
    raw = text.strip().upper()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        if "<<" in raw:
            base_text, shift_text = raw.split("<<")
            base, shift = int(base_text), int(shift_text)
            if shift > MAX_SHIFT:
                raise OverflowError
            value = base << shift
        elif raw and raw[-1] in units:
            value = int(raw[:-1]) * units[raw[-1]]
        else:
            value = int(raw)
    except OverflowError:
        raise ValueError(f"size {text!r} is too large: at most 1<<{MAX_SHIFT} elements") from None
    except ValueError:
        raise ValueError(
            f"size {text!r} is not understood; use an element count such as 1048576, 1M, 64K or 1<<20"
        ) from None
    if value <= 0:
        raise ValueError(f"size {text!r} must be positive")
    if value > MAX_SIZE:
        raise ValueError(f"size {text!r} is too large: at most 1<<{MAX_SHIFT} elements")
    return value


def parse_sizes(text: str) -> tuple[int, ...]:
    """Parse a comma-separated list of sizes (``"1K,1M,64M"``) with :func:`parse_size`.

    Raises
    ------
    ValueError
        If a size is not understood, or if the list names no size at all.
    """
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError(f"no size given in {text!r}; use e.g. 1K,1M,64M")
    return tuple(parse_size(part) for part in parts)


@dataclass(frozen=True)
class Case:
    """One measured fill: a scheme, an output dtype and a number of elements."""

    scheme: Scheme
    dtype: str
    size: int

    @property
    def name(self) -> str:
        """Stable benchmark name, e.g. ``"normal-float32-1M"`` (the gate's key)."""
        return f"{self.scheme}-{self.dtype}-{size_label(self.size)}"

    @classmethod
    def from_name(cls, name: str) -> Case:
        """Inverse of :attr:`name`.

        Raises
        ------
        ValueError
            If ``name`` does not name a known scheme, dtype and size.
        """
        parts = name.rsplit("-", 2)
        if len(parts) != 3 or parts[0] not in ALL_SCHEMES or parts[1] not in CASE_DTYPES:
            raise ValueError(
                f"benchmark name {name!r} is not <scheme>-<dtype>-<size> with scheme one of "
                f"{', '.join(ALL_SCHEMES)} and dtype one of {', '.join(CASE_DTYPES)}"
            )
        scheme: Scheme = parts[0]
        return cls(scheme, parts[1], parse_size(parts[2]))


def matrix_shape(size: int) -> tuple[int, int]:
    """The torch-layout ``(out, in)`` shape used for ``size`` elements of a symmetric uniform."""
    if size % MATRIX_COLUMNS == 0:
        return (size // MATRIX_COLUMNS, MATRIX_COLUMNS)
    return (size, 1)


def xavier_bound(shape: tuple[int, int]) -> float:
    """Glorot & Bengio (2010), eq. 16: ``sqrt(6 / (fan_in + fan_out))`` for a torch ``(out, in)`` matrix."""
    fan_out, fan_in = shape
    return math.sqrt(6.0 / (fan_in + fan_out))


def allocate(case: Case) -> FloatArray:
    """A flat output for ``case`` with every page already faulted in (``np.ones`` writes it)."""
    return np.ones(case.size, dtype=numpy_dtype(case.dtype))


def numpy_dtype(name: str) -> np.dtype[Any]:
    """The NumPy dtype of a case's dtype name (``"bfloat16"`` is ml_dtypes', imported on first use)."""
    if name == "bfloat16":
        import ml_dtypes

        half: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
        return half
    return np.dtype(name)


def _public(name: str) -> Callable[..., Any]:
    """``xinit_bench.<name>`` of the library under test, imported now.

    Raises
    ------
    LibraryLacks
        If the library cannot be imported or has no such function.
    """
    try:
        import xinit_bench
    except ImportError as exc:
        raise LibraryLacks(f"xinit_bench is not importable: {exc}") from None
    library: ModuleType = xinit_bench
    fn = getattr(library, name, None)
    if fn is None:
        raise LibraryLacks(f"xinit_bench.{name} does not exist in the library under test")
    return cast(Callable[..., Any], fn)


# --- the recipes: one per scheme --------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """How one scheme is measured: four call factories (see the module docstring)."""

    #: ``(case, out, seed) -> call`` filling ``out`` with the public xinit-bench API.
    fill: Callable[[Case, FloatArray, int], Call]
    #: ``(case, out, rng) -> call`` filling ``out`` with NumPy's fastest path.
    reference_fill: Callable[[Case, FloatArray, np.random.Generator], Call]
    #: ``(case, seed) -> call`` returning a new array from the public xinit-bench API.
    call: Callable[[Case, int], Call]
    #: ``(case, rng) -> call`` returning a new array from ``xinit_bench.reference``.
    reference_call: Callable[[Case, np.random.Generator], Call]


def _dtype(case: Case) -> type[np.floating[Any]]:
    return cast(type[np.floating[Any]], numpy_dtype(case.dtype).type)


def _symmetric_fill(case: Case, out: FloatArray, seed: int) -> Call:
    fn, shape, dtype = _public("xavier_uniform"), matrix_shape(case.size), _dtype(case)
    view = out.reshape(shape)
    return lambda: fn(shape, seed=seed, dtype=dtype, out=view)


def _symmetric_reference_fill(case: Case, out: FloatArray, rng: np.random.Generator) -> Call:
    bound = xavier_bound(matrix_shape(case.size))
    return lambda: reference.fill_uniform(out, -bound, bound, rng)


def _symmetric_call(case: Case, seed: int) -> Call:
    fn, shape, dtype = _public("xavier_uniform"), matrix_shape(case.size), _dtype(case)
    return lambda: fn(shape, seed=seed, dtype=dtype)


def _symmetric_reference_call(case: Case, rng: np.random.Generator) -> Call:
    shape, dtype = matrix_shape(case.size), _dtype(case)
    return lambda: reference.xavier_uniform(shape, rng=rng, dtype=dtype)


def _uniform_fill(case: Case, out: FloatArray, seed: int) -> Call:
    fn, dtype = _public("uniform"), _dtype(case)
    return lambda: fn(out.shape, UNIFORM_LOW, UNIFORM_HIGH, seed=seed, dtype=dtype, out=out)


def _uniform_reference_fill(case: Case, out: FloatArray, rng: np.random.Generator) -> Call:
    return lambda: reference.fill_uniform(out, UNIFORM_LOW, UNIFORM_HIGH, rng)


def _uniform_call(case: Case, seed: int) -> Call:
    fn, dtype = _public("uniform"), _dtype(case)
    return lambda: fn((case.size,), UNIFORM_LOW, UNIFORM_HIGH, seed=seed, dtype=dtype)


def _uniform_reference_call(case: Case, rng: np.random.Generator) -> Call:
    dtype = _dtype(case)
    return lambda: reference.uniform((case.size,), UNIFORM_LOW, UNIFORM_HIGH, rng=rng, dtype=dtype)


def _normal_fill(case: Case, out: FloatArray, seed: int) -> Call:
    fn, dtype = _public("normal"), _dtype(case)
    return lambda: fn(out.shape, 0.0, NORMAL_STD, seed=seed, dtype=dtype, out=out)


def _normal_reference_fill(case: Case, out: FloatArray, rng: np.random.Generator) -> Call:
    return lambda: reference.fill_normal(out, 0.0, NORMAL_STD, rng)


def _normal_call(case: Case, seed: int) -> Call:
    fn, dtype = _public("normal"), _dtype(case)
    return lambda: fn((case.size,), 0.0, NORMAL_STD, seed=seed, dtype=dtype)


def _normal_reference_call(case: Case, rng: np.random.Generator) -> Call:
    dtype = _dtype(case)
    return lambda: reference.normal((case.size,), 0.0, NORMAL_STD, rng=rng, dtype=dtype)


def _truncated_fill(case: Case, out: FloatArray, seed: int) -> Call:
    fn, dtype, cut = _public("truncated_normal"), _dtype(case), truncation(case.scheme)
    return lambda: fn(out.shape, 0.0, NORMAL_STD, -cut, cut, seed=seed, dtype=dtype, out=out)


def _truncated_reference_fill(case: Case, out: FloatArray, rng: np.random.Generator) -> Call:
    cut = truncation(case.scheme)
    return lambda: reference.fill_truncated_normal(out, 0.0, NORMAL_STD, -cut, cut, rng)


def _truncated_call(case: Case, seed: int) -> Call:
    fn, dtype, cut = _public("truncated_normal"), _dtype(case), truncation(case.scheme)
    return lambda: fn((case.size,), 0.0, NORMAL_STD, -cut, cut, seed=seed, dtype=dtype)


def _truncated_reference_call(case: Case, rng: np.random.Generator) -> Call:
    dtype, cut = _dtype(case), truncation(case.scheme)
    return lambda: reference.truncated_normal((case.size,), 0.0, NORMAL_STD, -cut, cut, rng=rng, dtype=dtype)


def _words_fill(case: Case, out: FloatArray, seed: int) -> Call:
    _public("random_bits")
    try:
        from xinit_bench.launch import fill_flat
    except ImportError as exc:
        raise LibraryLacks(f"xinit_bench.launch is not importable: {exc}") from None
    k0, k1 = reference.key_from_seed(seed)
    key = (np.uint32(k0), np.uint32(k1), np.uint32(0))
    words = out.reshape(-1).view(np.uint32)
    return lambda: fill_flat("bits", words, key, 0, ())


def _words_reference_fill(case: Case, out: FloatArray, rng: np.random.Generator) -> Call:
    flat = out.reshape(-1)
    return lambda: rng.random(dtype=out.dtype, out=flat)


def _words_call(case: Case, seed: int) -> Call:
    fn = _public("random_bits")
    return lambda: fn(case.size, seed=seed)


def _words_reference_call(case: Case, rng: np.random.Generator) -> Call:
    return lambda: rng.integers(0, 1 << 32, case.size, dtype=np.uint32)


_TRUNCATED = Recipe(_truncated_fill, _truncated_reference_fill, _truncated_call, _truncated_reference_call)

#: Scheme -> how it is measured.  The two truncated schemes differ only in their cut (:func:`truncation`).
RECIPES: dict[Scheme, Recipe] = {
    "symmetric_uniform": Recipe(_symmetric_fill, _symmetric_reference_fill, _symmetric_call, _symmetric_reference_call),
    "uniform": Recipe(_uniform_fill, _uniform_reference_fill, _uniform_call, _uniform_reference_call),
    "normal": Recipe(_normal_fill, _normal_reference_fill, _normal_call, _normal_reference_call),
    "truncated_normal": _TRUNCATED,
    "truncated_normal_wide": _TRUNCATED,
    "philox_words": Recipe(_words_fill, _words_reference_fill, _words_call, _words_reference_call),
}


def xinit_call(case: Case, out: FloatArray, seed: int = DEFAULT_SEED) -> Call:
    """The public xinit-bench call that fills ``out`` for ``case``, as a user would write it."""
    return RECIPES[case.scheme].fill(case, out, seed)


def numpy_call(case: Case, out: FloatArray, seed: int = DEFAULT_SEED) -> Call:
    """NumPy's fastest path for ``case`` (``xinit_bench.reference.fill_*``) into ``out``."""
    return RECIPES[case.scheme].reference_fill(case, out, np.random.default_rng(seed))


def case_calls(case: Case, out: FloatArray, xinit_factory: XinitFactory | None = None) -> dict[str, Call]:
    """The three interleaved callables of one case, all writing ``out``.

    ``xinit_factory`` replaces the xinit-bench call (tests use it to inject a
    deliberately slowed kernel); it receives ``(case, out)``.
    """
    xinit = xinit_factory(case, out) if xinit_factory is not None else xinit_call(case, out)
    return {"xinit": xinit, "numpy": numpy_call(case, out), "fill": fill_call(out)}


def small_call_calls(case: Case, seed: int = DEFAULT_SEED) -> dict[str, Call]:
    """The allocating public call and its ``xinit_bench.reference`` twin for ``case``."""
    recipe = RECIPES[case.scheme]
    return {"xinit": recipe.call(case, seed), "numpy": recipe.reference_call(case, np.random.default_rng(seed))}
