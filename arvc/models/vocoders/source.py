"""Harmonic excitation sources for the NSF vocoders (``dec.m_source``).

Random parts (initial phases, additive noise) are drawn with ``torch.rand`` / ``torch.randn_like``;
``deterministic = True`` on a source drops them (same values as patching those draws to zeros).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SOURCE_INIT_GAIN = 2.0


def init_source_linear(linear: nn.Linear, gain: float = SOURCE_INIT_GAIN) -> None:
    """From-scratch init of the layer that merges the harmonic sines into one excitation.

    Harmonic ``h`` (1-based) gets weight ``gain / h`` and the bias 0, so a fresh model hears its
    pitch: PyTorch's default ``U(-1/sqrt(dim), 1/sqrt(dim))`` draws a random sign and often a
    near-zero weight, and a model trained from scratch then learns to ignore F0. Loading any
    weights (a pretrain, a model) overwrites this.
    """
    with torch.no_grad():
        harmonics = torch.arange(1, linear.in_features + 1, dtype=linear.weight.dtype)
        linear.weight.copy_((gain / harmonics).expand_as(linear.weight))
        if linear.bias is not None:
            linear.bias.zero_()


def _noise(sine: torch.Tensor, uv: torch.Tensor, sine_amp: float, noise_std: float) -> torch.Tensor:
    amp = uv * noise_std + (1 - uv) * sine_amp / 3
    return amp * torch.randn_like(sine)


class _Source(nn.Module):
    """Settings shared by the harmonic sources: ``dim`` = harmonics incl. the fundamental, ``deterministic``
    drops the random phase offsets and noise."""

    def __init__(self, sample_rate: int, harmonic_num: int, sine_amp: float, noise_std: float,
                 voiced_threshold: float):
        super().__init__()
        self.sample_rate = sample_rate
        self.dim = harmonic_num + 1
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.voiced_threshold = voiced_threshold
        self.deterministic = False


def hifigan_sine_phase(f0: torch.Tensor, upp: int, sample_rate: int) -> torch.Tensor:
    """Applio's HiFi-GAN-NSF phase in cycles, vectorised: ``f0 (B, T)`` Hz -> ``(B, T * upp)``.

    ``phi[t*upp + j-1] = f[t]/sr*j + fmod(sum_{s<t} r[s], 1)`` with ``r = fmod(f/sr*upp + 0.5, 1) - 0.5``
    (all float32, in that order).
    """
    b, t = f0.shape
    grid = torch.arange(1, upp + 1, dtype=f0.dtype, device=f0.device)
    inc = (f0.unsqueeze(-1) / sample_rate) * grid
    if t > 1:
        rem = torch.fmod(inc[:, :-1, -1:] + 0.5, 1.0) - 0.5
        inc = inc + F.pad(rem.cumsum(dim=1).fmod(1.0), (0, 0, 1, 0))
    return inc.reshape(b, t * upp)


class SineSource(_Source):
    """HiFi-GAN-NSF source (Applio ``SourceModuleHnNSF`` with its ``SineGenerator``).

    ``forward(f0 (B, T) Hz, upp) -> (B, T * upp, 1)`` = ``tanh(l_linear(excitation))``.
    """

    def __init__(self, sample_rate: int, harmonic_num: int = 0, sine_amp: float = 0.1,
                 noise_std: float = 0.003, voiced_threshold: float = 0.0):
        super().__init__(sample_rate, harmonic_num, sine_amp, noise_std, voiced_threshold)
        self.l_linear = nn.Linear(self.dim, 1)
        init_source_linear(self.l_linear)

    def excitation(self, f0: torch.Tensor, upp: int) -> torch.Tensor:
        """Pre-linear excitation ``(B, T * upp, dim)``."""
        with torch.no_grad():
            f0 = f0.float()
            phase = hifigan_sine_phase(f0, upp, self.sample_rate).unsqueeze(-1)
            if self.dim > 1:
                phase = phase * torch.arange(1, self.dim + 1, dtype=phase.dtype, device=phase.device)
                if not self.deterministic:
                    offset = torch.rand(1, 1, self.dim, device=f0.device)
                    offset[..., 0] = 0
                    phase = phase + offset
            sine = torch.sin(2 * math.pi * phase) * self.sine_amp
            uv = (f0 > self.voiced_threshold).to(sine.dtype).repeat_interleave(upp, dim=1).unsqueeze(-1)
            out = sine * uv
            if not self.deterministic:
                out = out + _noise(sine, uv, self.sine_amp, self.noise_std)
        return out

    def forward(self, f0: torch.Tensor, upp: int) -> torch.Tensor:
        e = self.excitation(f0, upp).to(self.l_linear.weight.dtype)
        return torch.tanh(self.l_linear(e))


def cumulative_sines(f0_up: torch.Tensor, sample_rate: int, dim: int, deterministic: bool) -> torch.Tensor:
    """Mainline-NSF phase on sample-rate F0: ``f0_up (B, N)`` -> sines ``(B, N, dim)`` of harmonics 1..dim.

    ``rad = (F*h/sr) % 1``; phase = cumsum(rad + wrap shifts); evaluated left to right in float32.
    """
    b = f0_up.shape[0]
    harmonics = torch.arange(1, dim + 1, dtype=f0_up.dtype, device=f0_up.device)
    f0_buf = f0_up.unsqueeze(-1) * harmonics
    rad = (f0_buf / sample_rate) % 1
    if not deterministic and dim > 1:
        ini = torch.rand(b, dim, device=f0_up.device, dtype=rad.dtype)
        ini[:, 0] = 0
        rad[:, 0, :] = rad[:, 0, :] + ini
    wrapped = torch.cumsum(rad, 1) % 1
    shift = torch.zeros_like(rad)
    shift[:, 1:, :] = ((wrapped[:, 1:, :] - wrapped[:, :-1, :]) < 0) * -1.0
    return torch.sin(torch.cumsum(rad + shift, dim=1) * 2 * math.pi)


class CumulativeSineSource(_Source):
    """Source of MRF HiFi-GAN (``l_linear``, 9 harmonics) and RefineGAN (``merge``, no bias).

    ``forward(f0_up (B, N) Hz at the output rate) -> (B, N, 1)``.
    """

    def __init__(self, sample_rate: int, harmonic_num: int = 0, sine_amp: float = 0.1,
                 noise_std: float = 0.003, voiced_threshold: float = 0.0, refinegan: bool = False):
        super().__init__(sample_rate, harmonic_num, sine_amp, noise_std, voiced_threshold)
        self.refinegan = refinegan
        if refinegan:
            self.merge = nn.Sequential(nn.Linear(self.dim, 1, bias=False), nn.Tanh())
            init_source_linear(self.merge[0])
        else:
            self.l_linear = nn.Linear(self.dim, 1)
            init_source_linear(self.l_linear)

    def excitation(self, f0_up: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            f0_up = f0_up.float()
            sine = cumulative_sines(f0_up, self.sample_rate, self.dim, self.deterministic) * self.sine_amp
            uv = (f0_up > self.voiced_threshold).to(sine.dtype).unsqueeze(-1)
            out = sine * uv
            if not self.deterministic:
                out = out + _noise(sine, uv, self.sine_amp, self.noise_std)
        return out

    def forward(self, f0_up: torch.Tensor) -> torch.Tensor:
        if self.refinegan:
            return self.merge(self.excitation(f0_up).to(self.merge[0].weight.dtype))
        return torch.tanh(self.l_linear(self.excitation(f0_up).to(self.l_linear.weight.dtype)))
