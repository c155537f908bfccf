"""pytest-benchmark suite settings.

Every test here carries the ``perf`` marker.  With benchmarking disabled (the
project's default ``--benchmark-disable``), only the smallest size runs, once,
as a smoke test, so the default ``pytest`` run stays quick; the other sizes
are deselected.  Run the suite for real with ``make perf``:

    pytest tests/perf/bench --benchmark-enable --benchmark-json=.benchmarks/perf.json
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
#: The only size run when benchmarking is disabled.
SMOKE_SIZE = 1 << 16


def benchmarking_enabled(config: pytest.Config) -> bool:
    """pytest-benchmark's rule: ``--benchmark-enable`` overrides ``--benchmark-disable``."""
    return bool(config.getoption("benchmark_enable")) or not config.getoption("benchmark_disable")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    enabled = benchmarking_enabled(config)
    for item in items:
        if HERE not in Path(str(item.path)).parents:
            keep.append(item)
            continue
        item.add_marker(pytest.mark.perf)
        callspec = getattr(item, "callspec", None)
        size = callspec.params.get("size") if callspec is not None else None
        if not enabled and size is not None and size != SMOKE_SIZE:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
