"""A random LLaMA checkpoint to sharded safetensors: throughput against the disk's own speed, and peak memory.

Not a test (it writes gigabytes)::

    python benchmarks/bench_checkpoint.py --model 7b --dir /work/tmp     # about 13.5 GB of bf16, twice
    python benchmarks/bench_checkpoint.py --model 1b --adhoc --dir /work/tmp

Each run, in this order, every side in a fresh child process:

1. **the disk's sequential write speed**: a file of the checkpoint's size
   written from one constant 64 MiB buffer (``os.write``), ``fsync`` before
   the clock stops; then the file is deleted, so that the page cache does not
   hold it while the checkpoint is written;
2. **save_checkpoint** of the config (bf16, 5 GB shards); its own clock ends
   after the last shard's ``fsync``.  The child reports its peak resident
   memory (``VmHWM``) above the resident memory after its imports (``VmRSS``);
3. with ``--adhoc``, **the ad hoc recipe** on the same config: a meta model,
   ``to_empty``, transformers' own ``init_weights``, ``save_pretrained``, then
   ``os.sync()`` inside the clock, for the wall time it takes.

The checkpoint's ratio to the disk's speed and the projected time of a
LLaMA-2-70B-shaped checkpoint (138 GB of bf16) from the measured GB/s are
printed; the projection is arithmetic, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

#: LLaMA shapes (hidden, intermediate, layers, heads, key-value heads, vocabulary).
MODELS = {
    "7b": (4096, 11008, 32, 32, 32, 32000),
    "1b": (2048, 5632, 22, 32, 4, 32000),  # TinyLlama-1.1B
    "tiny": (1024, 2816, 8, 16, 16, 32000),
}
BYTES_70B = 68_976_648_192 * 2  # LLaMA-2-70B's parameters in bf16

CHILD_DISK = r"""
import json, os, sys, time
path, size = sys.argv[1], int(sys.argv[2])
buf = b"\x01" * (64 << 20)
t0 = time.perf_counter()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
left = size
while left > 0:
    left -= os.write(fd, buf if left >= len(buf) else buf[:left])
os.fsync(fd); os.close(fd)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

CHILD_SAVE = r"""
import json, sys, time
import torch, transformers
from xinit_bench.torch import save_checkpoint
def status(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key))
config = transformers.LlamaConfig(**json.loads(sys.argv[2]))
small = transformers.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4,
                                  vocab_size=256, bos_token_id=1, eos_token_id=2)
save_checkpoint(small, "llama", 0, sys.argv[1] + ".warm", dtype="bfloat16", overwrite=True)  # compiles the kernels
base = status("VmRSS:")
r = save_checkpoint(config, "llama", 0, sys.argv[1], dtype="bfloat16", workers=int(sys.argv[3]))
print(json.dumps({"seconds": r.seconds, "bytes": r.bytes_written, "shards": r.shards_total,
                  "peak_above_imports": status("VmHWM:") - base, "rss_after_imports": base}))
"""

CHILD_ADHOC = r"""
import json, os, sys, time
import torch, transformers
config = transformers.LlamaConfig(**json.loads(sys.argv[2]))
t0 = time.perf_counter()
with torch.device("meta"):
    model = transformers.LlamaForCausalLM(config)
model = model.to_empty(device="cpu").to(torch.bfloat16)
model.init_weights()
model.save_pretrained(sys.argv[1], max_shard_size="5GB")
os.sync()
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def child(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def config_of(name: str, tiny_layers: int | None = None) -> dict[str, int]:
    hidden, inter, layers, heads, kv, vocab = MODELS[name]
    return {
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": tiny_layers or layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "vocab_size": vocab,
        "bos_token_id": 1,
        "eos_token_id": 2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=tuple(MODELS), default="7b")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--adhoc", action="store_true", help="also time the ad hoc recipe (the model in memory)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    config = json.dumps(config_of(args.model))
    import torch
    import transformers  # the size, from a meta model of the same config

    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**json.loads(config)))
    size = sum(p.numel() for p in model.parameters()) * 2
    free = shutil.disk_usage(args.dir).free
    if free < 2.2 * size:
        raise SystemExit(f"{args.dir} has {free / 1e9:.1f} GB free; this run needs {2.2 * size / 1e9:.1f} GB")
    rows = []
    for run in range(args.runs):
        ref, ckpt, adhoc = args.dir / "disk-reference.bin", args.dir / "ckpt-xinit", args.dir / "ckpt-adhoc"
        disk = child(CHILD_DISK, str(ref), str(size))
        ref.unlink()
        save = child(CHILD_SAVE, str(ckpt), config, str(args.workers))
        shutil.rmtree(ckpt)
        shutil.rmtree(f"{ckpt}.warm")
        row = {
            "run": run,
            "gb": size / 1e9,
            "disk_gb_s": size / disk["seconds"] / 1e9,
            "ckpt_gb_s": save["bytes"] / save["seconds"] / 1e9,
            "ckpt_seconds": save["seconds"],
            "shards": save["shards"],
            "peak_above_imports_gib": save["peak_above_imports"] / 2**30,
        }
        if args.adhoc:
            row["adhoc_seconds"] = child(CHILD_ADHOC, str(adhoc), config)["seconds"]
            shutil.rmtree(adhoc)
        row["ratio"] = row["ckpt_gb_s"] / row["disk_gb_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "run"}
    print(
        f"LLaMA-{args.model} bf16, {med['gb']:.2f} GB in {int(med['shards'])} shards, {args.runs} run(s), medians: "
        f"disk {med['disk_gb_s']:.2f} GB/s, save_checkpoint {med['ckpt_gb_s']:.2f} GB/s ({med['ratio']:.2f}x the "
        f"disk), {med['ckpt_seconds']:.1f} s, peak RSS {med['peak_above_imports_gib']:.2f} GiB above the imports"
    )
    if args.adhoc:
        print(f"ad hoc recipe (to_empty, init_weights, save_pretrained): {med['adhoc_seconds']:.1f} s")
    print(
        f"projected, not measured: LLaMA-2-70B bf16 ({BYTES_70B / 1e9:.0f} GB) in "
        f"{BYTES_70B / 1e9 / med['ckpt_gb_s'] / 60:.1f} min at the measured GB/s"
    )


if __name__ == "__main__":
    main()
