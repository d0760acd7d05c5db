"""Read and write the community ``*.index`` files (FAISS binary format, atomic writes)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from arvc.atomic import atomic_path
from arvc.errors import ArvcError

logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # its CPU-feature probing is noise for users


def read_index(path: str | os.PathLike):
    """Load a FAISS index written by arvc, Applio or the RVC WebUI. Raises ArvcError naming the file."""
    import faiss

    from arvc.index.guard import check_loaded, inspect_header

    p = Path(path)
    if not p.is_file():
        raise ArvcError(f"{p}: index file not found")
    header = inspect_header(p)  # refuses types and sizes FAISS would abort on, before FAISS reads anything
    try:
        index = faiss.read_index(str(p))
    except Exception as e:  # noqa: BLE001 - faiss raises RuntimeError with a C++ trace
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ArvcError(f"{p}: not a readable FAISS index ({first})") from e
    check_loaded(index, header, p)
    return index


def write_index(index, path: str | os.PathLike) -> Path:
    """Write ``index`` to ``path`` atomically (temp file beside it, then rename)."""
    import faiss

    p = Path(path)
    with atomic_path(p) as tmp:
        faiss.write_index(index, str(tmp))
    return p


def ivf_of(index):
    """The IVF layer of ``index`` (IndexIVF*), or None for flat / other indexes."""
    import faiss

    try:
        return faiss.extract_index_ivf(index)
    except Exception:  # noqa: BLE001 - not an IVF index
        return None


def get_nprobe(index) -> int | None:
    ivf = ivf_of(index)
    return int(ivf.nprobe) if ivf is not None else None


def set_nprobe(index, nprobe: int) -> None:
    """Set how many IVF lists a search visits (ignored for non-IVF indexes)."""
    if nprobe < 1:
        raise ArvcError(f"--nprobe must be >= 1, got {nprobe}")
    ivf = ivf_of(index)
    if ivf is not None:
        ivf.nprobe = int(nprobe)
