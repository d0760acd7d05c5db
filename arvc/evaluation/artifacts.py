"""Spectral artifacts of upsampling vocoders: mirrored harmonics and a line at an intermediate Nyquist frequency.

HiFi-GAN's transposed convolutions raise the rate in stages (v2 32 kHz: 100 Hz frames x10 x8 x2 x2, so the
stages run at 1, 8, 16 and 32 kHz). A stage that does not filter its images mirrors the content below the
previous stage's Nyquist frequency (the *fold*, 8 kHz before the last x2 of a 32 kHz model) to above it: the
spectrum's fine structure at ``fold + f`` copies the one at ``fold - f``, and a horizontal line can sit at the fold.

``mirror_score`` measures the first (the Pearson correlation of the fine structure on both sides of a frequency,
averaged over active frames: ~0 for natural speech, ~1 for an unfiltered image), ``line_db`` the second (the
level of the bins at a frequency above their neighbours, averaged over time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from arvc.audio.spectrogram import magnitude, stft


def fold_frequencies(sample_rate: int, upsample_rates: list[int], frame_rate: int = 100) -> list[float]:
    """Nyquist frequencies of every upsampling stage's input that lie below the output's Nyquist, in Hz."""
    folds, rate = [], float(frame_rate)
    for r in upsample_rates[:-1]:
        rate *= r
        folds.append(rate / 2)
    return [f for f in folds if 0 < f < sample_rate / 2]


def log_spectrum(audio: np.ndarray, sample_rate: int, n_fft: int = 2048, hop: int | None = None,
                 floor_db: float = 50.0) -> tuple[np.ndarray, float]:
    """(N,) audio -> ((F, T') dB magnitudes of the frames within ``floor_db`` of the loudest, Hz per bin)."""
    hop = hop or sample_rate // 100
    y = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    s = magnitude(stft(y, n_fft, hop, center=True, pad_mode="constant"))[0].numpy().astype(np.float64)
    db = 20 * np.log10(np.maximum(s, 1e-7))
    energy = 10 * np.log10(np.maximum((s ** 2).sum(axis=0), 1e-20))
    active = energy > energy.max() - floor_db
    return db[:, active], sample_rate / n_fft


def _fine_structure(db: np.ndarray, bins: int) -> np.ndarray:
    """(F, T) dB minus its moving average over ``bins`` frequency bins: the harmonics without the envelope."""
    kernel = np.ones(bins) / bins
    env = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, db)
    return db - env


def mirror_score(db: np.ndarray, hz_per_bin: float, freq: float, width_hz: float = 1500.0,
                 smooth_hz: float = 400.0) -> float:
    """Mean over frames of corr(fine(freq + f), fine(freq - f)) for 0 < f <= ``width_hz``. ``db``: (F, T)."""
    c = round(freq / hz_per_bin)
    w = int(width_hz / hz_per_bin)
    if c - w < 1 or c + w >= db.shape[0] or db.shape[1] == 0:
        raise ValueError(f"{freq:.0f} Hz +- {width_hz:.0f} Hz is outside the spectrum")
    fine = _fine_structure(db, max(3, int(smooth_hz / hz_per_bin)) | 1)
    up = fine[c + 1:c + w + 1]
    down = fine[c - w:c][::-1]
    up = up - up.mean(axis=0)
    down = down - down.mean(axis=0)
    den = np.sqrt((up ** 2).sum(axis=0) * (down ** 2).sum(axis=0))
    corr = (up * down).sum(axis=0) / np.maximum(den, 1e-12)
    return float(corr.mean())


def line_db(db: np.ndarray, hz_per_bin: float, freq: float, near_hz: float = 60.0, far_hz: float = 300.0) -> float:
    """Mean over time of the bins within ``near_hz`` of ``freq`` minus those ``near_hz``..``far_hz`` away, in dB."""
    c = freq / hz_per_bin
    idx = np.arange(db.shape[0])
    dist = np.abs(idx - c) * hz_per_bin
    mean_t = db.mean(axis=1)
    return float(mean_t[dist <= near_hz].mean() - mean_t[(dist > near_hz) & (dist <= far_hz)].mean())


@dataclass
class ArtifactReport:
    """``mirror`` / ``line`` at each fold, and ``mirror_control``: the median mirror score at non-fold frequencies."""

    folds: list[float]
    mirror: list[float]
    line: list[float]
    mirror_control: float


def artifact_report(audio: np.ndarray, sample_rate: int, folds: list[float], n_fft: int = 2048) -> ArtifactReport:
    """Mirror and line scores at ``folds`` and a control: the same score at frequencies away from every fold."""
    db, hz = log_spectrum(audio, sample_rate, n_fft)
    usable = [f for f in folds if 1600 < f < sample_rate / 2 - 1600]
    lo, hi = 2000.0, sample_rate / 2 - 2000.0
    controls = [f for f in np.linspace(lo, hi, 12) if all(abs(f - g) > 1000 for g in folds)]
    control = float(np.median([mirror_score(db, hz, f) for f in controls])) if controls else float("nan")
    return ArtifactReport(usable, [mirror_score(db, hz, f) for f in usable], [line_db(db, hz, f) for f in usable],
                          control)
