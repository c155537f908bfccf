"""Keras and JAX initialisers: xinit-bench's against the frameworks' own, on the CPU, in one run.

Run as a script (``python benchmarks/bench_keras_jax.py [--json PATH]``); asv
does not collect it (no ``time_*`` names), and nothing is imported until it runs.

- **Embedding.** A 50,000 x 4096 float32 weight (819 MB): ``xinit_bench.keras``
  against ``keras.initializers`` (torch back end) and ``xinit_bench.jax``
  against ``jax.nn.initializers``, for a uniform and a truncated normal law.
  Each call returns a framework tensor (``block_until_ready`` for JAX).
- **pure_callback.** ``xinit_bench.jax.he_normal`` inside ``jax.jit`` (the array
  built on the host and copied in) against the same call outside ``jit`` and
  against ``jax.nn.initializers.he_normal`` inside ``jit``, for 1K and 16M
  elements: what the callback costs.

- **Digits** (``--digits``): the classic Keras MLP (Dense 128 ReLU, Dense 64
  ReLU, Dense 10 softmax, Adam) on scikit-learn's bundled digits, over
  ``--seeds`` seeds, with Keras's ``"glorot_uniform"`` and with
  ``xinit_bench.keras.GlorotUniform(seed=k)`` keyed per kernel by
  ``init_model(model, k)``; the same seed ``k`` shuffles the batches of both.
  It prints each one's test accuracies, and whether xinit-bench's mean lies
  within the range of Keras's.

Every timing is the median of ``--repeats`` (default 5) timed calls after one
warm-up call, with ``perf_counter``; the cases are interleaved round by round,
so that a slow spell of a shared machine falls on all of them.  The ratios
(framework's time over xinit-bench's) are the result; absolute times are
quoted for scale only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def cases(rows: int, cols: int, small: int, large: int) -> dict[str, Callable[[], Any]]:
    """Name -> a zero-argument call that builds one weight and waits for it."""
    import jax
    import jax.numpy as jnp
    import keras
    from jax.nn import initializers as jinit

    from xinit_bench import jax as xj
    from xinit_bench import keras as xk

    emb = (rows, cols)
    key = jax.random.key(0)
    ours_he, theirs_he = xj.he_normal(), jinit.he_normal()
    jit_ours = {n: jax.jit(lambda k, n=n: ours_he(k, (n // 1024, 1024), jnp.float32)) for n in (small, large)}
    jit_theirs = {n: jax.jit(lambda k, n=n: theirs_he(k, (n // 1024, 1024), jnp.float32)) for n in (small, large)}
    out: dict[str, Callable[[], Any]] = {
        "keras/xinit/RandomUniform": lambda: xk.RandomUniform(-0.05, 0.05, seed=0)(emb),
        "keras/own/RandomUniform": lambda: keras.initializers.RandomUniform(-0.05, 0.05, seed=0)(emb),
        "keras/xinit/HeNormal": lambda: xk.HeNormal(seed=0)(emb),
        "keras/own/HeNormal": lambda: keras.initializers.HeNormal(seed=0)(emb),
        "jax/xinit/uniform": lambda: xj.uniform(0.05)(key, emb).block_until_ready(),
        "jax/own/uniform": lambda: jinit.uniform(0.05)(key, emb).block_until_ready(),
        "jax/xinit/he_normal": lambda: ours_he(key, emb).block_until_ready(),
        "jax/own/he_normal": lambda: theirs_he(key, emb).block_until_ready(),
    }
    for n in (small, large):
        out[f"callback/{n}/xinit-eager"] = lambda n=n: ours_he(key, (n // 1024, 1024)).block_until_ready()
        out[f"callback/{n}/xinit-jit"] = lambda n=n: jit_ours[n](key).block_until_ready()
        out[f"callback/{n}/jax-jit"] = lambda n=n: jit_theirs[n](key).block_until_ready()
    return out


def measure(calls: dict[str, Callable[[], Any]], repeats: int, inner: dict[str, int]) -> dict[str, float]:
    """Median seconds per call of each case, ``repeats`` interleaved rounds after one warm-up."""
    for call in calls.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            loops = inner.get(name, 1)
            t0 = time.perf_counter()
            for _ in range(loops):
                call()
            samples[name].append((time.perf_counter() - t0) / loops)
    return {name: statistics.median(times) for name, times in samples.items()}


def digits(seeds: int, epochs: int, batch: int) -> dict[str, list[float]]:
    """Test accuracy of the digits MLP per seed, with Keras's Glorot uniform and with xinit-bench's."""
    import keras
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from xinit_bench import keras as xk

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(x, data.target, test_size=0.25, random_state=0)

    def accuracy(seed: int, ours: bool) -> float:
        keras.utils.set_random_seed(seed)

        def init() -> Any:
            return xk.GlorotUniform(seed=seed) if ours else "glorot_uniform"

        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(128, activation="relu", name="h1", kernel_initializer=init()),
                keras.layers.Dense(64, activation="relu", name="h2", kernel_initializer=init()),
                keras.layers.Dense(10, activation="softmax", name="out", kernel_initializer=init()),
            ],
            name="mlp",
        )
        if ours:
            xk.init_model(model, seed)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=epochs, batch_size=batch, verbose=0)
        return float(model.evaluate(x_test, y_test, verbose=0)[1])

    return {
        "keras": [accuracy(k, False) for k in range(seeds)],
        "xinit": [accuracy(k, True) for k in range(seeds)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--cols", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", metavar="PATH", help="also write the medians and ratios as JSON")
    parser.add_argument("--digits", action="store_true", help="train the digits MLP instead of timing")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported; any back end may be chosen instead
    if args.digits:
        acc = digits(args.seeds, args.epochs, args.batch)
        for name, values in acc.items():
            mean, spread = statistics.mean(values), statistics.stdev(values)
            print(f"{name:>5}: mean {mean:.4f} sd {spread:.4f} min {min(values):.4f} max {max(values):.4f}  {values}")
        inside = min(acc["keras"]) <= statistics.mean(acc["xinit"]) <= max(acc["keras"])
        print(f"xinit-bench's mean within Keras's seed-to-seed range: {inside}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({**acc, "epochs": args.epochs, "batch": args.batch, "inside": inside}, fh, indent=2)
        return 0
    small, large = 1024, 16 * 1024 * 1024
    calls = cases(args.rows, args.cols, small, large)
    inner = {name: 200 for name in calls if f"/{small}/" in name}  # a 1K call lasts microseconds
    medians = measure(calls, args.repeats, inner)
    ratios = {
        "keras RandomUniform (own / xinit)": medians["keras/own/RandomUniform"] / medians["keras/xinit/RandomUniform"],
        "keras HeNormal (own / xinit)": medians["keras/own/HeNormal"] / medians["keras/xinit/HeNormal"],
        "jax uniform (own / xinit)": medians["jax/own/uniform"] / medians["jax/xinit/uniform"],
        "jax he_normal (own / xinit)": medians["jax/own/he_normal"] / medians["jax/xinit/he_normal"],
    }
    for n in (small, large):
        ratios[f"callback {n}: xinit jit / xinit eager"] = (
            medians[f"callback/{n}/xinit-jit"] / medians[f"callback/{n}/xinit-eager"]
        )
        ratios[f"callback {n}: xinit jit / jax jit"] = (
            medians[f"callback/{n}/xinit-jit"] / medians[f"callback/{n}/jax-jit"]
        )
    width = max(map(len, [*medians, *ratios]))
    print(f"median of {args.repeats}, {args.rows}x{args.cols} float32 embedding; callback at {small} and {large}")
    for name, seconds in medians.items():
        print(f"{name:<{width}}  {seconds * 1e3:10.3f} ms")
    for name, ratio in ratios.items():
        print(f"{name:<{width}}  {ratio:10.2f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"repeats": args.repeats, "medians_s": medians, "ratios": ratios}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
