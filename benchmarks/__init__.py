"""The asv benchmark suite of xinit-bench (run with ``asv run``; see docs/benchmarking.md)."""
