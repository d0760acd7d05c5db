"""RMVPE (Wei et al. 2023): a deep U-Net + BiGRU pitch estimator on log-mel frames.

``E2E`` reproduces the state-dict names and shapes of the community ``rmvpe.pt``
(``E2E(4, 1, (2, 2))``: 741 tensors, 90,423,165 parameters; see specs/rmvpe.json). Front end
and decoding follow Applio 3.6.4: 128-mel log magnitude (30–8000 Hz, HTK mel scale, centred
STFT 1024/160), frames right-padded by reflection to a multiple of 32, local weighted average
of the 9 bins around the peak, unvoiced where the peak salience is at most ``threshold`` (0.03).
Unlike Applio, frames outside the options' ``[f0_min, f0_max]`` are set to 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from arvc.audio.spectrogram import log_mel, magnitude, mel_filterbank, stft
from arvc.constants import F0_HOP, SR_16K
from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS
from arvc.features.f0._weights import build_from_state_dict, load_state_dict
from arvc.features.f0.base import F0Method, F0Options, to_hop
from arvc.hub import HubUnavailable, hub_download
from arvc.paths import models_root

N_MELS = 128
N_BINS = 360
CENTS_OFFSET = 1997.3794084376191
HF_REPO = "lj1995/VoiceConversionWebUI"
HF_FILE = "rmvpe.pt"
CHUNK_FRAMES = 32000


class ConvBlockRes(nn.Module):
    """Two (conv 3x3 → BN → ReLU) plus a residual (1x1 conv when the width changes). (B, C, T, F)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out, momentum=0.01), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out, momentum=0.01), nn.ReLU(),
        )
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + (self.shortcut(x) if self.shortcut is not None else x)


class ResEncoderBlock(nn.Module):
    """``n_blocks`` ConvBlockRes, then optional 2x2 average pooling; returns (pre-pool, pooled)."""

    def __init__(self, c_in: int, c_out: int, pool: tuple[int, int] | None, n_blocks: int):
        super().__init__()
        blocks = [ConvBlockRes(c_in, c_out)] + [ConvBlockRes(c_out, c_out) for _ in range(n_blocks - 1)]
        self.conv = nn.ModuleList(blocks)
        self.pool = nn.AvgPool2d(pool) if pool is not None else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for block in self.conv:
            x = block(x)
        return x, (self.pool(x) if self.pool is not None else x)


class ResDecoderBlock(nn.Module):
    """Transposed conv ×2 upsampling, concatenation with the skip, ``n_blocks`` ConvBlockRes."""

    def __init__(self, c_in: int, c_out: int, stride: tuple[int, int], n_blocks: int):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.ConvTranspose2d(c_in, c_out, 3, stride, 1, output_padding=(1, 1), bias=False),
            nn.BatchNorm2d(c_out, momentum=0.01),
            nn.ReLU(),
        )
        blocks = [ConvBlockRes(c_out * 2, c_out)] + [ConvBlockRes(c_out, c_out) for _ in range(n_blocks - 1)]
        self.conv2 = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.conv1(x), skip], dim=1)
        for block in self.conv2:
            x = block(x)
        return x


class Encoder(nn.Module):
    def __init__(self, c_in: int, n_layers: int, pool: tuple[int, int], n_blocks: int, c_out: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in, momentum=0.01)
        layers = []
        for _ in range(n_layers):
            layers.append(ResEncoderBlock(c_in, c_out, pool, n_blocks))
            c_in, c_out = c_out, c_out * 2
        self.layers = nn.ModuleList(layers)
        self.out_channels = c_out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.bn(x)
        skips = []
        for layer in self.layers:
            skip, x = layer(x)
            skips.append(skip)
        return x, skips


class Intermediate(nn.Module):
    def __init__(self, c_in: int, c_out: int, n_layers: int, n_blocks: int):
        super().__init__()
        first = ResEncoderBlock(c_in, c_out, None, n_blocks)
        self.layers = nn.ModuleList([first] + [ResEncoderBlock(c_out, c_out, None, n_blocks) for _ in range(n_layers - 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)[1]
        return x


class Decoder(nn.Module):
    def __init__(self, c_in: int, n_layers: int, stride: tuple[int, int], n_blocks: int):
        super().__init__()
        layers = []
        for _ in range(n_layers):
            layers.append(ResDecoderBlock(c_in, c_in // 2, stride, n_blocks))
            c_in //= 2
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        for layer, skip in zip(self.layers, reversed(skips)):
            x = layer(x, skip)
        return x


class DeepUnet(nn.Module):
    def __init__(self, pool: tuple[int, int], n_blocks: int, en_de_layers: int = 5, inter_layers: int = 4,
                 in_channels: int = 1, en_out_channels: int = 16):
        super().__init__()
        self.encoder = Encoder(in_channels, en_de_layers, pool, n_blocks, en_out_channels)
        c = self.encoder.out_channels
        self.intermediate = Intermediate(c // 2, c, inter_layers, n_blocks)
        self.decoder = Decoder(c, en_de_layers, pool, n_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, 128) -> (B, en_out_channels, T, 128); T a multiple of 32."""
        x, skips = self.encoder(x)
        return self.decoder(self.intermediate(x), skips)


class BiGRU(nn.Module):
    def __init__(self, dim_in: int, hidden: int, n_layers: int):
        super().__init__()
        self.gru = nn.GRU(dim_in, hidden, num_layers=n_layers, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]


class E2E(nn.Module):
    """RMVPE: log-mel (B, 128, T) -> salience (B, T, 360) in (0, 1). ``E2E(4, 1, (2, 2))`` is the released model."""

    def __init__(self, n_blocks: int = 4, n_gru: int = 1, kernel_size: tuple[int, int] = (2, 2),
                 en_de_layers: int = 5, inter_layers: int = 4, in_channels: int = 1, en_out_channels: int = 16):
        super().__init__()
        self.unet = DeepUnet(kernel_size, n_blocks, en_de_layers, inter_layers, in_channels, en_out_channels)
        self.cnn = nn.Conv2d(en_out_channels, 3, 3, padding=1)
        self.fc = nn.Sequential(BiGRU(3 * N_MELS, 256, n_gru), nn.Linear(512, N_BINS), nn.Dropout(0.25), nn.Sigmoid())

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.unet(mel.transpose(-1, -2).unsqueeze(1))
        x = self.cnn(x).transpose(1, 2).flatten(-2)
        return self.fc(x)


def rmvpe_mel(audio: torch.Tensor) -> torch.Tensor:
    """(B, N) 16 kHz -> (B, 128, 1 + N // 160) natural-log mel magnitudes (floor 1e-5), centred STFT."""
    mag = magnitude(stft(audio, 1024, F0_HOP, center=True, pad_mode="reflect"))
    return log_mel(mag, mel_filterbank(SR_16K, 1024, N_MELS, 30, 8000, True, device=str(audio.device)))


def salience_to_hz(salience: np.ndarray, threshold: float = 0.03) -> np.ndarray:
    """(T, 360) -> (T,) Hz: weighted mean cents of the 9 bins around the peak; 0 if peak <= threshold."""
    cents_table = np.pad(20 * np.arange(N_BINS) + CENTS_OFFSET, 4)
    padded = np.pad(salience, ((0, 0), (4, 4)))
    center = np.argmax(salience, axis=1) + 4
    idx = center[:, None] + np.arange(-4, 5)[None]
    s = np.take_along_axis(padded, idx, axis=1)
    cents = (s * cents_table[idx]).sum(1) / s.sum(1)
    cents[salience.max(axis=1) <= threshold] = 0
    f0 = 10 * 2 ** (cents / 1200)
    f0[f0 == 10] = 0
    return f0


def rmvpe_weights_path(path: str | Path | None = None, download: bool = True) -> Path:
    """``path`` if given, else ``<models_root>/rmvpe.pt``, downloading it from the HF hub when missing."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ArvcError(f"RMVPE weights {p} not found")
        return p
    root = models_root()
    for local in (root / "f0" / HF_FILE, root / HF_FILE):  # the library's f0/ folder, then the older place
        if local.is_file():
            return local
    local = root / "f0" / HF_FILE
    hint = (f"run `arvc prerequisites`, or download {HF_FILE} from https://huggingface.co/{HF_REPO} "
            f"and put it at {local}")
    if not download:
        raise ArvcError(f"RMVPE weights missing: {hint}")

    try:
        return hub_download(HF_REPO, HF_FILE, local_dir=root / "f0")
    except Exception as e:  # offline mode, no network, hub errors
        reason = str(e) if isinstance(e, HubUnavailable) else type(e).__name__
        raise ArvcError(f"RMVPE weights missing and download failed ({reason}): {hint}") from None


def load_rmvpe(path: str | Path | None = None, device: torch.device | str = "cpu") -> E2E:
    """The RMVPE network from ``path`` (or the cached/downloaded rmvpe.pt), float32, eval mode."""
    p = rmvpe_weights_path(path)
    sd = load_state_dict(p)
    if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
        sd = sd["model"]
    return build_from_state_dict(E2E, sd, p, "an RMVPE E2E(4, 1, (2, 2)) state dict").to(device)


class RmvpeF0(F0Method):
    """RMVPE pitch (``rmvpe``). Weights: ``path``, else ``$ARVC_MODELS_DIR/rmvpe.pt`` (downloaded if missing)."""

    name = "rmvpe"

    def __init__(self, options: F0Options | None = None, device=None, path: str | Path | None = None,
                 threshold: float = 0.03, net: E2E | None = None):
        super().__init__(options, device)
        if self.options.sample_rate != SR_16K:
            raise ArvcError(f"rmvpe works at 16 kHz; got sample_rate={self.options.sample_rate}")
        self.net = net.eval().to(self.device) if net is not None else load_rmvpe(path, self.device)
        self.threshold = threshold

    @torch.inference_mode()
    def salience(self, audio: np.ndarray) -> np.ndarray:
        """(N,) -> (1 + N // 160, 360) network salience."""
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device)[None]
        mel = rmvpe_mel(x)
        n = mel.shape[-1]
        pad = 32 * ((n - 1) // 32 + 1) - n
        if pad:
            mode = "reflect" if pad < n else "constant"
            mel = F.pad(mel, (0, pad), mode=mode)
        outs = [self.net(mel[..., s : s + CHUNK_FRAMES]) for s in range(0, mel.shape[-1], CHUNK_FRAMES)]
        return torch.cat(outs, dim=1)[0, :n].float().cpu().numpy()

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        f0 = salience_to_hz(self.salience(audio), self.threshold).astype(np.float32)
        f0[(f0 < self.options.f0_min) | (f0 > self.options.f0_max)] = 0  # Applio keeps RMVPE's full range
        return to_hop(f0, F0_HOP, self.options, n_frames)  # 10 ms frames; other hops are resampled


F0_METHODS.add("rmvpe", RmvpeF0)
