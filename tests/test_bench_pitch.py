"""The pitch benchmark's own checks: its signals hold what it claims and its metrics can fail."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_pitch.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_pitch", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def clean(bench):
    return bench.build_clean(np.random.default_rng(0))


def test_signal_has_voiced_and_both_kinds_of_gap(bench, clean):
    voiced = clean.f0 > 0
    assert 0.7 < voiced.mean() < 0.95
    gaps = ~voiced
    assert np.any(clean.audio[gaps] == 0) and np.any(np.abs(clean.audio[gaps]) > 0.01)  # silence and noise
    f = clean.f0[voiced]
    assert f.min() < 95 and f.max() > 590  # the glides reach 90 and 600 Hz
    # the audio's period follows the reference: autocorrelation peak of the steady 220 Hz note
    start = int((2 * bench.GAP + 1 + 0.3) * bench.SR)  # inside the second segment (220 Hz tone)
    assert np.allclose(clean.f0[start:start + 2000], 220.0)
    x = clean.audio[start:start + 2000].astype(np.float64)
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    lag = 40 + int(np.argmax(ac[40:200]))
    assert abs(bench.SR / lag - 220) < 3


@pytest.mark.parametrize("snr", [20.0, 10.0, 0.0])
def test_noise_is_at_the_stated_snr(bench, clean, snr):
    noisy = bench.add_noise(clean, snr, np.random.default_rng(1))
    voiced = clean.f0 > 0
    # the noisy signal may be rescaled to avoid clipping: undo the scale before measuring
    scale = np.dot(noisy.audio, clean.audio) / np.dot(clean.audio, clean.audio)
    noise = noisy.audio / scale - clean.audio
    measured = 10 * np.log10(np.mean(clean.audio[voiced].astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2))
    assert abs(measured - snr) < 0.3


def test_metrics_fail_on_wrong_estimates(bench, clean):
    n = len(clean.audio) // bench.HOP
    ref, scored = bench.reference_frames(clean, n)
    assert scored.mean() > 0.9 and (ref[scored] == 0).sum() > 100
    perfect = bench.score(ref, ref, scored)
    assert perfect == {"RPA": 1.0, "VR": 1.0, "VFA": 0.0, "GPE": 0.0}
    assert bench.score(ref * 2 ** (60 / 1200), ref, scored)["RPA"] == 0.0  # 60 cents off
    assert bench.score(ref * 2 ** (40 / 1200), ref, scored)["RPA"] == 1.0  # 40 cents: within 50
    octave = bench.score(ref * 2, ref, scored)
    assert octave["RPA"] == 0.0 and octave["GPE"] == 1.0 and octave["VR"] == 1.0
    silent = bench.score(np.zeros(n), ref, scored)
    assert silent["RPA"] == 0.0 and silent["VR"] == 0.0 and silent["VFA"] == 0.0
    always = bench.score(np.where(ref > 0, ref, 200.0), ref, scored)
    assert always["VFA"] == 1.0 and always["RPA"] == 1.0
    late = bench.score(np.roll(ref, 5), ref, scored)  # 50 ms late: glides and vibrato fall out
    assert late["RPA"] < 0.8


def test_main_prints_a_row_per_condition(bench, capsys):
    import torch

    threads = torch.get_num_threads()
    try:
        assert bench.main(["-m", "pm", "--snr", "10", "--threads", str(threads)]) == 0
    finally:
        torch.set_num_threads(threads)
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("pm ")]
    assert [r[1] for r in rows] == ["clean", "10dB"]
    assert float(rows[0][2]) > 0.95  # pm's RPA on the clean set
