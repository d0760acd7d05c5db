"""Which pretrains a training run starts from: the files given, a catalog entry (``--pretrained NAME``), or by
default the catalog's standard pretrain for the model's version, F0 and vocoder (downloaded once into the
models folder). ``--from_scratch`` is the only way to train without one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from arvc.errors import ArvcError

log = logging.getLogger(__name__)

PRETRAIN_REPO = "lj1995/VoiceConversionWebUI"


@dataclass(frozen=True)
class ChosenPretrains:
    """``g``/``d`` paths (None = from scratch) and ``label``, what the model's ``.pth`` records."""

    g: str | None
    d: str | None
    label: str | None


def pretrain_filenames(version: str, sample_rate: int, use_f0: bool = True) -> tuple[str, str]:
    """Hub paths of the generator / discriminator pretrains, e.g. ``pretrained_v2/f0G40k.pth``."""
    folder = "pretrained_v2" if version == "v2" else "pretrained"
    prefix = "f0" if use_f0 else ""
    k = f"{sample_rate // 1000}k"
    return f"{folder}/{prefix}G{k}.pth", f"{folder}/{prefix}D{k}.pth"


def _standard(version: str, use_f0: bool, vocoder: str, catalog_url: str | None = None):
    from arvc.library.catalog import load_catalog, standard_for

    entry = standard_for(load_catalog(catalog_url), version, use_f0, vocoder)
    if entry is None:
        raise ArvcError(f"no standard pretrain for a {version} {vocoder} model "
                        f"{'with' if use_f0 else 'without'} F0; pass --pretrained_g/--pretrained_d or --from_scratch")
    return entry


def _local_or_fetch(entry, sample_rate: int, download: bool) -> tuple[Path, Path]:
    from arvc.library.catalog import WAYS_OUT, legacy_paths

    if entry.is_local(sample_rate):
        return entry.local_paths(sample_rate)
    legacy = legacy_paths(entry, sample_rate)
    if legacy:
        return legacy
    if not download:
        raise ArvcError(f"pretrain {entry.id} {sample_rate} Hz is not in {entry.folder()}; {WAYS_OUT}")
    return entry.fetch(sample_rate)


def fetch_pretrains(version: str, sample_rate: int, use_f0: bool = True, vocoder: str = "HiFi-GAN") -> tuple[Path, Path]:
    """Local paths of the standard pretrains, downloading them once. ArvcError saying what to do when offline."""
    return _local_or_fetch(_standard(version, use_f0, vocoder), sample_rate, download=True)


def choose_pretrains(cfg, model_cfg, previous_label: str | None = None, resuming: bool = False) -> ChosenPretrains:
    """The pretrains of run ``cfg`` (a TrainConfig) for ``model_cfg`` (its ModelConfig).

    A resumed run keeps ``previous_label`` and loads no pretrain (its checkpoint wins). Models smaller than RVC's
    (``model_size`` small / tiny) use a catalog pretrain only when it is already downloaded: no published
    pretrain has their shapes, and the shape check then says so.
    """
    if cfg.pretrained_g or cfg.pretrained_d:
        names = " / ".join(f"{Path(p).parent.name}/{Path(p).name}" for p in (cfg.pretrained_g, cfg.pretrained_d) if p)
        return ChosenPretrains(cfg.pretrained_g, cfg.pretrained_d, names)
    if cfg.from_scratch:
        return ChosenPretrains(None, None, None)
    if resuming:
        return ChosenPretrains(None, None, previous_label)
    from arvc.library.catalog import find, load_catalog

    version, sr, f0, vocoder = model_cfg.version, model_cfg.sample_rate, model_cfg.use_f0, model_cfg.vocoder
    if cfg.pretrained and _local_folder(cfg.pretrained) is not None:
        return _local(_local_folder(cfg.pretrained), cfg, model_cfg)
    if cfg.pretrained:
        entry = find(load_catalog(cfg.catalog_url), cfg.pretrained)
        if entry.version != version or entry.f0 != f0 or entry.vocoder != vocoder:
            raise ArvcError(f"--pretrained {cfg.pretrained}: it is a {entry.version} {entry.vocoder} pretrain "
                            f"{'with' if entry.f0 else 'without'} F0; this run trains a {version} {vocoder} model "
                            f"{'with' if f0 else 'without'} F0")
    else:
        entry = _standard(version, f0, vocoder, cfg.catalog_url)
    small = cfg.model_size != "full"
    if small and not entry.is_local(sr):
        raise ArvcError(f"no published pretrain fits --model_size {cfg.model_size} (pretrains are full-size RVC "
                        f"models); train with --from_scratch or pass --pretrained_g/--pretrained_d of that size")
    g, d = _local_or_fetch(entry, sr, download=not small)
    return ChosenPretrains(str(g), str(d), f"{entry.id} {sr} Hz ({g.name} / {d.name})")


def _local_folder(name: str) -> Path | None:
    """``<models>/pretrains_local/<name>`` when it holds a G/D pair (``arvc pretrain export|merge``)."""
    from arvc.library.models_dir import local_pretrains_root

    folder = local_pretrains_root() / name
    ok = "/" not in name and name not in (".", "..") and (folder / "G.pth").is_file() and (folder / "D.pth").is_file()
    return folder if ok else None


def _local(folder: Path, cfg, model_cfg) -> ChosenPretrains:
    """A local pretrain for ``--pretrained NAME``, checked against the run by its ``pretrain.json``."""
    import json

    try:
        info = json.loads((folder / "pretrain.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    want = {"version": model_cfg.version, "sample_rate": model_cfg.sample_rate, "vocoder": model_cfg.vocoder,
            "f0": model_cfg.use_f0, "model_size": cfg.model_size}
    for key, value in want.items():
        if key in info and info[key] != value:
            raise ArvcError(f"--pretrained {folder.name}: made for {key} {info[key]}, this run trains {value} "
                            f"({folder / 'pretrain.json'})")
    return ChosenPretrains(str(folder / "G.pth"), str(folder / "D.pth"), f"local {folder.name}")
