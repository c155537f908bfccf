"""Does the initialisation decide whether a network trains?  MLPs trained on bundled data, reproducibly.

Needs torch and scikit-learn (the ``train`` extra: ``pip install 'xinit-bench[train]'``);
``import xinit_bench`` does not import this package.  Its rooms:

* :mod:`.data`: :func:`load_dataset` -- scikit-learn's digits with a fixed
  stratified split, or a synthetic teacher-student task; standardised with the
  train statistics.
* :mod:`.models`: :class:`MLPSpec` and :func:`build_model` (linear layers
  ``layers.0``, ``layers.1``, ...).
* :mod:`.inits`: :data:`TRAIN_INITS` and :func:`apply_init`, every weight drawn
  through :mod:`xinit_bench.torch` from ``key_for_name(seed, name)``, so the
  step-0 weights are the NumPy samplers' bits.
* :mod:`.config`: :class:`TrainConfig` (how a run trains) and :class:`RunRecord`
  (what it measured), with the checks of a run's arguments.
* :mod:`.engine`: the training loop, :func:`train_one`, :func:`fit` and
  :func:`train_many`; it re-exports the config and the pool's public names.
* :mod:`.pool`: the worker processes behind :func:`train_many` (used where that
  is faster, and watched, so a dead worker raises instead of hanging).

The package sits beside :mod:`xinit_bench.propagation`: it imports the core,
:mod:`xinit_bench.torch` and the propagation theory; only the CLI imports it.
"""

from __future__ import annotations

import sys
import time

_started = time.perf_counter()
_had_torch = "torch" in sys.modules

from .data import DATASETS, INSTALL, Dataset, load_dataset, require_extras  # noqa: E402

require_extras("torch")

from .config import OPTIMIZERS, RunRecord, TrainConfig  # noqa: E402
from .engine import fit, train_many, train_one  # noqa: E402
from .inits import TRAIN_INITS, GaussianInit, apply_init, critical_params  # noqa: E402
from .models import MLP, MLPSpec, build_model  # noqa: E402
from .pool import note_import_seconds  # noqa: E402

if not _had_torch:  # a worker process imports the same: its start is about this long
    note_import_seconds(time.perf_counter() - _started)

__all__ = [
    "DATASETS",
    "INSTALL",
    "MLP",
    "OPTIMIZERS",
    "TRAIN_INITS",
    "Dataset",
    "GaussianInit",
    "MLPSpec",
    "RunRecord",
    "TrainConfig",
    "apply_init",
    "build_model",
    "critical_params",
    "fit",
    "load_dataset",
    "require_extras",
    "train_many",
    "train_one",
]
