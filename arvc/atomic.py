"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A crash (or SIGKILL) mid-write leaves either the old file or no file, never a partial one.
Temporary files are named ``.<name>.tmp-<pid>-<rand>`` so they are easy to recognise and clean.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

from arvc.errors import ArvcError

TMP_MARK = ".tmp-"
# file-system errors a user can fix (free space, a writable folder): reported as one line naming the path
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
MIN_FREE_BYTES = 64 * 1024


def _free_bytes(folder: Path) -> int | None:
    for p in (folder, *folder.parents):
        if p.exists():
            try:
                st = os.statvfs(p)
            except (OSError, AttributeError):
                return None
            return st.f_bavail * st.f_frsize
    return None


def write_error(path: str | os.PathLike, exc: BaseException) -> ArvcError | None:
    """The one-line error for a write to ``path`` that failed because of the file system, else None.

    Libraries report a full disk in many ways (``OSError`` with errno ENOSPC, numpy's "requested and N
    written", libsndfile's "System error.", torch's "enforce fail at inline_container.cc", FAISS' C++ text);
    an exception while the target's file system has (almost) no free space is taken as a full disk.
    """
    if isinstance(exc, ArvcError) or not isinstance(exc, Exception):
        return None
    p = Path(path)
    code = exc.errno if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS else None
    if code is None and "No space left on device" in str(exc):
        code = errno.ENOSPC
    if code is None:
        free = _free_bytes(p.parent)
        if free is not None and free < MIN_FREE_BYTES:
            code = errno.ENOSPC
    if code is None:
        return None
    return ArvcError(f"cannot write {p}: {os.strerror(code)}")


@contextlib.contextmanager
def reporting_write_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn a file-system failure inside the block (full disk, read-only or forbidden folder) into an
    ArvcError naming ``path``; other exceptions pass unchanged."""
    try:
        yield
    except Exception as e:
        err = write_error(path, e)
        if err is None:
            raise
        raise err from None


def check_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove a file can be made in it; raises a one-line ArvcError otherwise.

    For outputs that are only written after long work (inference), so a read-only folder fails at once."""
    p = Path(folder)
    with reporting_write_errors(p):
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".probe{TMP_MARK}{os.getpid()}-", dir=p)
        os.close(fd)
        os.unlink(probe)
    return p


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``path``."""
    path = Path(path)
    with reporting_write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}{os.getpid()}-", dir=path.parent,
                                   suffix=path.suffix)
        os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the result the mode a plain open() would
    tmp_path = Path(tmp)
    try:
        with reporting_write_errors(path):
            yield tmp_path
            with open(tmp_path, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_npy(path: str | os.PathLike, array: Any) -> None:
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)


def torch_save(path: str | os.PathLike, obj: Any) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def remove_stale_temporaries(folder: str | os.PathLike, recursive: bool = True) -> int:
    """Delete leftovers of interrupted atomic writes under ``folder``; returns how many.

    Only files whose writer (the PID in ``.<name>.tmp-<pid>-...``) is gone are removed, so a run writing
    into the same folder at the same time keeps its temporaries."""
    from arvc.locks import pid_alive

    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    found = folder.rglob(f"*{TMP_MARK}*") if recursive else folder.glob(f".*{TMP_MARK}*")
    for p in found:
        if not (p.is_file() and p.name.startswith(".")):
            continue
        m = re.search(rf"{re.escape(TMP_MARK)}(\d+)-", p.name)
        if m and (int(m.group(1)) == os.getpid() or pid_alive(int(m.group(1)))):
            continue
        p.unlink(missing_ok=True)
        n += 1
    return n
