"""Where RVC cuts long inputs: at the quietest 10 ms near every 38 s, with 1 s of context each side.

All positions are in samples of the 16 kHz signal. ``padded`` is the high-passed signal
reflect-padded by ``t_pad`` on both sides; chunk ``i`` is ``padded[start : end]`` and its F0
frames are ``f0[frame_start : frame_end]`` (``frame_end`` None = to the end).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arvc.constants import F0_HOP, SR_16K

WINDOW = F0_HOP  # samples per F0 frame at 16 kHz


@dataclass(frozen=True)
class ChunkTimes:
    """RVC's chunk timing in 16 kHz samples (Applio's CPU config: x_pad 1, x_query 6, x_center 38, x_max 41)."""

    t_pad: int = SR_16K
    t_query: int = 6 * SR_16K
    t_center: int = 38 * SR_16K
    t_max: int = 41 * SR_16K

    @classmethod
    def from_seconds(cls, x_pad: float = 1, x_query: float = 6, x_center: float = 38, x_max: float = 41) -> "ChunkTimes":
        sr = SR_16K
        return cls(int(sr * x_pad), int(sr * x_query), int(sr * x_center), int(sr * x_max))


@dataclass(frozen=True)
class Chunk:
    """One synthesis chunk: ``padded[start:end]`` and F0 frames ``[frame_start:frame_end]``."""

    start: int
    end: int | None
    frame_start: int
    frame_end: int | None


def cut_points(audio: np.ndarray, times: ChunkTimes = ChunkTimes()) -> list[int]:
    """Cut positions (16 kHz samples, before rounding to frames) for the high-passed ``audio`` (N,).

    Empty when the 80-sample-reflect-padded signal is not longer than ``t_max``. Otherwise, for each
    ``t = t_center, 2 t_center, ... < N``: the first position of least ``|Σ audio[i : i+160]|``
    within ``t ± t_query``.
    """
    n = len(audio)
    if n + WINDOW <= times.t_max:
        return []
    a = np.pad(np.asarray(audio, dtype=np.float64), (WINDOW // 2, WINDOW // 2), mode="reflect")
    points = []
    for t in range(times.t_center, n, times.t_center):
        lo, hi = t - times.t_query, min(t + times.t_query, n)
        seg = _window_sums(a, lo, hi)
        points.append(lo + int(np.argmin(np.abs(seg))))
    return points


def _window_sums(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``S[i] = a[i] + ... + a[i+159]`` for i in [lo, hi), summed term by term as RVC does (float64)."""
    s = np.zeros(hi - lo, dtype=np.float64)
    for k in range(WINDOW):
        s += a[lo + k : hi + k]
    return s


def plan_chunks(n_samples: int, points: list[int], times: ChunkTimes = ChunkTimes()) -> list[Chunk]:
    """Chunks over the ``t_pad``-padded signal of ``n_samples`` (unpadded) samples for the given cut points."""
    chunks = []
    s = 0
    t = None
    for p in points:
        t = p // WINDOW * WINDOW
        chunks.append(Chunk(s, t + 2 * times.t_pad + WINDOW, s // WINDOW, (t + 2 * times.t_pad) // WINDOW))
        s = t
    if t is None:
        chunks.append(Chunk(0, None, 0, None))
    else:
        chunks.append(Chunk(t, None, t // WINDOW, None))
    return chunks
