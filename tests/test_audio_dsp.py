"""arvc.audio.dsp: RVC's filters and normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from arvc.audio.dsp import blend_normalize, frame_rms, highpass, highpass_causal


def _gain_db(y, x):
    return 20 * np.log10(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(x**2)))


@pytest.mark.parametrize("sr", [32000, 40000, 48000])
def test_causal_highpass_is_rvc_lfilter(sr):
    t = np.arange(sr * 2) / sr
    low, high = np.sin(2 * np.pi * 15 * t), np.sin(2 * np.pi * 1000 * t)
    b, a = signal.butter(5, 48, btype="high", fs=sr)
    np.testing.assert_allclose(highpass_causal(low + high, sr), signal.lfilter(b, a, low + high), atol=1e-12)
    tail = slice(sr, None)  # after the transient
    assert _gain_db(highpass_causal(low, sr)[tail], low[tail]) < -45
    assert abs(_gain_db(highpass_causal(high, sr)[tail], high[tail])) < 0.1


def test_causal_differs_from_zero_phase():
    x = np.zeros(4000)
    x[2000] = 1.0
    y = highpass_causal(x, 16000)
    assert np.all(y[:2000] == 0)  # causal: nothing before the impulse
    assert np.abs(highpass(x, 16000)[:2000]).max() > 1e-4  # filtfilt is not


def test_blend_normalize_formula():
    x = 0.5 * np.sin(np.linspace(0, 20, 1000))
    peak = np.abs(x).max()
    y = blend_normalize(x)
    np.testing.assert_allclose(y, x / peak * 0.9 * 0.75 + 0.25 * x)
    assert np.abs(y).max() == pytest.approx(0.9 * 0.75 + 0.25 * peak)
    assert blend_normalize(np.r_[x, 2.6]) is None  # RVC drops peaks above 2.5
    assert blend_normalize(np.r_[x, np.nan]) is None
    np.testing.assert_array_equal(blend_normalize(np.zeros(5)), np.zeros(5))


def test_frame_rms_is_centred_like_librosa():
    x = np.random.default_rng(1).standard_normal(12345)
    padded = np.pad(x, 1200)
    ref = [np.sqrt(np.mean(padded[i * 600 : i * 600 + 2400] ** 2)) for i in range(1 + len(x) // 600)]
    np.testing.assert_allclose(frame_rms(x, 2400, 600), ref, rtol=1e-12)


def test_frame_rms_in_blocks_equals_all_at_once(monkeypatch):
    """Long files are squared block by block (bounded memory); the values are bit-identical."""
    from arvc.audio import dsp

    x = np.random.default_rng(2).standard_normal(200_003)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, 960), 1920)[::480]
    whole = np.sqrt(np.mean(frames * frames, axis=-1))
    np.testing.assert_array_equal(frame_rms(x, 1920, 480), whole)
    monkeypatch.setattr(dsp, "_RMS_BLOCK_ELEMENTS", 5 * 1920 + 7)  # 5 frames per block, a short last block
    np.testing.assert_array_equal(frame_rms(x, 1920, 480), whole)
    assert frame_rms(np.zeros(0), 1920, 480).shape == (1,)


def test_frame_rms_matches_librosa():
    librosa = pytest.importorskip("librosa")
    y = np.random.default_rng(1).standard_normal(123457).astype(np.float32)
    for fl, hop in [(40000, 20000), (16000, 8000)]:
        np.testing.assert_allclose(frame_rms(y, fl, hop), librosa.feature.rms(y=y, frame_length=fl, hop_length=hop)[0], rtol=1e-5)
