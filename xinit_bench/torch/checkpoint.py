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

**safetensors** (the format of ``huggingface/safetensors``): an 8-byte
little-endian header length ``N``, a JSON header of ``N`` bytes (padded with
spaces to a multiple of 8) mapping each tensor's name to its ``dtype``,
``shape`` and ``data_offsets`` ``[begin, end)`` in the data that follows, plus
``__metadata__`` (str to str), then the tensors' raw little-endian bytes, back
to back, with no gap.  Tensors are laid out by decreasing element size, so
that every tensor starts at a multiple of its element size.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import math
import mmap
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import STREAM_VERSION
from ..launch import fill_runs
from ..plans import resolve_plan
from ..runtime import max_threads, threads
from ..validation import bfloat16, check_bool, check_callable, check_int, writable_problem
from .inits import Init, Normal, Skip
from .modules import InitReport, assign, check_entropy, name_key, prepare_entries, unwrap
from .rules import Rule

__all__ = [
    "BASE_MEMORY",
    "INDEX",
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

#: The index file of a sharded checkpoint, as Hugging Face names it.
INDEX = "model.safetensors.index.json"
#: The key of the index's ``metadata`` (and of each shard's ``__metadata__``) that holds this library's record.
RECORD = "xinit_bench"
#: Process memory besides the shards being filled (Python, torch, NumPy, Numba's kernels), measured: see the docs.
BASE_MEMORY = 400 * 2**20
#: A shard being written carries this suffix (after a unique tag) until it is complete and renamed.
PARTIAL = ".partial"

#: torch dtype -> safetensors dtype code.
_CODES: dict[torch.dtype, str] = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_DTYPE_NAMES = {str(dt).removeprefix("torch."): dt for dt in _CODES}
_FLOAT_NAMES = ("float32", "float64", "float16", "bfloat16")

#: Units of a size string, Hugging Face's ``convert_file_size_to_int``: decimal ``KB``... and binary ``KiB``...
_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def parse_size(value: Any, name: str = "max_shard_size") -> int:
    """Bytes of a size: an int, or a string such as ``"5GB"`` (5·10⁹) or ``"500MiB"`` (500·2²⁰).

    Raises
    ------
    TypeError
        Neither an int nor a str.
    ValueError
        Not a positive size, or an unknown unit.
    """
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
        unit = m.group(2).upper() if m else ""
        if m is None or (unit or "B") not in _UNITS:
            raise ValueError(
                f"{name} must be a positive number of bytes or a size such as '5GB' or '500MiB' (units "
                f"{', '.join(u if len(u) < 3 else u[0] + 'i' + u[2] for u in _UNITS)}), got {value!r}"
            )
        size = int(float(m.group(1)) * _UNITS[unit or "B"])
        if size < 1:
            raise ValueError(f"{name} must be at least 1 byte, got {value!r}")
        return size
    return check_int(name, value, minimum=1, what="a positive int (bytes) or a size string such as '5GB'")


def shard_name(k: int, n: int) -> str:
    """The file name of shard ``k`` (1-based) of ``n``: ``model-00001-of-00003.safetensors``."""
    return f"model-{k:05d}-of-{n:05d}.safetensors"


def _size_text(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} bytes"


# --- the plan: every tensor and every shard as plain values -----------------------------------------------------
@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a shard, as the plain values its task carries.

    ``name`` is the name it is stored under; its values come from the key of
    ``key_name`` (its first qualified name, as :func:`init_module` keys it).
    ``begin``/``end`` are its byte offsets in the shard's data.  A random
    tensor has its resolved ``kind``, ``params`` and half ``limits`` and its
    ``key`` ``(k0, k1)``; a constant one its ``value``; ``zero_row`` is the
    embedding padding row zeroed after the draw, if any.
    """

    name: str
    key_name: str
    shape: tuple[int, ...]
    dtype: str
    begin: int
    end: int
    kind: str | None = None
    params: tuple[Any, ...] = ()
    limits: tuple[Any, ...] | None = None
    key: tuple[int, int] = (0, 0)
    value: float | None = None
    zero_row: int | None = None

    def record(self) -> tuple[Any, ...]:
        """Every field, floats by their hex: what the fingerprint hashes."""
        hexed = [float(v).hex() if isinstance(v, (float, np.floating)) else repr(v) for v in self.params]
        limits = None if self.limits is None else [float(v).hex() for v in self.limits]
        value = None if self.value is None else float(self.value).hex()
        return (self.name, self.key_name, self.shape, self.dtype, self.begin, self.end, self.kind, hexed, limits,
                self.key, value, self.zero_row)  # fmt: skip


@dataclass(frozen=True)
class ShardSpec:
    """One shard file: its name, its exact header bytes, its size, and its tensors in file order."""

    file: str
    header: bytes
    size: int
    tensors: tuple[TensorSpec, ...]

    @property
    def data_start(self) -> int:
        return 8 + len(self.header)

    @property
    def data_bytes(self) -> int:
        return self.size - self.data_start


@dataclass(frozen=True)
class CheckpointPlan:
    """Everything :func:`write_checkpoint` will do, checked and measured before anything is written.

    ``missing`` are the indices of the shards still to write (all of them,
    unless resuming); ``bytes_to_write`` their size; ``disk_bytes`` the space
    they take on disk, which the free space ``free_bytes`` was checked against;
    ``memory_estimate`` the peak resident memory expected: :data:`BASE_MEMORY`
    and the largest shard per process writing at once.
    """

    directory: Path
    shards: tuple[ShardSpec, ...]
    missing: tuple[int, ...]
    index_text: str
    config_text: str | None
    total_size: int
    bytes_to_write: int
    free_bytes: int
    disk_bytes: int
    workers: Any
    processes: int
    overwrite: bool
    resuming: bool
    fingerprint: str
    record: dict[str, Any]
    not_stored: dict[str, str] = field(default_factory=dict)

    @property
    def largest_shard(self) -> int:
        return max((s.size for s in self.shards), default=0)

    @property
    def memory_estimate(self) -> int:
        return self.processes * (BASE_MEMORY + self.largest_shard)

    def summary(self) -> list[dict[str, Any]]:
        """One row per shard: its file, tensor count, bytes, and whether it is to be written."""
        return [
            {"file": s.file, "tensors": len(s.tensors), "bytes": s.size, "write": i in self.missing}
            for i, s in enumerate(self.shards)
        ]


@dataclass(frozen=True)
class CheckpointResult:
    """What :func:`write_checkpoint` did: shards written and skipped, bytes written, wall seconds."""

    directory: str
    shards_total: int
    shards_written: int
    shards_skipped: int
    bytes_written: int
    seconds: float

    @property
    def gb_per_s(self) -> float:
        return self.bytes_written / self.seconds / 1e9 if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "gb_per_s": self.gb_per_s}


# --- input: a meta model, or a config built on meta ------------------------------------------------------------------
def _dtype(dtype: Any) -> torch.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in _FLOAT_NAMES:
        return _DTYPE_NAMES[dtype.removeprefix("torch.")]
    if isinstance(dtype, torch.dtype) and str(dtype).removeprefix("torch.") in _FLOAT_NAMES:
        return dtype
    if isinstance(dtype, (str, torch.dtype)):
        raise ValueError(f"dtype must be one of None, {', '.join(_FLOAT_NAMES)} (or the torch dtype), got {dtype!r}")
    raise TypeError(f"dtype must be None, a str or a torch.dtype, got {type(dtype).__name__}")


def _load_config(source: Any) -> Any:
    """A ``transformers`` config from a config object, a dict with ``model_type``, a JSON file or its folder."""
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            "model_or_config as a Hugging Face config needs transformers (pip install 'xinit-bench[hf]'); "
            "or pass a model built under torch.device('meta')"
        ) from exc
    if isinstance(source, transformers.PretrainedConfig):
        return copy.deepcopy(source)
    if isinstance(source, dict):
        values = dict(source)
        model_type = values.pop("model_type", None)
        if not isinstance(model_type, str):
            raise ValueError(f"model_or_config as a dict must have a 'model_type' (e.g. 'llama'), got {sorted(source)}")
        try:
            return transformers.AutoConfig.for_model(model_type, **values)
        except Exception as exc:  # an unknown model_type, or values its config class refuses
            raise ValueError(
                f"model_or_config must be a config that transformers can build a model from, got model_type "
                f"{model_type!r}: {type(exc).__name__}: {exc}"
            ) from None
    path = Path(source)
    file = path / "config.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"model_or_config must be a config.json or a folder holding one, got {str(path)!r}")
    try:
        values = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"model_or_config must be a readable JSON config, got {str(file)!r}: {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(f"model_or_config must hold a JSON object, got {type(values).__name__} in {str(file)!r}")
    return _load_config(values)


def _build(config: Any) -> nn.Module:
    """The model of ``config`` on the meta device: the class its ``architectures`` names, else the causal-LM one."""
    import transformers

    names = [a for a in (getattr(config, "architectures", None) or []) if isinstance(a, str)]
    cls = getattr(transformers, names[0], None) if names else None
    try:
        with torch.device("meta"):
            if cls is not None and hasattr(cls, "_from_config"):
                model: nn.Module = cls._from_config(config)
            else:
                model = transformers.AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise ValueError(
            f"model_or_config must be a config that transformers can build a model from on the meta device, got "
            f"model_type {getattr(config, 'model_type', None)!r}: {type(exc).__name__}: {exc}"
        ) from None
    return model


def _model_and_config(model_or_config: Any, dt: torch.dtype | None) -> tuple[nn.Module, Any]:
    if isinstance(model_or_config, nn.Module):
        root = unwrap(model_or_config)
        config = None
    elif isinstance(model_or_config, (str, os.PathLike, dict)) or type(model_or_config).__name__.endswith("Config"):
        config = _load_config(model_or_config)
        root = _build(config)
    else:
        raise TypeError(
            "model_or_config must be a torch.nn.Module on the meta device or a Hugging Face config (a "
            f"PretrainedConfig, a dict, or a path to config.json), got {type(model_or_config).__name__}"
        )
    real = [n for n, t in [*root.named_parameters(), *root.named_buffers()] if not t.is_meta]
    if real:
        raise ValueError(
            "model_or_config must be a model whose tensors are all on the meta device (a checkpoint is filled "
            f"from the rules, never from memory), got {len(real)} with storage: {', '.join(real[:5])}"
            + (" ..." if len(real) > 5 else "")
        )
    if dt is not None:
        if config is None:  # the caller's model stays as it is: a meta copy costs no memory
            root = copy.deepcopy(root)
        root = root.to(dt)
    if config is not None and dt is not None:  # what save_pretrained records (transformers 5 names it dtype)
        config.dtype = str(dt).removeprefix("torch.")
    return root, config


def _stored_names(root: nn.Module) -> list[str]:
    """The persistent names of the state dict, in its order (non-persistent buffers are not saved)."""
    return list(root.state_dict(keep_vars=True))


def _input_embedding_name(root: nn.Module) -> str | None:
    get = getattr(root, "get_input_embeddings", None)
    if not callable(get):
        return None
    try:
        emb = get()
    except Exception:  # a model without embeddings raises NotImplementedError
        return None
    for mname, mod in root.named_modules():
        if mod is emb:
            return f"{mname}.weight" if mname else "weight"
    return None


def _zero_row(init: Init, owner: nn.Module, shape: tuple[int, ...], name: str) -> int | None:
    """The padding row :class:`Normal` zeroes after its draw; an Init with any other after-step is refused."""
    if type(init).after is Init.after:
        return None
    if isinstance(init, Normal) and type(init).after is Normal.after:
        row = getattr(owner, "padding_idx", None)
        if not init.padding_idx or row is None:
            return None
        return int(row) % shape[0]
    raise ValueError(
        f"{name} (rule init {init!r}) must have no after-step other than Normal's padding row to be written to a "
        f"checkpoint, got {type(init).__name__}.after: a checkpoint's tasks carry plain values, not modules"
    )


def _header(tensors: Sequence[TensorSpec], fingerprint: str) -> bytes:
    body: dict[str, Any] = {"__metadata__": {"format": "pt", RECORD: fingerprint}}
    for t in tensors:
        code = _CODES[_DTYPE_NAMES[t.dtype]]
        body[t.name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [t.begin, t.end]}
    text = json.dumps(body, separators=(",", ":")).encode()
    return text + b" " * (-len(text) % 8)


def _specs(
    root: nn.Module, preset: Any, rules: Sequence[Rule], entropy: int
) -> tuple[list[TensorSpec], dict[str, str]]:
    """Every stored tensor as a spec (offsets not set yet), in state-dict order, and the names not stored."""
    entries, _ = assign(root, preset, rules, "")
    stored = _stored_names(root)
    position = {n: i for i, n in enumerate(stored)}
    embedding = _input_embedding_name(root)
    kept = []
    not_stored: dict[str, str] = {}
    for e in entries:
        names = [n for n in e.names if n in position]
        if not names:
            not_stored.update(dict.fromkeys(e.names, "not in the state dict (a non-persistent buffer)"))
            continue
        name = embedding if embedding in names else min(names, key=position.__getitem__)
        not_stored.update({n: f"tied to {name}" for n in e.names if n != name and n in position})
        kept.append((position[name], name, e))
    kept.sort(key=lambda item: item[0])
    uncovered = [
        f"{e.name} {tuple(e.tensor.shape)} {e.tensor.dtype}"
        for _, _, e in kept
        if e.rule is None or isinstance(e.rule.init, Skip)
    ]
    if uncovered:
        raise ValueError(
            "every tensor of the state dict must be covered by a rule that writes it, got these uncovered: "
            + ", ".join(uncovered)
            + " (pass rules=[xinit_bench.torch.Rule(...)] for them, or another preset)"
        )
    bad = [f"{e.name} {e.tensor.dtype}" for _, _, e in kept if e.tensor.dtype not in _CODES]
    if bad:
        raise TypeError(
            f"every stored tensor must have a dtype safetensors holds ({', '.join(_DTYPE_NAMES)}), got {', '.join(bad)}"
        )
    report = InitReport()
    prepared = prepare_entries([e for _, _, e in kept], report, allocated=False)
    constants = {id(e): value for e, value in prepared.constants}
    work = {id(e): (plan, dt) for e, plan, dt in prepared.work}
    out = []
    for _, name, e in kept:
        shape = tuple(int(s) for s in e.tensor.shape)
        dtype = str(e.tensor.dtype).removeprefix("torch.")
        if id(e) in constants:
            out.append(TensorSpec(name, e.name, shape, dtype, 0, 0, value=constants[id(e)]))
        elif id(e) in work:
            plan, dt = work[id(e)]
            kind, params, limits = resolve_plan(plan, dt)
            k0, k1, _ = name_key(entropy, e.name)
            assert e.rule is not None and e.match is not None
            row = _zero_row(e.rule.init, e.match, shape, e.name)
            out.append(
                TensorSpec(name, e.name, shape, dtype, 0, 0, kind, tuple(params),
                           None if limits is None else tuple(limits), (int(k0), int(k1)), zero_row=row)
            )  # fmt: skip
        else:  # a zero fan: torch leaves such a tensor (it has no elements to draw), so it is stored as zeros
            out.append(TensorSpec(name, e.name, shape, dtype, 0, 0, value=0.0))
    return out, not_stored


def _nbytes(t: TensorSpec) -> int:
    return math.prod(t.shape) * _DTYPE_NAMES[t.dtype].itemsize


def _shards(specs: Sequence[TensorSpec], max_bytes: int, fingerprint: str) -> tuple[ShardSpec, ...]:
    """Hugging Face's split: tensors in state-dict order, a new shard when the next would pass ``max_bytes``.

    A tensor larger than ``max_bytes`` gets a shard of its own.  Inside a
    shard, tensors are laid out by decreasing element size (stable).
    """
    groups: list[list[TensorSpec]] = []
    size = 0
    for t in specs:
        n = _nbytes(t)
        if not groups or (size + n > max_bytes and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(t)
        size += n
    out = []
    for k, group in enumerate(groups, start=1):
        ordered = sorted(group, key=lambda t: -_DTYPE_NAMES[t.dtype].itemsize)
        placed = []
        offset = 0
        for t in ordered:
            n = _nbytes(t)
            placed.append(TensorSpec(**{**t.__dict__, "begin": offset, "end": offset + n}))
            offset += n
        header = _header(placed, fingerprint)
        out.append(ShardSpec(shard_name(k, len(groups)), header, 8 + len(header) + offset, tuple(placed)))
    return tuple(out)


def _preset_text(preset: Any) -> str:
    return preset if isinstance(preset, str) else repr(list(preset))


def _is_client(workers: Any) -> bool:
    return hasattr(workers, "submit") and hasattr(workers, "gather") and not isinstance(workers, (int, bool))


def _ours(name: str) -> bool:
    """A file this writer makes in a checkpoint folder (and may remove to overwrite it)."""
    return (
        name in (INDEX, "config.json")
        or re.fullmatch(r"model(-\d{5}-of-\d{5})?\.safetensors", name) is not None
        or name.endswith(PARTIAL)
    )


def _existing_shard_ok(path: Path, shard: ShardSpec) -> bool:
    """Whether ``path`` is this shard, complete: its size and its header bytes (which hold the fingerprint)."""
    try:
        if path.stat().st_size != shard.size:
            return False
        with path.open("rb") as f:
            head = f.read(shard.data_start)
    except OSError:
        return False
    return head == len(shard.header).to_bytes(8, "little") + shard.header


def _read_index(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((path / INDEX).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return found if isinstance(found, dict) else None


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
    dt = _dtype(dtype)
    max_bytes = parse_size(max_shard_size)
    overwrite, resume = check_bool("overwrite", overwrite), check_bool("resume", resume)
    if overwrite and resume:
        raise ValueError("pass either overwrite=True or resume=True, not both")
    if _is_client(workers):
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
        found_index = _read_index(path)
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

    root, config = _model_and_config(model_or_config, dt)
    specs, not_stored = _specs(root, preset, rules, entropy)
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
    shards = _shards(specs, max_bytes, digest)
    weight_map = {t.name: s.file for s in shards for t in s.tensors}
    total = sum(_nbytes(t) for t in specs)
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
        missing = tuple(i for i, s in enumerate(shards) if not _existing_shard_ok(path / s.file, s))
    to_write = sum(shards[i].size for i in missing)
    probe = path if path.exists() else path.parent
    free = shutil.disk_usage(probe).free
    block = max(os.statvfs(probe).f_frsize, 1) if hasattr(os, "statvfs") else 4096
    if overwrite and path.exists():
        free += sum(f.stat().st_blocks * 512 for f in path.iterdir() if f.is_file() and _ours(f.name))
    small = len(index_text) + len(config_text or "")
    on_disk = sum(-(-shards[i].size // block) * block for i in missing) + 2 * block + small
    if on_disk > free:
        raise OSError(
            errno.ENOSPC,
            f"directory needs {_size_text(on_disk)} on disk for its {len(missing)} shards to write, got "
            f"{_size_text(free)} free in {probe}",
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


# --- writing ----------------------------------------------------------------------------------------------------
def _write_small(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary name and a rename, so the file is whole or absent."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}{PARTIAL}")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


#: The random tensors of a shard are filled a window of about this many bytes at a time, in file order; each
#: window's pages are handed to the disk as soon as it is filled, and leave the process's resident memory.
WINDOW = 256 * 2**20


def _start_writeback() -> Callable[[int, int, int], None]:
    """``start(fd, offset, length)``: begin writing a range of a file to disk without waiting (Linux), else nothing."""
    if not sys.platform.startswith("linux"):
        return lambda fd, offset, length: None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    call = libc.sync_file_range
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    write = 2  # SYNC_FILE_RANGE_WRITE: start writeback of the range's dirty pages, return at once

    def start(fd: int, offset: int, length: int) -> None:
        call(fd, offset, length, write)

    return start


def _windows(shard: ShardSpec) -> list[list[tuple[TensorSpec, int, int]]]:
    """The random tensors of ``shard`` as runs ``(tensor, first element, count)``, cut into windows in file order."""
    out: list[list[tuple[TensorSpec, int, int]]] = [[]]
    room = WINDOW
    for t in shard.tensors:
        if t.kind is None or t.end == t.begin:
            continue
        item = _DTYPE_NAMES[t.dtype].itemsize
        first, left = 0, math.prod(t.shape)
        while left:
            if room < item:
                out.append([])
                room = WINDOW
            count = min(left, room // item)
            out[-1].append((t, first, count))
            first, left, room = first + count, left - count, room - count * item
    return [w for w in out if w]


def _fill(mm: mmap.mmap, fd: int, shard: ShardSpec) -> None:
    """Every tensor of ``shard`` into the mapped file: the constants, then the random runs a window at a time.

    In a window, the runs of each (kind, dtype) are one launch; a run is a
    stretch of a tensor's stream (its elements from ``first`` on), so the bits
    are those of one fill of the whole tensor.  Then the embedding's padding row.
    """
    with torch.no_grad():
        for t in shard.tensors:
            if t.end > t.begin and t.value is not None:
                view = torch.frombuffer(mm, dtype=torch.uint8, count=t.end - t.begin, offset=shard.data_start + t.begin)
                view.view(_DTYPE_NAMES[t.dtype]).fill_(t.value)
                del view
    start = _start_writeback()
    buf = np.frombuffer(mm, np.uint8)
    base = int(buf.ctypes.data) + shard.data_start
    page = mmap.PAGESIZE
    done = 0  # file bytes before this are filled and handed to the disk
    for window in _windows(shard):
        groups: dict[tuple[str, str], list[tuple[TensorSpec, int, int]]] = {}
        for run in window:
            groups.setdefault((run[0].kind or "", run[0].dtype), []).append(run)
        for (kind, dtype), runs in groups.items():
            dt = bfloat16() if dtype == "bfloat16" else np.dtype(dtype)
            addresses = np.array([base + t.begin + first * dt.itemsize for t, first, _ in runs], np.int64)
            counts = np.array([count for _, _, count in runs], np.int64)
            positions = np.array([first for _, first, _ in runs], np.int64)
            keys = np.array([(t.key[0], t.key[1], 0) for t, _, _ in runs], np.uint32).reshape(-1, 3)
            table = np.array([t.params for t, _, _ in runs])
            limits = None if runs[0][0].limits is None else np.array([t.limits for t, _, _ in runs], np.float32)
            fill_runs(kind, dt, addresses, counts, positions, keys, table, limits)
        t, first, count = window[-1]
        end = shard.data_start + t.begin + (first + count) * _DTYPE_NAMES[t.dtype].itemsize
        end -= end % page
        if end > done:
            start(fd, done, end - done)
            mm.madvise(mmap.MADV_DONTNEED, done, end - done)  # shared file pages: the data stays in the file
            done = end
    del buf
    with torch.no_grad():
        for t in shard.tensors:
            if t.end > t.begin and t.zero_row is not None:
                view = torch.frombuffer(mm, dtype=torch.uint8, count=t.end - t.begin, offset=shard.data_start + t.begin)
                view.view(_DTYPE_NAMES[t.dtype]).reshape(t.shape)[t.zero_row].zero_()
                del view


def _begin_shard(directory: str, shard: ShardSpec) -> tuple[int, str, str]:
    """Fill ``shard`` into a new file under a temporary name; returns its open descriptor and both names."""
    final = os.path.join(directory, shard.file)
    tmp = f"{final}.{uuid.uuid4().hex[:12]}{PARTIAL}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, shard.size)  # the blocks are reserved now: a full disk fails here
        else:
            os.ftruncate(fd, shard.size)
        with mmap.mmap(fd, shard.size) as mm:
            mm[:8] = len(shard.header).to_bytes(8, "little")
            mm[8 : shard.data_start] = shard.header
            _fill(mm, fd, shard)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp, final


def _finish_shard(fd: int, tmp: str, final: str) -> None:
    """Flush the shard to disk, close it and give it its final name."""
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def write_shard(directory: str, shard: ShardSpec, thread_count: int | None = None) -> int:
    """Write one shard file of a checkpoint: the task of a worker process or a dask worker; returns its bytes.

    Takes only plain values (the folder as a str, the :class:`ShardSpec`, a
    thread count or None) and writes ``shard.file`` in ``directory`` through a
    temporary name, renamed when the file is complete and on disk.
    """
    with threads(thread_count):
        fd, tmp, final = _begin_shard(directory, shard)
    _finish_shard(fd, tmp, final)
    return shard.size


def _spawn_context() -> Any:
    import multiprocessing

    return multiprocessing.get_context("spawn")  # a fork of a threaded process is not safe under every layer


def write_checkpoint(plan: CheckpointPlan, progress: Callable[[int, int], None] | None = None) -> CheckpointResult:
    """Write the shards of ``plan`` (from :func:`plan_checkpoint`), then nothing else is left to do.

    ``progress(done_bytes, total_bytes)`` is called with the shard bytes on
    disk so far (the shards already there included), first before any write.
    """
    check_callable("progress", progress, optional=True)
    start = time.perf_counter()
    path = plan.directory
    if plan.overwrite and path.exists():
        for f in path.iterdir():
            if f.is_file() and _ours(f.name):
                f.unlink()
    path.mkdir(exist_ok=True)
    for leftover in path.glob(f"*{PARTIAL}"):  # what an interrupted run left under a temporary name
        leftover.unlink(missing_ok=True)
    if plan.config_text is not None and not (plan.resuming and (path / "config.json").is_file()):
        _write_small(path / "config.json", plan.config_text)
    if not plan.resuming:
        _write_small(path / INDEX, plan.index_text)
    total = sum(s.size for s in plan.shards)
    done = total - plan.bytes_to_write
    if progress is not None:
        progress(done, total)
    todo = [plan.shards[i] for i in plan.missing]
    where = str(path)
    if _is_client(plan.workers):
        from distributed import as_completed

        futures = [plan.workers.submit(write_shard, where, s, None, pure=False) for s in todo]
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            done += int(future.result())
            if progress is not None:
                progress(done, total)
    elif plan.processes > 1:
        each = max(1, max_threads() // plan.processes)
        with ProcessPoolExecutor(plan.processes, mp_context=_spawn_context()) as pool:
            pending: set[Future[int]] = {pool.submit(write_shard, where, s, each) for s in todo}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for task in finished:
                    done += task.result()
                    if progress is not None:
                        progress(done, total)
    else:
        done = _write_serial(where, todo, done, total, progress)
    _sync_folder(path)
    return CheckpointResult(where, len(plan.shards), len(todo), len(plan.shards) - len(todo), plan.bytes_to_write,
                            time.perf_counter() - start)  # fmt: skip


def _write_serial(
    where: str, todo: Sequence[ShardSpec], done: int, total: int, progress: Callable[[int, int], None] | None
) -> int:
    """One process: shard ``k + 1`` is filled while shard ``k`` is flushed to disk by a helper thread.

    Shard ``k`` is unmapped before ``k + 1`` is mapped, so the process holds
    one shard's pages; the flush waits only for the disk.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as flusher:
        pending: Future[None] | None = None
        previous = 0
        for shard in todo:
            opened = _begin_shard(where, shard)
            if pending is not None:
                pending.result()
                done += previous
                if progress is not None:
                    progress(done, total)
            pending, previous = flusher.submit(_finish_shard, *opened), shard.size
        if pending is not None:
            pending.result()
            done += previous
            if progress is not None:
                progress(done, total)
    return done


def _sync_folder(path: Path) -> None:
    """Make the renames durable (a folder's entries are flushed by fsync of the folder, where it can be opened)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
