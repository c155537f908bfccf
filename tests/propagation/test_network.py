"""``xinit_bench/propagation/architecture.py``: the network description, its checks and its files.

Every bad description is refused by ``Network(...)`` (or ``Network.from_dict``,
``load_network``) before any computation, with the layer named by index and kind.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xinit_bench import propagation as xp
from xinit_bench.propagation import netsim, nettheory


def _example() -> xp.Network:
    return xp.Network(
        xp.Input(64),
        xp.Dense(64, init="he_normal"),
        xp.Residual([xp.Act("relu"), xp.Dense(64, init="he_normal")], alpha=0.5, beta=1.0, repeat=3),
        xp.LayerNorm(eps=1e-5),
        xp.Act("tanh"),
    )


@pytest.mark.known_answer
def test_the_documented_calls_work_and_agree_on_labels() -> None:
    net = _example()
    pred = xp.predict(net)
    sim = xp.simulate(net, batch=16, repeats=2, seed=0)
    assert pred.labels == sim.labels == net.labels
    assert len(net.labels) == 1 + 3 + 1 + 1
    assert net.labels[1] == "2 Residual(alpha=0.5, beta=1) [1/3]"
    for a in (pred.forward, pred.backward, sim.forward, sim.forward_se, sim.backward, sim.backward_se):
        assert a.shape == (6,)
    assert pred.backward[-1] == 1.0


@pytest.mark.known_answer
def test_dict_and_files_round_trip(tmp_path: Path) -> None:
    net = _example()
    d = net.to_dict()
    again = xp.Network.from_dict(json.loads(json.dumps(d)))
    assert again.labels == net.labels
    assert np.array_equal(xp.predict(again).forward, xp.predict(net).forward)
    (tmp_path / "net.json").write_text(json.dumps(d))
    toml = """input = 64
[[layers]]
type = "dense"
width = 64
[[layers]]
type = "residual"
alpha = 0.5
repeat = 3
branch = [{type = "act", activation = "relu"}, {type = "dense", width = 64, init = "he_normal"}]
[[layers]]
type = "layernorm"
eps = 1e-5
[[layers]]
type = "act"
activation = "tanh"
"""
    (tmp_path / "net.toml").write_text(toml)
    for name in ("net.json", "net.toml"):
        loaded = xp.load_network(tmp_path / name)
        assert loaded.labels == net.labels
        assert np.array_equal(xp.predict(loaded).forward, xp.predict(net).forward)


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("build", "exc", "message"),
    [
        (
            lambda: xp.Network(xp.Input(8), xp.Residual([xp.Dense(4)])),
            xp.NetworkError,
            r"^layer 1 \(Residual\): the branch must keep the shape",
        ),
        (
            lambda: xp.Network(xp.Input((3, 4, 4)), xp.Conv(8, 5)),
            xp.NetworkError,
            r"^layer 1 \(Conv\): kernel \(5, 5\) must not be larger than the input's spatial size \(4, 4\)",
        ),
        (
            lambda: xp.Network(xp.Input((3, 8)), xp.Conv(8, (3, 3))),
            TypeError,
            r"^layer 1 \(Conv\): kernel must be an int or 1 ints",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Dense(1), xp.LayerNorm()),
            xp.NetworkError,
            r"^layer 2 \(LayerNorm\): LayerNorm needs at least 2 features to normalise over, got 1",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Dense(4), xp.Act("swish")),
            xp.NetworkError,
            r"^layer 2 \(Act\): activation must be one of .*got 'swish'",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Dense(4, init="kaiming")),
            xp.NetworkError,
            r"^layer 1 \(Dense\): init must be one of .*'orthogonal'.*got 'kaiming'",
        ),
        (lambda: xp.Network(xp.Input(4), xp.Dense(4, init=3)), TypeError, r"^layer 1 \(Dense\): init must be one of"),
        (
            lambda: xp.Network(xp.Input(4), xp.Dense(4, init="delta_orthogonal")),
            xp.NetworkError,
            r"^layer 1 \(Dense\): init 'delta_orthogonal' is for a Conv",
        ),
        (
            lambda: xp.Network(xp.Input((8, 6)), xp.Conv(4, 3, init="delta_orthogonal")),
            xp.NetworkError,
            r"input channels <= output channels, got 8 input and 4 output",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Dense(4, gain=-1.0)),
            xp.NetworkError,
            r"^layer 1 \(Dense\): gain must be a finite real number > 0",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Conv(4, 3)),
            xp.NetworkError,
            r"^layer 1 \(Conv\): a Conv needs a spatial input",
        ),
        (
            lambda: xp.Network(xp.Input((4, 8)), xp.Conv(4, 3, padding="zeros")),
            xp.NetworkError,
            r"^layer 1 \(Conv\): padding must be one of 'circular', got 'zeros'",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Residual([xp.Act("relu"), xp.Dense(4, bias_std=-1.0)])),
            xp.NetworkError,
            r"^layer 1 \(Residual\), branch layer 2 \(Dense\): bias_std must be",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Residual([xp.Dense(4)], repeat=0)),
            xp.NetworkError,
            r"^layer 1 \(Residual\): repeat must be an int >= 1, got 0",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Residual([])),
            TypeError,
            r"^layer 1 \(Residual\): branch must be a non-empty list",
        ),
        (lambda: xp.Network(xp.Dense(4)), TypeError, r"^layer 0 \(Input\): a Network must start with an Input"),
        (
            lambda: xp.Network(xp.Input(0), xp.Dense(4)),
            xp.NetworkError,
            r"^layer 0 \(Input\): shape must be an int >= 1, got 0",
        ),
        (
            lambda: xp.Network(xp.Input(4), xp.Dense(4), xp.Input(4)),
            xp.NetworkError,
            r"^layer 2 \(Input\): an Input may only come first",
        ),
        (
            lambda: xp.Network.from_dict({"input": 4, "layers": [{"type": "dense", "width": 4, "widht": 3}]}),
            xp.NetworkError,
            r"^layer 1 \(dense\): unknown key 'widht'; allowed: 'width'",
        ),
        (
            lambda: xp.Network.from_dict(
                {"input": 4, "layers": [{"type": "residual", "branch": [{"type": "act", "activaton": "relu"}]}]}
            ),
            xp.NetworkError,
            r"^layer 1 \(residual\), branch layer 1 \(act\): unknown key 'activaton'",
        ),
        (
            lambda: xp.Network.from_dict({"input": 4, "layers": [{"type": "pool"}]}),
            xp.NetworkError,
            r"^layer 1 \(pool\): type must be one of 'dense'",
        ),
        (
            lambda: xp.Network.from_dict({"input": 4, "layers": [], "seed": 1}),
            xp.NetworkError,
            r"^network: unknown key 'seed'",
        ),
        (
            lambda: xp.Network.from_dict({"input": 4, "layers": [{"type": "dense"}]}),
            xp.NetworkError,
            r"^layer 1 \(dense\): missing key 'width'",
        ),
    ],
)
def test_bad_descriptions_name_the_layer(build, exc: type, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=message):
        build()


@pytest.mark.refusal
def test_bad_file_names_the_file_and_the_layer(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text('input = 4\n[[layers]]\ntype = "act"\nactivation = "relu"\nslope = 0.1\n')
    with pytest.raises(xp.NetworkError, match=r"bad.toml: layer 1 \(act\): unknown key 'slope'"):
        xp.load_network(p)
    q = tmp_path / "bad.json"
    q.write_text("{")
    with pytest.raises(xp.NetworkError, match="not a valid JSON file"):
        xp.load_network(q)


@pytest.mark.refusal
def test_refused_before_any_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine was built")

    monkeypatch.setattr(netsim, "_Engine", boom)
    net = xp.Network(xp.Input(64), xp.Dense(64))
    with pytest.raises(ValueError, match=r"needs an estimated .* GiB"):
        xp.simulate(net, batch=10**6, max_memory=2**20)
    with pytest.raises(TypeError, match="simulate\\(net\\) takes no depth="):
        xp.simulate(net, depth=3)
    deep = xp.Network(xp.Input(64), xp.Dense(64), xp.Residual([xp.Act("relu"), xp.Dense(64)], repeat=300))
    with pytest.raises(ValueError, match=r"well inside float32: the mean-field prediction reaches"):
        xp.simulate(deep, batch=4, repeats=1)


@pytest.mark.refusal
def test_theory_refuses_what_it_does_not_cover() -> None:
    net = xp.Network(xp.Input(8), xp.Residual([xp.Act("relu")]))
    with pytest.raises(
        nettheory.TheoryUnavailable, match=r"^layer 1 \(Residual\): the mean-field theory needs a Dense"
    ):
        xp.predict(net)
    net = xp.Network(xp.Input(8), xp.Dense(8), xp.Act("relu"), xp.Residual([xp.Dense(8)]), xp.Act("tanh"))
    with pytest.raises(nettheory.TheoryUnavailable, match=r"^layer 4 \(Act\): the mean-field theory needs the input"):
        xp.predict(net)
    # The Monte Carlo still runs what the theory does not cover.
    assert xp.simulate(net, batch=8, repeats=2).forward.shape == (4,)


@pytest.mark.invariance
def test_simulation_is_reproducible_and_seeded() -> None:
    net = xp.Network(
        xp.Input((4, 6, 6)),
        xp.Conv(8, 3, bias_std=0.1),
        xp.Act("gelu"),
        xp.LayerNorm(),
        xp.Residual([xp.Act("relu"), xp.Conv(8, (3, 1))], alpha=0.3, beta=0.9, repeat=2),
        xp.Dense(16),
    )
    a, b = xp.simulate(net, batch=8, repeats=2, seed=3), xp.simulate(net, batch=8, repeats=2, seed=3)
    c = xp.simulate(net, batch=8, repeats=2, seed=4)
    assert np.array_equal(a.per_repeat_forward, b.per_repeat_forward)
    assert np.array_equal(a.per_repeat_backward, b.per_repeat_backward)
    assert not np.array_equal(a.per_repeat_forward, c.per_repeat_forward)
