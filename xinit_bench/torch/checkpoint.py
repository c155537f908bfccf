"""A randomly initialised checkpoint of any size, straight to sharded safetensors, without the model in memory.

:func:`save_checkpoint` takes a model built on the meta device (or a Hugging
Face config, built on meta with ``transformers``), plans its shards, and fills
each shard's tensors straight into a memory map of the shard file being
written: every tensor is written once, and memory holds about one shard per
process whatever the model's size.  Each tensor's values are those of
:func:`~xinit_bench.torch.init_module` of the same model, preset and seed (its
key is :func:`xinit_bench.key_for_name` of ``(seed, name)``), so the shards
can be written in any order, by any process: ``workers=N`` processes, or a
``dask.distributed`` client, give the bytes of the single-process run.

The layout is Hugging Face's: ``model-0000k-of-0000n.safetensors`` shards, a
``model.safetensors.index.json`` with ``weight_map`` and
``metadata.total_size``, and ``config.json`` when a config was given.

The parts: :mod:`.shards` (the safetensors format, the layout and the plan's values),
:mod:`.specs` (the input and its tensors), :mod:`.writer` (the shard files);
this module checks a call and measures it (:func:`plan_checkpoint`) and writes
it (:func:`save_checkpoint`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._rng import STREAM_VERSION
from ..validation import check_bool, check_callable, check_int, writable_problem
from .modules import check_entropy
from .rules import Rule
from .shards import (
    BASE_MEMORY,
    INDEX,
    PARTIAL,
    RECORD,
    CheckpointPlan,
    ShardSpec,
    TensorSpec,
    existing_shard_ok,
    is_client,
    layout_shards,
    nbytes,
    our_file,
    parse_size,
    read_index,
    shard_name,
    size_text,
)
from .specs import check_dtype, model_and_config, tensor_specs
from .writer import CheckpointResult, write_checkpoint, write_shard

__all__ = [
    "BASE_MEMORY",
    "INDEX",
    "PARTIAL",
    "CheckpointPlan",
    "CheckpointResult",
    "ShardSpec",
    "TensorSpec",
    "parse_size",
    "plan_checkpoint",
    "save_checkpoint",
    "shard_name",
    "write_checkpoint",
    "write_shard",
]


def _preset_text(preset: Any) -> str:
    return preset if isinstance(preset, str) else repr(list(preset))


def plan_checkpoint(
    model_or_config: Any,
    preset: str | Sequence[Rule],
    seed: int | None,
    directory: Any,
    *,
    dtype: Any = None,
    max_shard_size: int | str = "5GB",
    workers: Any = 1,
    resume: bool = False,
    overwrite: bool = False,
    rules: Sequence[Rule] = (),
) -> CheckpointPlan:
    """Check a :func:`save_checkpoint` call and measure what it will write; nothing is written.

    See :func:`save_checkpoint` for the arguments and the errors.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path (str or os.PathLike), got {type(directory).__name__}")
    path = Path(directory)
    dt = check_dtype(dtype)
    max_bytes = parse_size(max_shard_size)
    overwrite, resume = check_bool("overwrite", overwrite), check_bool("resume", resume)
    if overwrite and resume:
        raise ValueError("pass either overwrite=True or resume=True, not both")
    if is_client(workers):
        processes = max(1, len(getattr(workers, "nthreads", lambda: {0: 1})() or {0: 1}))
    else:
        processes = check_int("workers", workers, minimum=1, maximum=256,
                              what="an int in [1, 256] (processes) or a dask.distributed Client")  # fmt: skip
    entropy = check_entropy(seed)
    # The folder is checked before the model is built: a refusal here costs nothing.
    resuming = False
    found_index: dict[str, Any] | None = None
    if path.exists():
        if not path.is_dir():
            raise NotADirectoryError(f"directory must be a folder, got {str(path)!r}, which is a file")
        if not (overwrite or resume):
            raise FileExistsError(
                f"directory must not exist unless overwrite=True or resume=True, got {str(path)!r}, which exists"
            )
        names = [p.name for p in path.iterdir()]
        found_index = read_index(path)
        if names and found_index is None and (overwrite or any(n.endswith(".safetensors") for n in names)):
            raise ValueError(
                f"directory must be a checkpoint written by xinit-bench (with its {INDEX}) to be "
                f"{'overwritten' if overwrite else 'resumed'}, got {str(path)!r}, which holds {sorted(names)[:5]}"
            )
        resuming = resume and found_index is not None
    elif not path.parent.is_dir():
        raise FileNotFoundError(f"directory must be in an existing folder, got {str(path)!r} (no folder {path.parent})")
    problem = writable_problem(path, folder=True)
    if problem is not None:
        raise PermissionError(f"directory must be a writable path, got {str(path)!r} ({problem})")

    root, config = model_and_config(model_or_config, dt)
    specs, not_stored = tensor_specs(root, preset, rules, entropy)
    record: dict[str, Any] = {
        "preset": _preset_text(preset),
        "seed": entropy,
        "dtype": None if dt is None else str(dt).removeprefix("torch."),
        "max_shard_size": max_bytes,
        "stream_version": STREAM_VERSION,
        "library_version": _library_version(),
    }
    digest = hashlib.sha256(repr((record, [t.record() for t in specs])).encode()).hexdigest()
    record["fingerprint"] = digest
    shards = layout_shards(specs, max_bytes, digest)
    weight_map = {t.name: s.file for s in shards for t in s.tensors}
    total = sum(nbytes(t) for t in specs)
    index_text = json.dumps({"metadata": {"total_size": total, RECORD: record}, "weight_map": weight_map},
                            indent=2, sort_keys=True) + "\n"  # fmt: skip
    config_text = None if config is None else config.to_json_string(use_diff=False)

    missing = tuple(range(len(shards)))
    if resuming:
        assert found_index is not None
        mine = (found_index.get("metadata") or {}).get(RECORD)
        if isinstance(mine, dict) and mine.get("stream_version") != STREAM_VERSION:
            raise ValueError(
                f"directory must have been begun under stream version {STREAM_VERSION} to be resumed, got "
                f"{str(path)!r}, begun under stream version {mine.get('stream_version')!r} by xinit-bench "
                f"{mine.get('library_version')}: its shards hold other bits; overwrite it instead"
            )
        if not isinstance(mine, dict) or mine.get("fingerprint") != digest:
            theirs = {k: mine.get(k) for k in ("preset", "seed", "dtype", "max_shard_size")} if mine else None
            ours = {k: record[k] for k in ("preset", "seed", "dtype", "max_shard_size")}
            raise ValueError(
                f"directory must hold a checkpoint of this same model, preset, seed, dtype and shard size (written "
                f"by this xinit-bench {record['library_version']}) to be resumed, got {str(path)!r}, written with "
                f"{theirs if theirs else 'no xinit-bench record'}; this call has {ours}"
            )
        missing = tuple(i for i, s in enumerate(shards) if not existing_shard_ok(path / s.file, s))
    to_write = sum(shards[i].size for i in missing)
    probe = path if path.exists() else path.parent
    free = shutil.disk_usage(probe).free
    block = max(os.statvfs(probe).f_frsize, 1) if hasattr(os, "statvfs") else 4096
    if overwrite and path.exists():
        free += sum(f.stat().st_blocks * 512 for f in path.iterdir() if f.is_file() and our_file(f.name))
    small = len(index_text) + len(config_text or "")
    on_disk = sum(-(-shards[i].size // block) * block for i in missing) + 2 * block + small
    if on_disk > free:
        raise OSError(
            errno.ENOSPC,
            f"directory needs {size_text(on_disk)} on disk for its {len(missing)} shards to write, got "
            f"{size_text(free)} free in {probe}",
        )
    concurrency = 1 if not missing else min(processes, len(missing))
    return CheckpointPlan(path, shards, missing, index_text, config_text, total, to_write, free, on_disk, workers,
                          concurrency, overwrite, resuming, digest, record, not_stored)  # fmt: skip


def _library_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("xinit-bench")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def save_checkpoint(
    model_or_config: Any,
    preset: str | Sequence[Rule],
    seed: int | None,
    directory: Any,
    *,
    dtype: Any = None,
    max_shard_size: int | str = "5GB",
    workers: Any = 1,
    resume: bool = False,
    overwrite: bool = False,
    rules: Sequence[Rule] = (),
    progress: Callable[[int, int], None] | None = None,
) -> CheckpointResult:
    r"""Write a randomly initialised checkpoint of ``model_or_config`` to ``directory``, shard by shard.

    Each stored tensor :math:`W` named :math:`n` (its first qualified name)
    gets the values that :func:`~xinit_bench.torch.init_module` gives it,

    .. math::

        W = \mathrm{fill}\big(\mathrm{rule}(n),\ \mathrm{key\_for\_name}(\mathrm{seed}, n)\big),

    so the bytes do not depend on which process writes which shard, or in
    which order.

    Parameters
    ----------
    model_or_config : torch.nn.Module or config
        A model built under ``torch.device("meta")`` (every tensor on meta),
        or a Hugging Face config (a ``PretrainedConfig``, a dict with
        ``model_type``, or the path of a ``config.json`` or its folder), built
        on meta with ``transformers`` (the ``hf`` extra): the class its
        ``architectures`` names, else ``AutoModelForCausalLM``.
    preset : str or sequence of Rule
        As :func:`init_module` (``"gpt2"``, ``"llama"``, ...).
    seed : int or None
        The seed of every tensor's key; ``None`` draws fresh entropy, which
        the index records.
    directory : str or os.PathLike
        The checkpoint's folder; it must not exist, unless ``overwrite``
        (an earlier checkpoint's files are replaced) or ``resume``.
    dtype : None, "float32", "float64", "float16", "bfloat16" or the torch dtype
        Every floating-point tensor in this dtype (as ``model.to(dtype)``);
        ``None`` keeps the model's dtypes.
    max_shard_size : int or str
        Hugging Face's split: ``"5GB"`` is 5·10⁹ bytes, ``"5GiB"`` 5·2³⁰; a
        tensor larger than this is a shard of its own.
    workers : int or dask.distributed.Client
        Processes on this machine writing shards at once (1: this process),
        or a client whose workers each write one shard per task.
    resume : bool
        Continue a checkpoint begun by the same call (the index's fingerprint
        of model, preset, seed, dtype, shard size and stream version must
        match): only the missing or incomplete shards are written.
    overwrite : bool
        Replace a checkpoint that exists.
    rules : sequence of Rule
        Custom rules before the preset's, as :func:`init_module`.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` as shards reach the disk.

    Returns
    -------
    CheckpointResult

    Raises
    ------
    TypeError, ValueError
        As :func:`init_module` for the preset and the rules; a tensor that
        no rule covers (all listed); a model with tensors off the meta
        device; a config that ``transformers`` cannot build; a bad
        ``max_shard_size``, ``dtype`` or ``workers``; a checkpoint of other
        parameters to resume.
    FileExistsError
        ``directory`` exists and neither ``overwrite`` nor ``resume`` is given.
    OSError
        Not enough free disk space (``errno.ENOSPC``), with both numbers.

    Every check runs before anything is written.  A shard is written under a
    temporary name and renamed once complete and flushed to disk, so a file
    under a final name is always whole.

    References
    ----------
    The safetensors format (``huggingface/safetensors``, "Format"); Hugging
    Face's sharded layout (``PreTrainedModel.save_pretrained``,
    ``huggingface_hub.split_torch_state_dict_into_shards``).
    """
    check_callable("progress", progress, optional=True)
    plan = plan_checkpoint(model_or_config, preset, seed, directory, dtype=dtype, max_shard_size=max_shard_size,
                           workers=workers, resume=resume, overwrite=overwrite, rules=rules)  # fmt: skip
    return write_checkpoint(plan, progress)
