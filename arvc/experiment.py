"""What an experiment folder's two text files hold: ``model_info.json`` (:class:`ExperimentInfo`) and
``filelist.txt`` (:class:`FileEntry` lines, :func:`read_filelist` / :func:`write_filelist`).

Where they are is :class:`arvc.paths.ExperimentPaths`. ``preprocess`` writes the dataset summary,
``extract`` adds the settings its files were made with, ``train`` reads both.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from arvc.atomic import write_json, write_text
from arvc.constants import parse_sample_rate
from arvc.errors import ArvcError

# model_info.json keys of older writers -> the field that holds them now
_OLD_KEYS = {"sr": "sample_rate"}


@dataclass
class ExperimentInfo:
    """``model_info.json``: None = not recorded. Keys of other writers are kept in ``extra`` and written back."""

    # written by preprocess
    sample_rate: int | None = None
    total_dataset_duration: str | None = None  # "HH:MM:SS"
    total_seconds: float | None = None
    chunk_count: int | None = None
    chunk_seconds: float | None = None
    input_seconds: float | None = None
    speakers: list[dict] | None = None
    dataset_path: str | None = None
    cut_method: str | None = None
    chunk_len: float | None = None
    overlap_len: float | None = None
    normalization: str | None = None
    process_effects: bool | None = None
    noise_reduction: bool | None = None
    clean_strength: float | None = None
    files_found: int | None = None
    files_used: int | None = None
    files_unreadable: list[dict] | None = None
    files_without_chunks: list[dict] | None = None
    # written by extract (dropped by a new preprocess: they describe the old chunks' features)
    f0_method: str | None = None
    f0_hop_length: int | None = None
    f0_min: float | None = None
    f0_max: float | None = None
    embedder_model: str | None = None
    embedder_path: str | None = None
    version: str | None = None
    embedder_layer: int | None = None
    embedders_mix: list | None = None
    content_dim: int | None = None
    include_mutes: int | None = None
    extract_complete: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    EXTRACTION_FIELDS = (
        "f0_method", "f0_hop_length", "f0_min", "f0_max", "embedder_model", "embedder_path", "version",
        "embedder_layer", "embedders_mix", "content_dim", "include_mutes", "extract_complete",
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExperimentInfo":
        names = {f.name for f in fields(cls)} - {"extra"}
        known, extra = {}, {}
        for key, value in data.items():
            name = _OLD_KEYS.get(key, key)
            if name in names and not (name != key and known.get(name) is not None):
                known[name] = value
            elif key not in names:
                extra[key] = value
        if known.get("sample_rate") is not None:
            known["sample_rate"] = parse_sample_rate(known["sample_rate"])
        return cls(**known, extra=extra)

    @classmethod
    def read(cls, path: str | os.PathLike, strict: bool = True) -> "ExperimentInfo":
        """The file at ``path``; empty when it does not exist (or, with ``strict=False``, is unreadable)."""
        path = Path(path)
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            if not strict:
                return cls()
            raise ArvcError(f"{path}: unreadable ({e})") from None
        if not isinstance(data, dict):
            if not strict:
                return cls()
            raise ArvcError(f"{path}: expected a JSON object, found {type(data).__name__}")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The recorded fields (None left out) in declaration order, then the other writers' keys."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**{k: v for k, v in out.items() if v is not None}, **self.extra}

    def write(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())

    def update(self, **values: Any) -> None:
        for key, value in values.items():
            if not hasattr(self, key) or key == "extra":
                raise AttributeError(f"ExperimentInfo has no field {key!r}")
            setattr(self, key, value)

    def differs(self, settings: dict[str, Any]) -> bool:
        """True when any of ``settings`` (field -> value) is not what is recorded."""
        return any(getattr(self, key) != value for key, value in settings.items())

    def drop_extraction(self) -> None:
        """Forget what ``extract`` recorded (its files are gone)."""
        for key in self.EXTRACTION_FIELDS:
            setattr(self, key, None)


# ---------------------------------------------------------------------------------------------------- filelist.txt


@dataclass(frozen=True)
class FileEntry:
    """One training item: ``wav|feat|f0|f0_voiced|sid`` (``wav|feat|sid`` for models without pitch)."""

    wav: Path
    feat: Path
    f0: Path | None
    f0_hz: Path | None
    sid: int

    def to_line(self) -> str:
        files = (self.wav, self.feat) if self.f0 is None or self.f0_hz is None else (
            self.wav, self.feat, self.f0, self.f0_hz)
        return "|".join(str(p) for p in files) + f"|{self.sid}"


def write_filelist(path: str | os.PathLike, entries: list[FileEntry]) -> None:
    """Write ``entries`` one per line (atomic)."""
    write_text(path, "".join(e.to_line() + "\n" for e in entries))


def read_filelist(path: str | os.PathLike, use_f0: bool = True) -> list[FileEntry]:
    """Parse filelist.txt (5 fields with pitch, 3 fields ``wav|feat|sid`` without)."""
    path = Path(path)
    if not path.is_file():
        raise ArvcError(f"{path}: filelist not found; run `arvc extract` first")
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            entries.append(_parse_line(line.strip(), use_f0, f"{path}:{n}"))
    if not entries:
        raise ArvcError(f"{path}: filelist is empty")
    return entries


def _parse_line(line: str, use_f0: bool, where: str) -> FileEntry:
    parts = line.split("|")
    try:
        if len(parts) == 5:
            wav, feat, f0, f0_hz, sid = parts
            return FileEntry(Path(wav), Path(feat), Path(f0), Path(f0_hz), int(sid))
        if len(parts) == 3 and not use_f0:
            wav, feat, sid = parts
            return FileEntry(Path(wav), Path(feat), None, None, int(sid))
        raise ValueError(f"expected {'5' if use_f0 else '3 or 5'} fields, got {len(parts)}")
    except ValueError as e:
        raise ArvcError(f"{where}: bad filelist line ({e})") from None
