"""RVC / Applio discriminators: ``MultiPeriodDiscriminator(version)`` = scale discriminator + period
discriminators (+ multi-resolution spectrogram discriminators for ``v3``, used with RefineGAN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from arvc.audio.spectrogram import stft
from arvc.constants import canonical_vocoder
from arvc.errors import ArvcError
from arvc.models.commons import LRELU_SLOPE, get_padding, weight_norm

PERIODS = {
    "v1": [2, 3, 5, 7, 11, 17],
    "v2": [2, 3, 5, 7, 11, 17, 23, 37],
    "v3": [2, 3, 5, 7, 11],
}
RESOLUTIONS = {"v3": [[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]]}


def _norm(use_spectral_norm: bool):
    return torch.nn.utils.parametrizations.spectral_norm if use_spectral_norm else weight_norm


def conv_stack(convs: nn.ModuleList, conv_post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list]:
    """Leaky-ReLU convs then ``conv_post``: (flattened logits ``(B, n)``, every layer's output)."""
    fmap = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        fmap.append(x)
    x = conv_post(x)
    fmap.append(x)
    return torch.flatten(x, 1, -1), fmap


P_WIDTHS = (1, 32, 128, 512, 1024, 1024)  # RVC's period discriminator channels


class DiscriminatorS(nn.Module):
    """Scale discriminator on the raw waveform ``(B, 1, N)`` -> (logits (B, n), feature maps)."""

    def __init__(self, use_spectral_norm: bool = False):
        super().__init__()
        norm = _norm(use_spectral_norm)
        self.convs = nn.ModuleList([
            norm(nn.Conv1d(1, 16, 15, 1, padding=7)),
            norm(nn.Conv1d(16, 64, 41, 4, groups=4, padding=20)),
            norm(nn.Conv1d(64, 256, 41, 4, groups=16, padding=20)),
            norm(nn.Conv1d(256, 1024, 41, 4, groups=64, padding=20)),
            norm(nn.Conv1d(1024, 1024, 41, 4, groups=256, padding=20)),
            norm(nn.Conv1d(1024, 1024, 5, 1, padding=2)),
        ])
        self.conv_post = norm(nn.Conv1d(1024, 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor):
        return conv_stack(self.convs, self.conv_post, x)


class DiscriminatorP(nn.Module):
    """Period discriminator: the waveform folded to ``(B, 1, N / p, p)`` and 2-D convs over time.

    ``widths``: channels from the input through the five convolutions (RVC's by default; narrower ones for
    the small models of :mod:`arvc.training.debug_models`)."""

    def __init__(self, period: int, kernel_size: int = 5, stride: int = 3, use_spectral_norm: bool = False,
                 widths: tuple[int, ...] = P_WIDTHS):
        super().__init__()
        self.period = period
        norm = _norm(use_spectral_norm)
        strides = [stride, stride, stride, stride, 1]
        self.convs = nn.ModuleList([
            norm(nn.Conv2d(widths[i], widths[i + 1], (kernel_size, 1), (strides[i], 1),
                           padding=(get_padding(kernel_size, 1), 0))) for i in range(5)])
        self.conv_post = norm(nn.Conv2d(widths[5], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor):
        b, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), "reflect")
        return conv_stack(self.convs, self.conv_post, x.view(b, c, -1, self.period))


class DiscriminatorR(nn.Module):
    """Resolution discriminator on a linear magnitude spectrogram ``[n_fft, hop, win]`` (rectangular window)."""

    def __init__(self, resolution: list[int], use_spectral_norm: bool = False):
        super().__init__()
        self.resolution = list(resolution)
        norm = _norm(use_spectral_norm)
        self.convs = nn.ModuleList([
            norm(nn.Conv2d(1, 32, (3, 9), padding=(1, 4))),
            norm(nn.Conv2d(32, 32, (3, 9), stride=(1, 2), padding=(1, 4))),
            norm(nn.Conv2d(32, 32, (3, 9), stride=(1, 2), padding=(1, 4))),
            norm(nn.Conv2d(32, 32, (3, 9), stride=(1, 2), padding=(1, 4))),
            norm(nn.Conv2d(32, 32, (3, 3), padding=(1, 1))),
        ])
        self.conv_post = norm(nn.Conv2d(32, 1, (3, 3), padding=(1, 1)))

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, N)`` -> magnitude ``(B, n_fft // 2 + 1, frames)``."""
        n_fft, hop, win = self.resolution
        pad = (n_fft - hop) // 2
        x = F.pad(x, (pad, pad), mode="reflect").squeeze(1)
        spec = stft(x.float(), n_fft, hop, win, center=False, window=torch.ones(win, device=x.device))
        return spec.abs().to(x.dtype)

    def forward(self, x: torch.Tensor):
        return conv_stack(self.convs, self.conv_post, self.spectrogram(x).unsqueeze(1))


class MultiPeriodDiscriminator(nn.Module):
    """``discriminators.0`` = DiscriminatorS, then one DiscriminatorP per period (+ DiscriminatorR for v3).

    ``forward(y (B, 1, N), y_hat (B, 1, N)) -> (y_d_rs, y_d_gs, fmap_rs, fmap_gs)``, lists with one
    entry per sub-discriminator (logits ``(B, n)``, lists of feature maps).
    """

    def __init__(self, version: str = "v2", use_spectral_norm: bool = False, checkpointing: bool = False):
        super().__init__()
        if version not in PERIODS:
            raise ArvcError(f"unknown discriminator version {version!r}; choices: {', '.join(PERIODS)}")
        self.version = version
        self.periods = PERIODS[version]
        self.checkpointing = checkpointing
        self.discriminators = nn.ModuleList(
            [DiscriminatorS(use_spectral_norm)]
            + [DiscriminatorP(p, use_spectral_norm=use_spectral_norm) for p in self.periods]
            + [DiscriminatorR(r, use_spectral_norm) for r in RESOLUTIONS.get(version, [])])

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor):
        y_d_rs, y_d_gs, fmap_rs, fmap_gs = [], [], [], []
        for d in self.discriminators:
            if self.training and self.checkpointing:
                y_d_r, fmap_r = torch.utils.checkpoint.checkpoint(d, y, use_reentrant=False)
                y_d_g, fmap_g = torch.utils.checkpoint.checkpoint(d, y_hat, use_reentrant=False)
            else:
                y_d_r, fmap_r = d(y)
                y_d_g, fmap_g = d(y_hat)
            y_d_rs.append(y_d_r)
            y_d_gs.append(y_d_g)
            fmap_rs.append(fmap_r)
            fmap_gs.append(fmap_g)
        return y_d_rs, y_d_gs, fmap_rs, fmap_gs


def discriminator_version_for(vocoder: str, model_version: str = "v2") -> str:
    """Applio's pairing: RefineGAN trains against ``v3``; HiFi-GAN/MRF against the model version's set."""
    return "v3" if canonical_vocoder(vocoder) == "RefineGAN" else ("v1" if model_version == "v1" else "v2")
