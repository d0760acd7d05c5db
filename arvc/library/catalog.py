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
        from arvc.safe_paths import child

        return child(pretrains_root(), self.id, "pretrain id")

    def local_paths(self, sample_rate: int) -> tuple[Path, Path]:
        from arvc.safe_paths import child

        g, d = self._pair(sample_rate)
        return child(self.folder(), g.filename, "file name"), child(self.folder(), d.filename, "file name")

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


_HEX64 = frozenset("0123456789abcdef")
MAX_ENTRIES = 10_000


def _text(raw: dict, key: str, default: str = "", limit: int = 2000) -> str:
    value = raw.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{key!r} must be text of at most {limit} characters")
    return value


def _remote(raw: object, what: str) -> RemoteFile:
    """One ``{"url", "size", "sha256"}``: an http(s) URL ending in a plain file name, sizes and hashes checked."""
    from arvc.safe_paths import name_problem

    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise ValueError(f"{what} needs a \"url\"")
    f = RemoteFile(raw["url"], raw.get("size"), raw.get("sha256"))
    if urlparse(f.url).scheme not in ("http", "https"):
        raise ValueError(f"{what} url must be http:// or https://")
    if name_problem(f.filename):
        raise ValueError(f"{what} url does not end in a plain file name")
    if f.size is not None and (isinstance(f.size, bool) or not isinstance(f.size, int) or f.size < 0):
        raise ValueError(f"{what} size must be a non-negative integer")
    if f.sha256 is not None and (not isinstance(f.sha256, str) or len(f.sha256) != 64
                                 or not set(f.sha256.lower()) <= _HEX64):
        raise ValueError(f"{what} sha256 must be 64 hex digits")
    return f


def _files(raw: object) -> dict[int, dict[str, RemoteFile]]:
    from arvc.constants import SAMPLE_RATES

    if not isinstance(raw, dict) or not raw:
        raise ValueError("\"files\" must map sample rates to G and D files")
    files = {}
    for sr, pair in raw.items():
        if not str(sr).isdigit() or int(sr) not in SAMPLE_RATES:
            raise ValueError(f"sample rate {str(sr)[:12]!r} is not one of {SAMPLE_RATES}")
        if not isinstance(pair, dict) or set(pair) != {"G", "D"}:
            raise ValueError("each sample rate needs a G and a D file")
        files[int(sr)] = {k: _remote(v, f"{sr} {k}") for k, v in pair.items()}
        if files[int(sr)]["G"].filename == files[int(sr)]["D"].filename:
            raise ValueError(f"{sr}: G and D have the same file name")
    return files


def _entry(raw: dict, where: str) -> Pretrain:
    """One schema-checked entry; its ``id`` is a plain name (it names a folder under ``pretrains/``)."""
    from arvc.constants import VERSIONS
    from arvc.safe_paths import name_problem

    label = raw.get("id") if isinstance(raw, dict) else None
    label = repr(label)[:80] if label is not None else "(no id)"
    try:
        if not isinstance(raw, dict):
            raise ValueError("an entry must be a JSON object")
        pid = raw.get("id")
        why = name_problem(pid)
        if why:
            raise ValueError(f"id must be a plain folder name ({why})")
        version = _text(raw, "version", "v2")
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {VERSIONS}")
        for key in ("f0", "standard"):
            if not isinstance(raw.get(key, False), bool):
                raise ValueError(f"{key!r} must be true or false")
        embedder = raw.get("embedder")
        if embedder is not None and name_problem(embedder):
            raise ValueError("embedder must be a plain name")
        return Pretrain(id=pid, name=_text(raw, "name", pid, 200) or pid, version=version,
                        vocoder=_text(raw, "vocoder", "HiFi-GAN", 40), f0=raw.get("f0", True),
                        standard=raw.get("standard", False), author=_text(raw, "author"), note=_text(raw, "note"),
                        source=_text(raw, "source"), embedder=embedder, files=_files(raw.get("files")))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ArvcError(f"catalog {where}: bad entry {label} ({e})") from None


def parse_catalog(data: str | bytes, where: str) -> list[Pretrain]:
    """The entries of a catalog file's text (or bytes); ArvcError in one line for anything else."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        raw = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ArvcError(f"catalog {where}: not a pretrain catalog (not JSON text)") from None
    entries = raw.get("pretrains") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise ArvcError(f"catalog {where}: not a pretrain catalog (expected {{\"pretrains\": [...]}}, at most "
                        f"{MAX_ENTRIES} entries)")
    out = [_entry(e, where) for e in entries]
    ids = [e.id.lower() for e in out]
    if len(set(ids)) != len(ids):
        raise ArvcError(f"catalog {where}: two entries share an id")
    return out


def cached_catalog_path() -> Path:
    return pretrains_root() / "catalog.json"


def load_catalog(url: str | None = None, *, refresh: bool = True) -> list[Pretrain]:
    """The catalog: from ``url`` / ``$ARVC_CATALOG_URL`` (cached), else the cached copy, else the shipped one."""
    url = url or os.environ.get(CATALOG_ENV) or None
    cache = cached_catalog_path()
    if url and refresh:
        fresh = pretrains_root() / ".catalog.download.json"
        try:
            download(url, fresh, show_bar=False, retries=1, timeout=15, max_bytes=16 * 1024 ** 2)
        except ArvcError as e:  # offline: the cached copy, else the shipped one
            log.warning("catalog %s not loaded (%s); using the %s copy", url, e,
                        "cached" if cache.is_file() else "shipped")
        else:
            try:  # a catalog that arrived but is not one is an error, not a reason to fall back silently
                entries = parse_catalog(fresh.read_bytes(), url)
            except BaseException:
                fresh.unlink(missing_ok=True)
                raise
            os.replace(fresh, cache)
            return entries
    if url and cache.is_file():
        return parse_catalog(cache.read_bytes(), str(cache))
    return parse_catalog(SHIPPED.read_bytes(), str(SHIPPED))


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
