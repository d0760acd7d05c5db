"""The one rule for names and paths that come from outside (CLI arguments, UI fields, JSON files, catalog entries,
archive members, ``info.json``).

- A *name* (model, voice, pretrain id, output stem) is one plain folder/file name: not empty, not ``.``/``..``,
  no ``/``, ``\\``, NUL or other control characters (a newline would break filelists and logs), at most 255 bytes.
- A *path* that was not typed on the server's own command line stays under an allowed root, after resolving
  symbolic links (:func:`under_roots`).
- Deletion happens only strictly below a given root (the models folder), after resolving links
  (:func:`remove_below`).

Every check raises :class:`~arvc.errors.ArvcError` with one line naming the value and the rule it broke; a
message never quotes a file's contents.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

from arvc.errors import ArvcError

MAX_NAME_BYTES = 255


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a plain name, or None."""
    if not isinstance(name, str) or not name:
        return "empty or not text"
    if name in (".", ".."):
        return "'.' and '..' are not names"
    if any(c in name for c in "/\\") or os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        return "a path, not a name"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "control characters (newline, tab, NUL...)"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    return None


def plain_name(name: object, what: str = "name") -> str:
    """``name`` if it is one plain folder/file name; else ArvcError ``<what> '<name>' is not a plain folder name``."""
    why = name_problem(name)
    if why is not None:
        raise ArvcError(f"{what} {name!r} is not a plain folder name ({why})")
    return name  # type: ignore[return-value]


def resolved(path: str | os.PathLike) -> Path:
    """``path`` made absolute with every symbolic link resolved (``~`` expanded)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def is_within(path: str | os.PathLike, root: str | os.PathLike, strictly: bool = False) -> bool:
    """Whether ``path`` lies at or (``strictly``) below ``root``, both resolved."""
    p, r = resolved(path), resolved(root)
    return (r in p.parents) or (not strictly and p == r)


def under_roots(path: str | os.PathLike, roots: Iterable[str | os.PathLike], what: str = "path") -> Path:
    """The resolved ``path`` if it lies in one of ``roots``; else ArvcError naming the allowed folders."""
    roots = [resolved(r) for r in roots]
    text = str(path).strip() if path is not None else ""
    if not text or "\0" in text:
        raise ArvcError(f"{what}: no path given")
    p = resolved(text)
    if not any(p == r or r in p.parents for r in roots):
        allowed = ", ".join(str(r) for r in roots) or "none"
        raise ArvcError(f"{what} {text}: outside the allowed folders ({allowed}; see --allowed_dirs)")
    return p


def child(root: str | os.PathLike, name: str, what: str = "name") -> Path:
    """``root / name`` for a plain ``name`` (the one way to turn an outside name into a path)."""
    return Path(root) / plain_name(name, what)


def remove_below(path: str | os.PathLike, root: str | os.PathLike, what: str = "folder") -> Path:
    """Delete the folder (or file) ``path``, only if it resolves strictly below ``root``.

    A symbolic link at ``path`` is refused (it would point the deletion elsewhere); links inside the folder are
    removed, never followed (``shutil.rmtree``)."""
    p = Path(path)
    if p.is_symlink():
        raise ArvcError(f"{what} {p}: is a symbolic link; refusing to delete through it")
    real, base = resolved(p), resolved(root)
    if base not in real.parents:
        raise ArvcError(f"{what} {p}: not inside {base}; refusing to delete it")
    if real.is_dir():
        shutil.rmtree(real)
    else:
        real.unlink(missing_ok=True)
    return real
