"""Mirror and line scores: a natural harmonic glide has neither, an unfiltered x2 upsampling has both."""

import numpy as np
import pytest

from arvc.evaluation.artifacts import (
    artifact_report,
    fold_frequencies,
    line_db,
    log_spectrum,
    mirror_score,
)


def _glide(sr: int, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Harmonics of an F0 gliding 120 -> 220 Hz up to the Nyquist, with a decaying envelope and a little noise."""
    t = np.arange(int(sr * seconds)) / sr
    f0 = 120 + 100 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = np.zeros_like(t)
    for k in range(1, int(sr / 2 / 220)):
        x += np.sin(k * phase) / k ** 0.7
    rng = np.random.default_rng(seed)
    return (x / np.abs(x).max() * 0.5 + 1e-3 * rng.standard_normal(len(t))).astype(np.float32)


def test_fold_frequencies_of_the_rvc_presets():
    assert fold_frequencies(32000, [10, 8, 2, 2]) == [500.0, 4000.0, 8000.0]
    assert fold_frequencies(40000, [10, 10, 2, 2]) == [500.0, 5000.0, 10000.0]
    assert fold_frequencies(48000, [12, 10, 2, 2]) == [600.0, 6000.0, 12000.0]


def test_natural_harmonics_are_not_mirrored():
    db, hz = log_spectrum(_glide(32000), 32000)
    assert abs(mirror_score(db, hz, 8000.0)) < 0.2
    assert abs(line_db(db, hz, 8000.0)) < 2.0


def test_an_unfiltered_x2_upsampling_mirrors_around_the_old_nyquist():
    low = _glide(16000)
    stuffed = np.zeros(2 * len(low), dtype=np.float32)
    stuffed[::2] = 2 * low
    rep = artifact_report(stuffed, 32000, [8000.0])
    assert rep.mirror[0] > 0.8
    assert rep.mirror_control < 0.3


def test_out_of_range_frequency_is_refused():
    db, hz = log_spectrum(_glide(16000, 1.0), 16000)
    with pytest.raises(ValueError):
        mirror_score(db, hz, 7900.0)
