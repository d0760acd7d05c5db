"""What so-vits-svc does to content units and F0 before its generator (frame rate = sample_rate / hop).

- unvoiced F0 frames are filled in (:func:`fill_unvoiced`) and a voiced flag ``uv`` is kept beside them;
- 50 Hz content units are stretched to the generator's frames (:func:`expand_units`);
- units may be pulled towards the speaker's k-means centres (:func:`cluster_blend`);
- 4.1 models with ``vol_embedding`` also read a per-frame RMS loudness (:func:`frame_volume`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def fill_unvoiced(f0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(f0 with unvoiced frames filled, uv)`` for ``f0 (T,)`` Hz (<= 0 = unvoiced), float32 both.

    so-vits' rule, including its edge cases: a gap of ``g`` frames between two voiced frames steps by
    ``(next - last) / g`` per frame (so its last frame already holds the next value); a leading gap takes the first voiced value; a gap reaching the end -- or ending on
    the very last frame -- is filled with the last voiced value from the gap on (0 if there was none).
    """
    f0 = np.asarray(f0, dtype=np.float32).reshape(-1).copy()
    uv = (f0 > 0).astype(np.float32)
    n = len(f0)
    i, last = 0, 0.0
    while i < n:
        if f0[i] > 0:
            last = f0[i]
            i += 1
            continue
        j = next((k for k in range(i + 1, n) if f0[k] > 0), n - 1 if i + 1 < n else n)
        if j < n - 1:
            if last > 0:
                step = (f0[j] - f0[i - 1]) / float(j - i)
                f0[i:j] = f0[i - 1] + step * np.arange(1, j - i + 1, dtype=np.float32)
            else:
                f0[i:j] = f0[j]
            i = j
        else:
            f0[i:] = last
            break
    return f0, uv


def expand_units(units: torch.Tensor, frames: int, mode: str = "nearest") -> torch.Tensor:
    """``units (T_in, C)`` -> ``(frames, C)``.

    ``nearest`` / ``linear``: ``F.interpolate`` (so-vits-svc-fork 4.0 and 4.1's ``unit_interpolate_mode``);
    ``left``: 4.1's default, frame i takes unit ``p`` where ``p`` advances by at most one per frame once
    ``i >= (p + 1) * frames / T_in``.
    """
    t_in = units.shape[0]
    if mode == "left":
        bounds = (torch.arange(t_in + 1) * frames / t_in).tolist()
        idx, p = [], 0
        for i in range(frames):
            if not i < bounds[p + 1]:
                p = min(p + 1, t_in - 1)
            idx.append(p)
        return units[torch.tensor(idx, dtype=torch.long)]
    x = units.t().unsqueeze(0)
    kw = {"align_corners": False} if mode == "linear" else {}
    return F.interpolate(x, size=frames, mode=mode, **kw)[0].t()


def cluster_blend(units: np.ndarray, centres: np.ndarray, ratio: float) -> np.ndarray:
    """``ratio * nearest centre + (1 - ratio) * unit`` per frame (``units (T, C)``, ``centres (K, C)``), as
    so-vits' k-means: the centre at the least squared Euclidean distance."""
    if ratio <= 0:
        return units
    u = units.astype(np.float64)
    c = centres.astype(np.float64)
    d = (u * u).sum(1, keepdims=True) - 2 * u @ c.T + (c * c).sum(1)[None]
    nearest = centres[np.argmin(d, axis=1)]
    return (ratio * nearest + (1 - ratio) * units).astype(np.float32)


def resample_track(values: np.ndarray, src_rate: float, frames: int, dst_rate: float) -> np.ndarray:
    """Linear resampling of a per-frame track (frame k at ``k / src_rate`` s) to ``frames`` at ``dst_rate``."""
    values = np.asarray(values, dtype=np.float32)
    if not len(values):
        return np.zeros(frames, np.float32)
    t = np.arange(frames, dtype=np.float64) / dst_rate * src_rate
    return np.interp(t, np.arange(len(values), dtype=np.float64), values).astype(np.float32)


def frame_volume(audio: np.ndarray, sr: int, frame_rate: float, frames: int) -> np.ndarray:
    """RMS per generator frame (so-vits 4.1's volume feature): frame t covers the centred window of one hop
    around ``t / frame_rate`` s, reflect-padded at the edges. ``audio (N,)`` at ``sr`` -> ``(frames,)``."""
    hop = sr / frame_rate
    half = int(hop // 2)
    sq = np.pad(np.asarray(audio, dtype=np.float64) ** 2, (half, int(hop) - half + 1), mode="reflect")
    cum = np.concatenate([[0.0], np.cumsum(sq)])
    starts = np.round(np.arange(frames) * hop).astype(np.int64)
    ends = np.round(np.arange(1, frames + 1) * hop).astype(np.int64)
    starts, ends = np.clip(starts, 0, len(sq)), np.clip(ends, 0, len(sq))
    width = np.maximum(ends - starts, 1)
    return np.sqrt((cum[ends] - cum[starts]) / width).astype(np.float32)
