"""The network theory's forward second moments against neural-tangents' NNGP kernel diagonals.

``tests/data/nngp_reference.json`` holds, for dense, residual (beta = 1),
LayerNorm and circular-padded 1-d and 2-d conv stacks with ReLU, leaky ReLU
and GELU (erf-based) activations, the NNGP kernel diagonal after every entry,
computed by neural-tangents 0.6.5 ``stax`` in float64 with
``tests/data/nngp_reference.py`` (its docstring says how to rerun it, and how
each layer is translated).  ``predict`` must equal it to 1e-6 relative; the
live test recomputes the references when neural-tangents is installed.

For dense, residual and LayerNorm stacks with ReLU and erf it also holds the
off-diagonal kernel of two inputs of correlation ``c0``, which
``predict(net, c0=c0)`` must give as ``c^l q^l`` to 1e-6 relative.
"""

from __future__ import annotations

import importlib.util
import json
import math
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
@pytest.mark.parametrize("name", sorted(REFERENCE["pair_cases"]))
def test_predict_correlation_equals_the_offdiagonal_nngp(name: str) -> None:
    case = REFERENCE["pair_cases"][name]
    pred = xp.predict(xp.Network.from_dict(case["network"]), c0=case["c0"])
    assert pred.correlation is not None
    np.testing.assert_allclose(pred.correlation * pred.forward, case["nngp_offdiagonal"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(pred.forward, case["nngp_diagonal"], rtol=RTOL, atol=0)


def _relu_pair(layers: list[dict], q0: float, c0: float, *, bias_in_cross: bool, arccos: bool) -> list[float]:  # type: ignore[type-arg]
    """The cross moment after each entry of a Dense/ReLU chain, written out here (a third implementation)."""
    weight_variance = _script().weight_variance
    q, x, n_in, out = q0, c0 * q0, None, []
    for layer in layers:
        if layer["type"] == "dense":
            n_out = layer["width"]
            n = n_in if n_in is not None else 64
            f = n * weight_variance(layer["init"], layer.get("gain"), n, n_out)
            sb2 = layer.get("bias_std", 0.0) ** 2
            q, x, n_in = f * q + sb2, f * x + (sb2 if bias_in_cross else 0.0), n_out
        else:
            c = x / q
            t = math.acos(c)
            k1 = (math.sin(t) + (math.pi - t) * c) / (2 * math.pi) if arccos else c / 2
            q, x = q / 2, q * k1
        out.append(x)
    return out


@pytest.mark.reference
def test_the_correlation_comparison_can_fail() -> None:
    # The ReLU chain by hand matches the reference; dropping the bias from the cross moment, or
    # carrying c through the ReLU instead of the arc-cosine kernel, misses it by far more than RTOL.
    case = REFERENCE["pair_cases"]["pair_dense_relu"]
    layers, q0, c0 = case["network"]["layers"], case["network"]["input_second_moment"], case["c0"]
    ref = np.array(case["nngp_offdiagonal"])
    right = np.array(_relu_pair(layers, q0, c0, bias_in_cross=True, arccos=True))
    np.testing.assert_allclose(right, ref, rtol=1e-12)
    for wrong in ({"bias_in_cross": False, "arccos": True}, {"bias_in_cross": True, "arccos": False}):
        got = np.array(_relu_pair(layers, q0, c0, **wrong))
        assert np.max(np.abs(got / ref - 1.0)) > 1e3 * RTOL, wrong
    assert set(REFERENCE["pair_cases"]) == set(_script().PAIR_CASES)


@pytest.mark.reference
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCE["pair_cases"]))
def test_live_neural_tangents_pairs(name: str) -> None:
    script = _live_script()
    case = script.PAIR_CASES[name]
    with pytest.warns(UserWarning) if "residual" in json.dumps(case) else _nothing():
        cross, diag = script.pair_reference(case)
    np.testing.assert_allclose(cross, REFERENCE["pair_cases"][name]["nngp_offdiagonal"], rtol=1e-12)
    net = {k: v for k, v in case.items() if k != "c0"}
    pred = xp.predict(xp.Network.from_dict(net), c0=case["c0"])
    assert pred.correlation is not None
    np.testing.assert_allclose(pred.correlation * pred.forward, cross, rtol=RTOL, atol=0)
    np.testing.assert_allclose(pred.forward, diag, rtol=RTOL, atol=0)


def _live_script() -> ModuleType:
    """The reference script with neural-tangents importable, or a skip."""
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
    return script


@pytest.mark.reference
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCE["cases"]))
def test_live_neural_tangents(name: str) -> None:
    script = _live_script()
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
