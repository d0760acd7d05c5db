"""Chunk arithmetic (sliding window / fixed cut) and the silence slicer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arvc.audio.slicer import Slicer, fixed_spans, window_count, window_spans


def _expected_window_count(n: int, chunk: int, overlap: int) -> int:
    step = chunk - overlap
    return 1 if n <= chunk + overlap else math.ceil((n - chunk - overlap) / step) + 1


def test_ten_minutes_gives_applio_counts():
    assert window_count(600.0, 3.0, 0.3) == 222  # Applio's count for 3 s chunks, 0.3 s overlap
    assert window_count(600.0, 3.7, 0.3) == 177  # ~176 with 3.7 s chunks
    assert window_count(600.0, 3.0, 0.5) == 240  # more overlap -> more chunks
    assert window_count(600.0, 3.0, 0.5) > window_count(600.0, 3.0, 0.3)


@pytest.mark.parametrize("seed", range(5))
def test_window_spans_follow_the_formula_and_cover_everything(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        chunk = int(rng.integers(10, 500))
        overlap = int(rng.integers(0, chunk))
        n = int(rng.integers(1, 5000))
        spans = window_spans(n, chunk, overlap)
        assert len(spans) == _expected_window_count(n, chunk, overlap)
        step = chunk - overlap
        assert [a for a, _ in spans] == [i * step for i in range(len(spans))]
        assert all(b - a == chunk for a, b in spans[:-1])
        assert spans[-1][1] == n  # the tail reaches the end: nothing is lost
        tail = spans[-1][1] - spans[-1][0]
        assert tail <= chunk + overlap
        if len(spans) > 1:
            assert tail > 2 * overlap


def test_fixed_spans_keep_only_full_chunks():
    assert fixed_spans(99, 100, 10) == []
    assert fixed_spans(100, 100, 10) == [(0, 100)]
    spans = fixed_spans(1000, 100, 10)
    assert len(spans) == (1000 - 100) // 90 + 1
    assert all(b - a == 100 for a, b in spans) and spans[-1][1] <= 1000


@pytest.mark.parametrize("bad", [(100, 100), (100, -1), (0, 0)])
def test_invalid_window_is_rejected(bad):
    with pytest.raises(ValueError):
        window_spans(1000, *bad)


def _speech_like(sr, seconds, rng):
    return 0.3 * rng.standard_normal(int(sr * seconds))


def test_slicer_cuts_long_silences_and_keeps_short_pauses():
    sr, rng = 16000, np.random.default_rng(0)
    z = lambda s: np.zeros(int(sr * s))  # noqa: E731
    x = np.concatenate([z(1.0), _speech_like(sr, 2.0, rng), z(0.2), _speech_like(sr, 1.0, rng), z(1.5), _speech_like(sr, 2.0, rng), z(1.0)])
    spans = Slicer(sr).spans(x)
    assert len(spans) == 2  # the 0.2 s pause is kept, the 1.5 s silence splits
    (a0, b0), (a1, b1) = spans
    speech1 = (int(sr * 1.0), int(sr * 4.2))
    speech2 = (int(sr * 5.7), int(sr * 7.7))
    assert a0 <= speech1[0] and b0 >= speech1[1] and a1 <= speech2[0] and b1 >= speech2[1]
    kept = 0.5 * sr + Slicer(sr).win  # at most max_sil_kept of silence (+ one RMS window) on each side
    assert speech1[0] - a0 <= kept and b0 - speech1[1] <= kept
    assert speech2[0] - a1 <= kept and b1 - speech2[1] <= kept


def test_slicer_without_silence_returns_the_whole_signal():
    x = _speech_like(40000, 20.0, np.random.default_rng(3))
    assert Slicer(40000).spans(x) == [(0, len(x))]


def test_silence_detection():
    sr = 32000
    gate = Slicer(sr)
    assert gate.is_silent(np.zeros(sr)) and gate.is_silent(np.zeros(0))
    assert gate.is_silent(np.full(sr, 10 ** (-50 / 20)))
    assert not gate.is_silent(np.full(sr, 10 ** (-30 / 20)))


def test_slicer_rejects_inconsistent_settings():
    with pytest.raises(ValueError):
        Slicer(16000, min_length=300, min_interval=400)
