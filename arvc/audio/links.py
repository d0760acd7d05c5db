"""Symbolic links in a dataset folder: loops, duplicates and dangling links are skipped with a warning.

A link such as ``loop -> .`` would otherwise make the dataset's own files a second speaker, and a link to a
file already in the dataset would train on it twice.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def is_loop(folder: Path, root: Path) -> bool:
    """True when ``folder`` (a sub-folder of ``root``) resolves to ``root`` itself or one of its ancestors."""
    try:
        target = folder.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop pathlib cannot resolve
        return True
    real_root = root.resolve()
    return target == real_root or target in real_root.parents


def dangling_links(folder: Path, recursive: bool) -> list[Path]:
    """Symbolic links under ``folder`` whose target does not exist (hidden entries ignored)."""
    found = []
    walk = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for top, dirs, files in walk:
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files + dirs:
            p = Path(top) / name
            if not name.startswith(".") and p.is_symlink() and not p.exists():
                found.append(p)
    return found


def drop_duplicates(files: list[Path], seen: set[str]) -> list[Path]:
    """``files`` without those whose real path is already in ``seen`` (real paths as strings, updated); warns per
    duplicate."""
    kept = []
    for p in files:
        real = os.path.realpath(p)
        if real in seen:
            log.warning("skipping %s: the same file as one already in the dataset (symbolic link)", p)
            continue
        seen.add(real)
        kept.append(p)
    return kept
