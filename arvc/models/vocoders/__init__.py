"""Vocoder (``dec``) registry: ``VOCODERS.get(name)(cfg, checkpointing=False) -> nn.Module``.

Every decoder takes ``forward(x (B, inter, T), f0 (B, T) Hz | None, g (B, gin, 1) | None,
x_mask (B, 1, T) | None) -> (B, 1, T * hop)`` and has ``source(f0) -> (B, T * hop, 1)`` when it uses pitch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from torch import nn

from arvc.constants import canonical_vocoder, vocoder_aliases
from arvc.errors import ArvcError
from arvc.models.vocoders.hifigan_nsf import HiFiGANGenerator
from arvc.models.vocoders.mrf import HiFiGANMRFGenerator
from arvc.models.vocoders.refinegan import RefineGANGenerator
from arvc.registry import Registry

if TYPE_CHECKING:
    from arvc.models.config import ModelConfig

VocoderBuilder = Callable[..., nn.Module]
VOCODERS: Registry[VocoderBuilder] = Registry("vocoder")


@VOCODERS.register("HiFi-GAN", *vocoder_aliases("HiFi-GAN"))
def build_hifigan(cfg: "ModelConfig", checkpointing: bool = False) -> nn.Module:
    return HiFiGANGenerator(cfg.inter_channels, cfg.resblock, cfg.resblock_kernel_sizes,
                            cfg.resblock_dilation_sizes, cfg.upsample_rates, cfg.upsample_initial_channel,
                            cfg.upsample_kernel_sizes, gin_channels=cfg.gin_channels, sample_rate=cfg.sample_rate,
                            nsf=cfg.use_f0, checkpointing=checkpointing,
                            mainline_order=cfg.version == "v1")


@VOCODERS.register("MRF HiFi-GAN", *vocoder_aliases("MRF HiFi-GAN"))
def build_mrf(cfg: "ModelConfig", checkpointing: bool = False) -> nn.Module:
    _require_f0(cfg, "MRF HiFi-GAN")
    return HiFiGANMRFGenerator(cfg.inter_channels, cfg.upsample_initial_channel, cfg.upsample_rates,
                               cfg.upsample_kernel_sizes, cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes,
                               cfg.gin_channels, cfg.sample_rate, harmonic_num=8, checkpointing=checkpointing)


@VOCODERS.register("RefineGAN", *vocoder_aliases("RefineGAN"))
def build_refinegan(cfg: "ModelConfig", checkpointing: bool = False) -> nn.Module:
    _require_f0(cfg, "RefineGAN")
    return RefineGANGenerator(cfg.sample_rate, cfg.upsample_rates, cfg.inter_channels,
                              upsample_initial_channel=cfg.upsample_initial_channel,
                              gin_channels=cfg.gin_channels, checkpointing=checkpointing)


def _require_f0(cfg: "ModelConfig", name: str) -> None:
    if not cfg.use_f0:
        raise ArvcError(f"vocoder {name!r} needs pitch guidance (use_f0=True)")


def build_vocoder(cfg: "ModelConfig", checkpointing: bool = False) -> nn.Module:
    return VOCODERS.get(canonical_vocoder(cfg.vocoder))(cfg, checkpointing=checkpointing)
