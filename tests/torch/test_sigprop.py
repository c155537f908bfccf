"""signal_report: Brock et al.'s per-block statistics and the gradient RMS, against direct computations.

The GPT-2-small test compares the residual stream's growth over depth under
the ``gpt2`` preset and under the same preset without its 1/sqrt(2 n_layer)
scaling of ``c_proj``.  Expectation, derived: in a pre-LayerNorm block
``x + a(LN(x))`` then ``+ m(LN(.))``, the inputs of the attention and the MLP
are normalised, so their outputs' variance is proportional to the variance
of the ``c_proj`` weights, and at init the increments are uncorrelated with
the stream (zero-mean weights); the slope of E[x^2] over depth is then
proportional to Var(c_proj), and the ratio of the two slopes is
(1/sqrt(2 L))^2 = 1/(2 L) = 1/24.  The test asserts the sign (scaled slope
below the unscaled one) and the ratio within a factor 2 of 1/24; the
unscaled preset against itself (ratio 1) is the variant that must fail.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import xinit_bench as xb
from xinit_bench import torch as xt

os.environ["HF_HUB_OFFLINE"] = "1"  # every model here is built from a config
transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


def _tiny_gpt2(n_layer: int = 3) -> nn.Module:
    config = transformers.GPT2Config(
        n_layer=n_layer, n_embd=32, n_head=4, vocab_size=64, n_positions=32, bos_token_id=0, eos_token_id=0
    )
    model = transformers.GPT2LMHeadModel(config)
    xt.init_module(model, "auto", seed=0)
    return model


@pytest.mark.reference
def test_block_statistics_and_gradients_equal_a_direct_computation() -> None:
    model = _tiny_gpt2()
    inputs = xt.example_inputs(model, batch=2, length=8, seed=3)
    report = xt.signal_report(model, inputs, seed=5)
    assert [b.name for b in report.blocks] == ["transformer.h.0", "transformer.h.1", "transformer.h.2"]
    # The reference: capture the block outputs, rebuild the default loss from the documented stream, backward.
    outs: dict[str, torch.Tensor] = {}
    handles = [
        blk.register_forward_hook(lambda m, i, o, n=n: outs.__setitem__(n, o[0] if isinstance(o, tuple) else o))
        for n, blk in ((f"transformer.h.{i}", b) for i, b in enumerate(model.transformer.h))
    ]
    model.eval()
    logits = model(**inputs).logits
    for o in outs.values():
        o.retain_grad()
    w = xb.normal(tuple(logits.shape), generator=xb.key_for_name(5, "signal_report.loss"), dtype=np.float32)
    value = (logits * torch.from_numpy(w)).sum()
    value.backward()
    for h in handles:
        h.remove()
    assert report.loss == pytest.approx(float(value.detach()), rel=1e-6)
    for b in report.blocks:
        x = outs[b.name].detach().double().reshape(-1, 32).numpy()
        assert b.mean_sq == pytest.approx(float(np.mean(x**2)), rel=1e-5)
        assert b.channel_var == pytest.approx(float(np.mean(x.var(axis=0))), rel=1e-5)
        assert b.channel_mean_sq == pytest.approx(float(np.mean(x.mean(axis=0) ** 2)), rel=1e-5)
        assert b.mean_sq == pytest.approx(b.channel_var + b.channel_mean_sq, rel=1e-5)
        g = outs[b.name].grad
        assert g is not None and b.grad_rms == pytest.approx(float(g.double().square().mean().sqrt()), rel=1e-5)
    for name, p in model.named_parameters():
        assert p.grad is not None
        assert report.params[name] == pytest.approx(float(p.grad.double().square().mean().sqrt()), rel=1e-5), name


@pytest.mark.invariance
def test_the_report_is_reproducible_and_leaves_the_model_as_it_was() -> None:
    model = _tiny_gpt2()
    model.train()
    inputs = xt.example_inputs(model, seed=0)
    first = xt.signal_report(model, inputs, seed=1)
    assert model.training and all(p.grad is None for p in model.parameters())
    again = xt.signal_report(_tiny_gpt2(), xt.example_inputs(_tiny_gpt2(), seed=0), seed=1)
    assert first.as_dict() == again.as_dict()  # init, inputs and loss weights all from the seed
    other = xt.signal_report(model, inputs, seed=2)
    assert other.loss != first.loss
    decoded = json.loads(first.to_json())
    assert decoded["blocks"][0]["mean_sq"] == first.blocks[0].mean_sq


@pytest.mark.invariance
def test_bfloat16_models_are_measured_in_float32() -> None:
    model = _tiny_gpt2().to(torch.bfloat16)
    report = xt.signal_report(model, xt.example_inputs(model, seed=0))
    assert report.dtype == "bfloat16" and all(np.isfinite(report.series("grad_rms")))
    full = xt.signal_report(_tiny_gpt2(), xt.example_inputs(model, seed=0))
    # bf16 keeps 8 significant bits: each mean square within a few percent of the float32 model's.
    assert np.allclose(report.series("mean_sq"), full.series("mean_sq"), rtol=0.05)


@pytest.mark.structure
def test_the_table_fits_100_columns_and_lists_the_parameters() -> None:
    model = _tiny_gpt2()
    report = xt.signal_report(model, xt.example_inputs(model, seed=0))
    text = report.table(params=True)
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "transformer.h.2" in text and "transformer.h.0.attn.c_proj.weight" in text


@pytest.mark.refusal
def test_inputs_of_the_wrong_shape_or_dtype_are_refused_and_nothing_changes() -> None:
    model = _tiny_gpt2()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ids = xt.example_inputs(model, seed=0)["input_ids"]
    with pytest.raises(ValueError, match=r"input_ids must be an integer tensor of token ids, got dtype torch.float32"):
        xt.signal_report(model, {"input_ids": ids.float()})
    with pytest.raises(ValueError, match=r"input_ids must be an int64 or int32 tensor of shape \(batch, length\)"):
        xt.signal_report(model, {"input_ids": ids[None]})
    with pytest.raises(ValueError, match=r"token ids in \[0, 64\), got 0\.\.64"):
        xt.signal_report(model, {"input_ids": torch.tensor([[0, 64]])})
    with pytest.raises(TypeError, match="inputs must be a tensor or a mapping"):
        xt.signal_report(model, [ids])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"blocks must name modules of the model, got \['h.9'\]"):
        xt.signal_report(model, {"input_ids": ids}, blocks=["h.9"])
    with pytest.raises(ValueError, match=r"inputs must fit the model, got \(\(2, 5\), 'torch.float32'\)"):
        xt.signal_report(nn.Linear(8, 8), torch.zeros(2, 5), blocks=[""])
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())
    assert all(p.grad is None for p in model.parameters())
    vit = transformers.ViTModel(
        transformers.ViTConfig(
            num_hidden_layers=1,
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            image_size=16,
            patch_size=8,
        )
    )
    with pytest.raises(ValueError, match=r"pixel_values must be a floating tensor of shape \(batch, 3, 16, 16\)"):
        xt.signal_report(vit, {"pixel_values": torch.zeros(1, 1, 16, 16)})
    good = xt.signal_report(vit, xt.example_inputs(vit, seed=0))
    assert len(good.blocks) == 1


@pytest.mark.statistical
@pytest.mark.slow
def test_gpt2_small_residual_growth_is_slower_with_the_c_proj_scaling() -> None:
    layers = 12
    config = transformers.GPT2Config(n_layer=layers, n_embd=768, n_head=12, vocab_size=512, n_positions=64)
    model = transformers.GPT2Model(config)  # GPT-2-small's blocks; a small vocabulary keeps the embedding cheap
    inputs = xt.example_inputs(model, batch=2, length=32, seed=0)
    slopes = {}
    for label, rules in (("gpt2", ()), ("unscaled", [xt.Rule(xt.Normal(0.0, 0.02), None, "c_proj.weight")])):
        xt.init_module(model, "gpt2", seed=0, rules=rules)
        slopes[label] = xt.signal_report(model, inputs, seed=0).slope("mean_sq")
    assert 0 < slopes["gpt2"] < slopes["unscaled"]
    ratio = slopes["gpt2"] / slopes["unscaled"]
    expected = 1 / (2 * layers)
    assert expected / 2 < ratio < 2 * expected, slopes
    assert not (expected / 2 < 1.0 < 2 * expected)  # the unscaled preset against itself would fail this check


# --- the command line ------------------------------------------------------------------------------
@pytest.mark.structure
def test_the_sigprop_command_prints_a_table_per_preset_and_writes_json(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from xinit_bench.cli import main

    out = tmp_path / "sigprop.json"
    args = ["sigprop", "--model", "llama", "--layers", "2", "--width", "64", "--vocab", "64", "--length", "8"]
    assert main([*args, "--preset", "llama,torch_default", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "preset llama: slope of mean_sq" in text and "preset torch_default" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    data = json.loads(out.read_text())
    assert set(data["reports"]) == {"llama", "torch_default"} and len(data["reports"]["llama"]["blocks"]) == 2
    assert main([*args, "--preset", "lama"]) == 2
    assert "did you mean 'llama'?" in capsys.readouterr().err
    assert main([*args, "--width", "100"]) == 2
    assert "--width must be a positive multiple of 64, got 100" in capsys.readouterr().err
