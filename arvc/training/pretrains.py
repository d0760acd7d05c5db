"""The standard RVC pretrains (f0G40k.pth / f0D40k.pth ...) from the Hugging Face hub, cached under
``$ARVC_MODELS_DIR/pretrained_<version>/``."""

from __future__ import annotations

import logging
from pathlib import Path

from arvc.errors import ArvcError
from arvc.hub import hub_download
from arvc.paths import models_root

log = logging.getLogger(__name__)

PRETRAIN_REPO = "lj1995/VoiceConversionWebUI"


def pretrain_filenames(version: str, sample_rate: int, use_f0: bool = True) -> tuple[str, str]:
    """Hub paths of the generator / discriminator pretrains, e.g. ``pretrained_v2/f0G40k.pth``."""
    folder = "pretrained_v2" if version == "v2" else "pretrained"
    prefix = "f0" if use_f0 else ""
    k = f"{sample_rate // 1000}k"
    return f"{folder}/{prefix}G{k}.pth", f"{folder}/{prefix}D{k}.pth"


def local_pretrains(version: str, sample_rate: int, use_f0: bool = True) -> tuple[Path, Path]:
    g, d = pretrain_filenames(version, sample_rate, use_f0)
    return models_root() / g, models_root() / d


def fetch_pretrains(version: str, sample_rate: int, use_f0: bool = True, vocoder: str = "HiFi-GAN") -> tuple[Path, Path]:
    """Local paths of the pretrains, downloading them once. ArvcError saying what to fetch when offline.

    Only the HiFi-GAN (NSF) pretrains are published for every rate; other vocoders train from scratch.
    """
    if vocoder != "HiFi-GAN":
        raise ArvcError(f"no standard pretrain for vocoder {vocoder!r}; pass --pretrained_g/--pretrained_d or train from scratch")
    g_local, d_local = local_pretrains(version, sample_rate, use_f0)
    if g_local.is_file() and d_local.is_file():
        return g_local, d_local
    g_name, d_name = pretrain_filenames(version, sample_rate, use_f0)

    try:
        for name in (g_name, d_name):
            hub_download(PRETRAIN_REPO, name, local_dir=models_root())
    except Exception as e:  # noqa: BLE001 - network, offline mode, missing file
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ArvcError(
            f"pretrains not available ({reason[:160]}); download {PRETRAIN_REPO}/{g_name} and {d_name} "
            f"from the Hugging Face hub into {models_root()}/{Path(g_name).parent}/"
        ) from None
    return g_local, d_local
