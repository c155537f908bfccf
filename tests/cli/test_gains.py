"""``xinit_bench/cli/gains.py``: the gains table shows chi_1 at the fixed point and the phase."""

from __future__ import annotations

import pytest


@pytest.mark.known_answer
def test_cli_gains_table_shows_chi1_and_phase(capsys) -> None:
    from xinit_bench.cli import main

    assert main(["gains"]) == 0
    out = capsys.readouterr().out
    assert "chi_1 at q*" in out and "chaotic" in out and "ordered" in out
