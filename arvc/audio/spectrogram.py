"""STFT, magnitude and mel spectrograms in torch: the one place windows and mel filterbanks are made.

Windows and filterbanks are cached per (size, dtype, device). :func:`spectrogram` is RVC's linear
spectrogram: reflect-pad ``(n_fft - hop) / 2`` on both sides, ``center=False``, magnitude
``sqrt(re² + im² + 1e-6)``, so a signal of N samples gives N // hop frames.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

LOG_FLOOR = 1e-5


@functools.lru_cache(maxsize=64)
def hann_window(size: int, dtype: torch.dtype = torch.float32, device: str = "cpu") -> torch.Tensor:
    """Periodic Hann window ``(size,)`` (cached: built outside inference mode, so training can use it too)."""
    with torch.inference_mode(False):
        return torch.hann_window(size, dtype=dtype, device=device)


@functools.lru_cache(maxsize=64)
def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
    dtype: torch.dtype = torch.float32, device: str = "cpu",
) -> torch.Tensor:
    """librosa's mel filterbank ``(n_mels, n_fft // 2 + 1)`` (Slaney scale and norm; HTK scale with ``htk``)."""
    import librosa  # optional-heavy: a second to import, needed only to build a filterbank once

    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk)
    with torch.inference_mode(False):  # cached: must stay usable by autograd
        return torch.from_numpy(basis).to(dtype=dtype, device=device)


def stft(y: torch.Tensor, n_fft: int, hop: int, win: int | None = None, *, center: bool = True,
         pad_mode: str = "reflect", window: torch.Tensor | None = None) -> torch.Tensor:
    """Complex STFT ``(B, N) -> (B, n_fft // 2 + 1, frames)`` with a Hann window of ``win`` (default n_fft)
    samples unless ``window`` is given."""
    win = win or n_fft
    if window is None:
        window = hann_window(win, y.dtype, str(y.device))
    return torch.stft(y, n_fft, hop_length=hop, win_length=win, window=window, center=center, pad_mode=pad_mode,
                      normalized=False, onesided=True, return_complex=True)


def magnitude(spec: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``sqrt(re² + im² + eps)`` of a complex spectrogram (``eps`` keeps the gradient finite at 0)."""
    return torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + eps)


def log_mel(mag: torch.Tensor, basis: torch.Tensor, floor: float = LOG_FLOOR) -> torch.Tensor:
    """Natural-log mel ``(B, n_mels, T)`` of a magnitude spectrogram ``(B, F, T)`` and filterbank ``(n_mels, F)``."""
    return torch.log(torch.clamp(torch.matmul(basis, mag), min=floor))


def spectrogram(y: torch.Tensor, n_fft: int, hop: int, win: int | None = None) -> torch.Tensor:
    """RVC's magnitude spectrogram ``(B, T) -> (B, n_fft // 2 + 1, T // hop)`` (or ``(T,) -> (F, frames)``)."""
    squeeze = y.dim() == 1
    y = y.unsqueeze(0) if squeeze else y
    pad = (n_fft - hop) // 2
    y = F.pad(y.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    dtype = y.dtype if y.dtype in (torch.float32, torch.float64) else torch.float32
    mag = magnitude(stft(y.to(dtype), n_fft, hop, win, center=False), eps=1e-6)
    return mag.squeeze(0) if squeeze else mag


def spec_to_mel(spec: torch.Tensor, sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                fmax: float | None = None) -> torch.Tensor:
    """Natural-log mel ``(B, F, T) -> (B, n_mels, T)`` from a magnitude spectrogram (RVC's log floor 1e-5)."""
    return log_mel(spec, mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, False, spec.dtype, str(spec.device)))


def mel_spectrogram(y: torch.Tensor, sample_rate: int, n_fft: int, hop: int, n_mels: int, win: int | None = None,
                    fmin: float = 0.0, fmax: float | None = None) -> torch.Tensor:
    """RVC's log mel ``(B, T) -> (B, n_mels, T // hop)``."""
    return spec_to_mel(spectrogram(y, n_fft, hop, win), sample_rate, n_fft, n_mels, fmin, fmax)
