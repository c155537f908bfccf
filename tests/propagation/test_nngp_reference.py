"""The network theory's forward second moments against neural-tangents' NNGP kernel diagonals.

``tests/data/nngp_reference.json`` holds, for dense, residual (beta = 1),
LayerNorm and circular-padded 1-d and 2-d conv stacks with ReLU, leaky ReLU
and GELU (erf-based) activations, the NNGP kernel diagonal after every entry,
computed by neural-tangents 0.6.5 ``stax`` in float64 with
``tests/data/nngp_reference.py`` (its docstring says how to rerun it, and how
each layer is translated).  ``predict`` must equal it to 1e-6 relative; the
live test recomputes the references when neural-tangents is installed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from xinit_bench import propagation as xp

DATA = Path(__file__).resolve().parents[1] / "data"
REFERENCE = json.loads((DATA / "nngp_reference.json").read_text())
RTOL = 1e-6


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nngp_reference", DATA / "nngp_reference.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.reference
@pytest.mark.parametrize("name", sorted(REFERENCE["cases"]))
def test_predict_equals_the_nngp_diagonal(name: str) -> None:
    case = REFERENCE["cases"][name]
    net = xp.Network.from_dict(case["network"])
    ref = np.array(case["nngp_diagonal"])
    assert case["position_spread"] <= 1e-12
    np.testing.assert_allclose(xp.predict(net).forward, ref, rtol=RTOL, atol=0)


@pytest.mark.reference
def test_the_comparison_can_fail() -> None:
    # The residual case with its alpha off by 0.1%: the theory moves by more than the tolerance.
    case = json.loads(json.dumps(REFERENCE["cases"]["residual"]["network"]))
    case["layers"][1]["alpha"] *= 1.001
    got = xp.predict(xp.Network.from_dict(case)).forward
    ref = np.array(REFERENCE["cases"]["residual"]["nngp_diagonal"])
    assert np.max(np.abs(got / ref - 1.0)) > RTOL
    assert set(REFERENCE["cases"]) == set(_script().CASES)


@pytest.mark.reference
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCE["cases"]))
def test_live_neural_tangents(name: str) -> None:
    if importlib.util.find_spec("neural_tangents") is None:
        pytest.skip("neural-tangents is not installed")
    script = _script()
    stubs = [n for n in ("jax.experimental.jax2tf", "neural_tangents.experimental") if n not in sys.modules]
    script.stub_tensorflow()
    try:
        # An ImportError (not only a missing module) skips: neural-tangents 0.6.5 needs jax 0.4.30's jax.core.
        pytest.importorskip("neural_tangents", exc_type=ImportError)
    except pytest.skip.Exception:
        for n in stubs:  # leave no stand-in behind for the other tests of this process
            sys.modules.pop(n, None)
        raise
    with pytest.warns(UserWarning) if "residual" in json.dumps(script.CASES[name]) else _nothing():
        values, spread = script.reference(script.CASES[name])
    assert spread <= 1e-12
    np.testing.assert_allclose(values, REFERENCE["cases"][name]["nngp_diagonal"], rtol=1e-12)
    net = xp.Network.from_dict(script.CASES[name])
    np.testing.assert_allclose(xp.predict(net).forward, values, rtol=RTOL, atol=0)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
