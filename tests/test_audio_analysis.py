"""``arvc audio-analyzer``: BS.1770 loudness, F0 range, level and the spectrogram PNG of known signals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from arvc.api.cli import main
from arvc.audio.analysis import integrated_loudness


def test_loudness_matches_bs1770_reference_tone():
    sr = 48000
    x = np.sin(2 * np.pi * 997 * np.arange(5 * sr) / sr)
    assert integrated_loudness(x[None], sr) == pytest.approx(-3.01, abs=0.05)  # BS.1770's 0 dBFS 997 Hz sine
    assert integrated_loudness(0.1 * x[None], sr) == pytest.approx(-23.01, abs=0.05)
    assert integrated_loudness(np.zeros((1, sr)), sr) == float("-inf")


def test_audio_analyzer_cli_on_a_harmonic_tone(tmp_path, capsys):
    sr = 22050
    t = np.arange(2 * sr) / sr
    x = sum(0.2 / k * np.sin(2 * np.pi * 180 * k * t) for k in range(1, 6))
    x[: sr // 2] = 0  # half a second of silence
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), np.stack([x, x], 1), sr, subtype="PCM_24")
    assert main(["audio-analyzer", str(wav), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sample_rate"] == sr and info["channels"] == 2 and info["subtype"] == "PCM_24"
    assert info["duration"] == pytest.approx(2.0)
    assert info["peak_dbfs"] == pytest.approx(20 * np.log10(np.abs(x).max()), abs=0.01)
    assert 170 < info["f0_min"] <= info["f0_median"] <= info["f0_max"] < 190
    assert 0.6 < info["voiced_fraction"] < 0.85
    png = tmp_path / "tone_analysis.png"
    assert info["plot"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["audio_analyzer", "--input_path", str(tmp_path / "missing.wav")]) == 1
    assert "missing.wav" in capsys.readouterr().err
