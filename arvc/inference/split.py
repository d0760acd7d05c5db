"""``--split_audio``: convert each stretch of speech on its own and keep the silences between them silent."""

from __future__ import annotations

import numpy as np

from arvc.constants import F0_HOP, SR_16K

FRAME = 400  # 25 ms analysis frames
HOP = F0_HOP  # 10 ms
SILENCE_DB = -60.0  # frame RMS below this (dBFS) counts as silence
MIN_GAP = 0.5  # seconds of silence that separate two segments
MARGIN = 0.1  # seconds kept on both sides of each segment


def speech_segments(audio: np.ndarray, sr: int = SR_16K, silence_db: float = SILENCE_DB,
                    min_gap: float = MIN_GAP, margin: float = MARGIN) -> list[tuple[int, int]]:
    """Sample ranges [start, end) of non-silent stretches of ``audio`` (N,), separated by >= ``min_gap`` s."""
    n = len(audio)
    if n < FRAME:
        return [(0, n)] if n else []
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(audio, dtype=np.float64), FRAME)[::HOP]
    rms = np.sqrt(np.mean(np.square(frames), axis=1))
    loud = 20 * np.log10(np.maximum(rms, 1e-10)) > silence_db
    if not loud.any():
        return []
    idx = np.flatnonzero(loud)
    gap_frames = int(min_gap * sr / HOP)
    segs = []
    s = e = idx[0]
    for i in idx[1:]:
        if i - e > gap_frames:
            segs.append((s, e))
            s = i
        e = i
    segs.append((s, e))
    pad = int(margin * sr)
    return [(max(0, a * HOP - pad), min(n, b * HOP + FRAME + pad)) for a, b in segs]


def convert_split(converter, audio16k: np.ndarray) -> np.ndarray:
    """Convert each speech segment separately (``converter.convert``) and lay them on a silent timeline.

    Returns float32 at the model rate, ``round(N · sr / 16000)`` samples long.
    """
    sr = converter.tgt_sr
    total = int(round(len(audio16k) * sr / SR_16K))
    out = np.zeros(total, dtype=np.float32)
    for a, b in speech_segments(audio16k):
        if b - a < 1600:
            continue
        y = converter.convert(audio16k[a:b])
        pos = int(round(a * sr / SR_16K))
        y = y[: max(0, total - pos)]
        out[pos : pos + len(y)] = y
    return out
