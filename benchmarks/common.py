"""Sizes, dtypes and seeds shared by the asv suite.

Append only: asv keys stored results by parameter values, so changing or
removing a value here orphans the history of every benchmark that uses it.
Add new names instead (NumPy's ``benchmarks/benchmarks/common.py`` follows the
same rule).  The scheme names are read from the working tree's tables, so
they are defined once; those tables are append-only for the same reason.
"""

from .tree import load, module

#: Output sizes in elements: a small call, an L2-sized buffer, and one well
#: beyond the caches (where the memory-bandwidth limit applies).
SIZES = (1 << 10, 1 << 20, 1 << 24)

#: Output dtypes every sampler supports.
DTYPES = ("float32", "float64")

#: Implementations compared by every operation: xinit-bench, the NumPy
#: reference (``xinit_bench.reference.fill_*``) and the parallel constant fill
#: of the same buffer (the memory-bandwidth limit).
IMPLS = ("xinit", "numpy", "fill")

#: The fills measured (``xinit_bench.perf.cases.SCHEMES``).
SCHEMES: tuple[str, ...] = tuple(load("cases").SCHEMES)

#: Seed of every timed fill.
SEED = 20240917

#: The named initialisation schemes of the public API.
#: Read from the working tree's table (``xinit_bench/schemes.py``), the one
#: place a scheme is defined; new schemes are appended there, which keeps this
#: list append-only too.
NAMED_SCHEMES: tuple[str, ...] = tuple(module("schemes").NAMED_SCHEMES)

#: Weight shape of the named-scheme benchmarks: torch layout (out, in).
NAMED_SHAPE = (1024, 1024)

#: Samples per statistical check: 2**21 puts the standard error of a variance
#: near 0.1 % (sqrt(2 / n) for a normal), so a 1 % bias is about 10 of them.
STAT_SIZE = 1 << 21

#: Seed of the statistical checks (fixed, so the tracked values only move
#: when the stream or the transform changes).
STAT_SEED = 12345

#: Output size of the memory benchmarks (16 MiB of float32).
MEMORY_SIZE = 1 << 22

#: Output shape of the cold-start call.
COLD_SHAPE = (256, 256)

#: torch.nn.init.trunc_normal_'s defaults as ViT/GPT-style code calls them:
#: std 0.02 and the absolute cut a=-2, b=2, i.e. +-100 std.
TORCH_TRUNC_STD = 0.02
TORCH_TRUNC_BOUND = 2.0
