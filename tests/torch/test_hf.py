"""The Hugging Face presets against the real ``transformers`` classes, ``preset="auto"`` and its rotary buffers.

Each model class is built twice from one small config (no download): once
by the library, whose constructor runs its own ``_init_weights``, and once
again and then filled by ``init_module``.  Every parameter and buffer is
compared by name: equal values for constants (norm weights, zero biases,
position ids, rotary frequencies), a two-sample Kolmogorov-Smirnov test for
random tensors, and the same ties.

Statistics: under the null (same law) the KS p-value is uniform, so each
comparison fails ``p <= P_MIN = 1e-4`` with probability 1e-4, and the ~110
comparisons of the parity test with probability about 1 %; the seeds are
fixed, so the outcome is the same on every run.  The mutation check scales
every std by 1.5: two normals whose stds differ by 1.5x have CDFs that differ
by at most D = max_x |Phi(x) - Phi(x/1.5)| = 0.0968, while the KS statistic's
critical value at p = 1e-4 for two samples of n = 4096 is
sqrt(-ln(0.5e-4)/2) * sqrt(2/n) = 0.0492; so every mutated random tensor of
at least 4096 elements must fail, and the test asserts that it does.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn
from torchnets import P_MIN, snapshot

from xinit_bench import torch as xt

os.environ["HF_HUB_OFFLINE"] = "1"  # never reach the hub: every model here is built from a config
transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

#: At least this many elements for a random tensor whose mutation must be caught (see the module docstring).
POWERED = 4096


def _configs() -> dict[str, tuple[Callable[[Any], nn.Module], Any]]:
    tf = transformers
    return {
        "gpt2": (
            tf.GPT2LMHeadModel,
            tf.GPT2Config(
                n_layer=3, n_embd=64, n_head=4, vocab_size=128, n_positions=64, bos_token_id=0, eos_token_id=0
            ),
        ),
        "gpt2-range": (  # a model that changes initializer_range
            tf.GPT2LMHeadModel,
            tf.GPT2Config(
                n_layer=2,
                n_embd=64,
                n_head=4,
                vocab_size=128,
                n_positions=64,
                initializer_range=0.05,
                bos_token_id=0,
                eos_token_id=0,
            ),
        ),
        "llama": (
            tf.LlamaForCausalLM,
            tf.LlamaConfig(
                num_hidden_layers=2,
                hidden_size=64,
                intermediate_size=128,
                num_attention_heads=4,
                num_key_value_heads=2,
                vocab_size=128,
                max_position_embeddings=64,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
            ),
        ),
        "bert": (
            tf.BertForMaskedLM,
            tf.BertConfig(
                num_hidden_layers=2,
                hidden_size=64,
                intermediate_size=128,
                num_attention_heads=4,
                vocab_size=128,
                max_position_embeddings=64,
            ),
        ),
        "t5": (
            tf.T5ForConditionalGeneration,
            tf.T5Config(
                num_layers=2,
                num_decoder_layers=2,
                d_model=64,
                d_kv=16,
                d_ff=128,
                num_heads=4,
                vocab_size=128,
                initializer_factor=1.0,
            ),
        ),
        "vit": (
            tf.ViTModel,
            tf.ViTConfig(
                num_hidden_layers=2,
                hidden_size=64,
                intermediate_size=128,
                num_attention_heads=4,
                image_size=32,
                patch_size=8,
            ),
        ),
    }


#: For each case, the preset name that "auto" must pick, and the same preset with every std scaled by 1.5.
MUTANTS: dict[str, Callable[[Any], list[xt.Rule]]] = {
    "gpt2": lambda c: xt.gpt2(c.n_layer, 1.5 * c.initializer_range),
    "gpt2-range": lambda c: xt.gpt2(c.n_layer, 1.5 * c.initializer_range),
    "llama": lambda c: xt.llama(1.5 * c.initializer_range, xt.rotary_from_config(c)),
    "bert": lambda c: xt.bert(1.5 * c.initializer_range),
    "t5": lambda c: xt.t5(c.d_model, c.d_kv, c.num_heads, c.d_ff, 1.5 * c.initializer_factor),
    "vit": lambda c: xt.hf_vit(1.5 * c.initializer_range),
}
NAMED = {"gpt2": "gpt2", "gpt2-range": "gpt2", "llama": "llama", "bert": "bert", "t5": "t5", "vit": "hf_vit"}


def _tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    out = dict(model.named_parameters(remove_duplicate=False))
    out.update(model.named_buffers(remove_duplicate=False))
    return out


def _ties(model: nn.Module) -> list[set[str]]:
    groups: dict[int, set[str]] = {}
    for name, t in _tensors(model).items():
        groups.setdefault(id(t), set()).add(name)
    return sorted((g for g in groups.values() if len(g) > 1), key=sorted)


def _compare(ref: nn.Module, ours: nn.Module) -> tuple[list[str], list[tuple[str, float, int]]]:
    """The constants that differ, and every random tensor's (name, KS p-value, size)."""
    want, got = _tensors(ref), _tensors(ours)
    assert set(want) == set(got)
    constants_off, random = [], []
    for name, w in want.items():
        g = got[name]
        assert g.shape == w.shape and g.dtype == w.dtype and g.requires_grad == w.requires_grad, name
        wv, gv = w.detach().double().flatten().numpy(), g.detach().double().flatten().numpy()
        if wv.size == 0:
            continue
        deterministic = np.all(wv == wv[0]) or name.endswith(("position_ids", "inv_freq"))
        if deterministic:
            if not np.array_equal(wv, gv):
                constants_off.append(name)
            continue
        random.append((name, float(stats.ks_2samp(wv, gv).pvalue), wv.size))
    return constants_off, random


def _build(case: str) -> tuple[nn.Module, nn.Module, Any]:
    cls, config = _configs()[case]
    torch.manual_seed(20240)
    ref = cls(config)
    ours = cls(config)
    return ref, ours, config


@pytest.mark.statistical
@pytest.mark.parametrize("case", sorted(MUTANTS))
def test_every_tensor_has_the_librarys_own_init(case: str) -> None:
    ref, ours, _ = _build(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UnmatchedRuleWarning on the real models
        report = xt.init_module(ours, "auto", seed=7)
    assert report.untouched == [] and report.unmatched == []
    constants_off, random = _compare(ref, ours)
    assert constants_off == []
    failed = [(n, p) for n, p, _ in random if p <= P_MIN]
    assert failed == [], failed
    assert len(random) >= 8
    assert _ties(ours) == _ties(ref)  # tied weights still tied, the same groups as the library's
    for group in _ties(ours):
        assert len({id(t) for n, t in _tensors(ours).items() if n in group}) == 1
    named = type(ours)(ours.config)
    xt.init_module(named, NAMED[case], seed=7)  # the named preset reads the same config: the same bits
    for name, t in _tensors(named).items():
        assert torch.equal(t, _tensors(ours)[name]), name


@pytest.mark.statistical
@pytest.mark.parametrize("case", sorted(MUTANTS))
def test_a_preset_with_a_wrong_std_is_caught(case: str) -> None:
    ref, ours, config = _build(case)
    xt.init_module(ours, MUTANTS[case](config), seed=7)
    _, random = _compare(ref, ours)
    powered = [(n, p) for n, p, size in random if size >= POWERED]
    assert len(powered) >= 3
    assert all(p <= P_MIN for _, p in powered), [x for x in powered if x[1] > P_MIN]


# --- rotary buffers --------------------------------------------------------------------------
def _llama_config(**rope: Any) -> Any:
    config = transformers.LlamaConfig(
        num_hidden_layers=1,
        hidden_size=96,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=64,
        max_position_embeddings=64,
        **rope,
    )
    return config


ROPES: dict[str, dict[str, Any]] = {
    "default": {},
    "theta": {"rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}},
    "linear": {"rope_parameters": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0}},
    "llama3": {
        "rope_parameters": {
            "rope_type": "llama3",
            "rope_theta": 500000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 16,
        }
    },
    "head_dim": {"head_dim": 16},
}


@pytest.mark.known_answer
@pytest.mark.parametrize("rope", sorted(ROPES))
def test_rotary_buffers_equal_the_librarys_bit_for_bit(rope: str) -> None:
    config = _llama_config(**ROPES[rope])
    ref = transformers.LlamaModel(config)
    with torch.device("meta"):
        meta = transformers.LlamaModel(config)
    report = xt.materialize(meta, "auto", seed=0)  # no hook
    for name in ("rotary_emb.inv_freq", "rotary_emb.original_inv_freq"):
        want, got = _tensors(ref)[name], _tensors(meta)[name]
        assert got.dtype == want.dtype == torch.float32
        assert torch.equal(got, want), name
        assert report.filled[name].startswith("RotaryInvFreq")


@pytest.mark.known_answer
def test_original_inv_freq_as_a_plain_attribute_is_set_too() -> None:
    config = _llama_config()
    model = transformers.LlamaModel(config)
    rotary = model.rotary_emb
    want = rotary.inv_freq.clone()
    del rotary._buffers["original_inv_freq"]
    rotary.original_inv_freq = torch.zeros_like(want)  # as older releases keep it
    with torch.no_grad():
        rotary.inv_freq.zero_()
    xt.init_module(model, "auto", seed=0)
    assert torch.equal(rotary.inv_freq, want) and torch.equal(rotary.original_inv_freq, want)
    assert rotary.original_inv_freq is not rotary.inv_freq


@pytest.mark.refusal
def test_a_rotary_type_it_cannot_compute_is_named() -> None:
    config = _llama_config(rope_parameters={"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0})
    with torch.device("meta"):
        meta = transformers.LlamaModel(config)
    with pytest.raises(ValueError, match=r"rope_type must be one of 'default', 'linear', 'llama3'.*'dynamic'.*hooks"):
        xt.materialize(meta, "auto", seed=0)
    assert all(t.is_meta for t in _tensors(meta).values())


# --- materialize(meta LLaMA, "auto") -----------------------------------------------------------
@pytest.mark.invariance
def test_materialize_a_meta_llama_with_no_hook_equals_init_module_on_a_built_one() -> None:
    config = _configs()["llama"][1]
    with torch.device("meta"):
        meta = transformers.LlamaForCausalLM(config)
    report = xt.materialize(meta, "auto", seed=0)
    assert not any(t.is_meta for t in _tensors(meta).values()) and report.untouched == []
    eager = transformers.LlamaForCausalLM(config)
    xt.init_module(eager, "auto", seed=0)
    for name, t in _tensors(eager).items():
        assert torch.equal(_tensors(meta)[name], t), name
    ids = torch.arange(16).reshape(2, 8) % config.vocab_size
    with torch.no_grad():
        logits = meta(input_ids=ids).logits
    assert logits.shape == (2, 8, config.vocab_size) and bool(torch.isfinite(logits).all())


@pytest.mark.invariance
def test_bf16_llama_materializes_with_float32_rotary_buffers() -> None:
    config = _configs()["llama"][1]
    with torch.device("meta"):
        meta = transformers.LlamaForCausalLM(config).to(torch.bfloat16)
    xt.materialize(meta, "auto", seed=0)
    assert meta.model.embed_tokens.weight.dtype == torch.bfloat16
    ref = transformers.LlamaForCausalLM(config).to(torch.bfloat16)
    assert torch.equal(meta.model.rotary_emb.inv_freq, ref.model.rotary_emb.inv_freq)


# --- refusals ------------------------------------------------------------------------------------
@pytest.mark.refusal
def test_auto_refuses_a_model_without_a_config_and_an_unknown_type_before_writing() -> None:
    plain = nn.Sequential(nn.Linear(4, 4))
    before = snapshot(plain)
    with pytest.raises(ValueError, match=r"preset 'auto' needs a Hugging Face model with a config.*Sequential"):
        xt.init_module(plain, "auto", seed=0)
    assert all(torch.equal(before[k], v) for k, v in snapshot(plain).items())
    config = transformers.OPTConfig(
        num_hidden_layers=1, hidden_size=32, ffn_dim=64, num_attention_heads=2, vocab_size=64, word_embed_proj_dim=32
    )
    model = transformers.OPTModel(config)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"model_type, one of 'gpt2', 'llama', 'bert', 't5', 'vit', got 'opt'"):
        xt.init_module(model, "auto", seed=0)
    assert all(torch.equal(before[k], v) for k, v in snapshot(model).items())


@pytest.mark.refusal
def test_a_preset_typo_suggests_the_closest_name() -> None:
    m = nn.Linear(4, 4)
    before = snapshot(m)
    with pytest.raises(ValueError, match=r"got 'lama' \(did you mean 'llama'\?\)"):
        xt.init_module(m, "lama", seed=0)
    with pytest.raises(ValueError, match=r"got 'hf-vit' \(did you mean 'hf_vit'\?\)"):
        xt.init_module(m, "hf-vit", seed=0)
    with pytest.raises(ValueError, match=r"'auto', got 'kaiming'$"):
        xt.init_module(m, "kaiming", seed=0)
    assert all(torch.equal(before[k], v) for k, v in snapshot(m).items())


# --- no silent non-match, and the printed report -----------------------------------------------
class _Attention(nn.Module):
    def __init__(self, d: int, out: str) -> None:
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d)
        self.add_module(out, nn.Linear(d, d))


class _Block(nn.Module):
    def __init__(self, d: int, out: str) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = _Attention(d, out)


@pytest.mark.refusal
def test_a_residual_rule_that_matches_nothing_warns_and_is_listed() -> None:
    renamed = nn.ModuleList([_Block(16, "proj"), _Block(16, "proj")])
    with pytest.warns(xt.UnmatchedRuleWarning, match=r"c_proj\.weight.*matched no tensor in 4 modules.*0\.attn"):
        report = xt.init_module(renamed, xt.gpt2(n_layer=2), seed=0)
    assert len(report.unmatched) == 1 and "0.attn" in report.unmatched[0]
    assert "unmatched: c_proj.weight in *" in str(report)
    hf_named = nn.ModuleList([_Block(16, "c_proj"), _Block(16, "c_proj")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = xt.init_module(hf_named, xt.gpt2(n_layer=2), seed=0)
    assert report.unmatched == []
    # std 0.02 / sqrt(2 * 2) = 0.01; the sample std of n = 256 draws has standard error 0.01 / sqrt(2 n): 6 of them.
    assert abs(float(hf_named[0].attn.c_proj.weight.detach().std()) - 0.01) < 6 * 0.01 / np.sqrt(2 * 256)
    # A custom rule that names the renamed projection is the fix, and the warning stays (the preset still expects it).
    with pytest.warns(xt.UnmatchedRuleWarning):
        xt.init_module(renamed, xt.gpt2(n_layer=2), seed=0, rules=[xt.Rule(xt.Normal(0.0, 0.01), None, "proj.weight")])


@pytest.mark.structure
def test_print_report_has_one_line_per_rule_then_what_no_rule_covered() -> None:
    _, ours, _ = _build("gpt2")
    report = xt.init_module(ours, "auto", seed=0, only="transformer.h.*")
    text = str(report)
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines), text
    assert lines[1].split() == ["rule", "n", "elements", "law", "dtype"]
    c_proj = next(line for line in lines if "c_proj.weight" in line)
    # 3 layers x 2 projections, each 64x64 (attention) or 256x64 (MLP): 3 * (4096 + 16384) elements.
    assert c_proj.split()[3:5] == ["6", f"{3 * (4096 + 16384):,}"] and "normal(0, 0.008165)" in c_proj
    assert text.endswith("no rule: none")
    assert sum(f.numel for f in report.tensors.values()) == sum(
        t.numel() for n, t in ours.named_parameters() if n.startswith("transformer.h.")
    )
