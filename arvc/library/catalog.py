"""The pretrain catalog: which G/D pretrains exist, for which sample rates, where to download them.

The catalog ships in the package (``pretrains.json``). ``--catalog_url`` or ``$ARVC_CATALOG_URL`` loads a newer
one over HTTP and caches it as ``<models dir>/pretrains/catalog.json``; without a network the cached copy, then
the shipped one, is used. Downloaded pretrains live in ``<models dir>/pretrains/<id>/``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from arvc.errors import ArvcError
from arvc.library.download import ProgressCallback, download
from arvc.library.models_dir import pretrains_root
from arvc.paths import models_root

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).with_name("pretrains.json")
CATALOG_ENV = "ARVC_CATALOG_URL"
WAYS_OUT = "run `arvc prerequisites` while online, pass --pretrained_g/--pretrained_d files, or train with --from_scratch"


@dataclass(frozen=True)
class RemoteFile:
    url: str
    size: int | None = None
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return Path(unquote(urlparse(self.url).path)).name


@dataclass(frozen=True)
class Pretrain:
    """One catalog entry: ``files[sample_rate] = {"G": RemoteFile, "D": RemoteFile}``."""

    id: str
    name: str
    version: str
    vocoder: str
    f0: bool
    standard: bool
    author: str = ""
    note: str = ""
    source: str = ""
    embedder: str | None = None
    files: dict[int, dict[str, RemoteFile]] = field(default_factory=dict)

    @property
    def sample_rates(self) -> list[int]:
        return sorted(self.files)

    def folder(self) -> Path:
        return pretrains_root() / self.id

    def local_paths(self, sample_rate: int) -> tuple[Path, Path]:
        g, d = self._pair(sample_rate)
        return self.folder() / g.filename, self.folder() / d.filename

    def _pair(self, sample_rate: int) -> tuple[RemoteFile, RemoteFile]:
        if sample_rate not in self.files:
            rates = ", ".join(str(r) for r in self.sample_rates)
            raise ArvcError(f"pretrain {self.id!r} has no {sample_rate} Hz files (it has: {rates})")
        pair = self.files[sample_rate]
        return pair["G"], pair["D"]

    def is_local(self, sample_rate: int) -> bool:
        return sample_rate in self.files and all(p.is_file() for p in self.local_paths(sample_rate))

    def fetch(self, sample_rate: int, *, progress: ProgressCallback | None = None,
              show_bar: bool = True) -> tuple[Path, Path]:
        """Local G and D paths for ``sample_rate``, downloading what is missing (ArvcError naming the ways out)."""
        g_remote, d_remote = self._pair(sample_rate)
        out = []
        for remote, local in zip((g_remote, d_remote), self.local_paths(sample_rate)):
            if not local.is_file():
                log.info("downloading %s %s (%s)", self.id, local.name, remote.url)
                try:
                    download(remote.url, local, sha256=remote.sha256, progress=progress, show_bar=show_bar)
                except ArvcError as e:
                    raise ArvcError(f"pretrain {self.id} {sample_rate} Hz not available ({e}); {WAYS_OUT}") from None
            out.append(local)
        return out[0], out[1]


def _entry(raw: dict, where: str) -> Pretrain:
    try:
        files = {int(sr): {k: RemoteFile(str(v["url"]), v.get("size"), v.get("sha256")) for k, v in pair.items()}
                 for sr, pair in raw["files"].items()}
        if any(set(pair) != {"G", "D"} for pair in files.values()):
            raise ValueError("each sample rate needs a G and a D file")
        return Pretrain(id=str(raw["id"]), name=str(raw.get("name") or raw["id"]), version=str(raw.get("version", "v2")),
                        vocoder=str(raw.get("vocoder", "HiFi-GAN")), f0=bool(raw.get("f0", True)),
                        standard=bool(raw.get("standard", False)), author=str(raw.get("author", "")),
                        note=str(raw.get("note", "")), source=str(raw.get("source", "")),
                        embedder=raw.get("embedder"), files=files)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ArvcError(f"catalog {where}: bad entry {raw.get('id') if isinstance(raw, dict) else raw!r} ({e})") from None


def parse_catalog(text: str, where: str) -> list[Pretrain]:
    try:
        raw = json.loads(text)
        entries = raw["pretrains"]
    except (ValueError, KeyError, TypeError) as e:
        raise ArvcError(f"catalog {where}: not a pretrain catalog ({type(e).__name__}: {e})") from None
    return [_entry(e, where) for e in entries]


def cached_catalog_path() -> Path:
    return pretrains_root() / "catalog.json"


def load_catalog(url: str | None = None, *, refresh: bool = True) -> list[Pretrain]:
    """The catalog: from ``url`` / ``$ARVC_CATALOG_URL`` (cached), else the cached copy, else the shipped one."""
    url = url or os.environ.get(CATALOG_ENV) or None
    cache = cached_catalog_path()
    if url and refresh:
        try:
            fresh = pretrains_root() / ".catalog.download.json"
            download(url, fresh, show_bar=False, retries=1, timeout=15, max_bytes=16 * 1024 ** 2)
            entries = parse_catalog(fresh.read_text(encoding="utf-8"), url)
            os.replace(fresh, cache)
            return entries
        except ArvcError as e:
            log.warning("catalog %s not loaded (%s); using the %s copy", url, e,
                        "cached" if cache.is_file() else "shipped")
    if url and cache.is_file():
        return parse_catalog(cache.read_text(encoding="utf-8"), str(cache))
    return parse_catalog(SHIPPED.read_text(encoding="utf-8"), str(SHIPPED))


def find(entries: list[Pretrain], name: str) -> Pretrain:
    """The entry whose id or name is ``name`` (case-insensitive)."""
    key = name.strip().lower()
    for e in entries:
        if key in (e.id.lower(), e.name.lower()):
            return e
    raise ArvcError(f"unknown pretrain {name!r}; `arvc download pretrain --list` shows the catalog")


def standard_for(entries: list[Pretrain], version: str, use_f0: bool, vocoder: str) -> Pretrain | None:
    """The standard pretrain for a model's version, F0 and vocoder (None when the catalog has none)."""
    for e in entries:
        if e.standard and e.version == version and e.f0 == use_f0 and e.vocoder == vocoder:
            return e
    return None


def legacy_paths(entry: Pretrain, sample_rate: int) -> tuple[Path, Path] | None:
    """Where arvc kept the standard pretrains before the library (``<models dir>/pretrained_v2/f0G40k.pth``)."""
    if not entry.standard or sample_rate not in entry.files:
        return None
    folder = models_root() / ("pretrained_v2" if entry.version == "v2" else "pretrained")
    g, d = entry._pair(sample_rate)
    paths = folder / g.filename, folder / d.filename
    return paths if all(p.is_file() for p in paths) else None
