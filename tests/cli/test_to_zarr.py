"""``xinit-bench to-zarr``, driven in-process through the real CLI parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import xinit_bench as xb
from xinit_bench.cli import main

xd = pytest.importorskip("xinit_bench.dask")


def test_writes_the_local_fill_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "w.zarr"
    argv = ["to-zarr", "--scheme", "he_uniform", "--shape", "30,8", "--chunks", "7,8", "--dtype", "bfloat16"]
    assert main([*argv, "--param", "mode=fan_out", "--seed", "4", str(store)]) == 0
    text = capsys.readouterr().out
    assert "5 chunks" in text and "free" in text and "memory: about" in text
    local = xb.he_uniform((30, 8), mode="fan_out", seed=4, dtype="bfloat16")
    assert xd.from_zarr(store).compute().tobytes() == local.tobytes()
    again = [*argv, "--param", "mode=fan_out", "--seed", "4", "--resume", "--json", "-", str(store)]
    assert main(again) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chunks_to_write"] == 0 and data["result"]["chunks_skipped"] == 5


@pytest.mark.parametrize(
    "extra,words",
    [
        (["--chunks", "7,3,1"], "error: --chunks must have one entry per axis"),
        (["--param", "gain"], "expected NAME=VALUE"),
        (["--param", "mode=sideways"], "error: --param mode must be one of"),
        (["--workers", "0"], "error: --workers must be an int"),
        (["--shape", "6,-4"], "error: --shape[1] must be an int >= 0, got -4"),
        (["--dtype", "int8"], "invalid choice"),
        (["--shape", "3,x"], "expected comma-separated ints"),
    ],
)
def test_bad_options_exit_2_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    store = tmp_path / "w.zarr"
    assert exit_code(["to-zarr", "--shape", "30,8", *extra, str(store)]) == 2
    assert words in capsys.readouterr().err
    assert not store.exists()


def exit_code(argv: list[str]) -> int:
    """The exit status, whether argparse refused the option (SystemExit) or the run did (return value)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_an_existing_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "w.zarr"
    assert main(["to-zarr", "--shape", "6,4", str(store)]) == 0
    capsys.readouterr()
    assert main(["to-zarr", "--shape", "6,4", str(store)]) == 2
    err = capsys.readouterr().err
    assert "OUT.zarr must not exist unless --overwrite or --resume" in err
    assert "overwrite=True" not in err and "store must" not in err  # the CLI's names, not the library's


def test_dry_run_says_nothing_was_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "w.zarr"
    assert main(["to-zarr", "--shape", "30,8", "--chunks", "7,8", "--dry-run", str(store)]) == 0
    out = capsys.readouterr().out
    assert "5 chunks" in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("  dry run: nothing was written (") and last.endswith("w.zarr untouched)")
    assert not store.exists()
    assert main(["to-zarr", "--shape", "30,8", "--dry-run", "--json", "-", str(store)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dry_run"] is True and data["result"] is None and data["chunks_to_write"] == data["chunks_total"]
    assert not store.exists()
