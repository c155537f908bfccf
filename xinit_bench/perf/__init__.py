"""Measurement layer of xinit-bench: cases, timers, reports and the regression gate.

No command-line code lives here; :mod:`xinit_bench.cli` renders what these
modules return.

* :mod:`.cases`: the one table of measured cases (scheme, dtype, size) and how
  each builds its xinit-bench call, its NumPy reference and its small call.
* :mod:`.references`: the parallel constant fill, the memory-bandwidth limit.
* :mod:`.timing`: interleaved timing under ``perf_counter`` and ``process_time``.
* :mod:`.measure`: one case measured (interleaved fill, thread scaling, small call).
* :mod:`.bench`: the ``xinit-bench bench`` job and its main table;
  :mod:`.targets`: its speed targets and their bounds; :mod:`.sections`: its
  thread-scaling, small-call and orthogonal sections.
* the CI regression gate: :mod:`.errors` (its exit codes and
  :class:`~.errors.GateError`), :mod:`.gate` (the :class:`~.gate.Outcome`
  of either mode), :mod:`.gate_ab` (A/B against a commit: :mod:`.ab`,
  :mod:`.abstats`, :mod:`.refenv`, and the worker script :mod:`.ab_worker`),
  :mod:`.gate_baseline` (against a committed baseline: :mod:`.figures`,
  :mod:`.baseline`).
* :mod:`.treeload`: a tree's measurement code under a private package name,
  for asv (``benchmarks/tree.py``) and the A/B workers.
* :mod:`.machine`: CPU key, CPU model and SIMD flags, versions, memory probe.

Every module refers to the rest of the source tree by relative imports, and
to the library under test only through a lazy ``import xinit_bench`` inside
the call factories of :mod:`.cases`: :mod:`.treeload` loads these modules
from the working tree under another package name while asv, or an A/B worker,
imports the library of another commit.  Nothing is imported eagerly here.
"""

from __future__ import annotations
