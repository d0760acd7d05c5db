"""PENN's FCNF0++ (Morrison et al., "Cross-domain neural pitch and periodicity estimation", 2023).

A fully convolutional network on raw 8 kHz audio: each 1024-sample window (its first 16 and last
15 samples dropped, 993 kept) goes through six blocks of conv (kernel 32) → ReLU → [max-pool 2] →
LayerNorm over (channels, length) and a last conv to 1440 logits, one per 5-cent bin from 31 Hz
(31–1984 Hz). Frames are 80 samples (10 ms) apart, so at 16 kHz frame ``i`` is centred on sample
``160 * i``, as arvc's F0 grid wants (penn's ``center="zero"`` framing: reflect padding of half a
window; its default ``"half-window"`` framing gives the same frames without the first/last ones).

Decoding follows penn's defaults: bins outside ``[f0_min, f0_max]`` masked, Viterbi over the
softmax with a triangular transition allowing 32 octaves per second, then the expected value of
the softmax over the 19 bins around the chosen bin. Periodicity is one minus the normalised
entropy of the softmax; frames below ``threshold`` (0.065, penn's README) are unvoiced.

The released checkpoint ``fcnf0++.pt`` is a dict whose ``"model"`` entry is the state dict of
penn's ``Sequential`` (``0.0.weight`` … ``6.bias``); :class:`Fcnf0` uses the same names.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from arvc.constants import F0_HOP, SR_16K
from arvc.errors import ArvcError
from arvc.features.f0 import F0_METHODS
from arvc.features.f0._weights import build_from_state_dict, load_state_dict
from arvc.features.f0.base import F0Method, F0Options, fit_length, to_hop

SAMPLE_RATE = 8000
HOP = 80
WINDOW = 1024
CROP = (16, 15)
PITCH_BINS = 1440
CENTS_PER_BIN = 5.0
FMIN = 31.0
LOCAL_BINS = 19
MAX_OCTAVES_PER_SECOND = 32.0
THRESHOLD = 0.065
BATCH_FRAMES = 128
# (in, out, length after the block, pooled) of the six blocks
BLOCKS = ((1, 256, 481, True), (256, 32, 225, True), (32, 32, 97, True), (32, 128, 66, False),
          (128, 256, 35, False), (256, 512, 4, False))


def _block(c_in: int, c_out: int, length: int, pooled: bool) -> nn.Sequential:
    layers = [nn.Conv1d(c_in, c_out, 32), nn.ReLU()]
    if pooled:
        layers.append(nn.MaxPool1d(2, 2))
    layers.append(nn.LayerNorm((c_out, length)))
    return nn.Sequential(*layers)


class Fcnf0(nn.Sequential):
    """Frames (B, 1024) at 8 kHz -> logits (B, 1440). State-dict names = penn's ``Fcnf0``."""

    def __init__(self):
        super().__init__(*[_block(*b) for b in BLOCKS], nn.Conv1d(512, PITCH_BINS, 4))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames[:, None, CROP[0] : frames.shape[-1] - CROP[1]]
        return super().forward(x)[..., 0]


def bins_to_hz(bins: torch.Tensor) -> torch.Tensor:
    return FMIN * 2 ** (bins * CENTS_PER_BIN / 1200)


def hz_to_bin(hz: float, ceil: bool = False) -> int:
    b = 1200 * math.log2(hz / FMIN) / CENTS_PER_BIN
    return int(min(max(math.ceil(b) if ceil else math.floor(b), 0), PITCH_BINS - 1))


def frames_8k(audio: torch.Tensor) -> torch.Tensor:
    """(M,) 8 kHz -> (1 + M // 80, 1024): frame ``j`` centred on sample ``80 * j`` (reflect padding)."""
    half = WINDOW // 2
    mode = "reflect" if audio.shape[-1] > half else "constant"
    padded = F.pad(audio[None, None], (half, half), mode=mode)[0, 0]
    n_frames = audio.shape[-1] // HOP + 1
    return padded.unfold(0, WINDOW, HOP)[:n_frames]


def transition_kernel() -> tuple[torch.Tensor, torch.Tensor]:
    """penn's triangular transition in banded form: log weights (2r + 1,) for bin offsets -r..r and the
    log row sums (1440,) that normalise each source bin's row."""
    width = MAX_OCTAVES_PER_SECOND * HOP / SAMPLE_RATE * 1200 / CENTS_PER_BIN + 1  # 77.8 bins
    r = math.ceil(width) - 1
    offsets = torch.arange(-r, r + 1, dtype=torch.float64)
    weights = width - offsets.abs()
    idx = torch.arange(PITCH_BINS)
    row = torch.zeros(PITCH_BINS, dtype=torch.float64)
    for d, w in zip(range(-r, r + 1), weights):
        row += w * ((idx + d >= 0) & (idx + d < PITCH_BINS))
    return weights.log().float(), row.log().float()


def viterbi(log_probs: torch.Tensor) -> torch.Tensor:
    """(T, 1440) log observation probabilities -> (T,) most likely bin path (uniform start).

    Runs on the CPU (a step per frame; back-pointers as int16, 2.9 kB per frame)."""
    device, log_probs = log_probs.device, log_probs.detach().float().cpu()
    kernel, log_rows = transition_kernel()
    r = (len(kernel) - 1) // 2
    score = log_probs[0] - math.log(PITCH_BINS)
    back = torch.empty(log_probs.shape, dtype=torch.int16)
    base = torch.arange(PITCH_BINS) - r
    for t in range(1, log_probs.shape[0]):
        padded = F.pad(score - log_rows, (r, r), value=-math.inf)
        best, arg = (padded.unfold(0, 2 * r + 1, 1) + kernel).max(dim=1)
        back[t] = base + arg
        score = best + log_probs[t]
    path = [int(score.argmax())]
    for t in range(log_probs.shape[0] - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return torch.tensor(path[::-1], dtype=torch.int64, device=device)


def local_expected_hz(logits: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(T, 1440) logits, (T,) bins -> (T,) Hz: softmax-weighted mean bin over the 19 bins around ``bins``."""
    half = LOCAL_BINS // 2
    padded = F.pad(logits, (half, half), value=-math.inf)
    idx = bins[:, None] + torch.arange(LOCAL_BINS, device=bins.device)[None]
    weights = torch.softmax(padded.gather(1, idx), dim=1)
    return bins_to_hz((weights * (idx - half).clamp(min=0).float()).sum(1))


def entropy_periodicity(logits: torch.Tensor) -> torch.Tensor:
    """(T, 1440) -> (T,): 1 - entropy(softmax) / log(1440), in [0, 1]."""
    p = torch.softmax(logits, dim=1)
    return 1 + (p * torch.log(p + 1e-7)).sum(1) / math.log(PITCH_BINS)


def load_penn(path: str | Path | None = None, device: torch.device | str = "cpu") -> Fcnf0:
    """FCNF0++ from ``path`` (or ``<models>/f0/fcnf0++.pt``, downloaded when missing), float32, eval mode.

    Accepts penn's checkpoint (a dict with ``"model"``, also ``"optimizer"``/``"step"``) or a bare state
    dict; loaded with ``torch.load(weights_only=True)``.
    """
    from arvc.library.f0_weights import f0_weights_path

    p = f0_weights_path("penn", path)
    ckpt = load_state_dict(p)
    sd = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else ckpt
    sd = {k.removeprefix("module."): v for k, v in sd.items()} if isinstance(sd, dict) else sd
    return build_from_state_dict(Fcnf0, sd, p, "a PENN FCNF0++ state dict").to(device)


class PennF0(F0Method):
    """PENN FCNF0++ pitch (``penn``): 16 kHz in, resampled to 8 kHz (torchaudio's Hann sinc, as penn),
    10 ms frames; other hops get the 10 ms contour resampled."""

    name = "penn"

    def __init__(self, options: F0Options | None = None, device=None, path: str | Path | None = None,
                 threshold: float = THRESHOLD, net: Fcnf0 | None = None, batch_frames: int = BATCH_FRAMES):
        super().__init__(options, device)
        if self.options.sample_rate != SR_16K:
            raise ArvcError(f"penn works at 16 kHz; got sample_rate={self.options.sample_rate}")
        self.net = net.eval().to(self.device) if net is not None else load_penn(path, self.device)
        self.threshold = threshold
        self.batch_frames = batch_frames

    @torch.inference_mode()
    def logits(self, audio: np.ndarray) -> torch.Tensor:
        """(N,) 16 kHz -> (1 + N // 160, 1440) logits."""
        from arvc.models.vocoders.resample import resample

        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device)
        if x.numel() == 0:  # one frame of silence
            x = x.new_zeros(1)
        x = resample(x, SR_16K, SAMPLE_RATE, lowpass_filter_width=6, rolloff=0.99, window="hann")
        frames = frames_8k(x)[: len(audio) // F0_HOP + 1]
        return torch.cat([self.net(frames[i : i + self.batch_frames])
                          for i in range(0, len(frames), self.batch_frames)])

    def masked(self, logits: torch.Tensor) -> torch.Tensor:
        """A copy of (T, 1440) ``logits`` with the bins outside ``[f0_min, f0_max]`` at -inf (penn's bin rounding)."""
        logits = logits.float().clone()
        logits[:, : hz_to_bin(self.options.f0_min)] = -math.inf
        logits[:, hz_to_bin(self.options.f0_max, ceil=True) :] = -math.inf
        return logits

    @torch.inference_mode()
    def pitch_periodicity(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decoded F0 (Hz) and periodicity, both (1 + N // 160,), on the 10 ms grid."""
        logits = self.masked(self.logits(audio))
        bins = viterbi(torch.log_softmax(logits, dim=1))
        f0 = local_expected_hz(logits, bins)
        return f0.cpu().numpy().astype(np.float32), entropy_periodicity(logits).cpu().numpy().astype(np.float32)

    def candidate(self, audio: np.ndarray, n_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pitch on every frame and ``0.5 * periodicity / threshold`` (capped at 1)."""
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        n_frames = len(audio) // self.options.hop_length if n_frames is None else n_frames
        f0, periodicity = self.pitch_periodicity(audio)
        conf = np.clip(0.5 * periodicity / max(self.threshold, 1e-6), 0, 1)
        o = self.options
        f0 = to_hop(f0, F0_HOP, o, n_frames)
        if o.hop_length != F0_HOP:
            conf = np.interp(np.arange(n_frames) * o.hop_length, np.arange(len(conf)) * F0_HOP, conf)
        return fit_length(np.asarray(f0, np.float32), n_frames), fit_length(np.asarray(conf, np.float32), n_frames)

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        f0, periodicity = self.pitch_periodicity(audio)
        f0[(periodicity < self.threshold) | (f0 < self.options.f0_min) | (f0 > self.options.f0_max)] = 0
        return to_hop(f0, F0_HOP, self.options, n_frames)


F0_METHODS.add("penn", PennF0)
