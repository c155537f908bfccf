"""The training study's statistics: bands over seeds, steps to target, and the exact sign test.

The sign test is checked against an independent implementation,
``scipy.stats.binomtest`` (two-sided, p = 1/2), on every (wins, losses) pair
up to 40 pairs, and against hand-computed values; a deliberately wrong
variant (the one-sided tail, or counting ties as losses) is shown to differ.
The band is checked against a direct NumPy computation on random curves with
a fixed seed.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats as sps

from xinit_bench.training.stats import band, bands, paired_comparison, sign_test, steps_table


def _rec(init: str, seed: int, acc: list[float], steps: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(init=init, seed=seed, test_accuracy=acc, steps_to_target=steps)


@pytest.mark.reference
def test_sign_test_equals_scipy_binomtest_everywhere_up_to_40_pairs() -> None:
    for m in range(1, 41):
        for w in range(m + 1):
            want = sps.binomtest(w, m, 0.5, alternative="two-sided").pvalue
            assert sign_test(w, m - w) == pytest.approx(want, rel=1e-12, abs=1e-300), (w, m)


@pytest.mark.known_answer
def test_sign_test_known_values() -> None:
    # 10 of 10: 2 * 2**-10; 9 of 10: 2 * (1 + 10) / 1024; 8 of 10: 2 * (1 + 10 + 45) / 1024.
    assert sign_test(10, 0) == 2 / 1024
    assert sign_test(9, 1) == 22 / 1024
    assert sign_test(8, 2) == 112 / 1024
    assert sign_test(0, 0) == 1.0
    assert sign_test(3, 3) == 1.0


@pytest.mark.reference
def test_a_one_sided_tail_is_not_the_two_sided_test() -> None:
    """The wrong variant (one tail only) disagrees with scipy's two-sided p, so the comparison can fail."""
    w, m = 8, 10
    one_sided = sum(math.comb(m, j) for j in range(m - w + 1)) / 2**m
    assert one_sided != pytest.approx(sps.binomtest(w, m, 0.5).pvalue, rel=1e-6)
    assert sign_test(w, m - w) == pytest.approx(sps.binomtest(w, m, 0.5).pvalue, rel=1e-12)


@pytest.mark.refusal
@pytest.mark.parametrize(("wins", "losses", "exc"), [(-1, 3, ValueError), (2.0, 3, TypeError), (True, 1, TypeError)])
def test_sign_test_refuses_bad_counts(wins: object, losses: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="wins must be an int >= 0"):
        sign_test(wins, losses)  # type: ignore[arg-type]


@pytest.mark.reference
def test_band_matches_numpy_mean_and_sample_sd() -> None:
    rng = np.random.default_rng(20261203)
    curves = rng.uniform(0.0, 1.0, size=(7, 10))
    b = band("x", curves)
    assert b.n == 7
    np.testing.assert_allclose(b.mean, curves.sum(axis=0) / 7, rtol=1e-13)
    direct = np.sqrt(((curves - curves.mean(axis=0)) ** 2).sum(axis=0) / 6)
    np.testing.assert_allclose(b.sd, direct, rtol=1e-12)
    np.testing.assert_allclose(b.upper - b.lower, 2 * direct, rtol=1e-12)
    # The population s.d. (ddof = 0) is a different, smaller number: the band is not it.
    assert not np.allclose(b.sd, curves.std(axis=0))


@pytest.mark.known_answer
def test_single_seed_band_has_zero_width() -> None:
    b = band("one", [[0.2, 0.4]])
    assert b.sd.tolist() == [0.0, 0.0]


@pytest.mark.refusal
@pytest.mark.parametrize("curves", [[], [[0.1, 0.2], [0.3]], [[]]])
def test_band_refuses_empty_or_ragged(curves: list[list[float]]) -> None:
    with pytest.raises(ValueError, match="curves must be"):
        band("x", curves)


@pytest.mark.known_answer
def test_bands_group_by_init_and_sort_by_seed() -> None:
    rs = [_rec("a", 1, [0.3]), _rec("b", 0, [0.9]), _rec("a", 0, [0.1])]
    out = bands(rs)
    assert set(out) == {"a", "b"}
    assert out["a"].mean.tolist() == [pytest.approx(0.2)]
    assert out["b"].n == 1


@pytest.mark.known_answer
def test_paired_comparison_counts_wins_losses_ties_per_seed() -> None:
    a = [0.9, 0.8, 0.5, 0.7, 0.95]
    b = [0.1, 0.85, 0.5, 0.1, 0.1]
    rs = [_rec("x", s, [v]) for s, v in enumerate(a)] + [_rec("z", s, [v]) for s, v in enumerate(b)]
    c = paired_comparison(rs, "x", "z")
    assert (c.wins, c.losses, c.ties, c.n) == (3, 1, 1, 5)
    assert c.p_value == pytest.approx(sps.binomtest(3, 4, 0.5).pvalue, rel=1e-12)
    d = np.subtract(a, b)
    assert c.mean_difference == pytest.approx(d.mean())
    assert c.sd_difference == pytest.approx(d.std(ddof=1))
    assert "x beats z on 3 of 5 seeds (1 losses, 1 ties;" in c.sentence()


@pytest.mark.known_answer
def test_paired_comparison_pairs_only_common_seeds() -> None:
    rs = [_rec("x", s, [1.0]) for s in (0, 1, 2, 5)] + [_rec("z", s, [0.0]) for s in (1, 2, 3)]
    c = paired_comparison(rs, "x", "z")
    assert c.seeds == (1, 2)
    assert c.p_value == 0.5


@pytest.mark.refusal
def test_paired_comparison_refuses_unknown_arm_duplicates_and_disjoint_seeds() -> None:
    rs = [_rec("x", 0, [1.0]), _rec("z", 1, [0.0])]
    with pytest.raises(ValueError, match=r"arm must be one of \['x', 'z'\], got 'y'"):
        paired_comparison(rs, "x", "y")
    with pytest.raises(ValueError, match="must share a seed"):
        paired_comparison(rs, "x", "z")
    with pytest.raises(ValueError, match="seed 0 twice"):
        paired_comparison([*rs, _rec("x", 0, [0.5])], "x", "z")


@pytest.mark.known_answer
def test_steps_table_median_over_reached_and_did_not_reach() -> None:
    rs = [_rec("he", 0, [0.9], 100), _rec("he", 1, [0.9], 300), _rec("he", 2, [0.5], None)]
    rs += [_rec("small", s, [0.1], None) for s in range(3)]
    rows = {r.label: r for r in steps_table(rs)}
    assert rows["he"].median_steps == 200.0 and rows["he"].reached == 2 and rows["he"].n == 3
    assert rows["he"].cell() == "200 (2/3)"
    assert rows["small"].cell() == "did not reach"
