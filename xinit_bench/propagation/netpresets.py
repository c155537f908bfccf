r"""Network presets that reproduce the literature on residual, normalised and convolutional stacks.

* :func:`resnet_scaling`: 100 ReLU residual blocks ``x + alpha W relu(x)``
  under He init with ``alpha = 1``, ``1/sqrt(L)`` and ``0`` (SkipInit, De &
  Smith 2020; ReZero, Bachlechner et al. 2020), where the theory gives
  ``q_L = q_0 (1 + alpha^2)^L`` (Hayou et al. 2021), and DeepNorm (Wang et al.
  2022): post-LN blocks ``LayerNorm(a x + F(x))`` with ``a = (2N)^{1/4}`` and
  the branch's weights at gain ``b = (8N)^{-1/4}`` (Xavier normal), ``N`` the
  number of blocks.  Without its LayerNorm, DeepNorm's stream would grow by
  ``a^2 = (2N)^{1/2}`` per block: ``q`` overflows float32 within 100 blocks.
* :func:`pre_post_ln`: 24 MLP-transformer blocks (no attention), width 256:
  pre-LN ``x + W_2 relu(W_1 LN(x))`` against post-LN ``LN(x + W_2 relu(W_1 x))``,
  ``Var[W] = 1/n``.  Pre-LN's residual stream grows linearly,
  ``q_l = q_0 + l q_F`` with ``q_F = 1/2`` here: ``1 + l/2``, the lower edge
  of Xiong et al. (2020)'s ``[(1 + l/2), (1 + 3l/2)]`` (their Lemma 1, with
  attention adding up to ``l`` more); post-LN's stays at 1.
* :func:`cnn_delta_orthogonal`: 50 circular conv layers (3x3, 32 channels,
  16x16 positions, batch 64) with tanh, Gaussian (``Var[W] = 1/(9 c)``)
  against delta-orthogonal kernels (Xiao et al. 2018).  Their mean-field
  second moments are the same; delta-orthogonal kernels keep every example's
  ``|x|^2`` through the linear part exactly, so the spread between networks
  is smaller.

References
----------
.. [1] Hayou et al. (2021), "Stable ResNet", AISTATS. https://arxiv.org/abs/2010.12859
.. [2] De & Smith (2020), "Batch normalization biases residual blocks towards the
   identity function in deep networks", NeurIPS. https://arxiv.org/abs/2002.10444
.. [3] Bachlechner et al. (2020), "ReZero is all you need", https://arxiv.org/abs/2003.04887
.. [4] Wang et al. (2022), "DeepNet: scaling transformers to 1,000 layers",
   https://arxiv.org/abs/2203.00555
.. [5] Xiong et al. (2020), "On layer normalization in the transformer
   architecture", ICML. https://arxiv.org/abs/2002.04745
.. [6] Xiao et al. (2018), "Dynamical isometry and a mean field theory of CNNs",
   ICML. https://arxiv.org/abs/1806.05393
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .architecture import Network
from .netlayers import Act, Conv, Dense, Input, LayerNorm, Residual
from .netsim import NetworkSimulation, Progress, estimate_network_memory, simulate_network
from .nettheory import NetworkPrediction, predict_network

__all__ = [
    "NETWORK_PRESETS",
    "NetworkPresetResult",
    "cnn_delta_orthogonal",
    "deepnorm_network",
    "pre_post_ln",
    "resnet_scaling",
    "run_network",
    "run_network_preset",
    "speed_networks",
]


@dataclass(frozen=True)
class NetworkPresetResult:
    """Runs of a network preset: ``runs[label] = (network, simulation, prediction)``; ``notes`` in words."""

    name: str
    description: str
    runs: dict[str, tuple[Network, NetworkSimulation, NetworkPrediction]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "preset": self.name,
            "description": self.description,
            "notes": self.notes,
            "runs": {
                k: {"network": n.to_dict(), "simulation": s.to_dict(), "theory": p.to_dict()}
                for k, (n, s, p) in self.runs.items()
            },
        }


def run_network(
    nets: dict[str, Network], batch: int, repeats: int, seed: int, progress: Progress | None, dtype: Any = np.float32
) -> dict[str, tuple[Network, NetworkSimulation, NetworkPrediction]]:
    """Simulate and predict each network, with one progress bar over all of them."""
    total = sum(2 * repeats * n.depth for n in nets.values())
    base = 0
    out = {}
    for label, net in nets.items():

        def step(done: int, _total: int, base: int = base) -> None:
            if progress is not None:
                progress(base + done, total)

        sim = simulate_network(net, batch=batch, repeats=repeats, seed=seed, progress=step, dtype=dtype)
        out[label] = (net, sim, predict_network(net))
        base += 2 * repeats * net.depth
    return out


def deepnorm_network(n: int, blocks: int, *, layernorm: bool = True) -> Network:
    """DeepNorm's post-LN ReLU blocks: ``LN((2N)^{1/4} x + W relu(x))``, ``W`` Xavier normal at gain ``(8N)^{-1/4}``."""
    a, b = (2.0 * blocks) ** 0.25, (8.0 * blocks) ** -0.25
    layers: list[Any] = []
    for _ in range(blocks):
        layers.append(Residual([Act("relu"), Dense(n, init="xavier_normal", gain=b)], alpha=1.0, beta=a))
        if layernorm:
            layers.append(LayerNorm())
    return Network(Input(n), Dense(n, init="he_normal"), *layers)


def resnet_scaling(
    *,
    blocks: int = 100,
    width: int = 256,
    batch: int = 128,
    repeats: int = 4,
    seed: int = 2016,
    progress: Progress | None = None,
) -> NetworkPresetResult:
    """100 ReLU residual blocks: alpha = 1, 1/sqrt(L), 0 under He init, and DeepNorm (module docstring)."""
    L, n = blocks, width

    def stack(alpha: float) -> Network:
        branch = [Act("relu"), Dense(n, init="he_normal")]
        return Network(Input(n), Dense(n, init="he_normal"), Residual(branch, alpha=alpha, repeat=L))

    nets = {
        "alpha=1": stack(1.0),
        f"alpha=1/sqrt({L})": stack(1.0 / math.sqrt(L)),
        "alpha=0 (SkipInit)": stack(0.0),
        "DeepNorm": deepnorm_network(n, L),
    }
    runs = run_network(nets, batch, repeats, seed, progress)
    notes = []
    for label, (_net, _sim, p) in runs.items():
        if label.startswith("alpha"):
            alpha = {"alpha=1": 1.0, "alpha=0 (SkipInit)": 0.0}.get(label, 1.0 / math.sqrt(L))
            closed = p.forward[0] * (1 + alpha * alpha) ** L
            notes.append(
                f"{label}: q_L / q_0 = {p.forward[-1] / p.forward[0]:.6g}, closed form (1 + alpha^2)^L = "
                f"{closed / p.forward[0]:.6g}; gradient growth to the input {p.input_backward:.6g}"
            )
    bare = predict_network(deepnorm_network(n, L, layernorm=False))
    over = int(np.argmax(bare.forward > float(np.finfo(np.float32).max)))
    notes.append(
        f"DeepNorm without its LayerNorm: q grows by (2N)^(1/2) = {math.sqrt(2 * L):.4g} per block and passes "
        f"float32's largest value at block {over}; q_L = {bare.forward[-1]:.3g}"
    )
    description = f"{L} ReLU residual blocks x {n}, He init, alpha = 1, 1/sqrt(L), 0, and DeepNorm (post-LN)"
    return NetworkPresetResult("resnet-scaling", description, runs, notes)


def pre_post_ln(
    *,
    blocks: int = 24,
    width: int = 256,
    batch: int = 128,
    repeats: int = 4,
    seed: int = 2020,
    progress: Progress | None = None,
) -> NetworkPresetResult:
    """Pre-LN against post-LN MLP-transformer stacks (module docstring)."""
    L, n = blocks, width

    def ffn() -> list[Any]:
        return [Dense(n, init="lecun_normal"), Act("relu"), Dense(n, init="lecun_normal")]

    pre = Network(Input(n), Residual([LayerNorm(), *ffn()], repeat=L))
    post_layers: list[Any] = []
    for _ in range(L):
        post_layers += [Residual(ffn()), LayerNorm()]
    post = Network(Input(n), *post_layers)
    runs = run_network({"pre-LN": pre, "post-LN": post}, batch, repeats, seed, progress)
    p = runs["pre-LN"][2]
    ls = np.arange(1, L + 1)
    # q_F = (1 - eps/q) / 2 with the LayerNorm's eps: the lower edge is met to 1e-4 relative.
    inside = bool(np.all((p.forward >= (1 + ls / 2) * (1 - 1e-4)) & (p.forward <= 1 + 3 * ls / 2)))
    notes = [
        f"pre-LN: q_l = 1 + l/2 (theory q_{L} = {p.forward[-1]:.4g}); within Xiong et al.'s [1 + l/2, 1 + 3l/2]: "
        f"{inside}; gradient at the input {p.input_backward:.4g}",
        f"post-LN: q_l after each LayerNorm = {runs['post-LN'][2].forward[-1]:.6g}; gradient at the input "
        f"{runs['post-LN'][2].input_backward:.4g}",
    ]
    return NetworkPresetResult(
        "pre-post-ln", f"{L} MLP-transformer blocks x {n} (no attention), pre-LN vs post-LN", runs, notes
    )


def cnn_delta_orthogonal(
    *,
    depth: int = 50,
    channels: int = 32,
    size: int = 16,
    batch: int = 64,
    repeats: int = 4,
    seed: int = 2018,
    progress: Progress | None = None,
) -> NetworkPresetResult:
    """50 tanh conv layers, Gaussian against delta-orthogonal kernels (module docstring)."""
    c = channels

    def stack(init: str) -> Network:
        layers: list[Any] = []
        for _ in range(depth):
            layers += [Conv(c, 3, init=init), Act("tanh")]
        return Network(Input((c, size, size)), *layers)

    nets = {"Gaussian": stack("lecun_normal"), "delta-orthogonal": stack("delta_orthogonal")}
    runs = run_network(nets, batch, repeats, seed, progress)
    mem = estimate_network_memory(nets["Gaussian"], batch, np.float32, repeats)
    notes = [
        f"sizes: {depth} conv layers 3x3, {c} channels, {size}x{size}, batch {batch}, {repeats} repeats; "
        f"estimated memory {mem / 2**20:.0f} MiB per network (float32)",
        *[
            f"{label}: median relative standard error of the gradient over layers "
            f"{float(np.median(s.backward_se / s.backward)):.3g}"
            for label, (_n, s, _p) in runs.items()
        ],
    ]
    description = f"tanh CNN, {depth} conv layers 3x3 x {c} channels, {size}x{size}: Gaussian vs delta-orthogonal"
    return NetworkPresetResult("cnn-delta-orthogonal", description, runs, notes)


#: Network preset name -> function, for the CLI.
NETWORK_PRESETS: dict[str, Callable[..., NetworkPresetResult]] = {
    "resnet-scaling": resnet_scaling,
    "pre-post-ln": pre_post_ln,
    "cnn-delta-orthogonal": cnn_delta_orthogonal,
}


def run_network_preset(name: str, **kwargs: Any) -> NetworkPresetResult:
    """Run a network preset by name."""
    if name not in NETWORK_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, NETWORK_PRESETS))}, got {name!r}")
    return NETWORK_PRESETS[name](**kwargs)


def speed_networks() -> dict[str, tuple[Network, int]]:
    """The networks of ``xinit-bench propagate --speed``, with their batch sizes."""
    n, depth = 512, 8
    dense: list[Any] = []
    for _ in range(depth):
        dense += [Dense(n), Act("relu")]
    conv: list[Any] = []
    for _ in range(depth):
        conv += [Conv(32, 3), Act("relu")]
    return {
        f"dense {depth} x {n}": (Network(Input(n), *dense), 512),
        f"residual {depth} x {n}": (
            Network(Input(n), Dense(n), Residual([Act("relu"), Dense(n)], alpha=0.5, repeat=depth)),
            512,
        ),
        f"conv {depth} x 32ch 16x16": (Network(Input((32, 16, 16)), *conv), 64),
    }
