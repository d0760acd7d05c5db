"""Pure DSP helpers (numpy/scipy): filters, loudness."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal


@lru_cache(maxsize=16)
def butter_highpass(cutoff: float, sr: int, order: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of a Butterworth high-pass; cached so it is designed once per (cutoff, sr, order)."""
    b, a = signal.butter(N=order, Wn=cutoff, btype="high", fs=sr)
    return b, a


def highpass(audio: np.ndarray, sr: int = 16000, cutoff: float = 48.0, order: int = 5) -> np.ndarray:
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
