"""``xinit_bench/cli/gains.py``: the gains table shows chi_1 at the fixed point and the phase."""

from __future__ import annotations

import pytest


@pytest.mark.known_answer
def test_cli_gains_table_shows_chi1_and_phase(capsys) -> None:
    from xinit_bench.cli import main

    assert main(["gains"]) == 0
    out = capsys.readouterr().out
    assert "chi_1 at q*" in out and "chaotic" in out and "ordered" in out


def test_cli_gains_table_has_depth_scales_within_100_columns() -> None:
    import io

    from xinit_bench import propagation as prop
    from xinit_bench.cli.gains import print_gains

    buf = io.StringIO()
    rows = prop.gain_table()
    print_gains(rows, 1.0, buf)
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 100 and "…" not in text
    heads = next(line for line in text.splitlines() if "activation" in line)
    assert "xi_q" in heads and "xi_c" in heads
    tanh = next(line for line in text.splitlines() if line.startswith(" tanh "))
    xi_c = prop.depth_scales("tanh", rows[3]["forward"].gain ** 2, 0.0).xi_c
    assert f"{xi_c:.3g}" in tanh.split()
    relu = next(line for line in text.splitlines() if line.startswith(" relu "))
    assert relu.split().count("inf") == 2  # He init without bias is marginal: both scales infinite


def test_cli_gains_json_has_the_depth_scales(tmp_path) -> None:
    import json

    from xinit_bench.cli import main

    target = tmp_path / "g.json"
    assert main(["gains", "--json", str(target)]) == 0
    rows = {r["activation"]: r for r in json.loads(target.read_text())["rows"]}
    assert rows["relu"]["forward_scales"]["xi_c"] == "inf"
    assert rows["gelu"]["forward_scales"]["xi_q"] == "nan"  # unstable q* = 1 under the forward gain
    assert rows["sigmoid"]["eoc_xi_q"] is None and rows["tanh"]["eoc_xi_q"] > 0
