"""Pure DSP helpers (numpy/scipy): filters, loudness."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from arvc.constants import SR_16K


@lru_cache(maxsize=16)
def butter_highpass(cutoff: float, sr: int, order: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of a Butterworth high-pass; cached so it is designed once per (cutoff, sr, order)."""
    b, a = signal.butter(N=order, Wn=cutoff, btype="high", fs=sr)
    return b, a


def highpass(audio: np.ndarray, sr: int = SR_16K, cutoff: float = 48.0, order: int = 5) -> np.ndarray:
    """Zero-phase Butterworth high-pass (filtfilt, odd padding), RVC's rumble filter (48 Hz, order 5, 16 kHz).

    Computed in float64 as RVC does; returns float64.
    """
    b, a = butter_highpass(cutoff, sr, order)
    return signal.filtfilt(b, a, np.asarray(audio, dtype=np.float64))


def highpass_causal(audio: np.ndarray, sr: int, cutoff: float = 48.0, order: int = 5) -> np.ndarray:
    """Causal Butterworth high-pass (``signal.lfilter``), RVC/Applio's preprocess rumble filter
    (48 Hz, order 5, designed at the dataset's target rate). (T,) -> (T,) float64."""
    b, a = butter_highpass(cutoff, sr, order)
    return signal.lfilter(b, a, np.asarray(audio, dtype=np.float64))


MAX_PEAK = 2.5


def blend_normalize(audio: np.ndarray, max_amplitude: float = 0.9, alpha: float = 0.75) -> np.ndarray | None:
    """RVC's preprocess normalisation: ``x / max|x| * (max_amplitude * alpha) + (1 - alpha) * x``.

    Returns None for a signal RVC rejects (peak above 2.5, i.e. broken/clipped float audio, or non-finite)
    and the signal unchanged when it is all zeros. (T,) -> (T,) float64.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.size == 0:
        return x
    peak = float(np.max(np.abs(x)))
    if not np.isfinite(peak) or peak > MAX_PEAK:
        return None
    if peak == 0.0:
        return x
    return x / peak * (max_amplitude * alpha) + (1.0 - alpha) * x


_RMS_BLOCK_ELEMENTS = 1 << 22  # 32 MB of float64 per block of squared frames


def frame_rms(audio: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS of centred frames (zero padding of ``frame_length // 2`` both sides), as librosa.feature.rms.

    audio (T,) -> float64 (1 + T // hop_length,) for T >= 0. Frames are cut and squared in blocks of
    about ``_RMS_BLOCK_ELEMENTS`` samples, so memory stays bounded on hour-long signals (squaring all
    frames at once needs ``frame_length / hop_length`` times the signal's size: 0.9 GB for 10 min at
    48 kHz); every value is the same as all at once.
    """
    y = np.asarray(audio)
    n, pad = len(y), frame_length // 2
    n_frames = 1 + (n + 2 * pad - frame_length) // hop_length
    out = np.empty(n_frames, dtype=np.float64)
    rows = max(1, _RMS_BLOCK_ELEMENTS // max(1, frame_length))
    for k in range(0, n_frames, rows):
        m = min(rows, n_frames - k)
        lo = k * hop_length - pad  # first sample of frame k, unpadded coordinates
        hi = lo + (m - 1) * hop_length + frame_length
        seg = np.zeros(hi - lo, dtype=np.float64)
        a, b = max(lo, 0), min(hi, n)
        if b > a:
            seg[a - lo : b - lo] = y[a:b]
        frames = np.lib.stride_tricks.sliding_window_view(seg, frame_length)[::hop_length]
        out[k : k + m] = np.sqrt(np.mean(frames * frames, axis=-1))
    return out
