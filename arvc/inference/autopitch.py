"""Automatic transposition: whole semitones that take a source's median F0 to a target F0."""

from __future__ import annotations

import numpy as np


def median_f0(f0: np.ndarray) -> float:
    """Median of an F0 track (T,) in Hz with unvoiced frames (0) filled by linear interpolation between voiced
    ones, so long voiced notes and short ones weigh by duration; 0.0 with fewer than two voiced frames."""
    f0 = np.asarray(f0, dtype=np.float64).reshape(-1)
    voiced = np.flatnonzero(f0 > 0)
    if len(voiced) < 2:
        return 0.0
    return float(np.median(np.interp(np.arange(len(f0)), voiced, f0[voiced])))


def semitones_to(f0: np.ndarray, target_hz: float, limit: float | None = None) -> float:
    """round(12·log2(target / median F0)), clamped to ±``limit``; 0 when the source has no pitch."""
    src = median_f0(f0)
    if src <= 0 or not target_hz or target_hz <= 0:
        return 0.0
    k = float(np.round(12 * np.log2(target_hz / src)))
    return float(np.clip(k, -limit, limit)) if limit is not None else k
