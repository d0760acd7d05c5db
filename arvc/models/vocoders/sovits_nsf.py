"""so-vits-svc's NSF-HiFi-GAN decoder (``dec``), on arvc's HiFi-GAN machinery.

It differs from RVC's ``dec`` in four places: ``conv_pre`` and ``conv_post`` are weight-normed (and ``conv_post``
has a bias), the harmonic source has 9 harmonics with the cumulative-phase formula on F0 repeated to the sample
rate (as MRF HiFi-GAN's), and the paddings are so-vits' own (``ups``: ``(k - u + 1) // 2``; source convs: kernel
``2s``, padding ``(s + 1) // 2`` for 4.1, ``s // 2`` for 4.0; equal for the even rates every shipped config uses).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from arvc.models.commons import init_weights, masked, stage_mask, weight_norm
from arvc.models.modules import make_resblock
from arvc.models.vocoders.hifigan_nsf import HiFiGANGenerator, decode
from arvc.models.vocoders.source import CumulativeSineSource

HARMONICS = 9


class SovitsNSFGenerator(HiFiGANGenerator):
    """``forward(x (B, inter, T), f0 (B, T) Hz, g (B, gin, 1), x_mask (B, 1, T) | None) -> (B, 1, T * hop)``.

    Reuses :class:`HiFiGANGenerator`'s stages, channels-last CPU path and tiled inference; only the layers and
    the source are built differently. ``legacy_padding`` selects 4.0's source-conv padding.
    """

    def __init__(self, inter_channels: int, resblock: str, resblock_kernel_sizes: list[int],
                 resblock_dilation_sizes: list[list[int]], upsample_rates: list[int], upsample_initial_channel: int,
                 upsample_kernel_sizes: list[int], gin_channels: int, sample_rate: int, legacy_padding: bool = False):
        nn.Module.__init__(self)
        self.nsf = True
        self.num_kernels = len(resblock_kernel_sizes)
        self.upsample_rates = list(upsample_rates)
        self.upp = int(math.prod(upsample_rates))
        self.checkpointing = False
        self.fast_inference = True
        self.m_source = CumulativeSineSource(sample_rate, harmonic_num=HARMONICS - 1)
        self.noise_convs = nn.ModuleList()
        self.conv_pre = weight_norm(nn.Conv1d(inter_channels, upsample_initial_channel, 7, 1, padding=3))
        self.ups = nn.ModuleList()
        channels = [upsample_initial_channel // (2 ** (i + 1)) for i in range(len(upsample_rates))]
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            pad = (k - u) // 2 if legacy_padding else (k - u + 1) // 2
            self.ups.append(weight_norm(nn.ConvTranspose1d(upsample_initial_channel // (2 ** i), channels[i], k, u,
                                                           padding=pad)))
            stride = math.prod(upsample_rates[i + 1:])
            if i + 1 < len(upsample_rates):
                pad = stride // 2 if legacy_padding else (stride + 1) // 2
                self.noise_convs.append(nn.Conv1d(1, channels[i], kernel_size=stride * 2, stride=stride, padding=pad))
            else:
                self.noise_convs.append(nn.Conv1d(1, channels[i], kernel_size=1))
        self.resblocks = nn.ModuleList([
            make_resblock(resblock, channels[i], k, d)
            for i in range(len(self.ups))
            for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes)])
        self.conv_post = weight_norm(nn.Conv1d(channels[-1], 1, 7, 1, padding=3))
        self.ups.apply(init_weights)
        self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def source(self, f0: torch.Tensor) -> torch.Tensor:
        """Harmonic source ``(B, T * hop, 1)``: F0 repeated to the sample rate, 9 cumulative-phase sines, merged."""
        return self.m_source(f0.float().repeat_interleave(self.upp, dim=1))

    def forward(self, x: torch.Tensor, f0: torch.Tensor | None = None, g: torch.Tensor | None = None,
                x_mask: torch.Tensor | None = None) -> torch.Tensor:
        if f0 is None:
            raise ValueError("the so-vits decoder needs f0")
        har = masked(self.source(f0).transpose(1, 2), stage_mask(x_mask, self.upp))
        return decode(self, x, har, g, x_mask)
