"""F0 post-processing: coarse pitch (Applio parity), transposition, autotune, smoothing, F0 files."""

from __future__ import annotations

import numpy as np
import pytest

from arvc.errors import ArvcError
from arvc.features.f0.postprocess import (
    autotune,
    coarse_f0,
    contour_to_grid,
    limit_range,
    load_f0_file,
    median_smooth,
    nearest_note_hz,
    shift_semitones,
)


@pytest.mark.parametrize("run", ["short", "long", "short_fcpe"])
def test_coarse_f0_matches_applio_exactly(fixtures_dir, run):
    d = fixtures_dir / "pipeline_tiny"
    f0 = np.load(d / f"f0_{run}.npy")
    expected = np.load(d / f"f0_coarse_{run}.npy")
    got = coarse_f0(f0)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_coarse_f0_bounds_and_monotonic():
    f0 = np.array([0.0, 10.0, 50.0, 51.0, 220.0, 1100.0, 5000.0], dtype=np.float32)
    c = coarse_f0(f0)
    assert c[0] == 1 and c[1] == 1 and c[2] == 1
    assert c[-2] == 255 and c[-1] == 255
    sweep = coarse_f0(np.geomspace(50, 1100, 2000).astype(np.float32))
    assert np.all(np.diff(sweep) >= 0) and sweep.min() == 1 and sweep.max() == 255
    assert len(np.unique(sweep)) == 255
    f0_in = f0.copy()
    coarse_f0(f0_in)
    np.testing.assert_array_equal(f0_in, f0)  # input untouched


def test_coarse_f0_treats_nan_and_negative_as_unvoiced():
    np.testing.assert_array_equal(coarse_f0(np.array([np.nan, -5.0, -900.0, 0.0])), [1, 1, 1, 1])


def test_limit_range():
    out = limit_range(np.array([0.0, 49.0, 50.0, 300.0, 1100.0, 1200.0, np.nan]), 50, 1100)
    np.testing.assert_array_equal(out, [0.0, 0.0, 50.0, 300.0, 1100.0, 0.0, 0.0])
    assert out.dtype == np.float32


def test_shift_semitones():
    f0 = np.array([0.0, 100.0, 220.0], dtype=np.float32)
    up = shift_semitones(f0, 12)
    assert up.dtype == np.float32
    np.testing.assert_allclose(up, [0.0, 200.0, 440.0], rtol=1e-6)
    np.testing.assert_allclose(shift_semitones(f0, -7), f0 * 2 ** (-7 / 12), rtol=1e-6)
    np.testing.assert_array_equal(shift_semitones(f0, 0), f0)


def test_autotune_snaps_and_blends():
    f0 = np.array([0.0, 445.0, 230.0, 100.0, 880.0], dtype=np.float32)
    hard = autotune(f0, 1.0)
    notes = nearest_note_hz(f0)
    np.testing.assert_allclose(hard[1:], notes[1:], rtol=1e-6)
    assert hard[0] == 0
    np.testing.assert_allclose(hard[1], 440.0, rtol=1e-6)
    np.testing.assert_allclose(hard[2], 440.0 * 2 ** (-11 / 12), rtol=1e-6)  # A#3 = 233.08 Hz
    semis = 12 * np.log2(hard[1:] / 440.0)
    np.testing.assert_allclose(semis, np.round(semis), atol=1e-4)
    np.testing.assert_array_equal(autotune(f0, 0.0), f0)
    half = autotune(f0, 0.5)
    np.testing.assert_allclose(half[1:], (f0[1:] + hard[1:]) / 2, rtol=1e-6)
    with pytest.raises(ArvcError, match="strength"):
        autotune(f0, 1.5)


def test_median_smooth_removes_spikes_keeps_voicing():
    f0 = np.full(40, 200.0, dtype=np.float32)
    f0[10] = 400.0  # octave spike
    f0[20:25] = 0  # unvoiced gap
    np.testing.assert_array_equal(median_smooth(f0, 2), f0)  # radius < 3: unchanged (RVC)
    out = median_smooth(f0, 3)
    assert out[10] == 200.0
    np.testing.assert_array_equal(out > 0, f0 > 0)
    assert np.all(out[f0 > 0] == 200.0)  # unvoiced neighbours never pull values down
    ramp = np.linspace(100, 200, 30).astype(np.float32)
    np.testing.assert_allclose(median_smooth(ramp, 3)[3:-3], ramp[3:-3], rtol=1e-6)


def test_load_f0_file_interpolates(tmp_path):
    p = tmp_path / "pitch.txt"
    p.write_text("time,f0\n0.10,100\n0.20,200\n0.30,0\n0.40,300\n0.50,300\n")
    f0 = load_f0_file(p, 60)
    assert f0.dtype == np.float32 and f0.shape == (60,)
    assert np.all(f0[:10] == 0) and np.all(f0[51:] == 0)  # outside the file's time span
    np.testing.assert_allclose(f0[10], 100.0)
    np.testing.assert_allclose(f0[15], 150.0, rtol=1e-5)
    np.testing.assert_allclose(f0[20], 200.0)
    assert f0[24] == 200.0 and f0[26] == 0.0  # nearest value beside an unvoiced point
    assert f0[34] == 0.0 and f0[36] == 300.0
    np.testing.assert_allclose(f0[40:51], 300.0)


@pytest.mark.parametrize(
    "content, match",
    [("", "no 'time_seconds,f0_hz'"), ("0.1,100\nabc\n", "line 2"), ("0.1,100,3\n0.2,5,5\n", "line"),
     ("0.1,nan\n", "invalid")],
)
def test_load_f0_file_errors_name_the_file(tmp_path, content, match):
    p = tmp_path / "bad_f0.csv"
    p.write_text(content)
    with pytest.raises(ArvcError, match=match) as e:
        load_f0_file(p, 10)
    assert "bad_f0.csv" in str(e.value) and "\n" not in str(e.value)


def test_load_f0_file_missing_or_binary(tmp_path):
    with pytest.raises(ArvcError, match="missing.txt"):
        load_f0_file(tmp_path / "missing.txt", 10)
    b = tmp_path / "binary.txt"
    b.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ArvcError, match="binary.txt"):
        load_f0_file(b, 10)


def test_contour_to_grid_holds_edges():
    out = contour_to_grid(np.array([0.0, 0.016, 0.032]), np.array([100.0, 200.0, 0.0]), np.array([0.0, 0.008, 0.02, 0.05]))
    np.testing.assert_allclose(out, [100.0, 150.0, 200.0, 0.0], rtol=1e-6)
