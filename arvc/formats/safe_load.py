"""Load torch files a user handed us without ever running code from them.

``torch.load(weights_only=True)`` unpickles with an allow-list (tensors, storages, dtypes, plain containers,
``collections.OrderedDict``); anything else (``os.system``, ``builtins.eval``, custom classes...) makes it raise
before the object is built. Every failure becomes one ArvcError line naming the file.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

from arvc.errors import ArvcError

_UNSAFE_HINT = re.compile(r"(Unsupported global|GLOBAL|Unsupported operand|Trying to)[^\n]*")


def _describe_refusal(message: str) -> str:
    m = _UNSAFE_HINT.search(message)
    detail = m.group(0).strip().rstrip(".") if m else "it holds objects other than tensors and plain values"
    return detail[:200]


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _is_torchscript(path: Path) -> bool:
    """torch.jit.save archives hold compiled code (``<name>/code/``) and ``constants.pkl``; weight files do not."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any("/code/" in n for n in names) and any(n.endswith("/constants.pkl") for n in names)


def _numpy_array_globals() -> list:
    """What unpickling a plain numpy array needs (array reconstruction, ndarray, dtype), under both module names
    numpy 1.x and 2.x write; nothing that calls anything else."""
    import numpy as np

    core = getattr(np, "_core", None) or np.core
    reconstruct = core.multiarray._reconstruct
    allowed: list = [np.ndarray, np.dtype, (reconstruct, "numpy.core.multiarray._reconstruct"),
                     (reconstruct, "numpy._core.multiarray._reconstruct")]
    dtypes = getattr(np, "dtypes", None)
    for name in ("Float32DType", "Float64DType", "Float16DType", "Int64DType", "Int32DType"):
        if dtypes is not None and hasattr(dtypes, name):
            allowed.append(getattr(dtypes, name))
    return allowed


def safe_torch_load(path: str | os.PathLike, *, what: str = "file", allow_numpy: bool = False) -> Any:
    """``torch.load(path, weights_only=True, map_location="cpu")`` with one-line errors.

    A pickle that would import or call anything beyond tensors and plain containers is refused (nothing from it
    runs); a missing, empty, truncated or corrupt file gives an ArvcError naming ``path``. ``what`` names the file's
    role in messages ("model", "checkpoint", ...). ``allow_numpy`` also accepts plain numpy arrays (so-vits'
    k-means files store their centres that way).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ArvcError(f"{what} not found: {path}")
    size = path.stat().st_size
    if size == 0:
        raise ArvcError(f"{what} {path} is empty (0 bytes)")
    is_zip = _is_zip(path)
    if not is_zip:
        with open(path, "rb") as f:
            head = f.read(4)
        if head[:2] == b"PK":
            raise ArvcError(f"{what} {path} is a truncated or corrupt zip archive (torch file); re-download or re-save it")
        if head[:1] != b"\x80":
            raise ArvcError(f"{what} {path} is not a torch file (no pickle or zip header)")
    if is_zip and _is_torchscript(path):
        raise ArvcError(f"{what} {path} is a TorchScript program (torch.jit.save), not a {what} of weights; "
                        "arvc reads RVC .pth files and state dicts")
    try:
        if allow_numpy:
            with torch.serialization.safe_globals(_numpy_array_globals()):
                return torch.load(path, map_location="cpu", weights_only=True)
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if "weights_only" in msg.lower() or "global" in msg.lower() or "unsupported" in msg.lower():
            raise ArvcError(
                f"refused to load {what} {path}: its pickle would import or run code ({_describe_refusal(msg)}); "
                "only tensors and plain values are accepted"
            ) from None
        raise ArvcError(f"{what} {path} is corrupt or truncated (unpickling failed)") from None
    except (EOFError, RuntimeError, ValueError, OSError, zipfile.BadZipFile, KeyError, TypeError, AttributeError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise ArvcError(f"{what} {path} is corrupt or truncated ({type(e).__name__}: {first})") from None
