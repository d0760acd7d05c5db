"""The multi-scale mel distance and frame energy of the training losses (spectrograms: arvc.audio.spectrogram).

Multi-scale mel: ``MULTISCALE_MELS = (5, 10, 20, 40, 80, 160, 320, 480)`` bins; the window of each
scale is computed from its bin count: about 8 mel bands' worth of resolution per bin,
``window = 8 * n_mels / (sr / 2)`` seconds, i.e. ``16 * n_mels`` samples, rounded DOWN to a power of two
(5 → 64, 10 → 128, ..., 320 → 4096, 480 → 4096); hop = 10 ms (sr // 100); distance = L1 of log10 mels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from arvc.audio.spectrogram import LOG_FLOOR, mel_filterbank, stft

MULTISCALE_MELS: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320, 480)


def multiscale_window(n_mels: int, sample_rate: int) -> int:
    """Window length for ``n_mels`` bins: ``16 * n_mels`` samples rounded down to a power of two."""
    seconds = 8 * n_mels / (sample_rate / 2)
    samples = int(seconds * sample_rate)
    return 1 << (samples.bit_length() - 1)


def multiscale_params(sample_rate: int, mels: tuple[int, ...] = MULTISCALE_MELS) -> list[tuple[int, int, int]]:
    """``[(n_mels, window, hop), ...]`` for every scale."""
    return [(m, multiscale_window(m, sample_rate), sample_rate // 100) for m in mels]


def _log10_mel(y: torch.Tensor, sample_rate: int, n_mels: int, win: int, hop: int) -> torch.Tensor:
    spec = stft(y, win, hop, win, center=True, pad_mode="reflect").abs()
    basis = mel_filterbank(sample_rate, win, n_mels, 0.0, None, False, y.dtype, str(y.device))
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
