"""FCPE (fast context-based pitch estimation) with the weights shipped in the torchfcpe wheel.

The shipped model ``fcpe_c_v001.pt`` is torchfcpe 0.0.4's ``CFNaiveMelPE`` in its conv-only form:
a log-mel front end (128 mels, 1024-point STFT, hop 160 at 16 kHz), a conv input stack, six
residual conformer convolution blocks, a layer norm and a weight-normed linear layer to 360
sigmoid cent bins. Decoding is Applio's ``infer(sr=16000, decoder_mode="local_argmax",
threshold=0.006)``: the probability-weighted mean cent of the 9 bins around the peak, unvoiced
where the peak is at most ``threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from arvc.audio import spectrogram as S
from arvc.constants import F0_HOP, SR_16K
from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS
from arvc.features.f0._weights import load_state_dict, packaged_file
from arvc.features.f0.base import F0Method, F0Options, to_hop


@dataclass(frozen=True)
class FcpeConfig:
    """Sizes of the FCPE network and its mel front end (defaults = the shipped model)."""

    n_mels: int = 128
    n_fft: int = 1024
    win_size: int = 1024
    hop_size: int = F0_HOP
    sample_rate: int = SR_16K
    fmin: float = 0.0
    fmax: float = 8000.0
    hidden: int = 512
    n_layers: int = 6
    out_bins: int = 360
    f0_min: float = 32.7
    f0_max: float = 1975.5

    @classmethod
    def tiny(cls) -> "FcpeConfig":
        return cls(hidden=32, n_layers=2)

    @classmethod
    def from_checkpoint(cls, cfg: dict) -> "FcpeConfig":
        mel, model = cfg["mel"], cfg["model"]
        if model.get("type") != "CFNaiveMelPE" or not model.get("conv_only", False):
            raise ArvcError(
                f"FCPE checkpoint: unsupported model {model.get('type')} (conv_only={model.get('conv_only')})"
            )
        return cls(
            n_mels=mel["num_mels"], n_fft=mel["n_fft"], win_size=mel["win_size"], hop_size=mel["hop_size"],
            sample_rate=mel["sr"], fmin=mel["fmin"], fmax=mel["fmax"], hidden=model["hidden_dims"],
            n_layers=model["n_layers"], out_bins=model["out_dims"], f0_min=model["f0_min"], f0_max=model["f0_max"],
        )


def log_mel(audio: torch.Tensor, cfg: FcpeConfig) -> torch.Tensor:
    """(B, N) audio -> (B, N // hop + 1, n_mels) natural-log mel magnitudes (floor 1e-5).

    Uncentred STFT after reflect padding of ``(win - hop) // 2`` each side; the last frame is
    repeated so there is one frame per hop plus one.
    """
    left = (cfg.win_size - cfg.hop_size) // 2
    right = max((cfg.win_size - cfg.hop_size + 1) // 2, cfg.win_size - audio.shape[-1] - left)
    mode = "reflect" if right < audio.shape[-1] else "constant"
    y = F.pad(audio[:, None], (left, right), mode=mode)[:, 0]
    mag = S.magnitude(S.stft(y, cfg.n_fft, cfg.hop_size, cfg.win_size, center=False), eps=1e-9)
    basis = S.mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, device=str(audio.device))
    mel = S.log_mel(mag, basis).transpose(1, 2)
    n_frames = audio.shape[-1] // cfg.hop_size + 1
    if mel.shape[1] < n_frames:
        mel = torch.cat([mel, mel[:, -1:].expand(-1, n_frames - mel.shape[1], -1)], dim=1)
    return mel[:, :n_frames]


class ConvModule(nn.Module):
    """Conformer convolution block: LN → 1x1 conv (×4) → GLU → depthwise conv 31 → SiLU → 1x1 conv.

    Submodule indices (``net.0/2/4/6``) match torchfcpe's state-dict names.
    """

    def __init__(self, dim: int, kernel: int = 31):
        super().__init__()
        inner = dim * 2
        self.net = nn.ModuleDict({
            "0": nn.LayerNorm(dim),
            "2": nn.Conv1d(dim, inner * 2, 1),
            "4": nn.ModuleDict({"conv": nn.Conv1d(inner, inner, kernel, padding=kernel // 2, groups=inner)}),
            "6": nn.Conv1d(inner, dim, 1),
        })

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C)."""
        n = self.net
        h = n["0"](x).transpose(1, 2)
        h = F.glu(n["2"](h), dim=1)
        h = F.silu(n["4"]["conv"](h))
        return n["6"](h).transpose(1, 2)


class EncoderLayer(nn.Module):
    """Residual conv block. ``norm`` exists in the checkpoint (attention pre-norm) but the
    conv-only model never uses it."""

    def __init__(self, dim: int):
        super().__init__()
        self.conformer = ConvModule(dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conformer(x)


class Encoder(nn.Module):
    def __init__(self, dim: int, n_layers: int):
        super().__init__()
        self.encoder_layers = nn.ModuleList(EncoderLayer(dim) for _ in range(n_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.encoder_layers:
            x = layer(x)
        return x


class FCPE(nn.Module):
    """Mel frames (B, T, n_mels) -> cent-bin probabilities (B, T, out_bins). State dict = torchfcpe's."""

    def __init__(self, cfg: FcpeConfig = FcpeConfig()):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.input_stack = nn.Sequential(
            nn.Conv1d(cfg.n_mels, h, 3, 1, 1), nn.GroupNorm(4, h), nn.LeakyReLU(), nn.Conv1d(h, h, 3, 1, 1)
        )
        self.net = Encoder(h, cfg.n_layers)
        self.norm = nn.LayerNorm(h)
        self.output_proj = weight_norm(nn.Linear(h, cfg.out_bins))
        cents = lambda f: 1200.0 * torch.log2(torch.tensor([f]) / 10.0)[0]  # noqa: E731
        self.register_buffer("cent_table", torch.linspace(cents(cfg.f0_min), cents(cfg.f0_max), cfg.out_bins))
        self.register_buffer("gaussian_blurred_cent_mask", cents(cfg.f0_max))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.input_stack(mel.transpose(1, 2)).transpose(1, 2)
        x = self.norm(self.net(x))
        return torch.sigmoid(self.output_proj(x))

    def decode(self, probs: torch.Tensor, threshold: float = 0.006) -> torch.Tensor:
        """(B, T, bins) -> (B, T) Hz by local weighted argmax (±4 bins); 0 where max prob <= threshold."""
        peak, idx = probs.max(dim=-1, keepdim=True)
        window = (idx - 4 + torch.arange(9, device=probs.device)).clamp(0, self.cfg.out_bins - 1)
        cents_table = self.cent_table.expand(*probs.shape[:2], -1)
        c = torch.gather(cents_table, -1, window)
        p = torch.gather(probs, -1, window)
        cents = (c * p).sum(-1, keepdim=True) / p.sum(-1, keepdim=True)
        gate = torch.ones_like(peak)
        gate[peak <= threshold] = float("-inf")
        return (10.0 * 2 ** (cents * gate / 1200.0))[..., 0]


def load_fcpe(path=None, device: torch.device | str = "cpu") -> FCPE:
    """FCPE from a torchfcpe-format ``.pt`` (default: the one shipped in the torchfcpe wheel), eval mode.

    The file is a plain dict (``model`` state dict, ``config_dict``, ``global_step``) and loads with
    ``torch.load(weights_only=True)``.
    """
    path = path or packaged_file("torchfcpe", "assets/fcpe_c_v001.pt")
    ckpt = load_state_dict(path)
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config_dict" not in ckpt:
        raise ArvcError(f"{path} is not a torchfcpe checkpoint (expected keys 'model' and 'config_dict')")
    net = FCPE(FcpeConfig.from_checkpoint(ckpt["config_dict"]))
    net.load_state_dict(ckpt["model"])
    return net.eval().to(device)


class FcpeF0(F0Method):
    """FCPE pitch (``fcpe``); returns ``1 + N // 160`` frames before fitting to ``n_frames``.

    The network's frames are 10 ms apart; another ``hop_length`` gets them resampled (:func:`to_hop`).

    Frames outside ``[f0_min, f0_max]`` are set to 0 (Applio keeps FCPE's own 32.7–1975.5 Hz range;
    the two agree whenever the pitch stays inside the options' range).
    """

    name = "fcpe"

    def __init__(self, options: F0Options | None = None, device=None, threshold: float = 0.006,
                 path=None, net: FCPE | None = None):
        super().__init__(options, device)
        self.net = net.eval().to(self.device) if net is not None else load_fcpe(path, self.device)
        if self.options.sample_rate != self.net.cfg.sample_rate:
            raise ArvcError(
                f"fcpe works at {self.net.cfg.sample_rate} Hz; got sample_rate={self.options.sample_rate}"
            )
        self.threshold = threshold

    @torch.inference_mode()
    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device)[None]
        f0 = self.net.decode(self.net(log_mel(x, self.net.cfg)), self.threshold)[0].cpu().numpy()
        f0[(f0 < self.options.f0_min) | (f0 > self.options.f0_max)] = 0
        return to_hop(f0, self.net.cfg.hop_size, self.options, n_frames)


F0_METHODS.add("fcpe", FcpeF0)
