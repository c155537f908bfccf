"""save_checkpoint: sharded safetensors whose every tensor equals init_module's, over processes and shard splits.

The files are read twice: by the reader below, written from the safetensors
format's description (8-byte little-endian header length, JSON header,
back-to-back raw bytes), and, where installed, by ``safetensors`` and
``transformers`` themselves.  The reference values always come from
``init_module`` / ``materialize`` on a model of the same construction,
never from the writer.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from xinit_bench.torch import checkpoint as ck  # noqa: E402
from xinit_bench.torch import init_module, materialize, rope_inv_freq  # noqa: E402
from xinit_bench.torch import writer as ck_writer  # noqa: E402

#: A small model with every case of the layout: a tied embedding with a padding row, biases, norms, a
#: non-persistent buffer, and tensors of two kernel kinds (torch_default's uniform weights, the normal embedding).
MODEL = """
import torch
from torch import nn

class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(300, 48, padding_idx=1)
        self.up = nn.Linear(48, 96)
        self.norm = nn.LayerNorm(96)
        self.down = nn.Linear(96, 48)
        self.head = nn.Linear(48, 300, bias=False)
        self.head.weight = self.emb.weight
        self.register_buffer("mask", torch.ones(8), persistent=False)

def build(dtype=torch.float32):
    with torch.device("meta"):
        return Tiny().to(dtype)

def rules():  # a second kernel kind beside torch_default's uniform Linear weights
    from xinit_bench.torch import Normal, Rule
    return [Rule(Normal(0.0, 0.1), nn.Linear, "bias")]
"""
_ns: dict[str, Any] = {}
exec(MODEL, _ns)
build, rules = _ns["build"], _ns["rules"]


def read_safetensors(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The header and the tensors of a safetensors file, from the format alone; checks its layout as it goes."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    assert n % 8 == 0, "the header is padded to a multiple of 8 bytes"
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    codes = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    assert spans[0][0] == 0 and spans[-1][1] == len(body), "the tensors cover the data exactly"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans)), "no gap, no overlap"
    tensors = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        lo, hi = v["data_offsets"]
        dt = codes[v["dtype"]]
        assert lo % dt.itemsize == 0, f"{name} starts at a multiple of its element size"
        tensors[name] = torch.frombuffer(bytearray(body[lo:hi]), dtype=dt).reshape(v["shape"])
    return header, tensors


def read_checkpoint(folder: Path) -> dict[str, torch.Tensor]:
    index = json.loads((folder / ck.INDEX).read_text())
    out: dict[str, torch.Tensor] = {}
    for file in sorted(set(index["weight_map"].values())):
        _, tensors = read_safetensors(folder / file)
        assert {k for k, f in index["weight_map"].items() if f == file} == set(tensors)
        out.update(tensors)
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in out.values())
    return out


def reference(dtype: Any, preset: str, seed: int, extra: Any = ()) -> dict[str, torch.Tensor]:
    model = build(dtype)
    model.to_empty(device="cpu")
    init_module(model, preset, seed=seed, rules=extra)
    return model.state_dict()


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.contiguous().view(torch.uint8).equal(b.view(torch.uint8))


# --- the bits ---------------------------------------------------------------------------------------------------
@pytest.mark.invariance
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("max_shard_size", [10**9, 40_000, 1])  # one shard; several; one tensor each
def test_every_tensor_equals_init_module(tmp_path: Path, dtype: Any, max_shard_size: int) -> None:
    folder = tmp_path / "ck"
    result = ck.save_checkpoint(build(), "torch_default", 7, folder, dtype=dtype, max_shard_size=max_shard_size)
    got = read_checkpoint(folder)
    want = reference(dtype, "torch_default", 7)
    # the tied head is stored once, under the embedding's name; the non-persistent mask not at all
    assert set(got) == set(want) - {"head.weight"}
    for name, tensor in got.items():
        assert same_bits(tensor, want[name]), name
    assert bool((got["emb.weight"][1] == 0).all()) and bool((got["emb.weight"][0] != 0).any())
    assert (
        result.shards_written
        == result.shards_total
        == len(set(json.loads((folder / ck.INDEX).read_text())["weight_map"].values()))
    )
    if max_shard_size == 1:
        assert result.shards_total == len(got)


@pytest.mark.invariance
@pytest.mark.parametrize("window", [1000, 4096, 12_345])
def test_tensors_cut_over_fill_windows_keep_their_bits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    # A window smaller than a tensor cuts it into runs of its stream; the bits are those of one fill.
    monkeypatch.setattr(ck_writer, "WINDOW", window)
    plan = ck.plan_checkpoint(build(), "torch_default", 7, tmp_path / "ck", dtype="bfloat16", rules=rules())
    assert (
        len(ck_writer._windows(plan.shards[0])) >= 47_520 // window
    )  # 47520 bytes of bf16 draws (the norm is constants)
    ck.write_checkpoint(plan)
    want = reference(torch.bfloat16, "torch_default", 7, rules())
    for name, tensor in read_checkpoint(tmp_path / "ck").items():
        assert same_bits(tensor, want[name]), name


def test_a_wrong_seed_or_preset_is_seen(tmp_path: Path) -> None:
    # The comparison above can fail: a checkpoint of another seed, or another preset, differs from the reference.
    ck.save_checkpoint(build(), "torch_default", 8, tmp_path / "a")
    ck.save_checkpoint(build(), "llama", 7, tmp_path / "b")
    want = reference(torch.float32, "torch_default", 7)
    for folder in (tmp_path / "a", tmp_path / "b"):
        got = read_checkpoint(folder)
        assert not same_bits(got["up.weight"], want["up.weight"])


def test_shard_plan_is_hugging_faces_greedy_split(tmp_path: Path) -> None:
    # state-dict order: emb 57600 B, up.weight 18432, up.bias 384, norm 384 + 384, down.weight 18432, down.bias 192
    plan = ck.plan_checkpoint(build(), "torch_default", 0, tmp_path / "ck", max_shard_size=60_000)
    files = [[t.name for t in s.tensors] for s in plan.shards]
    assert files == [["emb.weight"], ["up.weight", "up.bias", "norm.weight", "norm.bias", "down.weight", "down.bias"]]
    assert [s.file for s in plan.shards] == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert (
        plan.total_size == (300 * 48 + 48 * 96 + 96 * 3 + 96 * 48 + 48) * 4
    )  # weights, up.bias and the norm, down.bias
    assert plan.not_stored == {
        "head.weight": "tied to emb.weight",
        "mask": "not in the state dict (a non-persistent buffer)",
    }
    assert not (tmp_path / "ck").exists()  # planning writes nothing


def test_the_callers_model_stays_on_meta(tmp_path: Path) -> None:
    model = build()
    ck.save_checkpoint(model, "torch_default", 0, tmp_path / "ck", dtype="bfloat16")
    assert all(p.is_meta and p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.known_answer
@pytest.mark.parametrize(
    ("text", "size"),
    [("5GB", 5 * 10**9), ("500MiB", 500 * 2**20), ("1.5KB", 1500), ("64", 64), (123, 123), (" 2 gib ", 2 * 2**30)],
)
def test_parse_size(text: Any, size: int) -> None:
    assert ck.parse_size(text) == size


# --- Hugging Face ----------------------------------------------------------------------------------------------
def hf_configs() -> dict[str, Any]:
    transformers = pytest.importorskip("transformers")
    return {
        "gpt2": transformers.GPT2Config(
            n_layer=2, n_embd=64, n_head=4, vocab_size=512, n_positions=64, bos_token_id=0, eos_token_id=0
        ),
        "llama": transformers.LlamaConfig(
            num_hidden_layers=2, hidden_size=64, intermediate_size=160, num_attention_heads=4, num_key_value_heads=2,
            vocab_size=512, max_position_embeddings=64, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0,
        ),
    }  # fmt: skip


def hf_reference(config: Any, preset: str, seed: int, dtype: Any) -> dict[str, torch.Tensor]:
    import transformers

    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config).to(dtype)
    materialize(model, preset, seed=seed, hooks={"*inv_freq": rope_inv_freq(config.to_dict().get("rope_theta", 1e4))})
    return model.state_dict()


@pytest.mark.parametrize("preset", ["gpt2", "llama"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_safetensors_and_from_pretrained_load_the_bits(tmp_path: Path, preset: str, dtype: Any) -> None:
    safetensors_torch = pytest.importorskip("safetensors.torch")
    import transformers

    config = hf_configs()[preset]
    folder = tmp_path / "ck"
    ck.save_checkpoint(config, preset, 3, folder, dtype=dtype, max_shard_size="100KB")
    want = hf_reference(config, preset, 3, dtype)
    index = json.loads((folder / ck.INDEX).read_text())
    loaded: dict[str, torch.Tensor] = {}
    for file in sorted(set(index["weight_map"].values())):
        loaded.update(safetensors_torch.load_file(folder / file))
    assert len(set(index["weight_map"].values())) > 2
    tied = "transformer.wte.weight" if preset == "gpt2" else "model.embed_tokens.weight"
    assert tied in loaded and "lm_head.weight" not in loaded  # stored once, under the input embedding's name
    assert set(loaded) == set(want) - {"lm_head.weight"}
    for name, tensor in loaded.items():
        assert same_bits(tensor, want[name]), name
    assert json.loads((folder / "config.json").read_text())["model_type"] == preset
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    state = model.state_dict()
    assert state["lm_head.weight"].data_ptr() == state[tied].data_ptr()  # re-tied by from_pretrained
    for name, tensor in state.items():
        assert same_bits(tensor, want[name]), name


def test_a_config_json_path_gives_the_bits_of_the_config_object(tmp_path: Path) -> None:
    config = hf_configs()["llama"]
    config.to_json_file(tmp_path / "config.json")
    ck.save_checkpoint(tmp_path / "config.json", "llama", 5, tmp_path / "a", dtype="bfloat16")
    ck.save_checkpoint(config, "llama", 5, tmp_path / "b", dtype=torch.bfloat16)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


# --- workers and a cluster: the same bytes -------------------------------------------------------------------------
@pytest.mark.invariance
@pytest.mark.slow
def test_two_worker_processes_write_the_bytes_of_one(tmp_path: Path) -> None:
    args: dict[str, Any] = {"dtype": "bfloat16", "max_shard_size": 10_000}
    ck.save_checkpoint(build(), "torch_default", 4, tmp_path / "one", **args)
    ck.save_checkpoint(build(), "torch_default", 4, tmp_path / "two", workers=2, **args)
    assert len(digests(tmp_path / "one")) == 4 and digests(tmp_path / "one") == digests(tmp_path / "two")


@pytest.mark.invariance
@pytest.mark.slow
def test_a_local_cluster_of_two_workers_writes_the_bytes_of_one_process(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    config = hf_configs()["gpt2"]
    ck.save_checkpoint(config, "gpt2", 6, tmp_path / "one", max_shard_size="60KB")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    client = distributed.Client(cluster)
    try:
        ck.save_checkpoint(config, "gpt2", 6, tmp_path / "two", max_shard_size="60KB", workers=client)
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    finally:
        client.close()
        cluster.close()
    assert len(executed) == 2 and all(n > 0 for n in executed.values())  # both worker processes wrote shards
    assert len(digests(tmp_path / "one")) > 4 and digests(tmp_path / "one") == digests(tmp_path / "two")


# --- resume ---------------------------------------------------------------------------------------------------
CHILD = (
    MODEL
    + """
import os, signal, sys
from xinit_bench.torch import checkpoint as ck, writer
real, calls = writer.fill_runs, [0]

def fill_then_die(*args):
    calls[0] += 1
    if calls[0] == int(sys.argv[2]):  # this launch's shard is half filled: its other kind is written already
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args)

writer.fill_runs = fill_then_die
ck.save_checkpoint(build(), "torch_default", 12, sys.argv[1], dtype="bfloat16", max_shard_size=10_000, rules=rules())
"""
)


@pytest.mark.slow
def test_sigkill_mid_shard_then_resume_gives_the_bytes_of_one_run(tmp_path: Path) -> None:
    whole, folder = tmp_path / "whole", tmp_path / "killed"
    args: dict[str, Any] = {"dtype": "bfloat16", "max_shard_size": 10_000, "rules": rules()}
    ck.save_checkpoint(build(), "torch_default", 12, whole, **args)
    # one launch per (kind, dtype) and shard: shard 1 (the embedding) launch 1, shards 2 and 3 two each; launch 5 is
    # the second of shard 3, whose first kind is already in the file when the writer dies
    plan = ck.plan_checkpoint(build(), "torch_default", 12, tmp_path / "x", **args)
    assert [len({t.kind for t in s.tensors if t.kind}) for s in plan.shards] == [1, 2, 2]
    child = subprocess.run([sys.executable, "-c", CHILD, str(folder), "5"], timeout=600, capture_output=True)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    left = sorted(p.name for p in folder.iterdir())
    partial = [n for n in left if n.endswith(ck.PARTIAL)]
    assert partial and partial[-1].startswith("model-00003-of-00003.safetensors.")  # killed inside shard 3
    assert "model-00001-of-00003.safetensors" in left and "model-00003-of-00003.safetensors" not in left
    with pytest.raises(FileExistsError, match="directory must not exist unless overwrite=True or resume=True"):
        ck.save_checkpoint(build(), "torch_default", 12, folder, **args)
    result = ck.save_checkpoint(build(), "torch_default", 12, folder, resume=True, **args)
    assert result.shards_skipped >= 1 and result.shards_written + result.shards_skipped == 3
    assert digests(folder) == digests(whole)


def test_resume_rewrites_a_shard_cut_short_and_skips_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    ck.save_checkpoint(build(), "llama", 2, folder, max_shard_size=10_000)
    whole = digests(folder)
    victim = folder / "model-00002-of-00005.safetensors"
    with victim.open("r+b") as f:
        f.truncate(1000)
    (folder / "model-00004-of-00005.safetensors").unlink()
    result = ck.save_checkpoint(build(), "llama", 2, folder, max_shard_size=10_000, resume=True)
    assert (result.shards_written, result.shards_skipped) == (2, 3)
    assert digests(folder) == whole
    again = ck.save_checkpoint(build(), "llama", 2, folder, max_shard_size=10_000, resume=True)
    assert (again.shards_written, again.bytes_written) == (0, 0)


@pytest.mark.refusal
@pytest.mark.parametrize(
    "change", [{"seed": 3}, {"preset": "torch_default"}, {"dtype": "bfloat16"}, {"max_shard_size": 20_000}]
)
def test_resume_refuses_a_checkpoint_of_other_parameters(tmp_path: Path, change: dict[str, Any]) -> None:
    folder = tmp_path / "ck"
    ck.save_checkpoint(build(), "llama", 2, folder, max_shard_size=30_000)
    before = digests(folder)
    args: dict[str, Any] = {"preset": "llama", "seed": 2, "dtype": None, "max_shard_size": 30_000, **change}
    with pytest.raises(ValueError, match="directory must hold a checkpoint of this same model, preset, seed"):
        ck.save_checkpoint(build(), args.pop("preset"), args.pop("seed"), folder, resume=True, **args)
    assert digests(folder) == before


@pytest.mark.refusal
def test_resume_refuses_another_stream_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ck"
    monkeypatch.setattr(ck, "STREAM_VERSION", 1)
    ck.save_checkpoint(build(), "llama", 2, folder)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="begun under stream version 1 by xinit-bench"):
        ck.save_checkpoint(build(), "llama", 2, folder, resume=True)


def test_overwrite_replaces_a_checkpoint_and_leaves_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    ck.save_checkpoint(build(), "llama", 2, folder, max_shard_size=30_000)
    (folder / "README.md").write_text("mine")
    ck.save_checkpoint(build(), "llama", 9, folder, overwrite=True)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["README.md", "model-00001-of-00001.safetensors", ck.INDEX]
    assert same_bits(read_checkpoint(folder)["up.weight"], reference(torch.float32, "llama", 9)["up.weight"])


# --- bad input: refused before anything is written ----------------------------------------------------------
@pytest.mark.refusal
def test_an_existing_directory_is_refused_without_resume_or_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    folder.mkdir()
    with pytest.raises(FileExistsError, match=r"directory must not exist unless overwrite=True or resume=True"):
        ck.save_checkpoint(build(), "llama", 0, folder)
    assert list(folder.iterdir()) == []
    (folder / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="must be a checkpoint written by xinit-bench"):
        ck.save_checkpoint(build(), "llama", 0, folder, overwrite=True)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


@pytest.mark.refusal
def test_too_little_disk_is_refused_with_the_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = ck.shutil.disk_usage
    monkeypatch.setattr(ck.shutil, "disk_usage", lambda p: real(p)._replace(free=50_000))
    with pytest.raises(
        OSError, match=r"directory needs .* KiB on disk for its 2 shards to write, got 48.83 KiB free"
    ) as info:
        ck.save_checkpoint(build(), "llama", 0, tmp_path / "ck", max_shard_size=60_000)
    assert info.value.errno == errno.ENOSPC
    assert not (tmp_path / "ck").exists()


@pytest.mark.refusal
def test_uncovered_tensors_are_listed(tmp_path: Path) -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 4)
            self.scale = nn.Parameter(torch.empty(4))
            self.register_buffer("table", torch.empty(3, 2))

    with torch.device("meta"):
        model = Odd()
    with pytest.raises(ValueError, match=r"uncovered: scale \(4,\) torch.float32, table \(3, 2\) torch.float32"):
        ck.save_checkpoint(model, "torch_default", 0, tmp_path / "ck")
    assert not (tmp_path / "ck").exists()


@pytest.mark.refusal
@pytest.mark.parametrize("mode", ["overwrite", "resume"])
def test_an_uncovering_preset_leaves_an_existing_checkpoint_as_it_was(tmp_path: Path, mode: str) -> None:
    # A preset that covers the first checkpoint's model but not this one's: refused before any file is touched,
    # whether the call would replace the folder or resume it.
    folder = tmp_path / "ck"
    ck.save_checkpoint(build(), "torch_default", 0, folder, max_shard_size=30_000)
    before = digests(folder)
    odd = build()
    with torch.device("meta"):
        odd.register_parameter("scale", nn.Parameter(torch.empty(5)))
    with pytest.raises(ValueError, match=r"every tensor of the state dict must be covered .* uncovered: scale \(5,\)"):
        ck.save_checkpoint(odd, "torch_default", 0, folder, max_shard_size=30_000, **{mode: True})
    assert digests(folder) == before  # the same files, byte for byte, and no temporary left beside them


@pytest.mark.refusal
def test_a_rule_that_keeps_values_covers_no_stored_tensor(tmp_path: Path) -> None:
    # Skip keeps a tensor's values; a meta tensor has none, so a checkpoint lists it, as materialize does.
    from xinit_bench.torch import Rule, Skip

    keep = [Rule(Skip(), nn.LayerNorm, "bias")]
    with pytest.raises(ValueError, match=r"uncovered: norm\.bias \(96,\) torch\.float32 \(pass rules="):
        ck.save_checkpoint(build(), "torch_default", 0, tmp_path / "ck", rules=keep)
    with pytest.raises(ValueError, match=r"uncovered: norm\.bias \(96,\) torch\.float32 \(pass hooks="):
        materialize(build(), "torch_default", 0, rules=keep, hooks={"mask": lambda owner, local, like: torch.ones(8)})
    assert not (tmp_path / "ck").exists()


def test_a_computed_buffer_is_stored_with_init_modules_values(tmp_path: Path) -> None:
    # A persistent buffer that a Computed rule decides (BERT's position ids) is written with its computed values,
    # not left as zeros; it counts in the fingerprint, so a checkpoint of other values is not resumed.
    from xinit_bench.torch import Computed, Rule

    class Embeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(40, 8)
            self.register_buffer("position_ids", torch.zeros(1, 6, dtype=torch.int64))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = Embeddings()

    with torch.device("meta"):
        meta = Model()
    ck.save_checkpoint(meta, "bert", 3, tmp_path / "ck")
    got = read_checkpoint_any(tmp_path / "ck")
    built = Model()
    init_module(built, "bert", seed=3)
    want = built.state_dict()
    assert set(got) == set(want)
    for name in want:
        assert same_bits(got[name], want[name]), name
    assert got["embeddings.position_ids"].tolist() == [[0, 1, 2, 3, 4, 5]]

    class Backwards(Computed):
        def value(self, tensor: torch.Tensor, owner: nn.Module) -> torch.Tensor:
            return torch.arange(tensor.numel() - 1, -1, -1).reshape(tensor.shape)

    with pytest.raises(ValueError, match="directory must hold a checkpoint of this same model"):
        ck.save_checkpoint(
            meta, "bert", 3, tmp_path / "ck", resume=True, rules=[Rule(Backwards(), None, "*position_ids")]
        )


def read_checkpoint_any(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint whatever its dtype, read by ``safetensors`` itself."""
    load_file = pytest.importorskip("safetensors.torch").load_file
    index = json.loads((folder / ck.INDEX).read_text())
    out: dict[str, torch.Tensor] = {}
    for file in sorted(set(index["weight_map"].values())):
        out.update(load_file(str(folder / file)))
    return out


@pytest.mark.refusal
def test_a_config_transformers_cannot_build_is_refused(tmp_path: Path) -> None:
    config = hf_configs()["llama"]
    broken = config.to_dict()
    broken["hidden_size"] = 66  # not a multiple of the 4 heads: the attention cannot be built
    with pytest.raises(ValueError, match="must be a config that transformers can build a model from"):
        ck.save_checkpoint(broken, "llama", 0, tmp_path / "a")
    with pytest.raises(ValueError, match="model_type 'no-such-model'"):
        ck.save_checkpoint({"model_type": "no-such-model"}, "llama", 0, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_shard_size": "5 parsecs"}, ValueError, "max_shard_size must be a positive number of bytes"),
        ({"max_shard_size": 0}, ValueError, "max_shard_size must be"),
        ({"max_shard_size": 1.5}, TypeError, "max_shard_size must be"),
        ({"dtype": "int8"}, ValueError, "dtype must be one of None, float32"),
        ({"dtype": 3}, TypeError, "dtype must be None, a str or a torch.dtype"),
        ({"workers": 0}, ValueError, "workers must be"),
        ({"resume": True, "overwrite": True}, ValueError, "pass either overwrite=True or resume=True"),
        ({"progress": 3}, TypeError, "progress must be"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        ck.save_checkpoint(build(), "llama", 0, tmp_path / "ck", **kwargs)
    assert not (tmp_path / "ck").exists()


@pytest.mark.refusal
def test_a_model_with_storage_and_a_bad_preset_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tensors are all on the meta device .*, got 2 with storage: weight, bias"):
        ck.save_checkpoint(nn.Linear(3, 3), "llama", 0, tmp_path / "ck")
    with pytest.raises(ValueError, match="preset"):
        ck.save_checkpoint(build(), "no-such-preset", 0, tmp_path / "ck")
    with pytest.raises(TypeError, match=r"model_or_config must be a torch\.nn\.Module on the meta device"):
        ck.save_checkpoint(3.0, "llama", 0, tmp_path / "ck")
    assert not (tmp_path / "ck").exists()


def test_progress_reports_bytes_up_to_the_total(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    plan = ck.plan_checkpoint(build(), "llama", 0, tmp_path / "ck", max_shard_size=30_000)
    ck.write_checkpoint(plan, lambda done, total: seen.append((done, total)))
    total = sum(s.size for s in plan.shards)
    assert seen[0] == (0, total) and seen[-1] == (total, total) and len(seen) == len(plan.shards) + 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert os.path.getsize(tmp_path / "ck" / plan.shards[0].file) == plan.shards[0].size
    assert np.all(np.diff([d for d, _ in seen]) > 0)


@pytest.mark.parametrize("preset", ["gpt2", "llama"])
def test_preset_auto_reads_the_config(tmp_path: Path, preset: str) -> None:
    config = hf_configs()[preset]
    ck.save_checkpoint(config, "auto", 4, tmp_path / "auto", max_shard_size="100KB")
    ck.save_checkpoint(config, preset, 4, tmp_path / "named", max_shard_size="100KB")
    auto, named = read_checkpoint(tmp_path / "auto"), read_checkpoint(tmp_path / "named")
    assert set(auto) == set(named) and all(same_bits(auto[k], named[k]) for k in auto)  # the preset auto picks
    assert (tmp_path / "auto" / "config.json").read_bytes() == (tmp_path / "named" / "config.json").read_bytes()
    # the fingerprint records the preset as given, so neither resumes the other
    with pytest.raises(ValueError, match="directory must hold a checkpoint of this same model, preset"):
        ck.save_checkpoint(config, "auto", 4, tmp_path / "named", max_shard_size="100KB", resume=True)
