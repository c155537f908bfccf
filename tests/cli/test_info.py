"""``xinit-bench info``: versions, the optional back ends and what the kernel cache holds, within 100 columns."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version

import pytest

from xinit_bench.cli import main
from xinit_bench.warmup import cache_status, targets


def installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def test_info_json_names_the_back_ends_and_the_cache(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for name in ("torch", "dask", "zarr"):
        assert data[name] == installed(name)  # None where not installed
    cache = data["kernel_cache"]
    assert cache["total"] == len(targets())
    assert cache["warm"] == cache_status().warm and 0 <= cache["warm"] <= cache["total"]
    assert cache["enabled"] is True and len(cache["folders"]) == 1


def test_info_table_fits_100_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    status = cache_status()
    assert f"{status.warm} of {status.total} kernel signatures warm" in out
    assert "cache folder" in out  # the path itself may wrap inside its cell; --json has it whole
    for name in ("torch", "dask", "zarr"):
        assert name in out
        if installed(name) is None:
            assert "not installed" in out


def test_a_missing_back_end_reads_not_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from xinit_bench.perf import machine

    real = machine.installed_version
    monkeypatch.setattr(machine, "installed_version", lambda name: None if name == "zarr" else real(name))
    assert main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["zarr"] is None
    assert main(["info"]) == 0
    assert "not installed" in capsys.readouterr().out
