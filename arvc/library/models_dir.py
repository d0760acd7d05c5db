"""The one models folder (``$ARVC_MODELS_DIR``, default ``~/.cache/arvc``) and its voices.

<models dir>/
  voices/<name>/      <name>.pth (or .safetensors), <name>.index when there is one, info.json
  pretrains/<id>/     G / D files of a catalog pretrain (file names as published, e.g. f0G40k.pth)
  pretrains_local/<name>/  G.pth, D.pth, pretrain.json of a pretrain made here (`arvc pretrain export|merge`)
  embedders/<name>/   config.json + weights of a content encoder
  f0/                 pitch-network weights (rmvpe.pt; fcnf0++.pt for penn, djcm.pt for djcm)

``info.json`` records where a voice came from (URL or folder), the model file's sha256, the date it was added,
and what the model says about itself (sample rate, version, vocoder, F0, embedder).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterator

from arvc.errors import ArvcError
from arvc.paths import WEIGHTS_NAME, models_root

INFO_FILE = "info.json"
MODEL_SUFFIXES = (".pth", ".safetensors")


def voices_root() -> Path:
    return models_root() / "voices"


def pretrains_root() -> Path:
    return models_root() / "pretrains"


def local_pretrains_root() -> Path:
    return models_root() / "pretrains_local"


def embedders_root() -> Path:
    return models_root() / "embedders"


def f0_root() -> Path:
    return models_root() / "f0"


def sanitize_name(name: str, fallback: str = "voice") -> str:
    """A folder-safe voice name: letters, digits, ``. _ -``; no leading dots; at most 64 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:64].strip("._-")
    return cleaned or fallback


@dataclass
class VoiceInfo:
    """One voice of the library (the fields of its ``info.json``)."""

    name: str
    model_file: str
    index_file: str | None = None
    source: str | None = None
    sha256: str | None = None
    added: str | None = None
    sample_rate: int | None = None
    version: str | None = None
    vocoder: str | None = None
    f0: bool | None = None
    embedder: str | None = None
    pretrain: str | None = None
    size_bytes: int = 0
    family: str | None = None  # None: RVC; "so-vits-svc": a generator + config.json voice
    speakers: list[str] | None = None
    cluster_file: str | None = None

    @property
    def folder(self) -> Path:
        return voices_root() / self.name

    @property
    def model_path(self) -> Path:
        return self.folder / self.model_file

    @property
    def index_path(self) -> Path | None:
        return self.folder / self.index_file if self.index_file else None

    def to_dict(self) -> dict:
        return asdict(self)


def voice_dir(name: str) -> Path:
    """``voices/<name>`` for a plain voice name (ArvcError for ``../x``, absolute paths, newlines...)."""
    from arvc.safe_paths import child

    return child(voices_root(), name, "voice name")


def read_voice(name: str) -> VoiceInfo:
    """The library's voice ``name`` (ArvcError if there is none or its ``info.json`` is not one).

    The voice's name is its folder's name, whatever ``info.json`` says; the model and index files it names must be
    plain file names inside that folder."""
    from arvc.safe_paths import name_problem

    folder = voice_dir(name)
    info_path = folder / INFO_FILE
    if not info_path.is_file():
        raise ArvcError(f"no voice {name!r} in {voices_root()} (see `arvc models list`)")
    try:
        raw = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArvcError(f"{info_path}: unreadable ({type(e).__name__})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("model_file"), str):
        raise ArvcError(f"{info_path}: not a voice's info.json (no \"model_file\"); "
                        f"`arvc models remove {name} --yes` deletes the folder")
    for key in ("model_file", "index_file"):
        value = raw.get(key)
        if value is not None and name_problem(value):
            raise ArvcError(f"{info_path}: {key} must be a file name inside the voice folder")
    known = {f.name for f in fields(VoiceInfo)}
    try:
        return VoiceInfo(**{**{k: v for k, v in raw.items() if k in known}, "name": folder.name})
    except TypeError as e:
        raise ArvcError(f"{info_path}: not a voice's info.json ({e})") from None


def resolve_model_arg(model: str | Path, index: str | Path | None = None) -> tuple[Path, Path | None]:
    """``-m``: a path as given, or the name of a library voice -> (its model file, or its folder for a so-vits
    voice; its index unless ``index`` is given)."""
    path = Path(model)
    if path.exists() or path.suffix or "/" in str(model) or "\\" in str(model):
        return path, Path(index) if index else None
    folder = voice_dir(sanitize_name(str(model)))
    if not (folder / INFO_FILE).is_file():
        return path, Path(index) if index else None
    info = read_voice(folder.name)
    chosen = Path(index) if index else info.index_path
    return (info.folder if info.family == "so-vits-svc" else info.model_path), chosen


def list_voices() -> list[VoiceInfo]:
    """Every readable voice; a folder with a broken ``info.json`` is named in a warning and left out."""
    import logging

    root = voices_root()
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.name.startswith(".") or not (p / INFO_FILE).is_file():
            continue
        try:
            out.append(read_voice(p.name))
        except ArvcError as e:
            logging.getLogger("arvc.library").warning("%s", e)
    return out


def add_voice(model: str | Path, index: str | Path | None = None, *, name: str | None = None,
              source: str | None = None, move: bool = False) -> VoiceInfo:
    """Copy (or move) an RVC model and its index into ``voices/<name>/`` and write ``info.json``.

    The model is read with the safe loader first (ArvcError if it is not an RVC model); the index must open
    in FAISS. The voice folder is assembled beside its final place and renamed in when complete.
    """
    from arvc.atomic import write_json
    from arvc.formats.rvc_pth import read_model
    from arvc.index.io import read_index
    from arvc.library.download import sha256_of

    model, index = Path(model), Path(index) if index else None
    parsed = read_model(model)
    if index is not None:
        read_index(index)
    name = sanitize_name(name or parsed.metadata.model_name or model.stem)
    with assembling_voice(name) as staging:
        model_file = f"{name}{model.suffix.lower() if model.suffix.lower() in MODEL_SUFFIXES else '.pth'}"
        (shutil.move if move else shutil.copy2)(str(model), str(staging / model_file))
        index_file = None
        if index is not None:
            index_file = f"{name}.index"
            (shutil.move if move else shutil.copy2)(str(index), str(staging / index_file))
        md = parsed.metadata
        info = VoiceInfo(
            name=name, model_file=model_file, index_file=index_file, source=source or str(model.resolve()),
            sha256=sha256_of(staging / model_file), added=datetime.datetime.now().isoformat(timespec="seconds"),
            sample_rate=md.sr, version=md.version, vocoder=md.vocoder, f0=md.f0, embedder=md.embedder_model,
            pretrain=md.pretrain,
            size_bytes=sum(p.stat().st_size for p in staging.iterdir()))
        write_json(staging / INFO_FILE, info.to_dict())
    return info


@contextlib.contextmanager
def assembling_voice(name: str) -> Iterator[Path]:
    """A hidden folder beside ``voices/<name>/`` to assemble a new voice in: renamed into place when the block
    ends, removed when it raises (ArvcError at once when the name is taken)."""
    final = voice_dir(name)
    if final.exists():
        raise ArvcError(f"a voice named {name!r} already exists in {voices_root()}; pick another --name "
                        f"or run `arvc models remove {name} --yes` first")
    staging = voices_root() / f".{name}.adding"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_voice(name: str) -> Path:
    """Delete ``voices/<name>`` (a plain name; the folder must resolve inside the voices folder). Works on a
    voice whose ``info.json`` is broken; returns the deleted folder."""
    from arvc.safe_paths import remove_below

    folder = voice_dir(name)
    if not folder.is_dir() or not (folder / INFO_FILE).is_file():
        raise ArvcError(f"no voice {name!r} in {voices_root()} (see `arvc models list`)")
    return remove_below(folder, voices_root(), "voice folder")




def experiment_files(folder: str | Path, weights: str | Path | None = None) -> tuple[Path, Path | None]:
    """The model file and index an experiment folder (``logs/<model>``) offers.

    The model: ``weights`` if given, else ``<model>.pth`` (the final weights of ``arvc train``), else the newest
    ``<model>_<E>e_<S>s.pth``. The index: ``<model>.index``, else the only ``*.index`` (Applio's ``added_*.index``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ArvcError(f"{folder}: not a folder (expected an experiment folder such as logs/my_model)")
    name = folder.name
    if weights:
        model = Path(weights)
        if not model.is_file():
            raise ArvcError(f"--weights {model}: no such file")
    elif (folder / f"{name}.pth").is_file():
        model = folder / f"{name}.pth"
    else:
        saved = [(int(m["epoch"]), int(m["step"]), p) for p in folder.glob("*.pth")
                 if (m := WEIGHTS_NAME.match(p.name))]
        if not saved:
            raise ArvcError(f"{folder}: no weights file ({name}.pth or {name}_<E>e_<S>s.pth); train it first "
                            "or pass --weights")
        model = max(saved)[2]
    index = folder / f"{name}.index"
    if not index.is_file():
        found = sorted(folder.glob("*.index"))
        index = found[0] if len(found) == 1 else None
    return model, index
