"""Where an embedder's files come from: a folder given by the user, the models folder
(``$ARVC_MODELS_DIR/embedders/<name>/``), or the Hugging Face hub (its cache first, then a download)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from arvc.errors import ArvcError
from arvc.hub import HubUnavailable, hub_download
from arvc.paths import models_root

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class HubSource:
    """Where a named embedder lives on the Hugging Face hub."""

    repo_id: str
    subfolder: str = ""
    weights: tuple[str, ...] = ("pytorch_model.bin",)

    def url(self, filename: str) -> str:
        sub = f"{self.subfolder}/" if self.subfolder else ""
        return f"https://huggingface.co/{self.repo_id}/resolve/main/{sub}{filename}"


_APPLIO = "IAHispano/Applio"
HUB_EMBEDDERS: dict[str, HubSource] = {
    "contentvec": HubSource(_APPLIO, "Resources/embedders/contentvec"),
    "hubert_base": HubSource("facebook/hubert-base-ls960", "", ("model.safetensors", "pytorch_model.bin")),
    "spin": HubSource(_APPLIO, "Resources/embedders/spin"),
    "spin-v2": HubSource(_APPLIO, "Resources/embedders/spin-v2"),
    "chinese-hubert-base": HubSource(_APPLIO, "Resources/embedders/chinese_hubert_base"),
    "japanese-hubert-base": HubSource(_APPLIO, "Resources/embedders/japanese_hubert_base"),
    "japanese-hubert-large": HubSource("rinna/japanese-hubert-large"),
    "korean-hubert-base": HubSource(_APPLIO, "Resources/embedders/korean_hubert_base"),
}


def local_embedder_dir(name: str) -> Path:
    """Where a named embedder may be placed by hand: ``$ARVC_MODELS_DIR/embedders/<name>/``."""
    return models_root() / "embedders" / name


def weights_in(folder: Path) -> Path | None:
    for fname in WEIGHT_FILES:
        if (folder / fname).is_file():
            return folder / fname
    return None


def _download(name: str, source: HubSource) -> Path:
    """Fetch config + weights through huggingface_hub (its cache; works offline when cached)."""
    local = local_embedder_dir(name)

    sub = source.subfolder or None

    def fetch(cache_only: bool) -> Path:
        cfg = hub_download(source.repo_id, "config.json", subfolder=sub, cache_only=cache_only)
        last: Exception | None = None
        for fname in source.weights:
            try:
                hub_download(source.repo_id, fname, subfolder=sub, cache_only=cache_only)
                return Path(cfg).parent
            except Exception as e:  # try the next weight file name
                last = e
        raise last or FileNotFoundError(source.weights[0])

    try:
        return fetch(cache_only=True)  # already in the hub cache: no network round trip
    except Exception:
        pass
    try:
        log.info("downloading embedder %s from %s", name, source.url(""))
        return fetch(cache_only=False)
    except Exception as e:
        reason = str(e) if isinstance(e, HubUnavailable) else type(e).__name__
        raise ArvcError(
            f"embedder {name!r} is not downloaded and could not be fetched ({reason}); run `arvc prerequisites "
            f"--embedders {name}`, or download "
            f"{source.url('config.json')} and {source.url(source.weights[0])} into {local}/ "
            f"(or use --embedder_model custom --embedder_path FOLDER)"
        ) from None


def resolve_model_path(name: str, path: str | os.PathLike | None = None) -> Path:
    """Folder (or single weight file) holding the embedder ``name``."""
    if name == "custom":
        if not path:
            raise ArvcError("embedder 'custom' needs --embedder_path (a folder with config.json and model weights)")
        p = Path(path).expanduser()
        if not p.exists():
            raise ArvcError(f"--embedder_path {p}: no such file or folder")
        return p
    if path:
        p = Path(path).expanduser()
        if not p.exists():
            raise ArvcError(f"--embedder_path {p}: no such file or folder")
        return p
    local = local_embedder_dir(name)
    if (local / "config.json").is_file() and weights_in(local):
        return local
    source = HUB_EMBEDDERS.get(name)
    if source is None and Path(name).expanduser().exists():  # a local folder given as the name
        return Path(name).expanduser()
    if source is None:
        if "/" not in name:
            raise ArvcError(f"unknown embedder {name!r}; choices: custom, whisper-tiny.en, "
                            f"{', '.join(HUB_EMBEDDERS)} or a Hugging Face id (owner/name)")
        source = HubSource(name, "", WEIGHT_FILES)
    return _download(name, source)


__all__ = ["HUB_EMBEDDERS", "HubSource", "WEIGHT_FILES", "local_embedder_dir", "resolve_model_path", "weights_in"]
