"""The audio files of a dataset folder and their speakers.

Speakers: audio files directly in the dataset folder are speaker 0; each sub-folder holding audio
(searched recursively) is one speaker, sub-folders taken in natural name order ("2" before "10")
and numbered from 1 when the root holds files, else from 0. Folders named 0, 1, 2... therefore
keep their numbers, as in Applio. Hidden files and folders are ignored.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from arvc.audio.io import AUDIO_EXTENSIONS, is_audio_file
from arvc.audio.links import dangling_links, drop_duplicates, is_loop
from arvc.errors import ArvcError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    sid: int
    index: int  # global file index (the <fileidx> of chunk names)


@dataclass(frozen=True)
class Speaker:
    id: int
    name: str
    folder: str


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _audio_files(folder: Path, recursive: bool) -> list[Path]:
    if recursive:
        found = [
            p for p in folder.rglob("*")
            if p.is_file() and is_audio_file(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ]
    else:
        found = [p for p in folder.iterdir() if p.is_file() and is_audio_file(p) and not p.name.startswith(".")]
    return sorted(found, key=lambda p: _natural_key(str(p.relative_to(folder))))


def discover_dataset(root: str | os.PathLike) -> tuple[list[SourceFile], list[Speaker]]:
    """The audio files of a dataset folder with their speaker ids (rule in the module docstring).

    Raises ArvcError when ``root`` is missing, not a folder, or holds no audio file.
    """
    root = Path(root)
    if not root.exists():
        raise ArvcError(f"dataset path {root} does not exist")
    if not root.is_dir():
        raise ArvcError(f"dataset path {root} is not a directory")
    sources: list[SourceFile] = []
    speakers: list[Speaker] = []
    seen: set[str] = set()

    def add(name: str, folder: Path, files: list[Path]) -> None:  # paths kept as strings only (memory per file)
        sid, first = len(speakers), len(sources)
        speakers.append(Speaker(sid, name, str(folder)))
        sources.extend([SourceFile(str(p), sid, first + i) for i, p in enumerate(files)])

    top = drop_duplicates(_audio_files(root, recursive=False), seen)
    if top:
        add(root.resolve().name, root, top)
    del top
    subdirs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: _natural_key(d.name))
    for d in subdirs:
        if d.is_symlink() and is_loop(d, root):
            log.warning("skipping %s: a symbolic link back into the dataset (a loop)", d)
            continue
        files = drop_duplicates(_audio_files(d, recursive=True), seen)
        if files:
            add(d.name, d, files)
    for p in dangling_links(root, recursive=True):
        log.warning("skipping %s: a symbolic link to a missing file (%s)", p, os.readlink(p))
    if not sources:
        raise ArvcError(f"dataset path {root} holds no audio files (looked for {' '.join(AUDIO_EXTENSIONS)})")
    return sources, speakers
