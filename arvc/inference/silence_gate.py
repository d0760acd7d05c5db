"""Silence in, silence out: mute the output where the input is near-silent, and refuse broken output.

The synthesizer fills input pauses with low broadband noise (−39 to −45 dBFS measured where the source sat
at −67 dBFS; digital silence came out at peak 0.077). :func:`apply_silence_gate` measures the input's RMS
in 20 ms windows every 10 ms; runs of at least 0.1 s below ``threshold_db`` (dBFS, RMS re full scale 1.0)
get gain 0, everything else gain 1, with 10 ms linear fades between frame centres. Input that never
falls below the threshold for that long leaves the output bit-identical (the reference-client parity).
"""

from __future__ import annotations

import logging

import numpy as np

from arvc.errors import ArvcError

log = logging.getLogger(__name__)

GATE_DB = -60.0
HOP_S = 0.01
WINDOW_S = 0.02
MIN_SILENCE_S = 0.1
PINNED_LEVEL = 0.98  # |y| at or above this (after peak normalisation to 0.99) counts as pinned at full scale
PINNED_FRACTION = 0.05


def frame_db(x: np.ndarray, sr: int) -> np.ndarray:
    """(n,) audio -> (ceil(n / hop),) RMS in dBFS of the ``WINDOW_S`` window centred on each ``HOP_S`` frame."""
    hop, half = int(sr * HOP_S), int(sr * WINDOW_S) // 2
    c = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
    centres = np.arange(0, len(x), hop)
    a, b = np.clip(centres - half, 0, len(x)), np.clip(centres + half, 0, len(x))
    rms = np.sqrt((c[b] - c[a]) / np.maximum(b - a, 1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def silent_frames(x: np.ndarray, sr: int, threshold_db: float = GATE_DB) -> np.ndarray:
    """Bool per ``HOP_S`` frame: inside a run of at least ``MIN_SILENCE_S`` below ``threshold_db``."""
    quiet = frame_db(x, sr) < threshold_db
    min_run = int(round(MIN_SILENCE_S / HOP_S))
    out = np.zeros_like(quiet)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2]):
        if end - start >= min_run:
            out[start:end] = True
    return out


def apply_silence_gate(source: np.ndarray, source_sr: int, out: np.ndarray, out_sr: int,
                       threshold_db: float | None = GATE_DB) -> np.ndarray:
    """Mute ``out`` (float32, ``out_sr``) where ``source`` (``source_sr``, same timeline) is near-silent.

    Returns ``out`` itself when nothing is gated (or ``threshold_db`` is None / -inf)."""
    if threshold_db is None or not np.isfinite(threshold_db) or len(out) == 0 or len(source) == 0:
        return out
    silent = silent_frames(source, source_sr, threshold_db)
    if not silent.any():
        return out
    frame_t = np.arange(len(silent)) * HOP_S
    t = np.arange(len(out)) / out_sr
    gain = np.interp(t, frame_t, (~silent).astype(np.float64)).astype(np.float32)
    log.debug("silence gate: %.1f%% of the output muted", 100 * float(np.mean(gain == 0)))
    return (out * gain).astype(np.float32)


def check_output(y: np.ndarray, source: str) -> None:
    """Refuse non-finite audio (raises ArvcError naming ``source``); warn when it is pinned at full scale."""
    if len(y) and not np.isfinite(y).all():
        raise ArvcError(f"{source}: the model produced NaN/infinite audio; nothing was written")
    pinned = float(np.mean(np.abs(y) >= PINNED_LEVEL)) if len(y) else 0.0
    if pinned > PINNED_FRACTION:
        log.warning("%s: %.0f%% of the converted samples sit at full scale (a broken or overdriven model?)",
                    source, 100 * pinned)
