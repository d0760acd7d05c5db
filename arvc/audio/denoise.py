"""Spectral-gating noise reduction in torch (runs on whatever device the input tensor is on).

Stationary gating: the noise floor of each frequency bin is estimated from the quietest frames of
the signal itself (speech datasets have pauses), a bin-frame is kept when its level exceeds
``mean + n_std * std`` of that floor; the binary mask is smoothed over frequency and time (the
smoothing only opens the gate around kept cells, never closes a kept one, so speech harmonics stay
whole), and gated cells are attenuated by ``strength`` (0 = untouched, 1 = removed).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from arvc.audio.spectrogram import hann_window, stft


def default_n_fft(sr: int) -> int:
    """A power of two close to 40 ms at ``sr`` (512 at 16 kHz, 2048 at 40/48 kHz)."""
    return 2 ** max(6, round(math.log2(sr * 0.04)))


def _smoothing_kernel(n_freq: int, n_time: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1, 1, 2*n_freq+1, 2*n_time+1) triangular kernel summing to 1."""
    f = 1.0 - torch.linspace(-1, 1, 2 * n_freq + 3, device=device, dtype=dtype)[1:-1].abs()
    t = 1.0 - torch.linspace(-1, 1, 2 * n_time + 3, device=device, dtype=dtype)[1:-1].abs()
    k = torch.outer(f, t)
    return (k / k.sum())[None, None]


def spectral_gate(
    audio: torch.Tensor,
    sr: int,
    strength: float = 0.7,
    *,
    n_std: float = 1.5,
    noise_fraction: float = 0.1,
    n_fft: int | None = None,
    freq_smooth_hz: float = 500.0,
    time_smooth_ms: float = 50.0,
    despeckle: float = 0.5,
) -> torch.Tensor:
    """Denoise ``audio`` (T,) or (B, T) float; returns the same shape, dtype and device.

    ``noise_fraction`` of the frames with the least energy (per item) give the noise profile.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    squeeze = audio.dim() == 1
    x = audio[None] if squeeze else audio
    if x.dim() != 2:
        raise ValueError(f"expected (T,) or (B, T) audio, got shape {tuple(audio.shape)}")
    if strength == 0.0 or x.shape[-1] == 0:
        return audio.clone()
    dtype = x.dtype
    x = x.float()
    n_fft = n_fft or default_n_fft(sr)
    hop = n_fft // 4
    window = hann_window(n_fft, x.dtype, str(x.device))
    spec = stft(x, n_fft, hop, center=True, pad_mode="constant", window=window)
    mag = spec.abs()  # (B, F, N)
    db = 20.0 * torch.log10(mag + 1e-10)
    n_frames = mag.shape[-1]
    k = max(1, int(round(n_frames * noise_fraction)))
    quiet = mag.pow(2).sum(1).topk(k, dim=-1, largest=False).indices  # (B, k)
    noise_db = torch.gather(db, 2, quiet[:, None, :].expand(-1, db.shape[1], -1))
    threshold = noise_db.mean(-1, keepdim=True) + n_std * noise_db.std(-1, unbiased=False, keepdim=True)
    mask = (db > threshold).float()
    if despeckle > 0:  # drop isolated cells (random noise peaks); speech partials last several frames
        box = torch.full((1, 1, 3, 5), 1.0 / 15, device=x.device)
        mask = mask * (F.conv2d(mask[:, None], box, padding=(1, 2))[:, 0] >= despeckle).float()
    nf = max(1, int(round(freq_smooth_hz / (sr / n_fft))))
    nt = max(1, int(round(time_smooth_ms / 1000 * sr / hop)))
    kernel = _smoothing_kernel(nf, nt, x.device, mask.dtype)
    mask = torch.maximum(mask, F.conv2d(mask[:, None], kernel, padding=(nf, nt))[:, 0])
    gain = 1.0 - strength * (1.0 - mask)
    y = torch.istft(spec * gain, n_fft, hop, window=window, center=True, length=x.shape[-1])
    y = y.to(dtype)
    return y[0] if squeeze else y


def spectral_gate_blocks(
    audio: torch.Tensor, sr: int, strength: float = 0.7, *, block_seconds: float = 60.0, fade_seconds: float = 0.5, **kwargs
) -> torch.Tensor:
    """``spectral_gate`` on a long (T,) signal in overlapping blocks (bounded memory, per-block noise profile),
    joined with linear cross-fades of ``fade_seconds``. Same shape, dtype and device as the input."""
    block, fade = int(block_seconds * sr), int(fade_seconds * sr)
    n = audio.shape[-1]
    if audio.dim() != 1 or n <= block or fade <= 0 or fade >= block:
        return spectral_gate(audio, sr, strength, **kwargs)
    out = torch.zeros_like(audio)
    ramp = torch.linspace(0.0, 1.0, fade + 2, device=audio.device, dtype=audio.dtype)[1:-1]
    start = 0
    while True:
        end = min(n, start + block)
        y = spectral_gate(audio[start:end], sr, strength, **kwargs)
        w = torch.ones_like(y)
        if start > 0:
            w[:fade] = ramp
        if end < n:
            w[-fade:] = ramp.flip(0)
        out[start:end] += y * w
        if end == n:
            return out
        start = end - fade
