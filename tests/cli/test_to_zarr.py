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


def test_json_into_the_store_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: the store was written, then the JSON write clobbered it (or failed), after the whole run.
    store = tmp_path / "w.zarr"
    for target in (store, store / "plan.json"):
        assert exit_code(["to-zarr", "--shape", "30,8", "--json", str(target), str(store)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is the store" in err and "--json" in err, err
        assert not store.exists()


@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"), PermissionError(13, "Permission denied")],
    ids=["disk-full", "read-only-chunk-folder"],
)
def test_an_os_error_mid_write_is_one_line_with_the_progress_and_the_resume_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    # The disk filling (ENOSPC) and a chunk folder that turned read-only (EACCES) both surface from the writer
    # as OSError after some chunks; as root this machine cannot make a folder unwritable, so the writer's
    # failure is injected after it has reported 2 of 5 chunks.
    real = xd.write_zarr

    def failing(plan: object, progress: object = None) -> object:
        assert callable(progress)
        progress(2, 5)
        raise error

    monkeypatch.setattr(xd, "write_zarr", failing)
    store = tmp_path / "w.zarr"
    code = exit_code(["to-zarr", "--shape", "30,8", "--chunks", "7,8", str(store)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "after 2 of 5 chunks" in err and "--resume" in err and (error.strerror or "") in err
    monkeypatch.setattr(xd, "write_zarr", real)


def test_a_shape_beyond_any_array_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "w.zarr"
    assert exit_code(["to-zarr", "--shape", "9223372036854775808,2", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "--shape must have at most 2**62 elements" in err, err
    assert not store.exists()


def test_a_small_store_reports_its_size_in_a_unit_that_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["to-zarr", "--shape", "30,8", "--dry-run", str(tmp_path / "w.zarr")]) == 0
    out = capsys.readouterr().out
    assert "0.00 GiB" not in out and "960 bytes" in out, out
