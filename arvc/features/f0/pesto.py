"""PESTO (Riou et al. 2023) with the ``mir-1k_g7`` weights shipped in the pesto-pitch wheel.

Front end: a variable-Q transform (3 bins per semitone, 251 bins from A0, gamma 7, centred,
reflect padding) computed as a strided complex convolution, in dB. Network: frame-wise layer
norm over the 219 central bins, three 39-tap conv prefilters (residual), 1x1 convs 40→30→30→10→3,
a Toeplitz (translation-equivariant) linear layer to 384 bins (1/3 semitone each from MIDI 0) and
a softmax; pitch by argmax-local weighted averaging. A small classifier on the CQT power gives
the voicing confidence; frames below ``confidence_threshold`` are unvoiced.

The checkpoint stores its hyper-parameters as OmegaConf objects, so it is read by
``_weights.load_restricted``: torch's weights-only unpickler with inert stand-ins allowed for the
OmegaConf classes (no code from the file is run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from arvc.constants import F0_HOP, SR_16K
from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS
from arvc.features.f0._weights import load_restricted, packaged_file, plain
from arvc.features.f0.base import F0Method, F0Options


@dataclass(frozen=True)
class PestoConfig:
    """Hyper-parameters of the shipped ``mir-1k_g7`` model (CQT + encoder)."""

    sample_rate: int = SR_16K
    hop_length: int = F0_HOP
    fmin: float = 27.5
    bins_per_semitone: int = 3
    n_bins: int = 251
    gamma: float = 7.0
    crop: int = 16  # bins cropped at both ends before the encoder
    channels: tuple[int, ...] = (40, 30, 30, 10, 3)
    n_prefilt: int = 3
    prefilt_kernel: int = 39
    slope: float = 0.3
    out_bins: int = 384

    @property
    def encoder_bins(self) -> int:
        return self.n_bins - 2 * self.crop

    @classmethod
    def from_checkpoint(cls, hparams: dict, hcqt: dict, sample_rate: int, hop_length: int) -> "PestoConfig":
        enc = hparams["encoder"]
        shift = hparams["pitch_shift"]
        if list(hcqt.get("harmonics", [1])) != [1] or enc.get("activation_fn", "leaky") != "leaky":
            raise ArvcError("pesto checkpoint: only single-harmonic, leaky-ReLU models are supported")
        if not enc.get("residual", False) or hparams.get("reduction", "alwa") != "alwa":
            raise ArvcError("pesto checkpoint: only residual prefiltering with 'alwa' reduction is supported")
        if -shift["min_steps"] != shift["max_steps"]:
            raise ArvcError("pesto checkpoint: asymmetric CQT crop is not supported")
        return cls(
            sample_rate=sample_rate, hop_length=hop_length, fmin=hcqt["fmin"],
            bins_per_semitone=hcqt["bins_per_semitone"], n_bins=hcqt["n_bins"], gamma=hcqt["gamma"],
            crop=shift["max_steps"], channels=tuple(enc["n_chan_layers"]), n_prefilt=enc["n_prefilt_layers"],
            prefilt_kernel=enc["prefilt_kernel_size"], slope=enc["a_lrelu"], out_bins=enc["output_dim"],
        )


def cqt_kernels(cfg: PestoConfig) -> tuple[np.ndarray, np.ndarray]:
    """Complex time-domain CQT filters (n_bins, width) and their lengths (n_bins,).

    Bin centres start at ``fmin`` shifted down by a third of the bin spacing so that each
    semitone's middle bin is centred on the note; filter ``k`` is an L1-normalised Hann-windowed
    complex exponential of length ``ceil(Q * sr / (f_k + gamma / alpha))``.
    """
    from scipy.signal import get_window

    bpo = 12 * cfg.bins_per_semitone
    fmin = cfg.fmin / 2 ** ((cfg.bins_per_semitone - 1) / (24 * cfg.bins_per_semitone))
    freqs = fmin * 2.0 ** (np.arange(cfg.n_bins) / float(bpo))
    if freqs.max() > cfg.sample_rate / 2:
        raise ArvcError(f"PESTO CQT top bin {freqs.max():.0f} Hz exceeds Nyquist at {cfg.sample_rate} Hz")
    alpha = 2.0 ** (1.0 / bpo) - 1.0
    q = 1.0 / alpha
    lengths = np.ceil(q * cfg.sample_rate / (freqs + cfg.gamma / alpha))
    width = int(2 ** np.ceil(np.log2(lengths.max())))
    kernels = np.zeros((cfg.n_bins, width), dtype=np.complex64)
    for k, (f, n) in enumerate(zip(freqs, lengths)):
        start = int(np.ceil(width / 2.0 - n / 2.0)) - (1 if n % 2 == 1 else 0)
        t = np.arange(-n // 2, n // 2)
        sig = get_window("hann", int(n), fftbins=True) * np.exp(1j * 2 * np.pi * f * t / cfg.sample_rate) / n
        kernels[k, start : start + int(n)] = sig / np.linalg.norm(sig, 1)
    return kernels, lengths


class CQT(nn.Module):
    """(B, N) audio -> (B, T, n_bins) log magnitude in dB, T = 1 + N // hop (centred, reflect padding)."""

    def __init__(self, cfg: PestoConfig):
        super().__init__()
        kernels, lengths = cqt_kernels(cfg)
        k = torch.from_numpy(kernels)[:, None]
        self.register_buffer("weight", torch.cat([k.real, -k.imag], dim=0), persistent=False)
        self.register_buffer("scale", torch.from_numpy(lengths).float().sqrt()[:, None], persistent=False)
        self.hop = cfg.hop_length
        self.n_bins = cfg.n_bins

    def pad(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, N + width): reflect padding (zeros if the signal is too short to reflect)."""
        half = self.weight.shape[-1] // 2
        mode = "reflect" if audio.shape[-1] > half else "constant"
        return F.pad(audio[:, None], (half, half), mode=mode)[:, 0]

    def forward(self, audio: torch.Tensor, padded: bool = False) -> torch.Tensor:
        """``padded``: ``audio`` already went through :meth:`pad` (lets callers cut it into hop-aligned pieces)."""
        x = (audio if padded else self.pad(audio))[:, None]
        out = F.conv1d(x, self.weight, stride=self.hop).view(audio.shape[0], 2, self.n_bins, -1)
        out = out * self.scale
        mag = torch.sqrt(out[:, 0] ** 2 + out[:, 1] ** 2)
        db = 20 * torch.log10(mag.clamp(min=torch.finfo(torch.float32).eps))
        return db.transpose(1, 2)


class ToeplitzLinear(nn.Conv1d):
    """A linear map whose matrix is Toeplitz (shift-equivariant): one long 1-channel convolution."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__(1, 1, n_in + n_out - 1, padding=n_out - 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_in) -> (B, n_out)."""
        return super().forward(x[:, None])[:, 0]


class PestoEncoder(nn.Module):
    """(B, 1, bins) CQT frames -> (B, out_bins) pitch distribution (softmax). Names = pesto's."""

    def __init__(self, cfg: PestoConfig):
        super().__init__()
        ch, k = list(cfg.channels), cfg.prefilt_kernel
        act = lambda: nn.LeakyReLU(cfg.slope)  # noqa: E731
        self.layernorm = nn.LayerNorm([1, cfg.encoder_bins])
        self.conv1 = nn.Sequential(nn.Conv1d(1, ch[0], k, padding=k // 2), act(), nn.Dropout(0.2))
        self.prefilt_layers = nn.ModuleList(
            nn.Sequential(nn.Conv1d(ch[0], ch[0], k, padding=k // 2), act(), nn.Dropout(0.2))
            for _ in range(cfg.n_prefilt - 1)
        )
        layers: list[nn.Module] = []
        for a, b in zip(ch[:-1], ch[1:]):
            layers += [nn.Conv1d(a, b, 1), act(), nn.Dropout(0.2)]
        self.conv_layers = nn.Sequential(*layers)
        self.fc = ToeplitzLinear(cfg.encoder_bins * ch[-1], cfg.out_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.layernorm(x))
        for layer in self.prefilt_layers:
            x = layer(x) + x
        x = self.conv_layers(x).flatten(1)
        return torch.softmax(self.fc(x), dim=-1)


class ConfidenceClassifier(nn.Module):
    """(B, n_bins) CQT power -> (B,) voicing confidence in [0, 1] (conv features + spectral flatness)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 39, stride=3)
        self.linear = nn.Linear(72, 1)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        geometric = power.log().mean(dim=-1, keepdim=True).exp()
        flatness = geometric / power.mean(dim=-1, keepdim=True).clamp(min=1e-8)
        x = F.relu(self.conv(power[:, None])[:, 0])
        return torch.sigmoid(self.linear(torch.cat([x, flatness], dim=-1)))[:, 0]


class Pesto(nn.Module):
    """Audio (1, N) -> pitch in MIDI semitones (T,), confidence (T,)."""

    def __init__(self, cfg: PestoConfig = PestoConfig()):
        super().__init__()
        self.cfg = cfg
        self.cqt = CQT(cfg)
        self.encoder = PestoEncoder(cfg)
        self.confidence = ConfidenceClassifier()
        self.register_buffer("shift", torch.zeros(()))

    def forward(self, audio: torch.Tensor, padded: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        db = self.cqt(audio, padded).flatten(0, 1)  # (B*T, n_bins)
        # pesto scales the dB values by ln(10)/10 in place before both heads (-> natural-log power)
        x = db * (math.log(10) / 10.0)
        confidence = self.confidence(x.exp())
        c = self.cfg.crop
        probs = self.encoder(x[:, None, c:-c] if c else x[:, None])
        bps = self.cfg.bins_per_semitone
        probs = probs.roll(-round(float(self.shift) * bps), -1)
        return alwa(probs, bps), confidence


def alwa(probs: torch.Tensor, bps: int) -> torch.Tensor:
    """Argmax-local weighted average over ±(bps-1) bins: (B, bins) -> (B,) pitch in semitones."""
    n = probs.shape[-1]
    pitches = torch.arange(n, dtype=torch.float32, device=probs.device) / bps
    centre = probs.argmax(dim=-1, keepdim=True)
    idx = (centre + torch.arange(1 - bps, bps, device=probs.device)).clamp(0, n - 1)
    p = probs.gather(-1, idx)
    return (p * pitches[idx]).sum(-1) / p.sum(-1)


def load_pesto(device: torch.device | str = "cpu", sample_rate: int = SR_16K, hop_length: int = F0_HOP) -> Pesto:
    """PESTO with pesto-pitch's shipped ``mir-1k_g7`` weights, eval mode."""
    path = packaged_file("pesto", "weights/mir-1k_g7.ckpt", pip_name="pesto-pitch")
    ckpt = load_restricted(path)
    try:
        cfg = PestoConfig.from_checkpoint(plain(ckpt["hparams"]), plain(ckpt["hcqt_params"]), sample_rate, hop_length)
        sd = ckpt["state_dict"]
    except (KeyError, TypeError) as e:
        raise ArvcError(f"{path} is not a PESTO checkpoint (missing {e})") from None
    net = Pesto(cfg)
    net.load_state_dict(sd)
    return net.eval().to(device)


class PestoF0(F0Method):
    """PESTO pitch (``pesto``); unvoiced where confidence < ``confidence_threshold`` or out of range."""

    name = "pesto"

    def __init__(self, options: F0Options | None = None, device=None, confidence_threshold: float = 0.5,
                 batch_frames: int = 2048):
        super().__init__(options, device)
        self.net = load_pesto(self.device, self.options.sample_rate, self.options.hop_length)
        self.confidence_threshold = confidence_threshold
        self.batch_frames = batch_frames

    @torch.inference_mode()
    def pitch_confidence(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) -> F0 in Hz and voicing confidence, both (1 + N // hop,); frames batched."""
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device)
        padded = self.net.cqt.pad(x[None])[0]
        width, hop = self.net.cqt.weight.shape[-1], self.options.hop_length
        n_frames = len(audio) // hop + 1
        semis, confs = [], []
        for s in range(0, n_frames, self.batch_frames):
            e = min(n_frames, s + self.batch_frames)
            sem, conf = self.net(padded[None, s * hop : (e - 1) * hop + width], padded=True)
            semis.append(sem)
            confs.append(conf)
        midi = torch.cat(semis)
        hz = 440.0 * 2 ** ((midi - 69) / 12)
        return hz.cpu().numpy(), torch.cat(confs).cpu().numpy()

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        hz, conf = self.pitch_confidence(audio)
        o = self.options
        hz[(conf < self.confidence_threshold) | (hz < o.f0_min) | (hz > o.f0_max)] = 0
        return hz.astype(np.float32)


F0_METHODS.add("pesto", PestoF0)
