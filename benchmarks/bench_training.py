"""The training engine's overhead: the keras-mlp setting through ``train_one`` against plain torch code.

Run as ``python -m benchmarks.bench_training [--runs N] [--epochs E] [--json PATH]``.

The setting is the keras-mlp preset's: digits, 64 -> 128 -> 64 -> 10 ReLU,
Glorot-uniform weights and zero biases, Adam at 1e-3, batch 32, on 1 torch
thread.  Three ways of training it are timed, interleaved round by round in
one process after a warm-up round (the order rotates each round), each for
``--epochs`` epochs from a fresh model:

- ``engine``: :func:`xinit_bench.training.train_one`, its whole wall time
  (model building, the xinit_bench init, the training, the per-epoch
  evaluation of the train and test sets and the record);
- ``plain``: the same model written as plain torch code, as a user would
  (``nn.Sequential``, ``torch.nn.init.xavier_uniform_``, a ``randperm`` loop
  over the batches with ``torch.optim.Adam``) with the same per-epoch
  evaluation of the train and test loss and accuracy (what Keras's ``fit``
  with validation data reports);
- ``plain, no evaluation``: the same loop without the evaluation;
- ``plain, fused Adam``: the plain loop with evaluation and
  ``torch.optim.Adam(..., fused=True)``, the optimiser kernel the engine uses
  (so the engine's own bookkeeping is the only difference left).

Quoted: the median seconds per epoch of each over the rounds, the ratio
engine / plain of those medians, and the median of the per-round ratios.
The acceptance is ``engine / plain <= 1.1``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch
from torch import nn

from xinit_bench.training import MLPSpec, TrainConfig, load_dataset, train_one


def plain(data: Any, epochs: int, seed: int, evaluate: bool, fused: bool = False) -> None:
    """The keras-mlp setting in plain torch code."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    xt, yt = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i : i + 32]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if evaluate:
            model.eval()
            with torch.no_grad():
                for xs, ys in ((x, y), (xt, yt)):
                    logits = model(xs)
                    float(nn.functional.cross_entropy(logits, ys))
                    float((logits.argmax(1) == ys).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured rounds (default 7)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measured run (default 3)")
    parser.add_argument("--json", metavar="PATH", help="write the measurements as JSON")
    args = parser.parse_args()
    data = load_dataset("digits")
    spec = MLPSpec((128, 64), "relu")
    config = TrainConfig("adam", 1e-3, 32, epochs=args.epochs)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def engine(seed: int) -> None:
        train_one(spec, "glorot_uniform", seed, config, data)

    arms = {
        "engine": engine,
        "plain": lambda seed: plain(data, args.epochs, seed, True),
        "plain, no evaluation": lambda seed: plain(data, args.epochs, seed, False),
        "plain, fused Adam": lambda seed: plain(data, args.epochs, seed, True, fused=True),
    }
    names = list(arms)
    for name in names:  # warm-up: allocator, first calls, the samplers' kernels
        arms[name](0)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.runs):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            start = time.perf_counter()
            arms[name](r + 1)
            times[name].append((time.perf_counter() - start) / args.epochs)
    torch.set_num_threads(threads)
    med = {name: statistics.median(v) for name, v in times.items()}
    ratios = [e / p for e, p in zip(times["engine"], times["plain"], strict=True)]
    print(f"keras-mlp setting on digits, {args.epochs} epochs a run, {args.runs} interleaved rounds, 1 thread")
    for name in names:
        runs = ", ".join(f"{t * 1e3:.0f}" for t in times[name])
        print(f"  {name:22s} median {med[name] * 1e3:8.1f} ms/epoch   (runs: {runs})")
    print(
        f"  engine / plain: {med['engine'] / med['plain']:.3f} (ratio of medians), "
        f"{statistics.median(ratios):.3f} (median of per-round ratios)"
    )
    print(f"  engine / plain without evaluation: {med['engine'] / med['plain, no evaluation']:.3f}")
    print(f"  engine / plain with fused Adam: {med['engine'] / med['plain, fused Adam']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"epochs": args.epochs, "runs": args.runs, "seconds_per_epoch": times, "medians": med}, f, indent=2
            )


if __name__ == "__main__":
    main()
