"""Extraction of untrusted zip archives (voice-model zips from the internet).

Refused before anything is written: an entry with an absolute path, a drive letter, a ``..`` component or a
symbolic link, and an archive whose declared uncompressed total exceeds ``max_size``. While extracting, the bytes
actually inflated are counted too (a header may lie), and a failure removes everything extracted so far.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from arvc.errors import ArvcError
from arvc.safe_paths import is_within

DEFAULT_MAX_SIZE = 4 * 1024 ** 3


def _bad_name(name: str) -> str | None:
    """Why the entry name ``name`` is unsafe, or None."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "an absolute path"
    if any(part == ".." for part in PurePosixPath(norm).parts):
        return "a '..' component"
    return None


def check_zip(zf: zipfile.ZipFile, where: str, max_size: int) -> int:
    """Refuse unsafe entries; the declared uncompressed total in bytes."""
    total = 0
    for info in zf.infolist():
        why = _bad_name(info.filename)
        if why:
            raise ArvcError(f"{where}: refused: entry {info.filename!r} has {why}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArvcError(f"{where}: refused: entry {info.filename!r} is a symbolic link")
        total += info.file_size
    if total > max_size:
        raise ArvcError(f"{where}: refused: it would unpack to {total} bytes, more than the limit of {max_size} "
                        "(--max_size)")
    return total


def safe_extract(archive: str | Path, target: str | Path, *, max_size: int = DEFAULT_MAX_SIZE,
                 where: str | None = None) -> list[Path]:
    """Extract the regular files of ``archive`` under ``target`` (created); returns their paths.

    ``where`` names the archive in messages (e.g. the URL it came from; default its path).
    """
    archive, target = Path(archive), Path(target)
    where = where or str(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArvcError(f"{where}: not a readable zip archive ({e})") from None
    written: list[Path] = []
    created = not target.exists()
    root = target.resolve()
    try:
        with zf:
            check_zip(zf, where, max_size)
            inflated = 0
            for info in zf.infolist():
                if info.is_dir():
                    continue
                out = (target / info.filename.replace("\\", "/")).resolve()
                if not is_within(out, root, strictly=True):
                    raise ArvcError(f"{where}: refused: entry {info.filename!r} leaves the target folder")
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    written.append(out)
                    while block := src.read(1 << 20):
                        inflated += len(block)
                        if inflated > max_size:
                            raise ArvcError(f"{where}: refused: more than {max_size} bytes inflated (--max_size)")
                        dst.write(block)
    except ArvcError:
        _cleanup(target, written, created)
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
        _cleanup(target, written, created)
        raise ArvcError(f"{where}: extraction failed ({type(e).__name__}: {e})") from None
    return written


def _cleanup(target: Path, written: list[Path], created: bool) -> None:
    if created:
        shutil.rmtree(target, ignore_errors=True)
        return
    for p in written:
        p.unlink(missing_ok=True)
