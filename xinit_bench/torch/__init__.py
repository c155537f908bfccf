"""PyTorch tensors and modules: ``torch.nn.init``'s in-place functions, whole-model init and meta materialisation.

Needs ``torch`` (the ``torch`` extra); ``import xinit_bench`` does not import
this module.  Three layers of use:

- **In-place functions** with the names and signatures of ``torch.nn.init``
  (:func:`uniform_`, :func:`normal_`, :func:`trunc_normal_`,
  :func:`xavier_uniform_`, :func:`xavier_normal_`, :func:`kaiming_uniform_`,
  :func:`kaiming_normal_`, :func:`constant_`, :func:`ones_`, :func:`zeros_`,
  :func:`eye_`, :func:`dirac_`).  They take any CPU tensor or ``Parameter``
  of float32, float64, float16 or bfloat16, write its storage directly (no
  copy, no NumPy round trip), and never touch torch's global RNG: the draws
  come from ``seed=`` or an :class:`xinit_bench.Generator` as ``generator=``,
  with the bits of the matching NumPy sampler (``xb.normal(t.shape, ...,
  dtype=...)``).  A half-precision tensor gets the clamped, once-rounded
  float32 fill (the half contract of :mod:`xinit_bench.half`).
- :func:`init_module` fills every parameter and buffer that a preset (or a
  custom :class:`Rule`) names, with **one kernel launch per (kind, dtype)**
  for the whole module (:mod:`xinit_bench.batch`).  Each tensor's key is a
  hash of ``(seed, qualified name)``, so its values do not depend on the
  order in which the parameters were created, on which subset is
  initialised, or on the thread count.
- :func:`materialize` allocates and fills a module built under
  ``torch.device("meta")``, with a peak memory of about the model's size.
- ``preset="auto"`` reads a Hugging Face model's ``config`` (its
  ``model_type`` and that type's fields, rotary settings included) and
  :func:`signal_report` measures a model's signal propagation at step 0.

The package's rooms, one concern each: :mod:`.tensors` (tensor checks and
strided views as runs of the stream), :mod:`.functional` (the ``nn.init``
twins), :mod:`.inits` (what a rule draws), :mod:`.rules`, :mod:`.presets`,
:mod:`.modules` (:func:`init_module`) and :mod:`.meta` (:func:`materialize`).
Every law comes from the plan layer, :mod:`xinit_bench.plans`.
"""

from __future__ import annotations

from .checkpoint import CheckpointPlan, CheckpointResult, plan_checkpoint, save_checkpoint, write_checkpoint
from .functional import (
    calculate_gain,
    constant_,
    dirac_,
    eye_,
    kaiming_normal_,
    kaiming_uniform_,
    normal_,
    ones_,
    trunc_normal_,
    uniform_,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)
from .hf import Computed, Positions, RotaryInvFreq, rotary_from_config
from .inits import (
    BiasUniform,
    BilinearUniform,
    Constant,
    HiddenUniform,
    Init,
    KaimingNormal,
    KaimingUniform,
    Normal,
    OwnerConstant,
    Skip,
    TruncNormal,
    Uniform,
    XavierNormal,
    XavierUniform,
)
from .meta import materialize, rope_inv_freq
from .modules import Filled, InitReport, UnmatchedRuleWarning, init_module
from .presets import (
    HF_PRESETS,
    MODEL_TYPES,
    PRESETS,
    ExpectedRule,
    bert,
    gpt2,
    hf_vit,
    llama,
    preset_names,
    preset_rules,
    t5,
    torch_default,
    vit,
)
from .rules import Rule
from .sigprop import BlockStats, SignalReport, example_inputs, find_blocks, plot_reports, signal_report
from .structured import orthogonal_, sparse_
from .tensors import MAX_RUNS, MIN_RUN

__all__ = [
    "HF_PRESETS",
    "MAX_RUNS",
    "MIN_RUN",
    "MODEL_TYPES",
    "PRESETS",
    "BiasUniform",
    "BilinearUniform",
    "BlockStats",
    "CheckpointPlan",
    "CheckpointResult",
    "Computed",
    "Constant",
    "ExpectedRule",
    "Filled",
    "HiddenUniform",
    "Init",
    "InitReport",
    "KaimingNormal",
    "KaimingUniform",
    "Normal",
    "OwnerConstant",
    "Positions",
    "RotaryInvFreq",
    "Rule",
    "SignalReport",
    "Skip",
    "TruncNormal",
    "Uniform",
    "UnmatchedRuleWarning",
    "XavierNormal",
    "XavierUniform",
    "bert",
    "calculate_gain",
    "constant_",
    "dirac_",
    "example_inputs",
    "eye_",
    "find_blocks",
    "gpt2",
    "hf_vit",
    "init_module",
    "kaiming_normal_",
    "kaiming_uniform_",
    "llama",
    "materialize",
    "normal_",
    "ones_",
    "orthogonal_",
    "plan_checkpoint",
    "plot_reports",
    "preset_names",
    "preset_rules",
    "rope_inv_freq",
    "rotary_from_config",
    "save_checkpoint",
    "signal_report",
    "sparse_",
    "t5",
    "torch_default",
    "trunc_normal_",
    "uniform_",
    "vit",
    "write_checkpoint",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
