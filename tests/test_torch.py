"""xinit_bench.torch: the in-place functions, init_module's presets and streams, materialize, bad input.

Statistics: each parameter initialised by ``init_module`` is compared with the
same parameter initialised by torch's own code path (``reset_parameters``, or
the Hugging Face / timm formula written out below) by a two-sample
Kolmogorov-Smirnov test, p > 1e-4.  Under the null the p-value is uniform, so
one comparison fails with probability 1e-4, and the ~150 comparisons of this
file with probability about 1.5 %; the seeds are fixed, so the outcome is the
same on every run and machine (the bits do not depend on the thread count).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numba
import numpy as np
import pytest
import torch
from scipy import stats
from test_threads import CHILD_PRELUDE, run_child
from torch import nn

import xinit_bench as xb
from xinit_bench import batch, half
from xinit_bench import torch as xt
from xinit_bench.plans import distribution_plan
from xinit_bench.perf import models

P_MIN = 1e-4
GPT2_TINY = models.MODELS["gpt2-tiny"]
LLAMA_TINY = models.MODELS["llama-tiny-bf16"]


def conv_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.GroupNorm(4, 32),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.LayerNorm(64),
        nn.Linear(64, 10),
    )


def gpt2_tiny() -> nn.Module:
    return models.build(GPT2_TINY)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict(keep_vars=True).items()}


# --- the torch side of the parity tests: torch's own code paths, written out ----------
def hf_gpt2(model: nn.Module, n_layer: int) -> None:
    """Hugging Face GPT-2's _init_weights: N(0, 0.02), c_proj.weight N(0, 0.02 / sqrt(2 n_layer)), zero biases."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, 0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.normal_(0.0, 0.02)
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
        for name, p in model.named_parameters():
            if name.endswith("c_proj.weight"):
                p.normal_(0.0, 0.02 / math.sqrt(2 * n_layer))


def hf_llama(model: nn.Module) -> None:
    """Hugging Face LLaMA's _init_weights: Linear and Embedding N(0, 0.02), zero biases."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.normal_(0.0, 0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.zero_()


def timm_vit(model: nn.Module) -> None:
    """timm's init_weights_vit_timm: Linear trunc_normal_(std=0.02) (bounds +-2 absolute), zero biases.

    A tied weight is drawn once, by the rule of its first name (as init_module
    does): GPT-2's lm_head.weight is wte.weight, an Embedding's weight.
    """
    first = {id(p): n for n, p in reversed(list(model.named_parameters(remove_duplicate=False)))}
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, nn.Linear) and first[id(m.weight)] == ".".join(filter(None, (name, "weight"))):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    m.bias.zero_()


TORCH_PATHS: dict[str, Callable[[nn.Module], None]] = {
    "torch_default": lambda m: None,  # construction ran reset_parameters
    "gpt2": lambda m: hf_gpt2(m, GPT2_TINY.n_layer),
    "llama": hf_llama,
    "vit": timm_vit,
}
BUILDERS: dict[str, Callable[[], nn.Module]] = {"gpt2_tiny": gpt2_tiny, "conv_net": conv_net}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("preset", sorted(TORCH_PATHS))
def test_every_parameter_has_torchs_distribution(preset: str, builder: str) -> None:
    torch.manual_seed(1234)
    ref = BUILDERS[builder]()
    TORCH_PATHS[preset](ref)
    ours = BUILDERS[builder]()
    rules = xt.gpt2(GPT2_TINY.n_layer) if preset == "gpt2" else preset
    report = xt.init_module(ours, rules, seed=99)
    ref_state, our_state = ref.state_dict(), ours.state_dict()
    assert report.untouched == []
    tested = 0
    for name, want in ref_state.items():
        got = our_state[name]
        assert got.shape == want.shape and got.dtype == want.dtype, name
        if got.dim() >= 2:  # the same fans
            assert xb.compute_fans(tuple(got.shape)) == nn.init._calculate_fan_in_and_fan_out(want), name
        w, g = want.double().flatten().numpy(), got.double().flatten().numpy()
        if np.all(w == w[0]):  # a constant (norm weights, zero biases, running statistics)
            assert np.array_equal(g, w), name
            continue
        p = stats.ks_2samp(w, g).pvalue
        assert p > P_MIN, f"{preset}/{builder}: {name} KS p = {p:.2e}"
        tested += 1
    assert tested >= 3


def test_torch_default_of_attention_and_embeddings_matches_reset_parameters() -> None:
    torch.manual_seed(5)
    ref = nn.ModuleDict({"mha": nn.MultiheadAttention(64, 4, add_bias_kv=True), "emb": nn.Embedding(300, 32, 3)})
    ours = nn.ModuleDict({"mha": nn.MultiheadAttention(64, 4, add_bias_kv=True), "emb": nn.Embedding(300, 32, 3)})
    xt.init_module(ours, "torch_default", seed=7)
    for name, want in ref.state_dict().items():
        got = ours.state_dict()[name]
        w, g = want.flatten().numpy(), got.flatten().numpy()
        if np.all(w == w[0]):
            assert np.array_equal(g, w), name
        else:
            assert stats.ks_2samp(w, g).pvalue > P_MIN, name
    assert bool((ours["emb"].weight[3] == 0).all())  # the padding row


# --- the in-place functions --------------------------------------------------------
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
NP_DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.bfloat16: "bfloat16"}


def as_numpy(t: torch.Tensor) -> np.ndarray[Any, Any]:
    if t.dtype == torch.bfloat16:
        return t.detach().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.detach().numpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_functions_give_the_samplers_bits(dtype: torch.dtype) -> None:
    shape, dt = (96, 40), NP_DTYPES[dtype]
    cases: list[tuple[Callable[..., torch.Tensor], tuple[Any, ...], Any]] = [
        (xt.uniform_, (-0.5, 2.0), lambda: xb.uniform(shape, -0.5, 2.0, seed=3, dtype=dt)),
        (xt.normal_, (0.1, 0.02), lambda: xb.normal(shape, 0.1, 0.02, seed=3, dtype=dt)),
        (xt.trunc_normal_, (0.0, 0.02, -0.03, 0.04),
         lambda: xb.truncated_normal(shape, 0.0, 0.02, -0.03, 0.04, absolute=True, seed=3, dtype=dt)),
        (xt.xavier_uniform_, (1.5,), lambda: xb.xavier_uniform(shape, gain=1.5, seed=3, dtype=dt)),
        (xt.xavier_normal_, (), lambda: xb.xavier_normal(shape, seed=3, dtype=dt)),
        (xt.kaiming_uniform_, (math.sqrt(5),), lambda: xb.he_uniform(shape, a=math.sqrt(5), seed=3, dtype=dt)),
        (xt.kaiming_normal_, (0.0, "fan_out", "relu"),
         lambda: xb.he_normal(shape, mode="fan_out", nonlinearity="relu", seed=3, dtype=dt)),
    ]  # fmt: skip
    for fn, args, expected in cases:
        t = torch.empty(shape, dtype=dtype)
        out = fn(t, *args, seed=3)
        assert out is t
        assert np.array_equal(as_numpy(t), expected()), fn.__name__


def test_half_fill_is_the_clamped_rounding_of_the_float32_fill() -> None:
    # xavier_uniform((768, 768)) in bf16: plain rounding reaches the excluded bound over a thousand times.
    shape = (768, 768)
    f32 = xt.xavier_uniform_(torch.empty(shape), seed=11).numpy()
    bound = math.sqrt(6.0 / (768 + 768))
    plan = distribution_plan("uniform", 2.0 / (768 + 768))
    for torch_dt, np_dt in ((torch.bfloat16, np.dtype(ml_dtypes.bfloat16)), (torch.float16, np.dtype(np.float16))):
        h = xt.xavier_uniform_(torch.empty(shape, dtype=torch_dt), seed=11)
        lo, hi = half.clamps(*plan(np.dtype(np.float32)), np_dt, "test")
        # lo and hi are half values, so clipping in float32 is exact (np.clip of ml_dtypes scalars is not usable)
        want = np.clip(f32.astype(np_dt).astype(np.float32), lo, hi).astype(np_dt)
        assert np.array_equal(as_numpy(h).view(np.uint16), want.view(np.uint16)), np_dt
        assert float(np.abs(as_numpy(h).astype(np.float32)).max()) < bound
    assert int((np.abs(f32.astype(ml_dtypes.bfloat16).astype(np.float32)) >= np.float32(bound)).sum()) > 0


def test_parameters_are_filled_in_place_without_copies_or_torchs_rng() -> None:
    p = nn.Parameter(torch.empty(64, 32, dtype=torch.bfloat16))
    ptr = p.data_ptr()
    state = torch.get_rng_state()
    xt.normal_(p, 0.0, 0.02, seed=1)
    assert p.data_ptr() == ptr and p.requires_grad and isinstance(p, nn.Parameter)
    assert torch.equal(torch.get_rng_state(), state)
    g = xb.Generator(4)
    a = xt.normal_(torch.empty(10), generator=g)
    b = xt.normal_(torch.empty(10), generator=g)
    assert g.stream == 2 and np.array_equal(a.numpy(), xb.normal(10, seed=4)) and not torch.equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.empty(40, 96).t(),  # transposed: the temporary and copy_
        lambda: torch.empty(96, 64)[:, 8:48],  # rows of 40 with stride 64: written in place as runs
        lambda: torch.empty(2, 96, 50)[1, :, 5:45],
        lambda: torch.empty(96, 80)[:, ::2],  # stride 2 innermost: the temporary
        lambda: torch.empty(96, 44)[:, :40].to(torch.bfloat16)[:, :],
    ],
)
def test_a_strided_view_gets_the_values_of_a_contiguous_fill(make: Callable[[], torch.Tensor]) -> None:
    view = make()
    assert tuple(view.shape) == (96, 40)
    dt = NP_DTYPES[view.dtype]
    base_before = view.detach().clone()
    xt.normal_(view, 0.0, 1.0, seed=8)
    assert np.array_equal(as_numpy(view.contiguous()), xb.normal((96, 40), seed=8, dtype=dt))
    assert not torch.equal(view, base_before)


def test_runs_leave_the_rest_of_the_storage_alone() -> None:
    base = torch.full((96, 64), 7.0)
    xt.uniform_(base[:, 8:48], seed=2)
    assert bool((base[:, :8] == 7).all()) and bool((base[:, 48:] == 7).all())


# --- init_module: streams, subsets, order, threads, launches --------------------------
def values(module: nn.Module) -> dict[str, np.ndarray[Any, Any]]:
    return {k: as_numpy(v).copy() for k, v in module.state_dict().items()}


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


def test_custom_rules_come_before_the_preset() -> None:
    m = conv_net()
    rules = [xt.Rule(xt.Constant(0.5), nn.Conv2d, "bias"), xt.Rule(xt.Normal(0.0, 0.01), name="6.weight")]
    report = xt.init_module(m, "torch_default", seed=1, rules=rules)
    assert bool((m[0].bias == 0.5).all()) and bool((m[3].bias == 0.5).all())
    assert report.filled["6.weight"].startswith("Normal(mean=0.0, std=0.01")


def test_the_presets_table() -> None:
    assert set(xt.PRESETS) == {"torch_default", "gpt2", "llama", "vit"}
    with pytest.raises(ValueError, match=r"gpt2\(n_layer=\.\.\.\)"):
        xt.init_module(conv_net(), "gpt2", seed=0)


# --- bad input: a clear error, nothing written -------------------------------------
class _FakeCuda(torch.Tensor):
    @property  # type: ignore[override]
    def device(self) -> torch.device:
        return torch.device("cuda", 0)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: torch.zeros(8, 8, dtype=torch.int64), TypeError, "float32, float64, float16 or bfloat16"),
        (lambda: torch.zeros(8, 8, dtype=torch.complex64), TypeError, "float32, float64, float16 or bfloat16"),
        (lambda: torch.empty(8, 8, device="meta"), ValueError, "meta tensor"),
        (lambda: torch.Tensor._make_subclass(_FakeCuda, torch.zeros(8, 8)), ValueError, "CPU tensor, got .* on cuda"),
        (lambda: np.zeros((8, 8), np.float32), TypeError, "torch.Tensor"),
    ],
)  # fmt: skip
def test_in_place_functions_refuse_what_they_cannot_fill(make: Callable[[], Any], error: type, match: str) -> None:
    for fn in (xt.normal_, xt.uniform_, xt.xavier_uniform_, xt.kaiming_normal_, xt.trunc_normal_, xt.zeros_):
        t = make()
        with pytest.raises(error, match=match):
            fn(t) if fn is xt.zeros_ else fn(t, seed=0)
        if isinstance(t, torch.Tensor) and not t.is_meta:
            assert bool((t.as_subclass(torch.Tensor) == 0).all())


def test_a_torch_generator_is_refused_naming_the_alternatives() -> None:
    t = torch.full((4, 4), 7.0)
    with pytest.raises(TypeError, match=r"torch\.Generator.*seed=<int>.*xinit_bench\.Generator"):
        xt.normal_(t, generator=torch.Generator())
    assert bool((t == 7).all())


def test_refused_calls_write_nothing_and_advance_no_generator() -> None:
    g = xb.Generator(0)
    t = torch.full((4, 4), 7.0, dtype=torch.float16)
    for call in (
        lambda: xt.uniform_(t, 1.0, 0.0, generator=g),
        lambda: xt.normal_(t, 0.0, 1e6, generator=g),  # the largest sample overflows float16
        lambda: xt.kaiming_uniform_(t, mode="fan_avg", generator=g),
        lambda: xt.xavier_normal_(torch.empty(4), generator=g),
    ):
        with pytest.raises(ValueError):
            call()
    assert g.stream == 0 and bool((t == 7).all())


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


# --- materialize -------------------------------------------------------------------
def test_materialize_fills_a_meta_model_as_init_module_fills_a_built_one() -> None:
    with torch.device("meta"):
        meta = models.build(LLAMA_TINY)
    with pytest.raises(ValueError, match=r"rotary_emb\.inv_freq \(8,\) torch\.float32"):
        xt.materialize(meta, "llama", seed=4)
    assert all(p.is_meta for p in meta.parameters())  # nothing allocated by the refused call
    report = xt.materialize(meta, "llama", seed=4, hooks={"*.inv_freq": xt.rope_inv_freq()})
    built = models.build(LLAMA_TINY)
    xt.init_module(built, "llama", seed=4)
    assert not any(t.is_meta for t in [*meta.parameters(), *meta.buffers()])
    got, want = values(meta), values(built)
    for k in want:
        assert np.array_equal(got[k], want[k]), k
    assert torch.allclose(meta.rotary_emb.inv_freq, built.rotary_emb.inv_freq)
    assert report.filled["rotary_emb.inv_freq"].startswith("hook")


def test_materialize_keeps_ties() -> None:
    with torch.device("meta"):
        m = gpt2_tiny()
    xt.materialize(m, "gpt2", seed=0)
    assert m.lm_head.weight is m.wte.weight and not m.wte.weight.is_meta
    assert isinstance(m.wte.weight, nn.Parameter)


# --- fork: a DataLoader with two fork workers ----------------------------------------
_DATALOADER_CHILD = (
    CHILD_PRELUDE
    + r"""
import torch
from torch.utils.data import DataLoader, Dataset
from xinit_bench import torch as xt
from xinit_bench.plans import distribution_plan

class Weights(Dataset):
    def __len__(self):
        return 6
    def __getitem__(self, i):
        t = torch.empty(1 << 20, dtype=torch.bfloat16 if i % 2 else torch.float32)
        xt.normal_(t, 0.0, 0.02, seed=i)  # well above the serial threshold: a parallel fill
        return hashlib.sha256(t.view(torch.int16 if i % 2 else torch.int32).numpy().tobytes()).hexdigest()

parent = [Weights()[i] for i in range(6)]
loader = DataLoader(Weights(), batch_size=None, num_workers=2, multiprocessing_context="fork", timeout=120)
got = list(loader)
print(json.dumps({"layer": runtime.threading_layer(), "equal": [a == b for a, b in zip(got, parent)]}))
"""
)


@pytest.mark.parametrize("layer", ["default", "omp"])
def test_a_dataloader_with_two_fork_workers_fills_the_parents_bits(layer: str) -> None:
    result = run_child(_DATALOADER_CHILD, layer)
    assert result["equal"] == [True] * 6


# --- the benchmark code, on a tiny model --------------------------------------------
def test_the_model_benchmark_runs_on_tiny_models() -> None:
    for name in ("gpt2-tiny", "llama-tiny-bf16"):
        r = models.measure_model(models.MODELS[name], repeats=1)
        assert set(r["median_s"]) == {"default construction", "torch nn.init loop", "xinit init_module"}
        assert r["speedup_vs_loop"] > 0 and r["parameters"] > 0


def test_the_torch_loop_draws_the_presets_distributions() -> None:
    spec = models.ModelSpec("gpt2", 64, 2, 256, 2000, 4, positions=64)
    ref, ours = models.build(spec), models.build(spec)
    torch.manual_seed(0)
    models.torch_loop(ref, spec)
    xt.init_module(ours, "gpt2", seed=0)
    for k, w in values(ref).items():
        g = values(ours)[k]
        if np.all(w == w.flat[0]):
            assert np.array_equal(g, w), k
        else:
            assert stats.ks_2samp(w.ravel(), g.ravel()).pvalue > P_MIN, k


def test_the_models_subcommand_prints_json_for_a_tiny_model(capsys: pytest.CaptureFixture[str]) -> None:
    from xinit_bench.cli import main
    from xinit_bench.cli.models import MODEL_NAMES

    assert tuple(models.MODELS) == MODEL_NAMES
    assert main(["models", "--models", "gpt2-tiny", "--repeats", "1", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "gpt2-tiny" and row["repeats"] == 1


@pytest.mark.parametrize("impl", ["default", "torch_loop", "xinit"])
def test_the_asv_model_benchmark_runs_on_a_tiny_model(impl: str) -> None:
    import importlib

    bench = importlib.import_module("benchmarks.bench_models")
    case = bench.ModelInit()
    case.setup("gpt2-tiny", impl)
    case.time_init("gpt2-tiny", impl)
