"""The Jacobian spectrum: ``jacobian_spectrum`` against NumPy doing the same sampling, products and SVD.

Run as a script::

    python -m benchmarks.bench_jacobian                      # width 512, depth 64, 7 interleaved runs
    python -m benchmarks.bench_jacobian --width 256 --depth 32 --runs 5 --json out.json

One network per call: a ReLU MLP under He-normal weights, the input-output
Jacobian ``J = D_L W_L ... D_1 W_1`` formed layer by layer and its singular
values.  The reference is the plain NumPy recipe: ``default_rng().normal``
weights scaled by ``sqrt(2/n)``, ``h = W x``, ``J <- diag(h > 0) W J`` (the
first layer's ``J = diag(h > 0) W``, as the library skips ``W I`` too),
``numpy.linalg.svd(J, compute_uv=False)``, in float64 like the library's
default.  The two alternate (library, NumPy, library, ...) after one untimed
warm-up each; the medians and their ratio are printed.  Both use the same
BLAS with its own thread count, so a loaded machine slows both alike.

For asv, :class:`Jacobian` times both at a size cheap enough for every commit.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from typing import Any


def _network(width: int, depth: int) -> Any:
    from xinit_bench.propagation import Act, Dense, Input, Network

    layers: list[Any] = []
    for _ in range(depth):
        layers += [Dense(width, init="he_normal"), Act("relu")]
    return Network(Input(width), *layers)


def numpy_reference(width: int, depth: int, seed: int) -> Any:
    """The same computation in plain NumPy: sampling, products, SVD."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(width)
    scale = math.sqrt(2.0 / width)
    J = None
    for _ in range(depth):
        W = rng.normal(0.0, scale, (width, width))
        h = W @ x
        d = (h > 0).astype(np.float64)
        x = np.maximum(h, 0.0)
        J = d[:, None] * W if J is None else d[:, None] * (W @ J)
    return np.linalg.svd(J, compute_uv=False)


def measure(width: int = 512, depth: int = 64, runs: int = 7) -> dict[str, Any]:
    """Interleaved timings of both sides (seconds per network), their medians and ratio."""
    from xinit_bench.propagation import jacobian_spectrum

    net = _network(width, depth)
    jacobian_spectrum(net, repeats=1, seed=0)
    numpy_reference(width, depth, 0)
    ours: list[float] = []
    ref: list[float] = []
    for r in range(runs):
        t0 = time.perf_counter()
        jacobian_spectrum(net, repeats=1, seed=r + 1)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        numpy_reference(width, depth, r + 1)
        ref.append(time.perf_counter() - t0)
    return {
        "width": width,
        "depth": depth,
        "runs": runs,
        "jacobian_spectrum_seconds": ours,
        "numpy_seconds": ref,
        "median_jacobian_spectrum": statistics.median(ours),
        "median_numpy": statistics.median(ref),
        "ratio_of_medians": statistics.median(ours) / statistics.median(ref),
    }


class Jacobian:
    """One network's Jacobian singular values: the library against the NumPy recipe."""

    params = (["xinit", "numpy"],)
    param_names = ["side"]
    timeout = 300
    rounds = 1
    repeat = (2, 5, 20.0)
    warmup_time = 0.0
    width, depth = 256, 16

    def setup(self, side: str) -> None:
        from xinit_bench.propagation import jacobian_spectrum

        self.net = _network(self.width, self.depth)
        self.fn = jacobian_spectrum
        self.fn(self.net, repeats=1)

    def time_jacobian(self, side: str) -> None:
        if side == "xinit":
            self.fn(self.net, repeats=1, seed=1)
        else:
            numpy_reference(self.width, self.depth, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=64)
    parser.add_argument("--runs", type=int, default=7, help="interleaved timed runs per side (>= 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the timings as JSON")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error(f"--runs must be >= 5, got {args.runs}")
    out = measure(args.width, args.depth, args.runs)
    sys.stdout.write(
        f"width {out['width']}, depth {out['depth']}, {out['runs']} interleaved runs per side\n"
        f"  jacobian_spectrum  median {out['median_jacobian_spectrum']:.3f} s\n"
        f"  NumPy reference    median {out['median_numpy']:.3f} s\n"
        f"  ratio of medians   {out['ratio_of_medians']:.3f}\n"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
