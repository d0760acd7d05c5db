"""MRF HiFi-GAN decoder (Applio "MRF HiFi-GAN"): weight-normed pre/post convs, multi-receptive-field blocks,
9-harmonic source."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from arvc.models.commons import LRELU_SLOPE, conv_nwc, masked, stage_mask, weight_norm
from arvc.models.vocoders.hifigan_nsf import (average_blocks, decode, decode_channels_last, noise_conv_geometry,
                                              upsample_geometry)
from arvc.models.vocoders.source import CumulativeSineSource


class MRFLayer(nn.Module):
    """``x + conv2(lrelu(conv1(lrelu(x))))`` with a dilated ``conv1``."""

    def __init__(self, channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv1 = weight_norm(nn.Conv1d(channels, channels, kernel_size,
                                           padding=(kernel_size * dilation - dilation) // 2, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, dilation=1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if not torch.is_grad_enabled():
            y = self.conv1(masked(F.leaky_relu(x, LRELU_SLOPE), mask))
            y = F.leaky_relu_(y, LRELU_SLOPE)
            if mask is not None:
                y.mul_(mask)
            return self.conv2(y).add_(x)
        y = self.conv1(masked(F.leaky_relu(x, LRELU_SLOPE), mask))
        y = self.conv2(masked(F.leaky_relu(y, LRELU_SLOPE), mask))
        return x + y

    def forward_nwc(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Inference on channels-last ``x (B, C, 1, T)``, ``mask (B, 1, 1, T) | None`` (see ``conv_nwc``)."""
        y = F.leaky_relu(x, LRELU_SLOPE)
        if mask is not None:
            y.mul_(mask)
        y = F.leaky_relu_(conv_nwc(self.conv1, y), LRELU_SLOPE)
        if mask is not None:
            y.mul_(mask)
        return conv_nwc(self.conv2, y).add_(x)


class MRFBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilations: list[int]):
        super().__init__()
        self.layers = nn.ModuleList([MRFLayer(channels, kernel_size, d) for d in dilations])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def forward_nwc(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer.forward_nwc(x, mask)
        return x


class HiFiGANMRFGenerator(nn.Module):
    """``forward(x (B, inter, T), f0 (B, T) Hz, g (B, gin, 1) | None, x_mask | None) -> (B, 1, T * hop)``."""

    def __init__(self, in_channel: int, upsample_initial_channel: int, upsample_rates: list[int],
                 upsample_kernel_sizes: list[int], resblock_kernel_sizes: list[int],
                 resblock_dilations: list[list[int]], gin_channels: int, sample_rate: int,
                 harmonic_num: int = 8, checkpointing: bool = False):
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.upsample_rates = list(upsample_rates)
        self.upp = int(math.prod(upsample_rates))
        self.checkpointing = checkpointing
        self.fast_inference = True
        self.m_source = CumulativeSineSource(sample_rate, harmonic_num)
        self.conv_pre = weight_norm(nn.Conv1d(in_channel, upsample_initial_channel, 7, 1, padding=3))
        self.upsamples = nn.ModuleList()
        self.noise_convs = nn.ModuleList()
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            pad, out_pad = upsample_geometry(u, k)
            self.upsamples.append(weight_norm(nn.ConvTranspose1d(
                upsample_initial_channel // (2**i), upsample_initial_channel // (2 ** (i + 1)), k, u,
                padding=pad, output_padding=out_pad)))
            kernel, stride, padding = noise_conv_geometry(upsample_rates, i)
            self.noise_convs.append(nn.Conv1d(1, upsample_initial_channel // (2 ** (i + 1)), kernel, stride,
                                              padding=padding))
        self.mrfs = nn.ModuleList()
        for i in range(len(self.upsamples)):
            channel = upsample_initial_channel // (2 ** (i + 1))
            self.mrfs.append(nn.ModuleList([MRFBlock(channel, k, d)
                                            for k, d in zip(resblock_kernel_sizes, resblock_dilations)]))
        self.conv_post = weight_norm(nn.Conv1d(channel, 1, 7, 1, padding=3))
        if gin_channels:
            self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def source(self, f0: torch.Tensor) -> torch.Tensor:
        """Harmonic source ``(B, T * hop, 1)`` (F0 repeated ``hop`` times, nearest)."""
        return self.m_source(f0.repeat_interleave(self.upp, dim=1))

    def _stage(self, i: int, x: torch.Tensor, har: torch.Tensor, mask: torch.Tensor | None):
        x = self.upsamples[i](masked(F.leaky_relu(x, LRELU_SLOPE), mask))
        mask = stage_mask(mask, self.upsample_rates[i])
        x = x + self.noise_convs[i](har)
        return average_blocks(self.mrfs[i], x, mask)

    def use_fast_path(self, x: torch.Tensor) -> bool:
        """Inference on CPU without autograd: run the convs channels-last (``_forward_nwc``), same values."""
        return self.fast_inference and not torch.is_grad_enabled() and x.device.type == "cpu"

    def _forward_nwc(self, x: torch.Tensor, har: torch.Tensor, g: torch.Tensor | None,
                     x_mask: torch.Tensor | None) -> torch.Tensor:
        return decode_channels_last(self, self.upsamples, list(self.mrfs), x, har, g, x_mask)

    def forward(self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None = None,
                x_mask: torch.Tensor | None = None) -> torch.Tensor:
        har = masked(self.source(f0).transpose(1, 2), stage_mask(x_mask, self.upp))
        return decode(self, x, har, g, x_mask)
