"""Linear / mel spectrograms with torch.stft, and the multi-scale mel distance. Pure functions.

Windows and filterbanks are cached per (size, dtype, device). The spectrogram matches RVC's:
reflect-pad (n_fft - hop) / 2 on both sides, ``center=False``, magnitude ``sqrt(re² + im² + 1e-6)``,
so a signal of N samples gives N // hop frames.

Multi-scale mel: ``MULTISCALE_MELS = (5, 10, 20, 40, 80, 160, 320, 480)`` bins; the window of each
scale is computed from its bin count: about 8 mel bands' worth of resolution per bin,
``window = 8 * n_mels / (sr / 2)`` seconds, i.e. ``16 * n_mels`` samples, rounded DOWN to a power of two
(5 → 64, 10 → 128, ..., 320 → 4096, 480 → 4096); hop = 10 ms (sr // 100); distance = L1 of log10 mels.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

MULTISCALE_MELS: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320, 480)
LOG_FLOOR = 1e-5


@functools.lru_cache(maxsize=64)
def hann_window(size: int, dtype: torch.dtype = torch.float32, device: str = "cpu") -> torch.Tensor:
    return torch.hann_window(size, dtype=dtype, device=device)


@functools.lru_cache(maxsize=64)
def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None,
    dtype: torch.dtype = torch.float32, device: str = "cpu",
) -> torch.Tensor:
    """Slaney mel filterbank (librosa's default) ``(n_mels, n_fft // 2 + 1)``."""
    from librosa.filters import mel

    basis = mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return torch.from_numpy(basis).to(dtype=dtype, device=device)


def spectrogram(y: torch.Tensor, n_fft: int, hop: int, win: int | None = None) -> torch.Tensor:
    """Magnitude spectrogram ``(B, T) -> (B, n_fft // 2 + 1, T // hop)`` (or ``(T,) -> (F, frames)``)."""
    win = win or n_fft
    squeeze = y.dim() == 1
    y = y.unsqueeze(0) if squeeze else y
    pad = (n_fft - hop) // 2
    y = F.pad(y.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    dtype = y.dtype if y.dtype in (torch.float32, torch.float64) else torch.float32
    spec = torch.stft(
        y.to(dtype), n_fft, hop_length=hop, win_length=win, window=hann_window(win, dtype, str(y.device)),
        center=False, normalized=False, onesided=True, return_complex=True,
    )
    mag = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-6)
    return mag.squeeze(0) if squeeze else mag


def spec_to_mel(spec: torch.Tensor, sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                fmax: float | None = None) -> torch.Tensor:
    """Natural-log mel ``(B, F, T) -> (B, n_mels, T)`` from a magnitude spectrogram (RVC's log floor 1e-5)."""
    basis = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, spec.dtype, str(spec.device))
    return torch.log(torch.clamp(torch.matmul(basis, spec), min=LOG_FLOOR))


def mel_spectrogram(y: torch.Tensor, sample_rate: int, n_fft: int, hop: int, n_mels: int, win: int | None = None,
                    fmin: float = 0.0, fmax: float | None = None) -> torch.Tensor:
    """Log mel ``(B, T) -> (B, n_mels, T // hop)``."""
    return spec_to_mel(spectrogram(y, n_fft, hop, win), sample_rate, n_fft, n_mels, fmin, fmax)


def mel_bins_for(sample_rate: int) -> int:
    """RVC's mel channel count for the single-scale loss (32k: 80, 40k: 125, 48k: 128)."""
    return {32000: 80, 40000: 125, 48000: 128}.get(sample_rate, 128)


def multiscale_window(n_mels: int, sample_rate: int) -> int:
    """Window length for ``n_mels`` bins: ``16 * n_mels`` samples rounded down to a power of two."""
    seconds = 8 * n_mels / (sample_rate / 2)
    samples = int(seconds * sample_rate)
    return 1 << (samples.bit_length() - 1)


def multiscale_params(sample_rate: int, mels: tuple[int, ...] = MULTISCALE_MELS) -> list[tuple[int, int, int]]:
    """``[(n_mels, window, hop), ...]`` for every scale."""
    return [(m, multiscale_window(m, sample_rate), sample_rate // 100) for m in mels]


def _log10_mel(y: torch.Tensor, sample_rate: int, n_mels: int, win: int, hop: int) -> torch.Tensor:
    spec = torch.stft(
        y, win, hop_length=hop, win_length=win, window=hann_window(win, y.dtype, str(y.device)),
        center=True, pad_mode="reflect", return_complex=True,
    ).abs()
    basis = mel_filterbank(sample_rate, win, n_mels, 0.0, None, y.dtype, str(y.device))
    return torch.log10(torch.clamp(torch.matmul(basis, spec), min=LOG_FLOOR))


def multiscale_mel_loss(real: torch.Tensor, fake: torch.Tensor, sample_rate: int,
                        mels: tuple[int, ...] = MULTISCALE_MELS) -> torch.Tensor:
    """Sum over scales of the L1 distance of log10 mels. ``real``, ``fake``: ``(B, 1, T)`` or ``(B, T)``."""
    real = real.reshape(-1, real.shape[-1]).float()
    fake = fake.reshape(-1, fake.shape[-1]).float()
    loss = real.new_zeros(())
    for n_mels, win, hop in multiscale_params(sample_rate, mels):
        loss = loss + F.l1_loss(_log10_mel(fake, sample_rate, n_mels, win, hop),
                                _log10_mel(real, sample_rate, n_mels, win, hop))
    return loss


def frame_energy(y: torch.Tensor, hop: int) -> torch.Tensor:
    """Log RMS energy per hop-sized frame ``(B, 1, T) -> (B, T // hop)``."""
    y = y.reshape(y.shape[0], -1).float()
    frames = y[:, : (y.shape[-1] // hop) * hop].reshape(y.shape[0], -1, hop)
    return torch.log(torch.sqrt(frames.pow(2).mean(-1) + 1e-8))
