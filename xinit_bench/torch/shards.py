"""The safetensors format and Hugging Face's sharded layout: every tensor and every shard as plain values.

**safetensors** (the format of ``huggingface/safetensors``): an 8-byte
little-endian header length ``N``, a JSON header of ``N`` bytes (padded with
spaces to a multiple of 8) mapping each tensor's name to its ``dtype``,
``shape`` and ``data_offsets`` ``[begin, end)`` in the data that follows, plus
``__metadata__`` (str to str), then the tensors' raw little-endian bytes, back
to back, with no gap.  Tensors are laid out by decreasing element size, so
that every tensor starts at a multiple of its element size.

**Layout**: ``model-0000k-of-0000n.safetensors`` shards and a
``model.safetensors.index.json`` with ``weight_map`` and
``metadata.total_size``; the shards split the tensors in state-dict order, as
Hugging Face's ``split_torch_state_dict_into_shards`` does.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..validation import check_int

__all__ = [
    "BASE_MEMORY",
    "CODES",
    "DTYPE_NAMES",
    "FLOAT_NAMES",
    "INDEX",
    "PARTIAL",
    "RECORD",
    "CheckpointPlan",
    "ShardSpec",
    "TensorSpec",
    "existing_shard_ok",
    "header_bytes",
    "is_client",
    "layout_shards",
    "nbytes",
    "our_file",
    "parse_size",
    "read_index",
    "shard_name",
    "size_text",
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
CODES: dict[torch.dtype, str] = {
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
DTYPE_NAMES = {str(dt).removeprefix("torch."): dt for dt in CODES}
FLOAT_NAMES = ("float32", "float64", "float16", "bfloat16")

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


def size_text(n: int) -> str:
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
    ``key`` ``(k0, k1)``; a constant one its ``value``; a computed one (a
    :class:`~xinit_bench.torch.Computed` rule: position ids, rotary
    frequencies) its raw bytes ``data``, in its dtype; ``zero_row`` is the
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
    data: bytes | None = None

    def record(self) -> tuple[Any, ...]:
        """Every field, floats by their hex, computed bytes by their SHA-256: what the fingerprint hashes."""
        hexed = [float(v).hex() if isinstance(v, (float, np.floating)) else repr(v) for v in self.params]
        limits = None if self.limits is None else [float(v).hex() for v in self.limits]
        value = None if self.value is None else float(self.value).hex()
        fields = (self.name, self.key_name, self.shape, self.dtype, self.begin, self.end, self.kind, hexed, limits,
                  self.key, value, self.zero_row)  # fmt: skip
        return fields if self.data is None else (*fields, hashlib.sha256(self.data).hexdigest())


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


def header_bytes(tensors: Sequence[TensorSpec], fingerprint: str) -> bytes:
    body: dict[str, Any] = {"__metadata__": {"format": "pt", RECORD: fingerprint}}
    for t in tensors:
        code = CODES[DTYPE_NAMES[t.dtype]]
        body[t.name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [t.begin, t.end]}
    text = json.dumps(body, separators=(",", ":")).encode()
    return text + b" " * (-len(text) % 8)


def nbytes(t: TensorSpec) -> int:
    return math.prod(t.shape) * DTYPE_NAMES[t.dtype].itemsize


def layout_shards(specs: Sequence[TensorSpec], max_bytes: int, fingerprint: str) -> tuple[ShardSpec, ...]:
    """Hugging Face's split: tensors in state-dict order, a new shard when the next would pass ``max_bytes``.

    A tensor larger than ``max_bytes`` gets a shard of its own.  Inside a
    shard, tensors are laid out by decreasing element size (stable).
    """
    groups: list[list[TensorSpec]] = []
    size = 0
    for t in specs:
        n = nbytes(t)
        if not groups or (size + n > max_bytes and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(t)
        size += n
    out = []
    for k, group in enumerate(groups, start=1):
        ordered = sorted(group, key=lambda t: -DTYPE_NAMES[t.dtype].itemsize)
        placed = []
        offset = 0
        for t in ordered:
            n = nbytes(t)
            placed.append(TensorSpec(**{**t.__dict__, "begin": offset, "end": offset + n}))
            offset += n
        header = header_bytes(placed, fingerprint)
        out.append(ShardSpec(shard_name(k, len(groups)), header, 8 + len(header) + offset, tuple(placed)))
    return tuple(out)


def is_client(workers: Any) -> bool:
    return hasattr(workers, "submit") and hasattr(workers, "gather") and not isinstance(workers, (int, bool))


def our_file(name: str) -> bool:
    """A file this writer makes in a checkpoint folder (and may remove to overwrite it)."""
    return (
        name in (INDEX, "config.json")
        or re.fullmatch(r"model(-\d{5}-of-\d{5})?\.safetensors", name) is not None
        or name.endswith(PARTIAL)
    )


def existing_shard_ok(path: Path, shard: ShardSpec) -> bool:
    """Whether ``path`` is this shard, complete: its size and its header bytes (which hold the fingerprint)."""
    try:
        if path.stat().st_size != shard.size:
            return False
        with path.open("rb") as f:
            head = f.read(shard.data_start)
    except OSError:
        return False
    return head == len(shard.header).to_bytes(8, "little") + shard.header


def read_index(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((path / INDEX).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return found if isinstance(found, dict) else None
