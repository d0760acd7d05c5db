"""Volume envelope mixing (RVC's ``rms_mix_rate``, Applio's ``volume_envelope``)."""

from __future__ import annotations

import numpy as np

from arvc.audio.dsp import frame_rms


SLICE = 1 << 21  # samples handled at once, so memory stays bounded for long outputs


def stretch(values: np.ndarray, start: int, stop: int, size: int) -> np.ndarray:
    """Samples ``start:stop`` of (F,) frame values linearly stretched to ``size`` samples
    (``F.interpolate(mode="linear", align_corners=False)``), float64."""
    f = len(values)
    src = (np.arange(start, stop, dtype=np.float64) + 0.5) * (f / size) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(src.astype(np.int64), f - 1)
    i1 = np.minimum(i0 + 1, f - 1)
    w = src - i0
    return values[i0] * (1 - w) + values[i1] * w


def mix_rms(source: np.ndarray, source_sr: int, target: np.ndarray, target_sr: int, rate: float) -> np.ndarray:
    """Give ``target`` the loudness contour of ``source``: ``y · rms_src^(1−rate) · rms_tgt^(rate−1)``.

    ``rate`` 1 keeps the converted loudness, 0 copies the input's. RMS frames are half a second
    long with a quarter-second hop, each stretched linearly to the output length (float32 result).
    """
    if rate >= 1:
        return target
    rms_src = frame_rms(source, source_sr // 2 * 2, source_sr // 2).astype(np.float32).astype(np.float64)
    rms_tgt = frame_rms(target, target_sr // 2 * 2, target_sr // 2).astype(np.float32).astype(np.float64)
    n = len(target)
    out = np.empty(n, dtype=np.float32)
    for a in range(0, n, SLICE):
        b = min(n, a + SLICE)
        g_src = stretch(rms_src, a, b, n)
        g_tgt = np.maximum(stretch(rms_tgt, a, b, n), 1e-6)
        out[a:b] = target[a:b] * (np.power(g_src, 1 - rate) * np.power(g_tgt, rate - 1))
    return out


def peak_normalize(y: np.ndarray, limit: float = 0.99) -> np.ndarray:
    """Scale down so that ``max|y| <= limit`` (never up)."""
    peak = float(np.abs(y).max()) if len(y) else 0.0
    if peak / limit > 1:
        return (y / (peak / limit)).astype(np.float32)
    return y
