"""``.safetensors`` files: tensors plus a string->string header; arvc stores each metadata value as a JSON string.

An RVC model as safetensors holds the ``weight`` tensors; every other top-level entry of the ``.pth`` (config, sr,
f0, version, vocoder, ...) is a header key whose value is ``json.dumps(value)``, and ``weight_order`` keeps the
tensor order of the ``.pth``. Safetensors cannot hold code, so these files are safe by construction.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from arvc.atomic import atomic_path
from arvc.errors import ArvcError

if TYPE_CHECKING:
    import torch

FORMAT_KEY = "arvc_format"
MODEL_FORMAT = "rvc-inference-model"
ORDER_KEY = "weight_order"


def save_safetensors(path: str | os.PathLike, tensors: Mapping[str, "torch.Tensor"], metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``tensors`` atomically with ``metadata`` values JSON-encoded in the header."""
    from safetensors.torch import save_file

    path = Path(path)
    header = {str(k): json.dumps(v, ensure_ascii=False) for k, v in (metadata or {}).items()}
    data = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(data, str(tmp), metadata=header)
    return path


def load_safetensors(path: str | os.PathLike) -> "tuple[OrderedDict[str, torch.Tensor], dict[str, Any]]":
    """Read tensors (in the stored ``weight_order`` if present) and the JSON-decoded header metadata."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    path = Path(path)
    if not path.is_file():
        raise ArvcError(f"file not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ArvcError(f"{path} is not a readable safetensors file ({str(e).splitlines()[0][:160]})") from None
    metadata: dict[str, Any] = {}
    for k, v in header.items():
        try:
            metadata[k] = json.loads(v)
        except (json.JSONDecodeError, TypeError):
            metadata[k] = v
    order = metadata.pop(ORDER_KEY, None)
    names = [n for n in order if n in tensors] if isinstance(order, list) else []
    names += [n for n in tensors if n not in names]
    return OrderedDict((n, tensors[n]) for n in names), metadata


def write_model_safetensors(path: str | os.PathLike, model_dict: Mapping[str, Any]) -> Path:
    """Write the dict :func:`arvc.formats.rvc_pth.build_model_dict` makes as a safetensors model."""
    weights = model_dict["weight"]
    meta = {FORMAT_KEY: MODEL_FORMAT, ORDER_KEY: list(weights)}
    meta.update({k: v for k, v in model_dict.items() if k != "weight"})
    return save_safetensors(path, weights, meta)


def read_model_safetensors(path: str | os.PathLike) -> "OrderedDict[str, Any]":
    """Rebuild the ``.pth`` dict (``weight`` + metadata entries) from a safetensors model."""
    tensors, meta = load_safetensors(path)
    if "config" not in meta:
        raise ArvcError(f"{path} holds tensors but no RVC 'config' in its safetensors header; not an arvc/RVC model")
    meta.pop(FORMAT_KEY, None)
    out: OrderedDict[str, Any] = OrderedDict(weight=tensors)
    out.update(meta)
    return out
