"""Reference NNGP kernel diagonals from neural-tangents for the network theory (``nngp_reference.json``).

For each architecture in :data:`CASES` (written in the network-file format of
``xinit_bench.propagation.Network.from_dict``) this builds the same network in
neural-tangents ``stax`` -- written here from the formulas of each init, not
from this project's code -- and records, for every entry (every layer, every
repeat of a residual), the NNGP kernel diagonal after that entry: the second
moment per unit that the mean-field theory predicts.  The input is
``sqrt(q0)`` times random signs, so that its kernel diagonal is ``q0`` at
every position, as the theory's Gaussian input of second moment ``q0``.

For each network of :data:`PAIR_CASES` it records the off-diagonal kernel
of two inputs of second moment ``q0`` and correlation ``c0``
(:func:`pair_input`): the cross moment ``c^l q^l`` that the correlation
recursion predicts.

Translation: a dense or conv layer of ``Var[W] = v`` with fan-in ``n`` is
``stax.Dense``/``stax.Conv(padding="CIRCULAR")`` with ``W_std = sqrt(n v)``
(neural-tangents' NTK parameterisation divides by the fan-in, ``c k^d`` for a
conv), ``b_std`` the bias std; a dense layer on a spatial input is
``stax.Flatten()`` then ``stax.Dense``; ``relu``, ``gelu``, ``leaky_relu``,
``linear`` and ``erf`` are ``stax.Relu``, ``stax.Gelu(approximate=False)``,
``stax.LeakyRelu``, ``stax.Identity`` and ``stax.Erf()``; a LayerNorm is
``stax.LayerNorm(axis=-1, eps=eps)`` (channels last); a residual ``x + alpha
F(x)`` is ``FanOut(2) -> parallel(F, Identity) -> FanInSum`` with the last
weight layer of ``F`` scaled by ``alpha``.  A conv kernel is laid out
``(N, N, H, H, W, W)``; its diagonal is averaged over the positions (the
spread is recorded: it is 0 to rounding).

To rerun (neural-tangents needs JAX; not in the project's environment)::

    python3 -m venv /tmp/ntvenv
    /tmp/ntvenv/bin/pip install "jax[cpu]==0.4.30" "numpy<2" scipy
    /tmp/ntvenv/bin/pip install neural-tangents==0.6.5 --no-deps
    /tmp/ntvenv/bin/pip install frozendict typing_extensions
    /tmp/ntvenv/bin/python tests/data/nngp_reference.py    # rewrites tests/data/nngp_reference.json

neural-tangents 0.6.5 imports TensorFlow only through
``jax.experimental.jax2tf`` and its ``experimental`` subpackage; :func:`import_stax`
stubs both, and ``stax`` runs without TensorFlow.  Float64 throughout
(``jax_enable_x64``).
"""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "nngp_reference.json"

CASES: dict[str, dict[str, Any]] = {
    "dense": {
        "input": 64,
        "input_second_moment": 1.3,
        "layers": [
            {"type": "dense", "width": 64, "init": "he_normal"},
            {"type": "act", "activation": "relu"},
            {"type": "dense", "width": 48, "init": "he_uniform", "bias_std": 0.1},
            {"type": "act", "activation": "gelu"},
            {"type": "dense", "width": 32, "init": "xavier_normal"},
            {"type": "act", "activation": "leaky_relu", "param": 0.2},
            {"type": "dense", "width": 16, "init": "lecun_normal", "gain": 1.7},
            {"type": "act", "activation": "gelu"},
        ],
    },
    "residual": {
        "input": 64,
        "input_second_moment": 1.5,
        "layers": [
            {"type": "dense", "width": 64, "init": "he_normal"},
            {
                "type": "residual",
                "alpha": 0.5,
                "repeat": 4,
                "branch": [{"type": "act", "activation": "relu"}, {"type": "dense", "width": 64, "init": "he_normal"}],
            },
            {
                "type": "residual",
                "alpha": 1.0,
                "repeat": 3,
                "branch": [
                    {"type": "act", "activation": "gelu"},
                    {"type": "dense", "width": 32, "init": "lecun_normal", "bias_std": 0.2},
                    {"type": "act", "activation": "relu"},
                    {"type": "dense", "width": 64, "init": "xavier_uniform"},
                ],
            },
            {"type": "act", "activation": "relu"},
        ],
    },
    "layernorm": {
        "input": 64,
        "layers": [
            {"type": "dense", "width": 64, "init": "he_normal", "gain": 3.0},
            {"type": "layernorm", "eps": 1e-12},
            {"type": "act", "activation": "relu"},
            {"type": "dense", "width": 64, "init": "he_normal"},
            {"type": "layernorm", "eps": 1e-5},
            {"type": "act", "activation": "gelu"},
            {"type": "dense", "width": 64, "init": "xavier_normal"},
            {
                "type": "residual",
                "alpha": 1.0,
                "repeat": 3,
                "branch": [
                    {"type": "layernorm", "eps": 1e-12},
                    {"type": "dense", "width": 64, "init": "he_normal"},
                    {"type": "act", "activation": "relu"},
                    {"type": "dense", "width": 64, "init": "he_normal"},
                ],
            },
            {"type": "dense", "width": 16, "init": "lecun_normal"},
            {"type": "layernorm", "eps": 1e-12},
        ],
    },
    "conv2d": {
        "input": [4, 8, 8],
        "input_second_moment": 0.8,
        "layers": [
            {"type": "conv", "channels": 8, "kernel": 3, "init": "he_normal"},
            {"type": "act", "activation": "relu"},
            {"type": "conv", "channels": 8, "kernel": [3, 1], "init": "lecun_normal", "bias_std": 0.1},
            {"type": "layernorm", "eps": 1e-12},
            {"type": "act", "activation": "gelu"},
            {"type": "conv", "channels": 8, "kernel": 3, "init": "he_normal"},
            {
                "type": "residual",
                "alpha": 0.7,
                "repeat": 2,
                "branch": [
                    {"type": "act", "activation": "relu"},
                    {"type": "conv", "channels": 8, "kernel": 3, "init": "he_normal"},
                ],
            },
            {"type": "conv", "channels": 6, "kernel": 5, "init": "xavier_normal"},
            {"type": "act", "activation": "relu"},
            {"type": "dense", "width": 10, "init": "he_normal"},
        ],
    },
    "conv1d": {
        "input": [4, 16],
        "layers": [
            {"type": "conv", "channels": 8, "kernel": 5, "init": "he_normal"},
            {"type": "act", "activation": "relu"},
            {"type": "conv", "channels": 8, "kernel": 3, "init": "he_uniform", "gain": 1.2},
            {"type": "act", "activation": "gelu"},
            {"type": "conv", "channels": 8, "kernel": 1, "init": "lecun_uniform"},
            {
                "type": "residual",
                "alpha": 0.5,
                "repeat": 2,
                "branch": [
                    {"type": "act", "activation": "relu"},
                    {"type": "conv", "channels": 8, "kernel": 3, "init": "he_normal"},
                ],
            },
        ],
    },
}

#: Two inputs of second moment ``input_second_moment`` and correlation ``c0``: the off-diagonal NNGP
#: kernel after every entry, for the correlation recursion of ``predict(net, c0=...)``.  Dense,
#: residual and LayerNorm stacks (LayerNorm only where its input is centred, after a weight
#: layer), with ReLU and erf (``stax.Erf``: ``erf(x)``).
PAIR_CASES: dict[str, dict[str, Any]] = {
    "pair_dense_relu": {
        "input": 64,
        "input_second_moment": 1.3,
        "c0": 0.3,
        "layers": [
            {"type": "dense", "width": 64, "init": "he_normal", "bias_std": 0.1},
            {"type": "act", "activation": "relu"},
            {"type": "dense", "width": 48, "init": "he_normal", "bias_std": 0.1},
            {"type": "act", "activation": "relu"},
            {"type": "dense", "width": 32, "init": "xavier_normal", "gain": 1.3},
            {"type": "act", "activation": "relu"},
            {"type": "dense", "width": 16, "init": "he_uniform", "bias_std": 0.3},
        ],
    },
    "pair_dense_erf": {
        "input": 64,
        "input_second_moment": 0.7,
        "c0": -0.5,
        "layers": [
            {"type": "dense", "width": 64, "init": "lecun_normal", "gain": 1.5, "bias_std": 0.2},
            {"type": "act", "activation": "erf"},
            {"type": "dense", "width": 64, "init": "lecun_normal", "gain": 1.5, "bias_std": 0.2},
            {"type": "act", "activation": "erf"},
            {"type": "dense", "width": 32, "init": "xavier_uniform", "gain": 2.0},
            {"type": "act", "activation": "erf"},
            {"type": "dense", "width": 16, "init": "lecun_normal", "bias_std": 0.05},
        ],
    },
    "pair_residual_relu": {
        "input": 64,
        "input_second_moment": 1.5,
        "c0": 0.6,
        "layers": [
            {"type": "dense", "width": 64, "init": "he_normal"},
            {
                "type": "residual",
                "alpha": 0.5,
                "repeat": 4,
                "branch": [{"type": "act", "activation": "relu"}, {"type": "dense", "width": 64, "init": "he_normal"}],
            },
            {"type": "act", "activation": "relu"},
            {"type": "dense", "width": 16, "init": "he_normal", "bias_std": 0.1},
        ],
    },
    "pair_residual_erf": {
        "input": 64,
        "c0": 0.1,
        "layers": [
            {"type": "dense", "width": 64, "init": "lecun_normal", "gain": 2.0},
            {
                "type": "residual",
                "alpha": 1.0,
                "repeat": 3,
                "branch": [
                    {"type": "act", "activation": "erf"},
                    {"type": "dense", "width": 32, "init": "lecun_normal", "gain": 1.5, "bias_std": 0.2},
                    {"type": "act", "activation": "relu"},
                    {"type": "dense", "width": 64, "init": "he_normal"},
                ],
            },
            {"type": "act", "activation": "erf"},
            {"type": "dense", "width": 16, "init": "xavier_normal"},
        ],
    },
    "pair_layernorm": {
        "input": 64,
        "c0": 0.8,
        "layers": [
            {"type": "dense", "width": 64, "init": "he_normal", "gain": 3.0},
            {"type": "layernorm", "eps": 1e-12},
            {"type": "act", "activation": "erf"},
            {"type": "dense", "width": 64, "init": "he_normal", "bias_std": 0.3},
            {
                "type": "residual",
                "alpha": 1.0,
                "repeat": 2,
                "branch": [
                    {"type": "layernorm", "eps": 1e-12},
                    {"type": "dense", "width": 64, "init": "he_normal"},
                    {"type": "act", "activation": "relu"},
                    {"type": "dense", "width": 64, "init": "he_normal"},
                ],
            },
            {"type": "layernorm", "eps": 1e-12},
        ],
    },
}

#: Default gains of the init families (torch's: 1 for xavier and lecun, sqrt(2) for he).
_DEFAULT_GAIN = {"xavier": 1.0, "he": math.sqrt(2.0), "lecun": 1.0}


def weight_variance(init: str, gain: float | None, fan_in: int, fan_out: int) -> float:
    """``Var[W]`` of a named init, from its definition (Glorot & Bengio 2010; He et al. 2015; LeCun 1998)."""
    family = init.split("_")[0]
    g = _DEFAULT_GAIN[family] if gain is None else gain
    if family == "xavier":
        return 2.0 * g * g / (fan_in + fan_out)
    return g * g / fan_in


def stub_tensorflow() -> None:
    """Stand-ins for the two modules through which neural-tangents 0.6.5 imports TensorFlow."""
    for name in ("jax.experimental.jax2tf", "neural_tangents.experimental"):
        sys.modules.setdefault(name, types.ModuleType(name))


def import_stax() -> Any:
    """neural-tangents' ``stax`` with TensorFlow's two entry points stubbed, in float64."""
    stub_tensorflow()
    import jax

    jax.config.update("jax_enable_x64", True)
    from neural_tangents import stax

    return stax


def _stax_layers(stax: Any, layers: list[dict[str, Any]], shape: tuple[int, ...]) -> tuple[list[Any], tuple[int, ...]]:
    """One stax layer per entry (a residual: one per repeat), and the output shape (c, *spatial)."""
    out: list[Any] = []
    for layer in layers:
        kind = layer["type"]
        if kind in ("dense", "conv"):
            if kind == "dense":
                fan_in = math.prod(shape)
                width = layer["width"]
                fan_out = width
            else:
                k = layer["kernel"]
                ks = tuple(k) if isinstance(k, list) else (k,) * (len(shape) - 1)
                width = layer["channels"]
                fan_in, fan_out = shape[0] * math.prod(ks), width * math.prod(ks)
            v = weight_variance(layer.get("init", "he_normal"), layer.get("gain"), fan_in, fan_out)
            w_std, b_std = math.sqrt(fan_in * v), layer.get("bias_std", 0.0)
            b = None if b_std == 0.0 else b_std
            if kind == "dense":
                pre = [stax.Flatten()] if len(shape) > 1 else []
                out.append(stax.serial(*pre, stax.Dense(width, W_std=w_std, b_std=b)))
                shape = (width,)
            else:
                out.append(stax.Conv(width, ks, padding="CIRCULAR", W_std=w_std, b_std=b))
                shape = (width, *shape[1:])
        elif kind == "act":
            name = layer["activation"]
            if name == "relu":
                out.append(stax.Relu())
            elif name == "gelu":
                out.append(stax.Gelu(approximate=False))
            elif name == "leaky_relu":
                out.append(stax.LeakyRelu(layer.get("param", 0.01)))
            elif name == "linear":
                out.append(stax.Identity())
            elif name == "erf":
                out.append(stax.Erf())
            else:
                raise ValueError(f"no closed-form neural-tangents kernel for {name}")
        elif kind == "layernorm":
            out.append(stax.LayerNorm(axis=-1, eps=layer.get("eps", 1e-5)))
        elif kind == "residual":
            if layer.get("beta", 1.0) != 1.0:
                raise ValueError("the reference covers beta = 1")
            alpha = layer.get("alpha", 1.0)
            branch = [dict(b) for b in layer["branch"]]
            last = max(i for i, b in enumerate(branch) if b["type"] in ("dense", "conv"))
            if last != len(branch) - 1:
                raise ValueError("the reference needs the branch to end with its weight layer (to scale it)")
            # alpha F(x): scale the last weight layer's W_std (and b_std) by alpha.
            scaled = dict(branch[last])
            g = scaled.get("gain")
            fam = scaled.get("init", "he_normal").split("_")[0]
            scaled["gain"] = (_DEFAULT_GAIN[fam] if g is None else g) * alpha
            scaled["bias_std"] = scaled.get("bias_std", 0.0) * alpha
            if alpha == 0.0:
                raise ValueError("the reference needs alpha > 0")
            sub_last, _ = _stax_layers(stax, [*branch[:last], scaled], shape)
            block = stax.serial(stax.FanOut(2), stax.parallel(stax.serial(*sub_last), stax.Identity()), stax.FanInSum())
            out += [block] * layer.get("repeat", 1)
        else:
            raise ValueError(f"unknown layer type {kind}")
    return out, shape


def _input(shape: tuple[int, ...], q0: float) -> Any:
    import numpy as np

    rng = np.random.default_rng(0)
    nhwc = (1, *shape[1:], shape[0]) if len(shape) > 1 else (1, shape[0])
    return math.sqrt(q0) * rng.choice([-1.0, 1.0], size=nhwc)


def reference(case: dict[str, Any]) -> tuple[list[float], float]:
    """neural-tangents' NNGP diagonal after every entry of ``case``, and the largest spread over positions."""
    import numpy as np

    stax = import_stax()
    inp = case["input"]
    shape = (inp,) if isinstance(inp, int) else tuple(inp)
    x = _input(shape, case.get("input_second_moment", 1.0))
    layers, _ = _stax_layers(stax, case["layers"], shape)
    values, spread = [], 0.0
    for k in range(1, len(layers) + 1):
        _, _, kernel_fn = stax.serial(*layers[:k])
        K = np.asarray(kernel_fn(x, None, "nngp"), dtype=np.float64)
        if K.ndim == 2:
            d = np.array([K[0, 0]])
        elif K.ndim == 4:
            d = np.array([K[0, 0, i, i] for i in range(K.shape[2])])
        else:
            d = np.array([K[0, 0, i, i, j, j] for i in range(K.shape[2]) for j in range(K.shape[4])])
        values.append(float(d.mean()))
        spread = max(spread, float(np.ptp(d) / abs(d.mean())))
    return values, spread


def pair_input(n: int, q0: float, c0: float) -> Any:
    """Two rows of ``n`` features, ``|x_i|^2 / n = q0`` and ``x_1 . x_2 / n = c0 q0`` exactly (to rounding).

    ``x_1 = sqrt(q0) s`` for random signs ``s``; ``x_2 = sqrt(q0) (c0 s + sqrt(1 - c0^2) t)`` with ``t``
    random signs made orthogonal to ``s`` and rescaled to ``|t|^2 = n``.
    """
    import numpy as np

    rng = np.random.default_rng(1)
    s = rng.choice([-1.0, 1.0], size=n)
    t = rng.choice([-1.0, 1.0], size=n)
    t = t - (t @ s) / (s @ s) * s
    t *= math.sqrt(n / (t @ t))
    return math.sqrt(q0) * np.stack([s, c0 * s + math.sqrt(1.0 - c0 * c0) * t])


def pair_reference(case: dict[str, Any]) -> tuple[list[float], list[float]]:
    """neural-tangents' NNGP kernel of the two inputs after every entry: ``(off-diagonal, mean diagonal)``."""
    import numpy as np

    stax = import_stax()
    x = pair_input(case["input"], case.get("input_second_moment", 1.0), case["c0"])
    layers, _ = _stax_layers(stax, case["layers"], (case["input"],))
    cross, diag = [], []
    for k in range(1, len(layers) + 1):
        _, _, kernel_fn = stax.serial(*layers[:k])
        K = np.asarray(kernel_fn(x, None, "nngp"), dtype=np.float64)
        cross.append(float(K[0, 1]))
        diag.append(float(0.5 * (K[0, 0] + K[1, 1])))
    return cross, diag


def main() -> None:
    import warnings

    # FanInSum warns that it assumes independent branches: every branch here has a weight layer.
    warnings.filterwarnings("ignore", message="`FanIn` layers assume independent inputs")
    import_stax()
    import jax
    import neural_tangents

    out: dict[str, Any] = {
        "produced_with": {"neural_tangents": neural_tangents.__version__, "jax": jax.__version__, "x64": True},
        "cases": {},
    }
    for name, case in CASES.items():
        values, spread = reference(case)
        out["cases"][name] = {"network": case, "nngp_diagonal": values, "position_spread": spread}
        print(f"{name}: {len(values)} entries, spread over positions {spread:.1e}")
    out["pair_cases"] = {}
    for name, case in PAIR_CASES.items():
        cross, diag = pair_reference(case)
        net = {k: v for k, v in case.items() if k != "c0"}
        out["pair_cases"][name] = {"network": net, "c0": case["c0"], "nngp_offdiagonal": cross, "nngp_diagonal": diag}
        print(f"{name}: {len(cross)} entries")
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
