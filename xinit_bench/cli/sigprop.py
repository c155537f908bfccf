"""``xinit-bench sigprop``: signal propagation at step 0 of a Hugging Face model built from a config, per preset."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..propagation.plot import matplotlib_available
from .common import UsageError, add_json_option, fail, json_target, one_line_errors
from .output import plot_target, write_outputs

PROG = "xinit-bench sigprop"
MODELS = ("gpt2", "llama", "vit", "bert")


def setup_arguments(subparsers: Any) -> None:
    """Add ``sigprop`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    g = subparsers.add_parser(
        "sigprop",
        help="signal propagation at step 0 of a model built from a config, one report per preset",
        description=(
            "Builds a Hugging Face model from a config (no download), fills it with each preset "
            "(xinit_bench.torch.init_module) and prints, per block, the residual stream's mean squared value, "
            "the average channel variance and squared channel mean, and the gradient RMS of one backward pass "
            "(Brock et al. 2021's signal propagation plots). Inputs, init and loss weights come from --seed."
        ),
    )
    g.add_argument("--model", choices=MODELS, default="gpt2", help="the architecture (default: gpt2)")
    g.add_argument("--layers", type=int, default=12, help="number of blocks (default: 12)")
    g.add_argument("--width", type=int, default=768, help="hidden size, a multiple of 64 (default: 768)")
    g.add_argument("--vocab", type=int, default=1024, help="vocabulary of the token models (default: 1024)")
    g.add_argument("--preset", default="gpt2,torch_default", help="comma-separated presets to compare")
    g.add_argument("--batch", type=int, default=2, help="batch size (default: 2)")
    g.add_argument("--length", type=int, default=32, help="tokens per sequence (default: 32)")
    g.add_argument("--seed", type=int, default=0, help="seed of the init, the inputs and the loss weights")
    g.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32", help="parameter dtype")
    g.add_argument(
        "--plot", type=Path, metavar="PATH", help="write the comparison figure (PNG) to PATH (needs matplotlib)"
    )
    add_json_option(g, "the reports")
    g.set_defaults(func=run)
    one_line_errors(g)


def build_model(kind: str, layers: int, width: int, vocab: int) -> Any:
    """The Hugging Face model of ``kind`` with ``layers`` blocks of ``width`` channels, built from a config."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    heads = max(1, width // 64)
    if kind == "gpt2":
        return transformers.GPT2LMHeadModel(
            transformers.GPT2Config(
                n_layer=layers,
                n_embd=width,
                n_head=heads,
                vocab_size=vocab,
                n_positions=1024,
                bos_token_id=0,
                eos_token_id=0,
            )
        )
    # Llama, BERT and ViT name the depth, the width and the heads alike.
    shared: dict[str, Any] = {"num_hidden_layers": layers, "hidden_size": width, "num_attention_heads": heads}
    if kind == "llama":
        return transformers.LlamaForCausalLM(
            transformers.LlamaConfig(
                **shared,
                intermediate_size=(8 * width) // 3,
                num_key_value_heads=heads,
                vocab_size=vocab,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
            )
        )
    if kind == "bert":
        return transformers.BertForMaskedLM(
            transformers.BertConfig(**shared, intermediate_size=4 * width, vocab_size=vocab)
        )
    return transformers.ViTModel(
        transformers.ViTConfig(**shared, intermediate_size=4 * width, image_size=64, patch_size=8)
    )


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench sigprop``."""
    try:
        json_to = json_target(args.json)
        for flag, value in (("--layers", args.layers), ("--batch", args.batch), ("--length", args.length)):
            if value < 1:
                raise UsageError(f"{flag} must be >= 1, got {value}")
        if args.width < 64 or args.width % 64:
            raise UsageError(f"--width must be a positive multiple of 64, got {args.width}")
        if args.vocab < 2:
            raise UsageError(f"--vocab must be >= 2, got {args.vocab}")
        if args.seed < 0:
            raise UsageError(f"--seed must be >= 0, got {args.seed}")
        presets = [p.strip() for p in args.preset.split(",") if p.strip()]
        if not presets:
            raise UsageError(f"--preset must name at least one preset, got {args.preset!r}")
        plot_to = plot_target(args.plot, matplotlib_available)
        try:
            import torch
            import transformers  # noqa: F401

            from .. import torch as xt
        except ImportError as exc:
            raise UsageError(f"sigprop needs the torch and hf extras (xinit-bench[torch,hf]): {exc}") from exc
        for p in presets:
            if p not in xt.preset_names():
                xt.preset_rules(p, torch.nn.Identity())  # the ValueError that lists the names and the closest
        model = build_model(args.model, args.layers, args.width, args.vocab)
        if args.dtype == "bfloat16":
            model = model.to(torch.bfloat16)
        inputs = xt.example_inputs(model, args.batch, args.length, seed=args.seed)
        reports = {}
        for p in presets:
            xt.init_module(model, p, seed=args.seed)
            reports[p] = xt.signal_report(model, inputs, seed=args.seed)
    except (UsageError, ValueError, TypeError) as exc:
        return fail(PROG, str(exc))
    title = f"{args.model}, {args.layers} blocks of {args.width}"

    def tables() -> None:
        for p, r in reports.items():
            slope = f": slope of mean_sq {r.slope():.4g} per block" if len(r.blocks) > 1 else ""
            print(f"{title}, preset {p}{slope}")
            print(r.table())
            print()

    data = {
        "model": args.model,
        "layers": args.layers,
        "width": args.width,
        "reports": {
            p: {**r.as_dict(), "slope_mean_sq": r.slope() if len(r.blocks) > 1 else None} for p, r in reports.items()
        },
    }
    write_outputs(
        json_to, data, tables, plot_to=plot_to, draw=lambda path: xt.plot_reports(reports, str(path), title=title)
    )
    return 0
