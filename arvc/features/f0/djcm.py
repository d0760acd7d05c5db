"""DJCM's pitch branch (Wei et al., "DJCM: a deep joint cascade model for singing voice separation and
vocal pitch estimation", ICASSP 2024), as the Vietnamese-RVC family runs it (``djcm``, without the
separation cascade).

Input: the linear magnitude spectrogram (Hann 1024, hop 160 at 16 kHz, centred, floor 1e-10),
batch-normalised per frequency bin over its 513 bins, the last bin dropped: (B, 1, T, 512). A U-Net
over frequency (six encoder stages of pre-activation residual blocks BN → PReLU → conv 3x3, twice,
each followed by 1x2 max-pooling, 32→64→128→256→384→384 channels; one latent stage; six decoder
stages of BN → ReLU → 1x2 transposed conv, skip concatenation and residual blocks), a refining
residual block, a 1x1 conv to one channel, a bidirectional GRU over time on the 512 frequency values
and a linear layer to 360 sigmoid bins of 20 cents (RMVPE's/CREPE's grid). Decoding: weighted mean
cents of the 9 bins around the peak, unvoiced where the peak is at most ``threshold`` (0.3, what
Vietnamese-RVC passes with its default filter radius 3).

Audio is processed in segments of 512 frames (5.12 s) overlapping by half; each keeps its middle 256
frames, so frame ``i`` is centred on sample ``160 * i`` and sees at least 1.28 s of context each side.
State-dict names are those of the published ``djcm.pt`` (``bn``, ``pe_encoder``, ``pe_latent``,
``pe_decoder``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from arvc.audio.spectrogram import magnitude, stft
from arvc.constants import F0_HOP, SR_16K
from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS
from arvc.features.f0._weights import build_from_state_dict, load_state_dict
from arvc.features.f0.base import F0Method, F0Options, fit_length, to_hop
from arvc.features.f0.rmvpe import salience_to_hz

N_FFT = 1024
N_BINS = 360
SEGMENT_FRAMES = 512
THRESHOLD = 0.3
WIDTHS = (32, 64, 128, 256, 384, 384)


class ResConvBlock(nn.Module):
    """(BN → PReLU → conv 3x3) twice plus the input (1x1 conv when the width changes). (B, C, T, F)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in, momentum=0.01), nn.BatchNorm2d(c_out, momentum=0.01)
        self.act1, self.act2 = nn.PReLU(), nn.PReLU()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.act2(self.bn2(self.conv1(self.act1(self.bn1(x))))))
        return out + (self.shortcut(x) if self.shortcut is not None else x)


class ResStack(nn.Module):
    """``n_blocks`` residual blocks (``conv.i``)."""

    def __init__(self, c_in: int, c_out: int, n_blocks: int):
        super().__init__()
        self.conv = nn.ModuleList([ResConvBlock(c_in, c_out)] + [ResConvBlock(c_out, c_out) for _ in range(n_blocks - 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.conv:
            x = block(x)
        return x


class UpBlock(nn.Module):
    """BN → ReLU → transposed conv (1, 2) doubling the frequency axis, concatenation with the skip, residual blocks."""

    def __init__(self, c_in: int, c_out: int, n_blocks: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in, momentum=0.01)
        self.conv1 = nn.ConvTranspose2d(c_in, c_out, (1, 2), (1, 2), bias=False)
        self.conv = nn.ModuleList([ResConvBlock(2 * c_out, c_out)] + [ResConvBlock(c_out, c_out) for _ in range(n_blocks - 1)])

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.conv1(F.relu(self.bn1(x))), skip], dim=1)
        for block in self.conv:
            x = block(x)
        return x


class Encoder(nn.Module):
    """Six residual stacks, each followed by 1x2 max-pooling (512 -> 8 frequency rows); returns the pooled
    output and the pre-pooling skips."""

    def __init__(self, c_in: int, n_blocks: int):
        super().__init__()
        chans = (c_in,) + WIDTHS
        self.en_blocks = nn.ModuleList(ResStack(chans[i], chans[i + 1], n_blocks) for i in range(len(WIDTHS)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for block in self.en_blocks:
            skip = block(x)
            skips.append(skip)
            x = F.max_pool2d(skip, (1, 2))
        return x, skips


class Latent(nn.Module):
    def __init__(self, n_blocks: int, n_layers: int):
        super().__init__()
        self.latent_blocks = nn.ModuleList(ResStack(WIDTHS[-1], WIDTHS[-1], n_blocks) for _ in range(n_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.latent_blocks:
            x = block(x)
        return x


class Decoder(nn.Module):
    def __init__(self, n_blocks: int):
        super().__init__()
        outs = WIDTHS[::-1]  # the skips' widths, deepest first
        ins = (WIDTHS[-1],) + outs[:-1]
        self.de_blocks = nn.ModuleList(UpBlock(i, o, n_blocks) for i, o in zip(ins, outs))

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        for block, skip in zip(self.de_blocks, reversed(skips)):
            x = block(x, skip)
        return x


class BiGRU(nn.Module):
    """(B, 1, T, F) -> (B, T, F): a bidirectional GRU over time with F // 2 units each way."""

    def __init__(self, n_freq: int, n_layers: int = 1):
        super().__init__()
        self.gru = nn.GRU(n_freq, n_freq // 2, num_layers=n_layers, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x[:, 0])[0]


class PitchDecoder(nn.Module):
    def __init__(self, n_blocks: int, n_freq: int = N_FFT // 2):
        super().__init__()
        self.de_blocks = Decoder(n_blocks)
        self.after_conv1 = ResStack(WIDTHS[0], WIDTHS[0], n_blocks)
        self.after_conv2 = nn.Conv2d(WIDTHS[0], 1, 1)
        self.fc = nn.Sequential(BiGRU(n_freq), nn.Linear(n_freq, N_BINS), nn.Sigmoid())

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.after_conv2(self.after_conv1(self.de_blocks(x, skips))))


class DJCM(nn.Module):
    """Magnitude spectrogram (B, 1, T, 513) -> salience (B, T, 360) in (0, 1). ``DJCM()`` = the released model."""

    def __init__(self, in_channels: int = 1, n_blocks: int = 1, latent_layers: int = 1):
        super().__init__()
        self.bn = nn.BatchNorm2d(N_FFT // 2 + 1, momentum=0.01)
        self.pe_encoder = Encoder(in_channels, n_blocks)
        self.pe_latent = Latent(n_blocks, latent_layers)
        self.pe_decoder = PitchDecoder(n_blocks)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x = self.bn(spec.transpose(1, 3)).transpose(1, 3)[..., :-1]
        x, skips = self.pe_encoder(x)
        return self.pe_decoder(self.pe_latent(x), skips)


def djcm_spec(audio: torch.Tensor) -> torch.Tensor:
    """(B, N) -> (B, 1, 1 + N // 160, 513) magnitudes, centred Hann STFT 1024 / 160, floor 1e-10."""
    return magnitude(stft(audio, N_FFT, F0_HOP, center=True, pad_mode="reflect")).clamp(min=1e-10).transpose(1, 2)[:, None]


def load_djcm(path: str | Path | None = None, device: torch.device | str = "cpu") -> DJCM:
    """DJCM from ``path`` (or ``<models>/f0/djcm.pt``, downloaded when missing), float32, eval mode."""
    from arvc.library.f0_weights import f0_weights_path

    p = f0_weights_path("djcm", path)
    sd = load_state_dict(p)
    if isinstance(sd, dict) and isinstance(sd.get("model"), dict):
        sd = sd["model"]
    return build_from_state_dict(DJCM, sd, p, "a DJCM (pitch-only) state dict").to(device)


class DjcmF0(F0Method):
    """DJCM pitch (``djcm``); 10 ms frames, other hops get the contour resampled."""

    name = "djcm"

    def __init__(self, options: F0Options | None = None, device=None, path: str | Path | None = None,
                 threshold: float = THRESHOLD, net: DJCM | None = None, segment_frames: int = SEGMENT_FRAMES):
        super().__init__(options, device)
        if self.options.sample_rate != SR_16K:
            raise ArvcError(f"djcm works at 16 kHz; got sample_rate={self.options.sample_rate}")
        if segment_frames % 4:
            raise ArvcError(f"djcm segment_frames must be a multiple of 4, got {segment_frames}")
        self.net = net.eval().to(self.device) if net is not None else load_djcm(path, self.device)
        self.threshold = threshold
        self.segment_frames = segment_frames

    @torch.inference_mode()
    def salience(self, audio: np.ndarray) -> np.ndarray:
        """(N,) -> (1 + N // 160, 360): segments of ``segment_frames`` frames, half overlapping, middles kept."""
        seg = self.segment_frames * F0_HOP
        step = seg // 2
        n_frames = len(audio) // F0_HOP + 1
        n_seg = -(-n_frames // (self.segment_frames // 2))
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device)
        x = F.pad(x, (seg // 4, (n_seg - 1) * step + seg - seg // 4 - len(audio)))
        keep = slice(self.segment_frames // 4, 3 * self.segment_frames // 4)
        outs = [self.net(djcm_spec(x[k * step : k * step + seg][None]))[0, keep] for k in range(n_seg)]
        return torch.cat(outs)[:n_frames].float().cpu().numpy()

    def candidate(self, audio: np.ndarray, n_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pitch on every frame and ``0.5 * peak / threshold`` (capped at 1)."""
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        n_frames = len(audio) // self.options.hop_length if n_frames is None else n_frames
        sal = self.salience(audio)
        f0 = salience_to_hz(sal, 0.0).astype(np.float32)
        f0[(f0 < self.options.f0_min) | (f0 > self.options.f0_max)] = 0
        conf = np.clip(0.5 * sal.max(axis=1) / max(self.threshold, 1e-6), 0, 1)
        o = self.options
        f0 = to_hop(f0, F0_HOP, o, n_frames)
        if o.hop_length != F0_HOP:
            conf = np.interp(np.arange(n_frames) * o.hop_length, np.arange(len(conf)) * F0_HOP, conf)
        return fit_length(np.asarray(f0, np.float32), n_frames), fit_length(np.asarray(conf, np.float32), n_frames)

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        f0 = salience_to_hz(self.salience(audio), self.threshold).astype(np.float32)
        f0[(f0 < self.options.f0_min) | (f0 > self.options.f0_max)] = 0
        return to_hop(f0, F0_HOP, self.options, n_frames)


F0_METHODS.add("djcm", DjcmF0)
