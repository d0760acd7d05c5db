"""so-vits-svc voices in the library: ``voices/<name>/`` holds ``<name>.pth`` (the generator checkpoint as
published), ``config.json``, optionally ``kmeans.pt`` and ``<name>.index``, and ``info.json``.

A voice comes from a folder or a zip (untrusted: extracted with :func:`arvc.library.archive.safe_extract`). The
generator is read with the safe loader and checked against its config before anything is copied in.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path

from arvc.errors import ArvcError
from arvc.library.models_dir import INFO_FILE, VoiceInfo, assembling_voice, sanitize_name, voices_root
from arvc.library.voice_kind import looks_like_sovits_config

CONFIG_FILE = "config.json"
CLUSTER_FILE = "kmeans.pt"


def find_sovits_folder(root: Path) -> Path | None:
    """The folder under ``root`` (itself or up to two levels down) that holds a so-vits ``config.json`` and a
    ``.pth``."""
    candidates = [root, *sorted(p for p in root.glob("*") if p.is_dir()), *sorted(p for p in root.glob("*/*") if p.is_dir())]
    for folder in candidates:
        if looks_like_sovits_config(folder / CONFIG_FILE) and any(folder.glob("*.pth")):
            return folder
    return None


def is_sovits_source(source: Path) -> bool:
    """A folder with a so-vits ``config.json`` and a ``.pth``, or any ``.zip`` (``models add`` takes zips of
    so-vits voices only; RVC zips come through ``arvc download model``)."""
    if source.is_dir():
        return looks_like_sovits_config(source / CONFIG_FILE) and any(source.glob("*.pth"))
    return source.is_file() and source.suffix.lower() == ".zip"


def add_sovits_voice(source: str | Path, *, name: str | None = None, source_label: str | None = None) -> VoiceInfo:
    """Add a so-vits voice from a folder or a ``.zip``; returns its :class:`VoiceInfo`."""
    source = Path(source)
    if source.suffix.lower() == ".zip" and source.is_file():
        from arvc.library.archive import safe_extract

        with tempfile.TemporaryDirectory(dir=_staging_parent()) as tmp:
            safe_extract(source, tmp)
            folder = find_sovits_folder(Path(tmp))
            if folder is None:
                raise ArvcError(f"{source}: holds no so-vits-svc voice (config.json + G_*.pth)")
            try:
                return _add_folder(folder, name or source.stem, source_label or str(source.resolve()))
            except ArvcError as e:  # name the entry as the zip has it, not the temporary folder
                raise ArvcError(str(e).replace(f"{Path(tmp).resolve()}/", f"{source}:").replace(f"{tmp}/", f"{source}:")) from None
    if not source.is_dir():
        raise ArvcError(f"{source}: not a so-vits-svc voice folder or zip")
    return _add_folder(source, name or source.name, source_label or str(source.resolve()))


def _staging_parent() -> Path:
    root = voices_root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _add_folder(folder: Path, name: str, source: str) -> VoiceInfo:
    from arvc.atomic import write_json
    from arvc.formats.sovits import read_cluster_model, read_feature_index, read_sovits
    from arvc.index.io import read_index
    from arvc.library.download import sha256_of

    model = read_sovits(folder)
    if model.cluster_path is not None:
        read_cluster_model(model.cluster_path)
    if model.index_path is not None:
        read_feature_index(model.index_path) if model.index_path.suffix == ".pkl" else read_index(model.index_path)
    name = sanitize_name(name)
    with assembling_voice(name) as staging:
        shutil.copy2(model.path, staging / f"{name}.pth")
        shutil.copy2(model.config_path, staging / CONFIG_FILE)
        if model.cluster_path is not None:
            shutil.copy2(model.cluster_path, staging / CLUSTER_FILE)
        index_file = None
        if model.index_path is not None:
            index_file = model.index_path.name if model.index_path.suffix == ".pkl" else f"{name}.index"
            shutil.copy2(model.index_path, staging / index_file)
        cfg = model.config
        info = VoiceInfo(
            name=name, model_file=f"{name}.pth", index_file=index_file, source=source,
            sha256=sha256_of(staging / f"{name}.pth"), added=datetime.datetime.now().isoformat(timespec="seconds"),
            sample_rate=cfg.sample_rate, version=f"so-vits-svc {cfg.version}", vocoder="NSF-HiFi-GAN (so-vits)",
            f0=True, embedder=cfg.speech_encoder, family="so-vits-svc", speakers=cfg.speaker_names() or None,
            cluster_file=CLUSTER_FILE if model.cluster_path is not None else None,
            size_bytes=sum(p.stat().st_size for p in staging.iterdir()))
        write_json(staging / INFO_FILE, info.to_dict())
    return info
