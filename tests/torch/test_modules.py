"""xinit_bench.torch.modules: init_module's name-keyed streams, subsets, order, threads, ties, launches and refusals."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
import torch
from torch import nn
from torchnets import (
    GPT2_TINY,
    conv_net,
    gpt2_tiny,
    snapshot,
    values,
)

from xinit_bench import batch
from xinit_bench import torch as xt
from xinit_bench.perf import models

# --- init_module: streams, subsets, order, threads, launches --------------------------


def test_values_do_not_depend_on_the_order_parameters_were_created() -> None:
    forward = nn.ModuleDict({"a": nn.Linear(32, 64), "b": nn.Linear(64, 8), "c": nn.Embedding(50, 32)})
    backward = nn.ModuleDict({"c": nn.Embedding(50, 32), "b": nn.Linear(64, 8), "a": nn.Linear(32, 64)})
    xt.init_module(forward, "torch_default", seed=5)
    xt.init_module(backward, "torch_default", seed=5)
    vf, vb = values(forward), values(backward)
    assert list(vf) != list(vb) and vf.keys() == vb.keys()
    for k in vf:
        assert np.array_equal(vf[k], vb[k]), k


def test_a_subset_or_a_submodule_gets_its_values_in_the_whole_model() -> None:
    whole = gpt2_tiny()
    xt.init_module(whole, "gpt2", seed=3)  # n_layer read from the module
    full = values(whole)
    part = gpt2_tiny()
    before = values(part)
    report = xt.init_module(part, "gpt2", seed=3, only="h.1.*")
    assert report.filled and all(k.startswith("h.1.") for k in report.filled)
    for k, v in values(part).items():
        assert np.array_equal(v, full[k] if k.startswith("h.1.") else before[k]), k
    block = gpt2_tiny().h[1]
    xt.init_module(block, xt.gpt2(GPT2_TINY.n_layer), seed=3, prefix="h.1")
    for k, v in values(block).items():
        assert np.array_equal(v, full["h.1." + k]), k


def test_one_and_two_threads_give_the_same_model(restore_threads: None) -> None:
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 threads")
    got = []
    for n in (1, 2):
        numba.set_num_threads(n)
        m = models.build(models.ModelSpec("gpt2", 128, 2, 512, 4000, 4, positions=256))
        xt.init_module(m, "gpt2", seed=17)
        got.append(values(m))
    for k in got[0]:
        assert np.array_equal(got[0][k], got[1][k]), k


def test_tied_parameters_are_filled_once_and_stay_tied() -> None:
    m = gpt2_tiny()
    report = xt.init_module(m, "gpt2", seed=0)
    assert "wte.weight" in report.filled and "lm_head.weight" not in report.filled
    assert m.lm_head.weight is m.wte.weight


def test_every_tensor_of_one_kind_and_dtype_is_one_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    real = batch.fill_runs

    def counting(kind: str, dtype: Any, addresses: Any, *rest: Any) -> None:
        calls.append((kind, len(addresses)))
        real(kind, dtype, addresses, *rest)

    monkeypatch.setattr(batch, "fill_runs", counting)
    m = gpt2_tiny()
    report = xt.init_module(m, "gpt2", seed=0)
    random = sum(1 for v in report.filled.values() if ": normal" in v)
    assert [k for k, _ in calls] == ["normal"] and report.launches == {("normal", "float32"): random}
    calls.clear()
    xt.init_module(conv_net(), "torch_default", seed=0)
    assert [k for k, _ in calls] == ["symmetric_uniform"]


def test_init_module_refuses_bad_presets_rules_and_tensors_before_writing() -> None:
    m = conv_net()
    before = snapshot(m)
    with pytest.raises(ValueError, match=r"preset must be one of 'torch_default', 'gpt2', 'llama', 'vit'"):
        xt.init_module(m, "kaiming", seed=0)
    with pytest.raises(ValueError, match=r"rules must each match a tensor.*Conv3d.*match nothing"):
        xt.init_module(m, "torch_default", seed=0, rules=[xt.Rule(xt.Constant(0.0), nn.Conv3d, "weight")])
    with pytest.raises(TypeError, match="rules"):
        xt.init_module(m, "torch_default", seed=0, rules=["weight"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"module must be a torch\.nn\.Module"):
        xt.init_module(torch.empty(3), "torch_default", seed=0)  # type: ignore[arg-type]
    m.add_module("late", nn.Linear(4, 4, device="meta"))  # a meta layer after real ones
    with pytest.raises(ValueError, match=r"late\.weight must be a CPU tensor with storage"):
        xt.init_module(m, "torch_default", seed=0)
    del m.late
    m.register_buffer("counter", torch.zeros(3, dtype=torch.int32))
    with pytest.raises(TypeError, match="counter must be a float32"):
        xt.init_module(m, "torch_default", seed=0, rules=[xt.Rule(xt.Normal(), name="counter")])
    after = snapshot(m)
    for k, v in before.items():
        assert torch.equal(after[k], v), k


# --- the matcher against the plain walk ------------------------------------------------
def _walk(rule: xt.Rule, name: str, root: nn.Module, prefix: str) -> nn.Module | None:
    """The rule's definition, step by step: the first module on the path that owns the rest of the name."""
    import fnmatch

    if rule.name is not None and not fnmatch.fnmatchcase(name, rule.name):
        return None
    parts = (name[len(prefix) + 1 :] if prefix else name).split(".")
    mod: nn.Module | None = root
    for depth in range(len(parts)):
        if mod is None:
            return None
        if rule.owners(mod) and fnmatch.fnmatchcase(".".join(parts[depth:]), rule.tensor):
            return mod
        mod = mod._modules.get(parts[depth]) if depth < len(parts) - 1 else None
    return None


@pytest.mark.reference
@pytest.mark.parametrize("prefix", ["", "model.body"])
def test_the_matcher_finds_the_module_the_plain_walk_finds(prefix: str) -> None:
    from xinit_bench.torch.matching import Matcher

    root = gpt2_tiny()
    names = [".".join(p for p in (prefix, n) if p) for n, _ in [*root.named_parameters(), *root.named_buffers()]]
    names += [f"{prefix}.h.0.attn.missing.weight".lstrip("."), f"{prefix}.weight".lstrip(".")]  # paths that end early
    noop = xt.Constant(0.0)
    rules = [
        *xt.preset_rules("gpt2", root),
        xt.Rule(noop, nn.Linear, "weight"),
        xt.Rule(noop, None, "c_proj.weight"),  # a literal of two parts, matched through the block
        xt.Rule(noop, None, "attn.c_proj.weight"),
        xt.Rule(noop, "*Attention", "c_*.bias"),
        xt.Rule(noop, None, "*"),
        xt.Rule(noop, None, "weight", name="*.h.1.*"),
        xt.Rule(noop, (nn.LayerNorm, "*MLP"), "[cw]*"),
        xt.Rule(noop, nn.Embedding, "bias"),  # matches nothing
    ]
    matcher = Matcher(root, prefix)
    checked = 0
    for rule in rules:
        for name in names:
            want = _walk(rule, name, root, prefix)
            assert matcher.match_name(rule, name) is want, (rule, name)
            checked += want is not None
    assert checked > len(names)  # not a comparison of two Nones
