"""Which family a voice on disk belongs to (RVC or so-vits-svc) and a so-vits voice's speakers, from file names and
its small ``config.json`` only: no torch, no model code (the web UI and the CLI's routing both ask here).

A so-vits voice is a folder holding a so-vits ``config.json`` (``data`` + ``model.ssl_dim``; RVC/Applio experiment
folders hold a ``config.json`` without ``ssl_dim``) and a generator ``.pth``, or such a generator file itself
(``G_<step>.pth`` as trained, ``<name>.pth`` in the library's ``voices/<name>/``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOVITS = "so-vits-svc"
CONFIG_NAME = "config.json"
MAX_CONFIG_BYTES = 1 << 20
MAX_LISTED_IDS = 64  # a config without speaker names: the first ids are offered


def sovits_config_json(path: str | os.PathLike) -> dict[str, Any] | None:
    """The parsed ``path`` when it is a so-vits ``config.json`` (JSON with ``data`` and ``model.ssl_dim``), else
    None; nothing is validated here (:class:`~arvc.models.sovits_config.SovitsConfig` does that at load)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    ok = isinstance(raw, Mapping) and isinstance(raw.get("data"), Mapping) and \
        isinstance(raw.get("model"), Mapping) and "ssl_dim" in raw["model"]
    return raw if ok else None


def looks_like_sovits_config(path: str | os.PathLike) -> bool:
    return sovits_config_json(path) is not None


def sovits_config_path(model: str | os.PathLike, svc_config: str | os.PathLike | None = None) -> Path | None:
    """The ``config.json`` of the so-vits voice ``model`` (``svc_config`` when given), None for anything else: a
    folder with that config and a ``.pth``, or a generator ``.pth`` (not a ``D_`` discriminator) beside it."""
    path = Path(model)
    if svc_config:
        return Path(svc_config)
    if path.is_dir():
        cfg = path / CONFIG_NAME
        return cfg if looks_like_sovits_config(cfg) and any(path.glob("*.pth")) else None
    if path.is_file() and path.suffix.lower() == ".pth" and not path.name.startswith("D_"):
        cfg = path.parent / CONFIG_NAME
        return cfg if looks_like_sovits_config(cfg) else None
    return None


def is_sovits_voice(model: str | os.PathLike, svc_config: str | os.PathLike | None = None) -> bool:
    """Whether ``model`` names a so-vits voice (see :func:`sovits_config_path`)."""
    return sovits_config_path(model, svc_config) is not None


@dataclass(frozen=True)
class VoiceKind:
    """``family``: None for RVC, :data:`SOVITS`; ``speakers``: what a speaker choice offers (names from the
    config's ``spk`` map by id, else the ids as text)."""

    family: str | None = None
    speakers: tuple[str, ...] = ()


def voice_kind(model: str | os.PathLike | None) -> VoiceKind:
    """The :class:`VoiceKind` of a voice path (RVC for anything that is not a readable so-vits voice)."""
    cfg = sovits_config_path(model) if model else None
    raw = sovits_config_json(cfg) if cfg is not None else None
    if raw is None:
        return VoiceKind()
    spk = raw.get("spk") if isinstance(raw.get("spk"), Mapping) else {}
    named = sorted((sid, str(name)) for name, sid in spk.items() if isinstance(sid, int) and not isinstance(sid, bool))
    if named:
        return VoiceKind(SOVITS, tuple(name for _, name in named))
    n = raw["model"].get("n_speakers", 1)
    n = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
    return VoiceKind(SOVITS, tuple(str(i) for i in range(min(n, MAX_LISTED_IDS))))


__all__ = ["SOVITS", "VoiceKind", "is_sovits_voice", "looks_like_sovits_config", "sovits_config_json",
           "sovits_config_path", "voice_kind"]
