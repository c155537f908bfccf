"""A checkpoint's input and its tensors: a meta model or a config built on meta, each stored tensor as a spec.

:func:`model_and_config` checks the input (a model whose tensors are all on
the meta device, or a Hugging Face config built on meta with
``transformers``); :func:`tensor_specs` gives each tensor of its state dict
the rule :func:`~xinit_bench.torch.init_module` gives it, checked and resolved
to plain values (a law's kind, parameters and key; a constant; computed
bytes), which is all a shard's task carries.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..plans import resolve_plan
from .inits import Init, Normal, Skip
from .matching import refuse_uncovered
from .modules import assign, unwrap
from .report import InitReport
from .rules import Rule
from .shards import CODES, DTYPE_NAMES, FLOAT_NAMES, TensorSpec
from .writing import name_key, prepare_entries

__all__ = ["check_dtype", "model_and_config", "tensor_specs"]


def check_dtype(dtype: Any) -> torch.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in FLOAT_NAMES:
        return DTYPE_NAMES[dtype.removeprefix("torch.")]
    if isinstance(dtype, torch.dtype) and str(dtype).removeprefix("torch.") in FLOAT_NAMES:
        return dtype
    if isinstance(dtype, (str, torch.dtype)):
        raise ValueError(f"dtype must be one of None, {', '.join(FLOAT_NAMES)} (or the torch dtype), got {dtype!r}")
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


def model_and_config(model_or_config: Any, dt: torch.dtype | None) -> tuple[nn.Module, Any]:
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


def tensor_specs(
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
    refuse_uncovered(
        "tensor of the state dict",
        [e for _, _, e in kept if e.rule is None or isinstance(e.rule.init, Skip)],
        "pass rules=[xinit_bench.torch.Rule(...)] for them, or another preset",
    )
    bad = [f"{e.name} {e.tensor.dtype}" for _, _, e in kept if e.tensor.dtype not in CODES]
    if bad:
        raise TypeError(
            f"every stored tensor must have a dtype safetensors holds ({', '.join(DTYPE_NAMES)}), got {', '.join(bad)}"
        )
    report = InitReport()
    prepared = prepare_entries([e for _, _, e in kept], report, allocated=False)
    constants = {id(e): value for e, value in prepared.constants}
    work = {id(e): (plan, dt) for e, plan, dt in prepared.work}
    computed = {id(e): value for e, value in prepared.values}
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
        elif id(e) in computed:
            assert e.rule is not None and e.match is not None
            _zero_row(e.rule.init, e.match, shape, e.name)  # refuses an after-step, which needs the module
            data = _raw_bytes(computed[id(e)].reshape(shape).to(e.tensor.dtype))
            out.append(TensorSpec(name, e.name, shape, dtype, 0, 0, data=data))
        else:  # a zero fan: torch leaves such a tensor (it has no elements to draw), so it is stored as zeros
            out.append(TensorSpec(name, e.name, shape, dtype, 0, 0, value=0.0))
    return out, not_stored


def _raw_bytes(t: torch.Tensor) -> bytes:
    """The little-endian bytes of ``t`` in C order, as safetensors stores them (the CPU is little-endian)."""
    flat = t.detach().contiguous().reshape(-1)
    return bytes(flat.view(torch.uint8).numpy().tobytes()) if flat.numel() else b""
