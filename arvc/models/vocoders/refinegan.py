"""RefineGAN decoder (Applio "RefineGAN"): the source is encoded down to frame rate with sinc resampling,
then upsampled back through parallel residual blocks with skip connections."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from arvc.errors import ArvcError
from arvc.models.commons import get_padding, init_weights, weight_norm
from arvc.models.vocoders.resample import resample
from arvc.models.vocoders.source import CumulativeSineSource


class RefineResBlock(nn.Module):
    """``x += conv2(lrelu(conv1_d(lrelu(x))))`` for each dilation ``d`` (slope 0.2)."""

    def __init__(self, channels: int, kernel_size: int = 7, dilation=(1, 3, 5), leaky_relu_slope: float = 0.2):
        super().__init__()
        self.slope = leaky_relu_slope
        self.convs1 = nn.ModuleList([weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=d,
                                                           padding=get_padding(kernel_size, d))) for d in dilation])
        self.convs2 = nn.ModuleList([weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=1,
                                                           padding=get_padding(kernel_size, 1))) for _ in dilation])
        self.convs1.apply(init_weights)
        self.convs2.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = c2(F.leaky_relu(c1(F.leaky_relu(x, self.slope)), self.slope)) + x
        return x


class AdaIN(nn.Module):
    """Adds learned-scale Gaussian noise per channel, then leaky ReLU (noise off when ``deterministic``)."""

    def __init__(self, channels: int, leaky_relu_slope: float = 0.2):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels) * 1e-4)
        self.slope = leaky_relu_slope
        self.deterministic = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.deterministic:
            x = x + torch.randn_like(x) * self.weight[None, :, None]
        return F.leaky_relu(x, self.slope)


class ParallelResBlock(nn.Module):
    """``input_conv`` then the mean of (AdaIN, ResBlock_k, AdaIN) over kernel sizes 3/7/11."""

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes=(3, 7, 11), dilation=(1, 3, 5),
                 leaky_relu_slope: float = 0.2):
        super().__init__()
        self.input_conv = nn.Conv1d(in_channels, out_channels, 7, 1, padding=3)
        self.input_conv.apply(init_weights)
        self.blocks = nn.ModuleList([
            nn.Sequential(AdaIN(out_channels), RefineResBlock(out_channels, k, dilation, leaky_relu_slope),
                          AdaIN(out_channels)) for k in kernel_sizes])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_conv(x)
        return torch.stack([block(x) for block in self.blocks], dim=0).mean(dim=0)


class RefineGANGenerator(nn.Module):
    """``forward(x (B, inter, T), f0 (B, T) Hz, g (B, gin, 1) | None) -> (B, 1, T * hop)``.

    Applio's layout: ``pre_conv`` (1 -> start), ``downsample_blocks`` doubling channels at each of the
    reversed stages, ``mel_conv`` (inter -> uic/2), ``cond`` (gin -> uic/2), ``upsample_conv_blocks``.
    Applio always builds it with uic 512 / gin 256; arvc takes them from the config (same for every
    standard config). ``x_mask`` is accepted and ignored: its linear / sinc resamplers read across
    item ends, so in a ragged batch the last few frames of a short item differ slightly from a solo run.
    """

    def __init__(self, sample_rate: int, upsample_rates: list[int], num_mels: int,
                 upsample_initial_channel: int = 512, gin_channels: int = 256, start_channels: int | None = None,
                 leaky_relu_slope: float = 0.2, checkpointing: bool = False):
        super().__init__()
        self.upsample_rates = list(upsample_rates)
        self.upp = int(math.prod(upsample_rates))
        self.slope = leaky_relu_slope
        self.checkpointing = checkpointing
        n = len(upsample_rates)
        if start_channels is None:
            start_channels = (upsample_initial_channel // 2) >> n
        if start_channels < 1 or start_channels << n != upsample_initial_channel // 2:
            raise ArvcError(f"RefineGAN: upsample_initial_channel {upsample_initial_channel} must be "
                            f"2 * 2^{n} * start_channels")
        self.m_source = CumulativeSineSource(sample_rate, harmonic_num=0, refinegan=True)
        self.pre_conv = weight_norm(nn.Conv1d(1, start_channels, 7, 1, padding=3))
        channels = start_channels
        size = self.upp
        self.df0: list[tuple[int, int]] = []
        self.downsample_blocks = nn.ModuleList()
        for i in range(n):
            new_size = int(size / upsample_rates[-i - 1])
            self.df0.append((size, new_size))
            size = new_size
            self.downsample_blocks.append(weight_norm(nn.Conv1d(channels, channels * 2, 7, 1, padding=3)))
            channels *= 2
        channels = upsample_initial_channel
        self.mel_conv = weight_norm(nn.Conv1d(num_mels, channels // 2, 7, 1, padding=3))
        self.mel_conv.apply(init_weights)
        if gin_channels:
            self.cond = nn.Conv1d(gin_channels, channels // 2, 1)
        self.upsample_conv_blocks = nn.ModuleList()
        for _ in upsample_rates:
            self.upsample_conv_blocks.append(ParallelResBlock(channels + channels // 4, channels // 2,
                                                              leaky_relu_slope=leaky_relu_slope))
            channels //= 2
        self.conv_post = weight_norm(nn.Conv1d(channels, 1, 7, 1, padding=3, bias=False))
        self.conv_post.apply(init_weights)

    def source(self, f0: torch.Tensor) -> torch.Tensor:
        """Source ``(B, T * hop, 1)`` from F0 linearly interpolated to the output rate."""
        f0_up = F.interpolate(f0.unsqueeze(1).float(), size=f0.shape[-1] * self.upp, mode="linear")
        return self.m_source(f0_up.squeeze(1))

    def _up(self, i: int, x: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(F.leaky_relu(x, self.slope), scale_factor=self.upsample_rates[i], mode="linear")
        return self.upsample_conv_blocks[i](torch.cat([x, down], dim=1))

    def forward(self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None = None,
                x_mask: torch.Tensor | None = None) -> torch.Tensor:
        frames = x.shape[-1]
        h = self.pre_conv(self.source(f0).transpose(1, 2))
        downs = []
        for block, (old, new) in zip(self.downsample_blocks, self.df0):
            h = F.leaky_relu(h, self.slope)
            downs.append(h)
            h = block(resample(h.contiguous(), frames * old, frames * new))
        mel = self.mel_conv(x)
        if g is not None:
            mel = mel + self.cond(g)
        x = torch.cat([mel, h], dim=1)
        for i, down in enumerate(reversed(downs)):
            if self.training and self.checkpointing:
                x = torch.utils.checkpoint.checkpoint(self._up, i, x, down, use_reentrant=False)
            else:
                x = self._up(i, x, down)
        return torch.tanh(self.conv_post(F.leaky_relu(x, self.slope)))
