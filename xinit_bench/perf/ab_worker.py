"""The A/B gate's worker process, a file run by path: ``python <this file> <kernels folder>``.

:mod:`.ab` starts two of these per round, one with the reference commit's
library first on ``PYTHONPATH`` and one with the working tree's.  Run as a
script, this file

1. takes its own folder off ``sys.path`` (Python puts a script's folder
   first, and this one holds modules of the measurement layer, not of the
   library under test);
2. runs :mod:`.treeload` from the same folder by path and loads this folder's
   measurement code under the private package ``_xinit_tree`` (the parent
   folder as ``_xinit_tree``, the kernels folder given on the command line as
   ``_xinit_tree.kernels``), so that both workers time with the same case
   table, while ``import xinit_bench`` inside the call factories reaches
   whichever library comes first on the worker's path;
3. imports itself as ``_xinit_tree.perf.ab_worker`` and serves requests
   (:func:`serve`) until told to quit.

It is part of the installed package (``xinit-bench gate --against`` runs from
an installed library; CI runs it from a clean clone): it needs no file
outside ``xinit_bench/`` but the kernels folder, which the parent names.
Nothing of the library is imported at import.
"""

from __future__ import annotations

import json
import math
import os
import runpy
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["HERE", "boot", "serve"]

#: The folder of this file: ``xinit_bench/perf`` of the tree whose measurement code the worker runs.
HERE = Path(__file__).resolve().parent


def serve() -> None:
    """Serve timing requests, one JSON object per line on stdin, one reply per line on stdout.

    Requests: ``{"op": "setup", "cases": [...], "min_sample_time": s}``, then
    ``{"op": "sample", "case": name}`` any number of times, then
    ``{"op": "quit"}``.  A ``setup`` reply names the cases the library lacks
    and the folder of the ``xinit_bench`` it imported; a ``sample`` reply holds
    the process and wall time per call of ``number`` back-to-back calls, where
    ``number`` is the fewest calls that last ``min_sample_time``:

    .. math::

        \\mathrm{number} = \\max\\left(1, \\left\\lceil
        \\frac{\\mathrm{min\\_sample\\_time}}{t_{\\mathrm{once}}} \\right\\rceil\\right)

    Runs inside a worker process only, with this module imported as
    ``_xinit_tree.perf.ab_worker`` (:func:`boot`).
    """
    from ..runtime import prepare_threading, threads
    from .cases import Case, LibraryLacks, allocate, xinit_call

    reply_to = sys.stdout
    sys.stdout = sys.stderr  # a stray print must not corrupt the replies
    prepare_threading()  # the same threading layer on both sides, picked before any launch
    calls: dict[str, tuple[Callable[[], object], int]] = {}

    def reply(data: dict[str, Any]) -> None:
        reply_to.write(json.dumps(data) + "\n")
        reply_to.flush()

    with threads(1):
        for line in sys.stdin:
            request = json.loads(line)
            op = request["op"]
            if op == "quit":
                break
            if op == "setup":
                lacks: dict[str, str] = {}
                for name in request["cases"]:
                    case = Case.from_name(name)
                    try:
                        call = xinit_call(case, allocate(case))
                        call()  # warm-up: compilation and cache loading stay out of the clock
                    except LibraryLacks as exc:
                        lacks[name] = str(exc)
                        continue
                    except Exception as exc:  # an old library whose API differs: that case cannot be compared
                        lacks[name] = f"{type(exc).__name__}: {exc}"
                        continue
                    t0 = time.perf_counter()
                    call()
                    once = time.perf_counter() - t0
                    calls[name] = (call, max(1, math.ceil(float(request["min_sample_time"]) / max(once, 1e-9))))
                try:
                    import xinit_bench

                    library = str(Path(xinit_bench.__file__).resolve().parent)
                except ImportError as exc:
                    library = f"not importable: {exc}"
                reply({"lacks": lacks, "library": library})
            elif op == "sample":
                call, number = calls[request["case"]]
                wall0, cpu0 = time.perf_counter(), time.process_time()
                for _ in range(number):
                    call()
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                reply({"cpu": cpu / number, "wall": wall / number})


def boot(argv: Sequence[str]) -> Callable[[], None]:
    """Steps 1 and 2 of the module docstring; return the :func:`serve` of ``_xinit_tree.perf.ab_worker``.

    ``argv`` is ``[<this file>, <kernels folder>]``.

    Raises
    ------
    SystemExit
        Without exactly one argument, or when the kernels folder does not exist.
    """
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        raise SystemExit(f"usage: python {argv[0] if argv else 'ab_worker.py'} KERNELS_FOLDER (an existing folder)")
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != str(HERE)]
    tree_module = runpy.run_path(str(HERE / "treeload.py"))["tree_module"]
    worker = tree_module("perf.ab_worker", HERE.parent, Path(argv[1]))
    served: Callable[[], None] = worker.serve
    return served


if __name__ == "__main__":
    boot(sys.argv)()
