"""xinit_bench.torch under fork: a DataLoader with two fork workers fills the parent's bits."""

from __future__ import annotations

import pytest
from children import CHILD_PRELUDE, run_child

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
