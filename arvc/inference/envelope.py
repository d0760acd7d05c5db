"""Volume envelope mixing (RVC's ``rms_mix_rate``, Applio's ``volume_envelope``)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def frame_rms(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS per frame of ``y`` (N,) with centred zero padding, as ``librosa.feature.rms(center=True)``.

    Returns float64 (1 + N // hop_length,). Uses a running sum of squares, so memory stays O(N).
    """
    pad = frame_length // 2
    sq = np.square(np.asarray(y, dtype=np.float64))
    c = np.concatenate([[0.0], np.cumsum(np.pad(sq, (pad, pad)))])
    n_frames = 1 + (len(y) + 2 * pad - frame_length) // hop_length
    starts = np.arange(n_frames) * hop_length
    power = (c[starts + frame_length] - c[starts]) / frame_length
    return np.sqrt(np.maximum(power, 0.0))


def _stretch(values: np.ndarray, size: int) -> torch.Tensor:
    """Linear interpolation (align_corners False) of (F,) frame values to ``size`` samples, float32."""
    t = torch.from_numpy(np.asarray(values, dtype=np.float32)).view(1, 1, -1)
    return F.interpolate(t, size=size, mode="linear").view(-1)


def mix_rms(source: np.ndarray, source_sr: int, target: np.ndarray, target_sr: int, rate: float) -> np.ndarray:
    """Give ``target`` the loudness contour of ``source``: ``y · rms_src^(1−rate) · rms_tgt^(rate−1)``.

    ``rate`` 1 keeps the converted loudness, 0 copies the input's. RMS frames are half a second
    long with a quarter-second hop, each stretched linearly to the output length.
    """
    if rate >= 1:
        return target
    rms_src = _stretch(frame_rms(source, source_sr // 2 * 2, source_sr // 2), len(target))
    rms_tgt = _stretch(frame_rms(target, target_sr // 2 * 2, target_sr // 2), len(target))
    rms_tgt = torch.clamp(rms_tgt, min=1e-6)
    gain = torch.pow(rms_src, 1 - rate) * torch.pow(rms_tgt, rate - 1)
    return (torch.from_numpy(np.asarray(target, dtype=np.float32)) * gain).numpy()


def peak_normalize(y: np.ndarray, limit: float = 0.99) -> np.ndarray:
    """Scale down so that ``max|y| <= limit`` (never up)."""
    peak = float(np.abs(y).max()) if len(y) else 0.0
    if peak / limit > 1:
        return (y / (peak / limit)).astype(np.float32)
    return y
