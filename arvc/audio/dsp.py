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
