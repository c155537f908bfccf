"""``benchmarks/tree.py`` loads the working tree's measurement code beside the installed library.

asv times each commit's library with the working tree's case table, NumPy
references and bandwidth fill.  The copy must be separate modules (a second
package name), must build and run a case against ``xinit_bench`` as imported,
and must skip cleanly (``NotImplementedError``) where that library lacks a
public function.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import xinit_bench
from xinit_bench.perf import cases as installed_cases

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def tree(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.tree")


def test_tree_copy_is_separate_and_runs_a_case(tree: ModuleType) -> None:
    cases = tree.load("cases")
    assert cases.__name__ == "_xinit_tree.perf.cases"
    assert cases is not installed_cases
    assert Path(cases.__file__).resolve() == ROOT / "xinit_bench" / "perf" / "cases.py"
    # the references come from the tree copy, the library under test from the installed package
    assert sys.modules["_xinit_tree.reference"] is not sys.modules["xinit_bench.reference"]
    assert "_xinit_tree.kernels.erfinv_coefficients" in sys.modules
    assert cases.Case("normal", "float32", 1 << 10).name == "normal-float32-1K"

    case = cases.Case("normal", "float32", 1 << 12)
    out = cases.allocate(case)
    calls = cases.case_calls(case, out)
    assert set(calls) == {"xinit", "numpy", "fill"}
    calls["fill"]()
    assert np.all(out == np.float32(0.5))
    calls["xinit"]()
    expected = xinit_bench.normal((case.size,), 0.0, cases.NORMAL_STD, seed=cases.DEFAULT_SEED, dtype=np.float32)
    np.testing.assert_array_equal(out, expected)
    calls["numpy"]()
    assert out.std() == pytest.approx(cases.NORMAL_STD, rel=0.1)

    small = cases.small_call_calls(cases.Case("symmetric_uniform", "float64", 1 << 10))
    assert small["xinit"]().shape == small["numpy"]().shape == (1, 1024)

    result = tree.load("measure").measure_case(case, repeats=1, min_sample_time=0.0)
    assert set(result.timings) == {"xinit", "numpy", "fill"}


def test_tree_copy_skips_what_the_library_lacks(tree: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = tree.load("cases")
    monkeypatch.delattr(xinit_bench, "truncated_normal")
    case = cases.Case("truncated_normal", "float32", 1 << 10)
    with pytest.raises(NotImplementedError, match=r"xinit_bench\.truncated_normal does not exist"):
        cases.xinit_call(case, cases.allocate(case))
    # the references do not depend on the library under test
    cases.numpy_call(case, cases.allocate(case))()


def test_asv_parameter_lists_keep_their_history() -> None:
    # asv keys stored results by parameter values: the lists read from the
    # tables may grow at the end, never change or reorder what was there.
    from benchmarks import common

    assert common.SCHEMES[:4] == ("symmetric_uniform", "uniform", "normal", "truncated_normal")
    assert common.NAMED_SCHEMES[:9] == (
        "xavier_uniform",
        "xavier_normal",
        "xavier_truncated_normal",
        "he_uniform",
        "he_normal",
        "he_truncated_normal",
        "lecun_uniform",
        "lecun_normal",
        "lecun_truncated_normal",
    )
