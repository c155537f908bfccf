"""Signal propagation at step 0: per-block forward statistics and gradient RMS of any torch model, in one pass.

Brock, De and Smith (2021), "Characterizing signal propagation to close the
performance gap in unnormalized ResNets" (Signal Propagation Plots), follow
three quantities of the residual stream :math:`x \\in \\mathbb{R}^{N \\times C}`
(N positions of the batch, C channels) from block to block:

.. math::

    \\text{mean\\_sq} = \\frac{1}{NC}\\sum_{n,c} x_{nc}^2, \\qquad
    \\text{channel\\_var} = \\frac{1}{C}\\sum_c \\operatorname{Var}_n(x_{nc}), \\qquad
    \\text{channel\\_mean\\_sq} = \\frac{1}{C}\\sum_c \\bar x_c^{\\,2},

with :math:`\\bar x_c` the mean of channel :math:`c` over the positions (so
``mean_sq = channel_var + channel_mean_sq``, the variance being the biased
one).  :func:`signal_report` records them with forward hooks on each block,
then runs one backward pass of a scalar loss and records the gradient RMS
:math:`\\sqrt{\\overline{g^2}}` of each block's output and of each parameter.
Only scalars are kept per hook, so the memory is that of a plain
forward and backward pass.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import check_seed, key_for_name
from ..samplers import normal, uniform
from .hf import model_config

__all__ = ["BlockStats", "SignalReport", "example_inputs", "find_blocks", "plot_reports", "signal_report"]

Inputs = torch.Tensor | Mapping[str, torch.Tensor]


@dataclass
class BlockStats:
    """One block's output: Brock et al.'s three forward quantities and the RMS of the loss gradient there."""

    name: str
    mean_sq: float
    channel_var: float
    channel_mean_sq: float
    grad_rms: float = math.nan


@dataclass
class SignalReport:
    """What :func:`signal_report` measured: ``blocks`` in depth order, ``params`` (gradient RMS by name), the loss."""

    blocks: list[BlockStats] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    loss: float = math.nan
    dtype: str = ""
    seed: int = 0

    def series(self, quantity: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        """One quantity of :class:`BlockStats` over depth (``"mean_sq"``, ``"channel_var"``, ...)."""
        if quantity not in BlockStats.__dataclass_fields__ or quantity == "name":
            allowed = ", ".join(repr(k) for k in BlockStats.__dataclass_fields__ if k != "name")
            raise ValueError(f"quantity must be one of {allowed}, got {quantity!r}")
        return np.array([getattr(b, quantity) for b in self.blocks], dtype=np.float64)

    def slope(self, quantity: str = "mean_sq") -> float:
        """The slope of a least-squares line through ``quantity`` against the block index (1, 2, ...)."""
        y = self.series(quantity)
        if y.size < 2:
            raise ValueError(f"a slope needs at least 2 blocks, got {y.size}")
        return float(np.polyfit(np.arange(1, y.size + 1, dtype=np.float64), y, 1)[0])

    def as_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "seed": self.seed,
            "loss": self.loss,
            "blocks": [asdict(b) for b in self.blocks],
            "params": dict(self.params),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1)

    def table(self, *, params: bool = False) -> str:
        """The per-block table (at most 100 columns), and with ``params=True`` the gradient RMS per parameter."""
        width = max([5, *(len(b.name) for b in self.blocks)])
        width = min(width, 40)
        lines = [f"{'block':<{width}}  {'mean_sq':>11}  {'channel_var':>11}  {'ch_mean_sq':>11}  {'grad_rms':>11}"]
        for b in self.blocks:
            name = b.name if len(b.name) <= width else "~" + b.name[-(width - 1) :]
            lines.append(
                f"{name:<{width}}  {b.mean_sq:>11.4g}  {b.channel_var:>11.4g}  {b.channel_mean_sq:>11.4g}  "
                f"{b.grad_rms:>11.4g}"
            )
        lines.append(f"loss {self.loss:.6g}, {self.dtype}, seed {self.seed}")
        if params:
            pw = min(max([9, *(len(n) for n in self.params)]), 84)
            lines.append(f"{'parameter':<{pw}}  {'grad_rms':>11}")
            for n, v in self.params.items():
                shown = n if len(n) <= pw else "~" + n[-(pw - 1) :]
                lines.append(f"{shown:<{pw}}  {v:>11.4g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def find_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The residual blocks: the children of the longest ``nn.ModuleList`` (the first of equal length)."""
    best: tuple[str, nn.ModuleList] | None = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.ModuleList) and (best is None or len(mod) > len(best[1])):
            best = (name, mod)
    if best is None or len(best[1]) == 0:
        raise ValueError(
            f"model must hold its blocks in an nn.ModuleList to find them, got {type(model).__name__} with none: "
            "pass blocks=[qualified names]"
        )
    prefix = best[0]
    return [(f"{prefix}.{i}" if prefix else str(i), m) for i, m in enumerate(best[1])]


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, Mapping):  # a transformers ModelOutput is an ordered mapping
        values = list(out.values())
        return _first_tensor(values[0]) if values else None
    if isinstance(out, (tuple, list)) and out:
        return _first_tensor(out[0])
    return None


def _check_inputs(model: nn.Module, inputs: Any) -> dict[str, torch.Tensor] | torch.Tensor:
    """The inputs after checking their types, and for a Hugging Face model their shapes and dtypes."""
    if isinstance(inputs, torch.Tensor):
        items: dict[str, torch.Tensor] = {"input": inputs}
        out: dict[str, torch.Tensor] | torch.Tensor = inputs
    elif isinstance(inputs, Mapping):
        items = {}
        for k, v in inputs.items():
            if not isinstance(k, str) or not isinstance(v, torch.Tensor):
                raise TypeError(f"inputs must map argument names (str) to tensors, got {k!r}: {type(v).__name__}")
            items[k] = v
        out = items
    else:
        raise TypeError(
            f"inputs must be a tensor or a mapping of argument names to tensors, got {type(inputs).__name__}"
        )
    for k, v in items.items():
        if v.is_meta:
            raise ValueError(f"inputs[{k!r}] must have storage, got a meta tensor")
    config = model_config(model)
    ids = items.get("input_ids", inputs if isinstance(inputs, torch.Tensor) and config is not None else None)
    vocab = getattr(config, "vocab_size", None)
    if isinstance(ids, torch.Tensor) and isinstance(vocab, int) and not ids.is_floating_point():
        if ids.dtype not in (torch.int64, torch.int32) or ids.dim() != 2:
            raise ValueError(
                f"input_ids must be an int64 or int32 tensor of shape (batch, length), got {ids.dtype} of shape "
                f"{tuple(ids.shape)}"
            )
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
            raise ValueError(f"input_ids must be token ids in [0, {vocab}), got {int(ids.min())}..{int(ids.max())}")
    elif isinstance(ids, torch.Tensor) and isinstance(vocab, int) and "pixel_values" not in items:
        raise ValueError(f"input_ids must be an integer tensor of token ids, got dtype {ids.dtype}")
    pixels = items.get("pixel_values")
    channels = getattr(config, "num_channels", None)
    if isinstance(pixels, torch.Tensor) and isinstance(channels, int):
        size = getattr(config, "image_size", None)
        if not pixels.is_floating_point() or pixels.dim() != 4 or pixels.shape[1] != channels:
            raise ValueError(
                f"pixel_values must be a floating tensor of shape (batch, {channels}, {size}, {size}), got "
                f"{pixels.dtype} of shape {tuple(pixels.shape)}"
            )
        if isinstance(size, int) and tuple(pixels.shape[2:]) != (size, size):
            raise ValueError(
                f"pixel_values must be {size}x{size} images (config.image_size), got shape {tuple(pixels.shape)}"
            )
    return out


def _stats(x: torch.Tensor, channel_dim: int) -> tuple[float, float, float]:
    with torch.no_grad():
        v = x.detach().float()
        v = v.movedim(channel_dim, -1).reshape(-1, v.shape[channel_dim]) if v.dim() > 1 else v.reshape(-1, 1)
        mean_sq = float(v.square().mean())
        means = v.mean(dim=0)
        channel_mean_sq = float(means.square().mean())
        channel_var = float((v - means).square().mean())
    return mean_sq, channel_var, channel_mean_sq


def signal_report(
    model: nn.Module,
    inputs: Inputs,
    loss: Callable[[Any], torch.Tensor] | None = None,
    *,
    seed: int = 0,
    blocks: Sequence[str] | None = None,
    channel_dim: int = -1,
) -> SignalReport:
    """Measure a model's signal propagation at its current weights: one forward and one backward pass.

    Parameters
    ----------
    model : torch.nn.Module
        Any CPU model, float32 or bfloat16.  It runs in eval mode (no dropout,
        so the result is a function of the weights, the inputs and the seed)
        and is put back in its own mode; its parameters' ``.grad`` are put
        back as they were.
    inputs : tensor or mapping of str to tensor
        ``model(inputs)`` or ``model(**inputs)``.  For a Hugging Face model,
        ``input_ids`` must be integer token ids below ``config.vocab_size``
        of shape (batch, length), and ``pixel_values`` of shape (batch,
        ``num_channels``, ``image_size``, ``image_size``); see
        :func:`example_inputs`.
    loss : callable, optional
        ``loss(output) -> scalar tensor``.  Default: :math:`\\sum_i y_i w_i`
        over the first output tensor :math:`y` (the logits, the last hidden
        state), with :math:`w_i \\sim N(0, 1)` fixed by ``seed``
        (:func:`xinit_bench.key_for_name` of ``(seed, "signal_report.loss")``).
    seed : int
        The loss weights' seed.
    blocks : sequence of str, optional
        Qualified names of the modules whose outputs are measured; default
        the children of the model's longest ``nn.ModuleList``
        (:func:`find_blocks`: ``transformer.h.*``, ``model.layers.*``, ...).
    channel_dim : int
        The channel axis of a block's output (-1 for transformers, 1 for CNNs).

    Returns
    -------
    SignalReport
        Per block, in depth order: ``mean_sq``, ``channel_var``,
        ``channel_mean_sq`` and ``grad_rms``; per parameter, the gradient RMS.

    Raises
    ------
    TypeError
        Not a module, inputs that are neither a tensor nor a mapping of
        tensors, a loss that is not callable or returns no scalar tensor.
    ValueError
        Inputs of the wrong shape or dtype for the model, a block name the
        model does not have; nothing is changed on the model.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be a callable output -> scalar tensor or None, got {loss!r}")
    entropy = check_seed(seed)
    if not isinstance(channel_dim, int) or isinstance(channel_dim, bool):
        raise TypeError(f"channel_dim must be an int, got {channel_dim!r}")
    args = _check_inputs(model, inputs)
    modules = dict(model.named_modules())
    if blocks is None:
        chosen = find_blocks(model)
    else:
        if isinstance(blocks, str) or not all(isinstance(b, str) for b in blocks):
            raise TypeError(f"blocks must be a sequence of qualified module names, got {blocks!r}")
        unknown = [b for b in blocks if b not in modules]
        if unknown:
            raise ValueError(f"blocks must name modules of the model, got {unknown} which it does not have")
        chosen = [(b, modules[b]) for b in blocks]
    dtype = next((p.dtype for p in model.parameters()), torch.float32)

    report = SignalReport(dtype=str(dtype).replace("torch.", ""), seed=entropy)
    stats: dict[str, BlockStats] = {}
    order: list[str] = []

    def forward_hook(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(module: nn.Module, _: Any, output: Any) -> None:
            x = _first_tensor(output)
            if x is None:
                return
            stats[name] = BlockStats(name, *_stats(x, channel_dim))
            order.append(name)
            if x.requires_grad:
                entry = stats[name]

                def grad_hook(g: torch.Tensor) -> None:
                    entry.grad_rms = float(g.detach().float().square().mean().sqrt())

                x.register_hook(grad_hook)  # type: ignore[no-untyped-call]

        return hook

    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    saved = {n: p.grad for n, p in params}
    modes = {m: m.training for m in model.modules()}
    handles = [m.register_forward_hook(forward_hook(n)) for n, m in chosen]
    try:
        for _, p in params:
            p.grad = None
        model.eval()
        try:
            output = model(**args) if isinstance(args, dict) else model(args)
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            shapes = (
                {k: (tuple(v.shape), str(v.dtype)) for k, v in args.items()}
                if isinstance(args, dict)
                else (tuple(args.shape), str(args.dtype))
            )
            raise ValueError(f"inputs must fit the model, got {shapes}: {type(exc).__name__}: {exc}") from exc
        if loss is None:
            y = _first_tensor(output)
            if y is None:
                raise TypeError(f"the model's output has no tensor to weight, got {type(output).__name__}: pass loss=")
            w = normal(tuple(y.shape), generator=key_for_name(entropy, "signal_report.loss"), dtype=np.float32)
            value = (y.float() * torch.from_numpy(w)).sum()
        else:
            value = loss(output)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise TypeError(f"loss must return a scalar tensor, got {type(value).__name__}")
        if value.requires_grad:
            torch.autograd.backward(value)
        report.loss = float(value.detach())
        for n, p in params:
            if p.grad is not None:
                report.params[n] = float(p.grad.detach().float().square().mean().sqrt())
    finally:
        for h in handles:
            h.remove()
        for n, p in params:
            p.grad = saved[n]
        for m, mode in modes.items():
            m.train(mode)
    seen = set()
    for name in order:  # a block called twice (shared weights) is reported at its first call
        if name not in seen:
            seen.add(name)
            report.blocks.append(stats[name])
    return report


def example_inputs(model: nn.Module, batch: int = 2, length: int = 32, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Reproducible inputs for a Hugging Face model from its config, drawn from the project's stream.

    Token models get ``input_ids`` uniform over ``[0, vocab_size)`` (and T5
    ``decoder_input_ids``); image models ``pixel_values`` N(0, 1) of the
    config's size.  Each from :func:`xinit_bench.key_for_name` of ``(seed,
    "signal_report.inputs")``.
    """
    config = model_config(model)
    if config is None:
        raise ValueError(
            f"model must be a Hugging Face model with a config to make its inputs, got {type(model).__name__}: "
            "pass the inputs yourself"
        )
    gen = key_for_name(check_seed(seed), "signal_report.inputs")
    if getattr(config, "num_channels", None) and getattr(config, "image_size", None):
        c, s = int(config.num_channels), int(config.image_size)
        dtype = next((p.dtype for p in model.parameters()), torch.float32)
        return {"pixel_values": torch.from_numpy(normal((batch, c, s, s), generator=gen, dtype=np.float32)).to(dtype)}
    vocab = int(config.vocab_size)
    u = uniform((batch, length), generator=gen, dtype=np.float64)
    ids = torch.from_numpy(np.minimum(np.floor(u * vocab), vocab - 1).astype(np.int64))
    out = {"input_ids": ids}
    if getattr(config, "is_encoder_decoder", False):
        out["decoder_input_ids"] = ids.clone()
    return out


def plot_reports(
    reports: Mapping[str, SignalReport],
    path: str,
    *,
    title: str = "",
    theory: Mapping[str, Sequence[float]] | None = None,
) -> None:
    """Signal propagation plots of several reports in one figure: mean_sq, channel statistics, gradient RMS.

    ``theory`` maps a label to a predicted ``mean_sq`` per block, drawn dashed
    beside the measurement.  Needs matplotlib (the ``plot`` extra).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for label, r in reports.items():
        depth = np.arange(1, len(r.blocks) + 1)
        (line,) = axes[0].plot(depth, r.series("mean_sq"), marker="o", ms=3, label=label)
        axes[1].plot(depth, r.series("channel_var"), marker="o", ms=3, color=line.get_color(), label=f"{label}: var")
        axes[1].plot(depth, r.series("channel_mean_sq"), ls=":", color=line.get_color(), label=f"{label}: mean²")
        axes[2].plot(depth, r.series("grad_rms"), marker="o", ms=3, color=line.get_color(), label=label)
    for label, values in (theory or {}).items():
        axes[0].plot(np.arange(1, len(values) + 1), values, ls="--", color="k", label=f"{label} (theory)")
    axes[0].set_title("residual stream: mean squared value")
    axes[1].set_title("average channel variance and squared mean")
    axes[2].set_title("gradient RMS at the block output")
    for ax in axes:
        ax.set_xlabel("block")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
