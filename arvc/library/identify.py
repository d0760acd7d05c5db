"""What a downloaded file is, judged by its content (never its name).

- ``model``: an RVC inference model, read with the safe loader (``.pth``) or from safetensors;
- ``index``: a FAISS index that ``faiss.read_index`` opens;
- ``checkpoint``: a torch file that loads safely but is a G_/D_ training checkpoint or another weight file;
- ``other``: anything else (readme, audio, images...).

A torch pickle that would import or run code raises :class:`~arvc.errors.ArvcError` (the caller refuses the
whole download); nothing of it runs.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arvc.errors import ArvcError


@dataclass
class Identified:
    """``kind`` model / index / checkpoint / other; ``model`` the parsed ModelFile; ``detail`` a short note."""

    path: Path
    kind: str
    detail: str = ""
    model: Any = None


def _is_torch_file(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80":  # a raw (legacy) pickle
        return True
    if head[:2] != b"PK":
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/data.pkl") or n == "data.pkl" for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return 1 < n < 100 * 1024 ** 2 and head[8:9] == b"{"


def _faiss_index(path: Path) -> Any | None:
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) < 4 or head[:1] != b"I" or not head.isalnum():  # FAISS files start with a fourcc such as IwFl
        return None
    import faiss

    try:
        return faiss.read_index(str(path))
    except Exception:  # noqa: BLE001 - not an index after all
        return None


def identify(path: str | Path) -> Identified:
    """Sniff ``path``. ArvcError when it is a torch file whose pickle would run code."""
    from arvc.formats.rvc_pth import model_from_dict
    from arvc.formats.safe_load import safe_torch_load

    path = Path(path)
    if path.stat().st_size == 0:
        return Identified(path, "other", "empty")
    if _is_torch_file(path):
        raw = safe_torch_load(path, what="downloaded file")  # refuses code-running pickles
        try:
            return Identified(path, "model", model=model_from_dict(raw, path))
        except ArvcError as e:
            return Identified(path, "checkpoint", str(e))
    if _is_safetensors(path):
        try:
            return Identified(path, "model", model=_read_safetensors_model(path))
        except ArvcError as e:
            return Identified(path, "checkpoint", str(e))
    index = _faiss_index(path)
    if index is not None:
        return Identified(path, "index", f"{index.ntotal} vectors of {index.d} dims")
    return Identified(path, "other")


def _read_safetensors_model(path: Path):
    from arvc.formats.rvc_pth import model_from_dict
    from arvc.formats.safetensors_io import read_model_safetensors

    return model_from_dict(read_model_safetensors(path), path)
