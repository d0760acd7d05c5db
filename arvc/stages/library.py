"""Stages of the model library: download a voice model from a URL, download catalog pretrains, fetch the
prerequisites the defaults need, and add an experiment's model to the library.

Each function takes an optional ``progress`` callback (:class:`arvc.library.download.Progress` per update) for
UIs; a terminal gets a tqdm bar.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote, urlparse

from arvc import events
from arvc.errors import ArvcError
from arvc.library.archive import DEFAULT_MAX_SIZE, safe_extract
from arvc.library.download import ProgressCallback, download
from arvc.library.models_dir import (VoiceInfo, add_voice, embedders_root, experiment_files, f0_root,
                                     sanitize_name, voice_dir, voices_root)

log = logging.getLogger("arvc.library")

HF = "https://huggingface.co"
RMVPE_URL = f"{HF}/lj1995/VoiceConversionWebUI/resolve/main/rmvpe.pt"


# ------------------------------------------------------------------------------------------------ voice models


def _work_dir(url: str) -> Path:
    """A per-URL folder under voices/ (stable, so a re-run resumes the ``.part`` of an interrupted download)."""
    return voices_root() / f".download-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def _url_filename(url: str) -> str:
    name = Path(unquote(urlparse(url).path)).name
    return sanitize_name(name, fallback="download")


def _base_name(model: Path) -> str:
    """``beta_v2`` / ``beta_300e_6000s`` / ``beta_e300`` -> ``beta``: the voice's name in a model file's stem."""
    return re.sub(r"(_v[12]|_\d+e_\d+s|_e\d+|_\d+e|_s\d+)$", "", model.stem.lower()) or model.stem.lower()


def _pair_indexes(models: list[Path], indexes: list[Path]) -> tuple[dict[Path, Path | None], list[Path]]:
    """Each model's index and the indexes no model could take.

    An index belongs to the model whose folder is its nearest ancestor (same folder or below it; among several
    models there, the one whose name it holds); the rest go by name (the index's name holds the model's); a
    lone model takes a lone index. An ``added_*`` index wins over others for the same model."""
    pairs: dict[Path, Path | None] = {m: None for m in models}
    free: list[Path] = []
    for i in sorted(indexes, key=lambda i: ("added" not in i.name.lower(), str(i))):
        owners = [m for m in models if m.parent == i.parent or m.parent in i.parents]
        if owners:
            depth = max(len(m.parent.parts) for m in owners)
            owners = [m for m in owners if len(m.parent.parts) == depth]
            if len(owners) > 1:
                owners = [m for m in owners if _base_name(m) in i.stem.lower()]
        if len(owners) == 1 and pairs[owners[0]] is None:
            pairs[owners[0]] = i
        else:
            free.append(i)
    for i in list(free):
        named = [m for m in models if pairs[m] is None and _base_name(m) in i.stem.lower()]
        if len(named) == 1:
            pairs[named[0]], free = i, [f for f in free if f != i]
    if len(models) == 1 and len(free) == 1 and pairs[models[0]] is None:
        pairs[models[0]], free = free[0], []
    return pairs, free


def _voice_names(models: list[Path], name: str | None) -> dict[Path, str]:
    names: dict[Path, str] = {}
    for m in models:
        if name and len(models) == 1:
            base = name
        else:
            own = m.stem  # files in community zips are named after the voice; the stored name often is not
            base = f"{name}_{own}" if name else own
        n = sanitize_name(base)
        k = 2
        while n in names.values():
            n, k = f"{sanitize_name(base)}_{k}", k + 1
        names[m] = n
    return names


@events.staged("download")
def download_model(url: str, name: str | None = None, *, max_size: int = DEFAULT_MAX_SIZE,
                   sha256: str | None = None, progress: ProgressCallback | None = None,
                   show_bar: bool = True) -> list[VoiceInfo]:
    """Download a voice model (``.pth``, ``.safetensors``, ``.index`` or a ``.zip`` of them) into the library.

    Files are judged by content: every torch file goes through the safe loader (a pickle that would run code
    refuses the whole download, and nothing of it is kept). A zip holding several models gives several voices,
    each with the index found beside it. An ``.index`` alone is attached to the existing voice ``name``.
    """

    work = _work_dir(url)
    work.mkdir(parents=True, exist_ok=True)
    try:
        got = download(url, work / _url_filename(url), sha256=sha256, progress=progress, show_bar=show_bar,
                       max_bytes=max_size)
        return _add_files_of(got, work, url, name, max_size)
    except BaseException as e:
        if not (isinstance(e, ArvcError) and str(e).startswith("download failed")):
            shutil.rmtree(work, ignore_errors=True)  # keep only a resumable .part of a dropped download
        raise
    finally:
        if work.exists() and not any(work.glob("*.part")) and not any(work.glob(".*.hub")):  # resumable leftovers
            shutil.rmtree(work, ignore_errors=True)


def _add_files_of(got: Path, work: Path, where: str, name: str | None, max_size: int) -> list[VoiceInfo]:
    """Voices from one downloaded or uploaded file (a model, an index or a zip of them, unpacked into ``work``),
    every torch file judged by the safe loader first: a refused pickle refuses the whole file. A zip holding a
    so-vits-svc voice (generator + config.json) becomes that voice."""
    from arvc.library.identify import _is_torch_file, identify

    files = [got]
    if zipfile.is_zipfile(got) and not _is_torch_file(got):
        files = safe_extract(got, work / "unpacked", max_size=max_size, where=where)
        from arvc.library.sovits_voice import add_sovits_voice, find_sovits_folder

        svc_folder = find_sovits_folder(work / "unpacked")
        if svc_folder is not None:  # a so-vits-svc voice: generator + config.json (+ kmeans, index)
            return [add_sovits_voice(svc_folder, name=name or Path(got).stem, source_label=where)]
    try:
        found = [identify(f) for f in files]  # raises on a refused pickle
    except ArvcError as e:  # name the entry as the archive has it, not our work folder
        text = str(e).replace(f"{work / 'unpacked'}/", "").replace(f"{work}/", "")
        raise ArvcError(f"{where}: {text}") from None
    models = [f.path for f in found if f.kind == "model"]
    indexes = [f.path for f in found if f.kind == "index"]
    if not models:
        return [_attach_index(where, indexes, name)]
    pairs, unpaired = _pair_indexes(models, indexes)
    for i in unpaired:  # reported, never dropped silently
        log.warning("%s: the index %s could not be paired with a model and was not installed (attach it: "
                    "add it alone with a voice name)", where, i.name)
    names = _voice_names(models, name)
    taken = [n for n in names.values() if voice_dir(n).exists()]
    if taken:
        raise ArvcError(f"{where}: a voice named {taken[0]!r} already exists; pass --name or run "
                        f"`arvc models remove {taken[0]} --yes`")
    return [add_voice(m, pairs[m], name=names[m], source=where, move=work in m.parents) for m in models]


def add_upload(path: str | Path, name: str | None = None, *, max_size: int = DEFAULT_MAX_SIZE) -> list[VoiceInfo]:
    """``arvc models add FILE`` for a ``.zip`` (unpacked with the archive limits) or an ``.index`` (attached to the
    voice ``name``); models in it become voices as :func:`download_model` makes them."""
    path = Path(path)
    if not path.is_file():
        raise ArvcError(f"{path}: no such file")
    work = voices_root() / f".upload-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        return _add_files_of(path, work, path.name, name, max_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _attach_index(url: str, indexes: list[Path], name: str | None) -> VoiceInfo:
    from arvc.atomic import write_json
    from arvc.library.models_dir import read_voice

    if not indexes:
        raise ArvcError(f"{url}: holds no RVC model (.pth/.safetensors) and no FAISS index")
    if len(indexes) > 1 or not name:
        raise ArvcError(f"{url}: holds only {len(indexes)} index file(s); download it with --name VOICE to attach "
                        "a single index to that voice")
    info = read_voice(sanitize_name(name))
    target = info.folder / f"{info.name}.index"
    shutil.move(str(indexes[0]), str(target))
    info.index_file = target.name
    info.size_bytes = sum(p.stat().st_size for p in info.folder.iterdir() if p.is_file())
    write_json(info.folder / "info.json", info.to_dict())
    return info


def add_experiment(folder: str | Path, name: str | None = None, weights: str | Path | None = None) -> VoiceInfo:
    """``arvc models add logs/my_model``: copy the chosen weights file and the index into the library."""
    model, index = experiment_files(folder, weights)
    return add_voice(model, index, name=name or Path(folder).name, source=str(Path(folder).resolve()))


def add_files(model: str | Path, index: str | Path | None = None, name: str | None = None) -> VoiceInfo:
    """``arvc models add model.pth [--index x.index]``."""
    return add_voice(model, index, name=name, source=str(Path(model).resolve()))


# ------------------------------------------------------------------------------------------------- pretrains


@events.staged("download")
def download_pretrain(name: str, sample_rates: Sequence[int], *, catalog_url: str | None = None,
                      progress: ProgressCallback | None = None, show_bar: bool = True) -> list[tuple[int, Path, Path]]:
    """Download the catalog pretrain ``name`` for each of ``sample_rates``; ``(rate, G, D)`` per rate."""
    from arvc.library.catalog import find, load_catalog

    entry = find(load_catalog(catalog_url), name)
    rates = list(sample_rates) or entry.sample_rates
    return [(sr, *entry.fetch(sr, progress=progress, show_bar=show_bar)) for sr in rates]


# ------------------------------------------------------------------------------------------------ prerequisites


@dataclass
class Prerequisite:
    """One file set the defaults need: ``status`` present / downloaded / missing / failed."""

    what: str
    path: Path
    status: str
    detail: str = ""


def _rmvpe(check: bool, progress, show_bar) -> Prerequisite:
    from arvc.paths import models_root

    target = f0_root() / "rmvpe.pt"
    legacy = models_root() / "rmvpe.pt"
    for p in (target, legacy):
        if p.is_file():
            return Prerequisite("RMVPE (f0)", p, "present")
    if check:
        return Prerequisite("RMVPE (f0)", target, "missing")
    download(RMVPE_URL, target, progress=progress, show_bar=show_bar)
    return Prerequisite("RMVPE (f0)", target, "downloaded")


def _f0_weights(method: str, check: bool, progress, show_bar) -> Prerequisite:
    from arvc.library.f0_weights import F0_WEIGHTS

    entry = F0_WEIGHTS.get(method)
    if entry is None:
        raise ArvcError(f"no downloadable weights for F0 method {method!r}; choices: {', '.join(F0_WEIGHTS)}")
    what = f"{method} (f0)"
    if entry.present() is not None:
        return Prerequisite(what, entry.local(), "present")
    if check:
        return Prerequisite(what, entry.local(), "missing")
    entry.fetch(progress=progress, show_bar=show_bar)
    return Prerequisite(what, entry.local(), "downloaded")


def _embedder(name: str, check: bool, progress, show_bar) -> Prerequisite:
    from arvc.features.embedders.sources import HUB_EMBEDDERS, weights_in

    source = HUB_EMBEDDERS.get(name)
    if source is None:
        raise ArvcError(f"unknown embedder {name!r} for prerequisites; choices: {', '.join(HUB_EMBEDDERS)}")
    folder = embedders_root() / name
    if (folder / "config.json").is_file() and weights_in(folder):
        return Prerequisite(f"embedder {name}", folder, "present")
    if check:
        return Prerequisite(f"embedder {name}", folder, "missing")
    download(source.url("config.json"), folder / "config.json", progress=progress, show_bar=show_bar)
    last: ArvcError | None = None
    for fname in source.weights:
        try:
            download(source.url(fname), folder / fname, progress=progress, show_bar=show_bar)
            return Prerequisite(f"embedder {name}", folder, "downloaded")
        except ArvcError as e:
            last = e
    (folder / "config.json").unlink(missing_ok=True)
    raise last or ArvcError(f"embedder {name}: no weights file")


def _pretrain(entry, sr: int, check: bool, progress, show_bar) -> Prerequisite:
    from arvc.library.catalog import legacy_paths

    what = f"pretrain {entry.id} {sr // 1000}k"
    local = legacy_paths(entry, sr) or (entry.local_paths(sr) if entry.is_local(sr) else None)
    if local:
        return Prerequisite(what, local[0].parent, "present")
    if check:
        return Prerequisite(what, entry.folder(), "missing")
    g, _ = entry.fetch(sr, progress=progress, show_bar=show_bar)
    return Prerequisite(what, g.parent, "downloaded")


def prerequisites(*, sample_rates: Sequence[int] = (40000,), versions: Sequence[str] = ("v2",),
                  embedders: Sequence[str] = ("contentvec",), rmvpe: bool = True, f0_weights: Sequence[str] = (),
                  pretrains: bool = True,
                  no_f0_pretrains: bool = False, check: bool = False, catalog_url: str | None = None,
                  progress: ProgressCallback | None = None, show_bar: bool = True) -> list[Prerequisite]:
    """Fetch (or with ``check`` only look for) what the defaults need: RMVPE, the embedders, the standard
    pretrains for ``versions`` x ``sample_rates``, and the weights of the F0 methods in ``f0_weights``. A failed item is reported and the others still run."""
    from arvc.library.catalog import load_catalog, standard_for

    jobs: list = []
    if rmvpe:
        jobs.append(("RMVPE (f0)", lambda: _rmvpe(check, progress, show_bar)))
    for method in f0_weights:
        jobs.append((f"{method} (f0)", lambda m=method: _f0_weights(m, check, progress, show_bar)))
    for name in embedders:
        jobs.append((f"embedder {name}", lambda name=name: _embedder(name, check, progress, show_bar)))
    if pretrains:
        catalog = load_catalog(catalog_url)
        for version in versions:
            for f0 in (True, False) if no_f0_pretrains else (True,):
                entry = standard_for(catalog, version, f0, "HiFi-GAN")
                if entry is None:
                    raise ArvcError(f"the catalog has no standard {version} pretrain")
                for sr in sample_rates:
                    jobs.append((f"pretrain {entry.id} {int(sr) // 1000}k",
                                 lambda e=entry, sr=sr: _pretrain(e, int(sr), check, progress, show_bar)))
    results = []
    for what, job in jobs:
        try:
            results.append(job())
        except ArvcError as e:
            results.append(Prerequisite(what, Path("-"), "failed", str(e)))
    return results
