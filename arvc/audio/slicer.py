"""Silence-aware slicing and fixed-window chunking of 1-D signals (pure numpy).

``Slicer`` is the RMS-gate slicer RVC/Applio use for their "Automatic" preprocess (the openvpi
audio-slicer algorithm): a frame is silent when its RMS is below ``threshold`` dB; a silence of at
least ``min_interval`` ms splits the audio once the running clip is ``min_length`` ms long; at most
``max_sil_kept`` ms of silence stay around each cut, placed at the quietest frames.

``window_spans`` / ``fixed_spans`` are the two chunking rules; both work in samples so the counts
are exact integers (see their docstrings for the formulas).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arvc.audio.dsp import frame_rms




@dataclass(frozen=True)
class Slicer:
    """RMS-gate silence slicer; times in ms, ``threshold`` in dBFS. Defaults are Applio's."""

    sr: int
    threshold: float = -42.0
    min_length: int = 1500
    min_interval: int = 400
    hop_size: int = 15
    max_sil_kept: int = 500

    def __post_init__(self) -> None:
        if not self.min_length >= self.min_interval >= self.hop_size:
            raise ValueError("Slicer needs min_length >= min_interval >= hop_size")
        if self.max_sil_kept < self.hop_size:
            raise ValueError("Slicer needs max_sil_kept >= hop_size")

    @property
    def hop(self) -> int:
        """Frame hop in samples."""
        return round(self.sr * self.hop_size / 1000)

    @property
    def win(self) -> int:
        """RMS window in samples."""
        return min(round(self.sr * self.min_interval / 1000), 4 * self.hop)

    def _frames(self, ms: float) -> int:
        return round(self.sr * ms / 1000 / self.hop)

    @property
    def linear_threshold(self) -> float:
        return 10.0 ** (self.threshold / 20.0)

    def silence_ranges(self, rms: np.ndarray) -> list[tuple[int, int]]:
        """Frame ranges ``[a, b)`` to remove, given the per-frame RMS (n_frames,)."""
        thr = self.linear_threshold
        min_len = self._frames(self.min_length)
        min_int = self._frames(self.min_interval)
        keep = self._frames(self.max_sil_kept)
        tags: list[tuple[int, int]] = []
        silence_start: int | None = None
        clip_start = 0
        for i, value in enumerate(rms):
            if value < thr:
                if silence_start is None:
                    silence_start = i
                continue
            if silence_start is None:
                continue
            leading = silence_start == 0 and i > keep
            middle = i - silence_start >= min_int and i - clip_start >= min_len
            if not (leading or middle):
                silence_start = None
                continue
            if i - silence_start <= keep:
                pos = int(np.argmin(rms[silence_start : i + 1])) + silence_start
                tags.append((0, pos) if silence_start == 0 else (pos, pos))
                clip_start = pos
            elif i - silence_start <= 2 * keep:
                pos = int(np.argmin(rms[i - keep : silence_start + keep + 1])) + i - keep
                left = int(np.argmin(rms[silence_start : silence_start + keep + 1])) + silence_start
                right = int(np.argmin(rms[i - keep : i + 1])) + i - keep
                if silence_start == 0:
                    tags.append((0, right))
                    clip_start = right
                else:
                    tags.append((min(left, pos), max(right, pos)))
                    clip_start = max(right, pos)
            else:
                left = int(np.argmin(rms[silence_start : silence_start + keep + 1])) + silence_start
                right = int(np.argmin(rms[i - keep : i + 1])) + i - keep
                tags.append((0, right) if silence_start == 0 else (left, right))
                clip_start = right
            silence_start = None
        total = len(rms)
        if silence_start is not None and total - silence_start >= min_int:
            end = min(total, silence_start + keep)
            pos = int(np.argmin(rms[silence_start : end + 1])) + silence_start
            tags.append((pos, total + 1))
        return tags

    def spans(self, audio: np.ndarray) -> list[tuple[int, int]]:
        """Sample ranges ``[start, end)`` of the non-silent slices of ``audio`` (T,)."""
        n = len(audio)
        if n == 0:
            return []
        rms = frame_rms(audio, self.win, self.hop)
        tags = self.silence_ranges(rms)
        if not tags:
            return [(0, n)]
        hop, total = self.hop, len(rms)
        bounds = []
        if tags[0][0] > 0:
            bounds.append((0, tags[0][0]))
        bounds += [(tags[k][1], tags[k + 1][0]) for k in range(len(tags) - 1)]
        if tags[-1][1] < total:
            bounds.append((tags[-1][1], total))
        spans = [(a * hop, min(n, b * hop)) for a, b in bounds]
        return [(a, b) for a, b in spans if b > a]

    def slice(self, audio: np.ndarray) -> list[np.ndarray]:
        """The non-silent slices of ``audio`` (T,) as views."""
        return [audio[a:b] for a, b in self.spans(audio)]

    def is_silent(self, audio: np.ndarray) -> bool:
        """True when no frame of ``audio`` reaches the threshold (or it is empty)."""
        if len(audio) == 0:
            return True
        return bool(frame_rms(audio, self.win, self.hop).max() < self.linear_threshold)


def window_spans(n: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """Applio's sliding window over ``n`` samples: chunks of ``chunk`` samples every ``chunk - overlap``.

    Chunk i starts at ``i * step`` (step = chunk - overlap) and is a full chunk while the audio left
    from its start is longer than ``chunk + overlap``; the first start where it is not takes the
    whole rest (the tail, between ``2 * overlap`` and ``chunk + overlap`` samples long). Count::

        count(n) = 1                                          if n <= chunk + overlap
                 = ceil((n - chunk - overlap) / step) + 1     otherwise

    e.g. 600 s with 3.0 s chunks and 0.3 s overlap: ceil(596.7 / 2.7) + 1 = 222.
    """
    if chunk <= 0 or overlap < 0 or overlap >= chunk:
        raise ValueError(f"need 0 <= overlap < chunk, got chunk={chunk} overlap={overlap}")
    if n <= 0:
        return []
    step = chunk - overlap
    full = -(-(n - chunk - overlap) // step) if n > chunk + overlap else 0
    spans = [(i * step, i * step + chunk) for i in range(full)]
    spans.append((full * step, n))
    return spans


def fixed_spans(n: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """Applio's "Simple" cut: only full chunks of ``chunk`` samples every ``chunk - overlap``; the
    shorter tail is dropped. Count: ``floor((n - chunk) / step) + 1`` if ``n >= chunk`` else 0."""
    if chunk <= 0 or overlap < 0 or overlap >= chunk:
        raise ValueError(f"need 0 <= overlap < chunk, got chunk={chunk} overlap={overlap}")
    if n < chunk:
        return []
    step = chunk - overlap
    return [(i * step, i * step + chunk) for i in range((n - chunk) // step + 1)]


def window_count(seconds: float, chunk_len: float, overlap_len: float, sr: int = 40000) -> int:
    """Number of chunks ``window_spans`` gives for continuous audio of ``seconds``."""
    return len(window_spans(round(seconds * sr), round(chunk_len * sr), round(overlap_len * sr)))
