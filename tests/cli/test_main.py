"""``xinit_bench.cli.main``: a refused command says why in one line, exits 2, and writes no file."""

from __future__ import annotations

import pytest


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bench", "--sizes", "1<<100000000000"], "--sizes"),
        (["bench", "--sizes", "1<<40", "--no-scaling", "--no-small-call"], "GiB"),
        (["propagate", "--repeats", "1000000000000", "--depth", "2", "--width", "4", "--no-plot"], "repeats="),
        (["bench", "--sizes", "1K", "--no-scaling", "--no-small-call", "-o", "/proc/x.json"], "-o/--output"),
        (["propagate", "--depth", "2", "--width", "4", "--plot", "/proc/x.png"], "--plot"),
        (["gains", "--json", "/proc/x.json"], "--json"),
        (["propagate", "--gain", "1e200", "--depth", "2", "--width", "4", "--no-plot"], "gain must"),
        (["propagate", "--gain", "1e30", "--depth", "2", "--width", "4", "--no-plot"], "gain"),
        (["gains", "--q", "1e308"], "q must"),
    ],
)
def test_cli_refuses_in_one_line_without_writing(argv, expected, tmp_path, monkeypatch, capsys) -> None:
    from xinit_bench.cli import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own one-line errors exit 2
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and expected in err, err
    assert list(tmp_path.iterdir()) == []
