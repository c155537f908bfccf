"""Every write of xinit_bench.torch is all or nothing, visible to autograd, and judged by memory, not by object.

Each test builds the case that used to give a wrong value or lose data
without an error, and checks the value or the refusal *and* that a refused
call left every tensor as it was (meta tensors still on the meta device).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torchnets import snapshot

from xinit_bench import torch as xt
from xinit_bench.torch import modules as xt_modules

pytestmark = pytest.mark.refusal


def unchanged(module: nn.Module, before: dict[str, torch.Tensor]) -> bool:
    after = snapshot(module)
    return after.keys() == before.keys() and all(torch.equal(after[k], v) for k, v in before.items())


def all_meta(module: nn.Module) -> bool:
    return all(t.is_meta for t in [*module.parameters(), *module.buffers()])


# --- the autograd version counter ------------------------------------------------------
WRITES: dict[str, Callable[[nn.Linear], Any]] = {
    "normal_": lambda lin: xt.normal_(lin.weight, seed=0),
    "kaiming_uniform_": lambda lin: xt.kaiming_uniform_(lin.weight, a=math.sqrt(5.0), seed=0),
    "row runs": lambda lin: xt.uniform_(lin.weight[:, :16], -1.0, 1.0, seed=0),  # rows of 16: written in place
    "strided copy": lambda lin: xt.normal_(lin.weight[:, ::2], seed=0),
    "constant_": lambda lin: xt.constant_(lin.weight, 0.5),
    "init_module": lambda lin: xt.init_module(lin, "torch_default", seed=0),
    "init_module rows": lambda lin: xt.init_module(lin, rules=[xt.Rule(xt.Normal(), name="weight")], seed=0),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_makes_a_saved_graph_refuse_backward_as_torchs_own_init_does(write: str) -> None:
    lin = nn.Linear(32, 4)
    x = torch.randn(3, 32, requires_grad=True, generator=torch.Generator().manual_seed(0))
    version = lin.weight._version
    y = lin(x).pow(2).sum()  # saves the weight for x's gradient
    WRITES[write](lin)
    assert lin.weight._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_the_version_check_is_the_one_torchs_own_normal_fails() -> None:
    # the reference the test above is held to: torch's own in-place init raises the same error
    lin = nn.Linear(32, 4)
    y = lin(torch.randn(3, 32, requires_grad=True)).pow(2).sum()
    nn.init.normal_(lin.weight)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_materialized_tensors_start_a_fresh_graph() -> None:
    with torch.device("meta"):
        lin = nn.Linear(8, 4)
    xt.materialize(lin, seed=0)
    lin(torch.randn(2, 8, requires_grad=True)).sum().backward()  # nothing saved before: backward runs
    assert lin.weight.grad is not None


def test_an_inference_tensor_is_refused_outside_inference_mode_and_filled_inside() -> None:
    with torch.inference_mode():
        t = torch.zeros(4, 8)
        lin = nn.Linear(8, 4)
    before = t.clone()
    for call in (lambda: xt.normal_(t, seed=0), lambda: xt.constant_(t, 1.0), lambda: xt.eye_(t)):
        with pytest.raises(ValueError, match=r"tensor must be writable in place, got an inference tensor"):
            call()
    with pytest.raises(ValueError, match=r"weight must be writable in place, got an inference tensor"):
        xt.init_module(lin, seed=0)
    assert torch.equal(t, before)
    with torch.inference_mode():
        xt.normal_(t, seed=0)
        xt.init_module(lin, seed=0)
    assert not torch.equal(t, before)


# --- memory, not objects ----------------------------------------------------------------
def two_over_one_storage() -> nn.ModuleDict:
    m = nn.ModuleDict({"a": nn.Linear(64, 64), "b": nn.Linear(64, 64)})
    m["b"].weight = nn.Parameter(m["a"].weight.data)  # a distinct Parameter object, the same memory
    return m


def test_distinct_parameters_over_one_storage_are_one_tensor_with_every_name() -> None:
    got = []
    for _ in range(5):
        m = two_over_one_storage()
        report = xt.init_module(m, "torch_default", seed=3)
        assert report.tied == {"a.weight": ("a.weight", "b.weight")} and "b.weight" not in report.filled
        got.append(m["a"].weight.detach().clone())
    # the value is a.weight's stream, the one an untied a.weight gets
    ref = nn.ModuleDict({"a": nn.Linear(64, 64), "b": nn.Linear(64, 64)})
    xt.init_module(ref, "torch_default", seed=3)
    assert all(torch.equal(g, ref["a"].weight) for g in got)


def test_the_id_judged_tie_raced_two_jobs_over_one_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # The old rule (tied by object identity) makes two jobs of one storage: shown here so the test above can fail.
    def by_object(t: torch.Tensor) -> tuple[Any, ...]:
        return ("object", id(t))

    monkeypatch.setattr(xt_modules, "_view_key", by_object)
    with pytest.raises(ValueError, match="must not share memory"):  # the storage check still catches it ...
        xt.init_module(two_over_one_storage(), "torch_default", seed=3)
    monkeypatch.setattr(xt_modules, "check_overlaps", lambda entries, written: None)
    report = xt.init_module(two_over_one_storage(), "torch_default", seed=3)
    assert "b.weight" in report.filled and report.tied == {}  # ... without both: two jobs over one memory


@pytest.mark.parametrize(
    "view",
    [
        lambda w: w[:, :32],  # a part of the same rows
        lambda w: w.t(),  # the same elements in another order
        lambda w: w[::2],  # every other row
    ],
)
def test_a_tensor_partly_over_another_is_refused_naming_both(view: Callable[[torch.Tensor], torch.Tensor]) -> None:
    m = nn.ModuleDict({"a": nn.Linear(64, 64), "b": nn.Linear(64, 64)})
    m["b"].weight = nn.Parameter(view(m["a"].weight.data))
    before = snapshot(m)
    with pytest.raises(ValueError, match=r"must not share memory.*a\.weight.*b\.weight"):
        xt.init_module(m, "torch_default", seed=0)
    assert unchanged(m, before)


def test_disjoint_views_of_one_storage_are_filled_as_two_tensors() -> None:
    base = torch.empty(8, 64)
    m = nn.Module()
    m.even = nn.Parameter(base[0::2])  # interleaved rows: spans overlap, elements do not
    m.odd = nn.Parameter(base[1::2])
    report = xt.init_module(m, [xt.Rule(xt.Normal())], seed=0)
    assert set(report.filled) == {"even", "odd"} and report.tied == {}
    alone = nn.Module()
    alone.even = nn.Parameter(torch.empty(4, 64))
    xt.init_module(alone, [xt.Rule(xt.Normal())], seed=0)
    assert torch.equal(m.even, alone.even)


def test_a_tied_tensor_answers_to_its_second_name_and_keeps_its_first_names_key() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(40, 16)
            self.head = nn.Linear(16, 40, bias=False)
            self.head.weight = self.emb.weight

    whole = Tied()
    xt.init_module(whole, "torch_default", seed=2)
    part = Tied()
    report = xt.init_module(part, "torch_default", seed=2, only="head.*")
    assert report.tied == {"emb.weight": ("emb.weight", "head.weight")}
    assert torch.equal(part.head.weight, whole.emb.weight)  # emb.weight's key and its rule (the preset's N(0, 1))
    ruled = Tied()
    report = xt.init_module(ruled, "torch_default", seed=2, rules=[xt.Rule(xt.Constant(2.0), name="head.weight")])
    assert bool((ruled.emb.weight == 2.0).all()) and report.filled["emb.weight"] == "Constant(value=2.0)"


# --- all or nothing -------------------------------------------------------------------
def with_buffer(name: str, t: torch.Tensor, dtype: torch.dtype = torch.float32) -> nn.Module:
    m = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8)).to(dtype)
    m.register_buffer(name, t)
    return m


REFUSED_INITS: list[tuple[Callable[[], nn.Module], list[xt.Rule], type, str]] = [
    (
        lambda: with_buffer("count", torch.zeros(3, dtype=torch.int64)),
        [xt.Rule(xt.Constant(math.inf), name="count")],
        ValueError,
        r"count \(rule .*Constant\(value=inf\).*value must be an integer in",
    ),
    (
        lambda: with_buffer("count", torch.zeros(3, dtype=torch.int64)),
        [xt.Rule(xt.Constant(1.5), name="count")],
        ValueError,
        r"count .*value must be an integer",
    ),
    (
        lambda: with_buffer("big", torch.zeros(3, dtype=torch.float16), torch.float16),
        [xt.Rule(xt.Constant(1e6), name="big")],
        ValueError,
        r"big .*value must be finite in big's dtype torch.float16 \(at most 65504",
    ),
    (
        lambda: with_buffer("wide", torch.zeros(3).expand(4, 3)),
        [xt.Rule(xt.Normal(), name="wide")],
        ValueError,
        r"wide must have one memory location per element for a random fill",
    ),
    (
        lambda: with_buffer("flat", torch.zeros(5)),
        [xt.Rule(xt.XavierUniform(), name="flat")],
        ValueError,
        r"flat \(rule .*XavierUniform.*must have rank >= 2",
    ),
    (
        lambda: with_buffer("tiny", torch.zeros(4, 4, dtype=torch.float16), torch.float16),
        [xt.Rule(xt.Normal(0.0, 1e-6), name="tiny")],
        ValueError,
        r"tiny \(rule .*Normal.*std must fit float16",
    ),
]


@pytest.mark.parametrize(("make", "rules", "error", "match"), REFUSED_INITS)
def test_init_module_checks_everything_before_the_first_write(
    make: Callable[[], nn.Module], rules: list[xt.Rule], error: type, match: str
) -> None:
    m = make()
    before = snapshot(m)
    with pytest.raises(error, match=match):
        xt.init_module(m, "torch_default", seed=0, rules=rules)
    assert unchanged(m, before)


def test_a_padding_row_outside_the_weight_is_refused_before_writing() -> None:
    m = nn.Sequential(nn.Linear(4, 4), nn.Embedding(10, 4, padding_idx=3))
    m[1].padding_idx = 10  # set after construction, where torch no longer checks it
    before = snapshot(m)
    with pytest.raises(ValueError, match=r"1\.weight \(rule .*padding_idx of Embedding must be a row of its weight"):
        xt.init_module(m, "torch_default", seed=0)
    assert unchanged(m, before)


class Vit(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 16))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 16))
        self.fc = nn.Linear(16, 16)


def test_a_refused_materialize_leaves_the_meta_module_and_a_retry_works() -> None:
    with torch.device("meta"):
        m = Vit().half()  # N(0, 1e-6) of cls_token is below float16's normal range
    with pytest.raises(ValueError, match=r"cls_token \(rule .*std=1e-06.*std must fit float16"):
        xt.materialize(m, "vit", seed=0)
    assert all_meta(m)
    report = xt.materialize(m, [xt.Rule(xt.Constant(0.0), name="cls_token"), *xt.vit()], seed=0)
    assert not any(t.is_meta for t in m.parameters()) and len(report.filled) == 4
    assert bool((m.cls_token == 0).all()) and bool(torch.isfinite(m.fc.weight).all())


class Rotary(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.register_buffer("inv_freq", torch.zeros(4))


def raises_key_error(owner: nn.Module, local: str, like: torch.Tensor) -> torch.Tensor:
    return {"dim": like}[local]


BAD_HOOKS: list[tuple[Callable[..., Any], type, str]] = [
    (lambda o, n, like: torch.zeros(5), ValueError, r"must return 4 elements \(shape \(4,\)\), got shape \(5,\)"),
    (raises_key_error, ValueError, r"must compute the tensor's value, got KeyError: 'inv_freq'"),
    (lambda o, n, like: [1.0] * 4, TypeError, r"must return a torch\.Tensor, got list"),
    (lambda o, n, like: like, ValueError, r"must return a tensor with storage, got a meta tensor"),
    (lambda o, n, like: o.missing, ValueError, r"must compute the tensor's value, got AttributeError"),
    (lambda o, n, like: torch.ones(4, dtype=torch.complex64), TypeError, r"must return a real tensor"),
    (lambda o, n, like: torch.full((4,), 1e6), ValueError, r"must return values that torch\.float16 holds"),
]


@pytest.mark.parametrize(("hook", "error", "match"), BAD_HOOKS)
def test_a_failing_hook_is_named_and_leaves_the_module_on_the_meta_device(
    hook: Callable[..., Any], error: type, match: str
) -> None:
    with torch.device("meta"):
        m = Rotary().half()
    with pytest.raises(error, match=r"hooks\['\*inv_freq'\] for inv_freq " + match):
        xt.materialize(m, "torch_default", seed=0, hooks={"*inv_freq": hook})
    assert all_meta(m)


def test_materialize_without_meta_tensors_is_refused() -> None:
    with torch.device("meta"):
        m = Rotary()
    xt.materialize(m, "torch_default", seed=0, hooks={"*inv_freq": xt.rope_inv_freq()})
    before = snapshot(m)
    with pytest.raises(ValueError, match=r"module must have meta tensors to materialize, got Rotary with none"):
        xt.materialize(m, "torch_default", seed=0, hooks={"*inv_freq": xt.rope_inv_freq()})
    assert unchanged(m, before)


def test_only_matching_nothing_is_refused() -> None:
    m = nn.Sequential(nn.Linear(4, 4))
    before = snapshot(m)
    with pytest.raises(ValueError, match=r"only\[1\] must match the qualified name of a tensor .*got 'O\.\*'"):
        xt.init_module(m, seed=0, only=["0.*", "O.*"])
    assert unchanged(m, before)


# --- wrappers ---------------------------------------------------------------------------
class HasModuleChild(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.module = nn.Linear(8, 8)  # a child really called `module`: its names must keep the prefix


def test_wrappers_are_unwrapped_by_type_and_give_the_models_own_bits() -> None:
    ref = HasModuleChild()
    xt.init_module(ref, seed=4)
    for wrap in (nn.DataParallel, torch.compile):
        m = HasModuleChild()
        with warnings.catch_warnings():  # importing torch._dynamo warns of torch.jit's deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            wrapped = wrap(m)
        report = xt.init_module(wrapped, seed=4)  # type: ignore[arg-type]
        assert set(report.filled) == {"module.weight", "module.bias"}
        assert torch.equal(m.module.weight, ref.module.weight) and torch.equal(m.module.bias, ref.module.bias)
    with torch.device("meta"):
        meta = HasModuleChild()
    xt.materialize(nn.DataParallel(meta), seed=4)
    assert torch.equal(meta.module.weight, ref.module.weight)
    assert "torch._dynamo.eval_frame" in sys.modules  # torch.compile's wrapper class was the one looked up


# --- the in-place functions' refusals -----------------------------------------------------
REFUSED_CALLS: list[tuple[Callable[[], Any], type, str]] = [
    (lambda: xt.normal_(torch.zeros(3).expand(4, 3), seed=0), ValueError, r"tensor must have one memory location"),
    (lambda: xt.uniform_(torch.zeros(1, 8).expand(20, 8), seed=0), ValueError, r"an expanded view"),
    (lambda: xt.constant_(torch.zeros(3, dtype=torch.float16), 1e10), ValueError, r"val must be finite in tensor's"),
    (lambda: xt.dirac_(torch.zeros(4, 4, 3), groups=0), ValueError, r"groups must be an int >= 1, got 0"),
    (lambda: xt.dirac_(torch.zeros(4, 4, 3), groups=3), ValueError, r"groups must divide the tensor's first"),
    (lambda: xt.KaimingNormal(a="x"), TypeError, r"a must be a finite real number, got 'x'"),  # type: ignore[arg-type]
    (lambda: xt.KaimingUniform(mode="bad"), ValueError, r"mode must be one of 'fan_in', 'fan_out', got 'bad'"),
    (lambda: xt.KaimingUniform(nonlinearity="bad"), ValueError, r"nonlinearity must be one of"),
    (lambda: xt.XavierUniform(gain=-1), ValueError, r"gain must be a finite real number >= 0\.0, got -1"),
    (lambda: xt.XavierNormal(gain=math.nan), ValueError, r"gain must be a finite real number"),
    (lambda: xt.Normal(padding_idx=1), TypeError, r"padding_idx must be a bool"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "error", "match"), REFUSED_CALLS)
def test_bad_calls_and_inits_get_the_librarys_errors(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_a_constant_fill_of_an_expanded_tensor_is_one_value_and_allowed() -> None:
    base = torch.zeros(3)
    xt.constant_(base.expand(4, 3), 2.0)  # every element the same value: no draw is lost
    assert torch.equal(base, torch.full((3,), 2.0))
