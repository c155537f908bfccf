"""``python -m xinit_bench.cli``: the same as the ``xinit-bench`` console script."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
