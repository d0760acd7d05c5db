"""The pitch benchmark's own checks: its corpus holds what it claims and its scores can fail."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pc():
    return _load("pitch_corpus")


@pytest.fixture(scope="module")
def bench(pc):
    return _load("bench_pitch")


def _track(pc, f0, voiced=None):
    f0 = np.asarray(f0, float)
    voiced = f0 > 0 if voiced is None else voiced
    return pc.Track(np.zeros(len(f0) * pc.HOP, np.float32), f0, voiced, f0 == 0)


def test_scores_of_known_contours(pc):
    ref = np.concatenate([np.zeros(20), 100 * 2 ** (np.arange(200) / 100), np.zeros(20)])
    tr = _track(pc, ref)
    assert pc.score(ref, tr) == {"RPA": 1.0, "RCA": 1.0, "VR": 1.0, "VFA": 0.0, "GPE": 0.0}
    octave = pc.score(ref * 2, tr)
    assert octave["RPA"] == 0.0 and octave["RCA"] == 1.0 and octave["GPE"] == 1.0
    assert pc.score(ref / 2, tr)["RCA"] == 1.0
    assert pc.score(ref * 2 ** (40 / 1200), tr)["RPA"] == 1.0
    off = pc.score(ref * 2 ** (60 / 1200), tr)
    assert off["RPA"] == 0.0 and off["RCA"] == 0.0 and off["GPE"] == 0.0
    silent = pc.score(np.zeros_like(ref), tr)
    assert silent["RPA"] == 0.0 and silent["VR"] == 0.0 and silent["VFA"] == 0.0
    assert pc.score(np.where(ref > 0, ref, 150.0), tr)["VFA"] == 1.0
    half = ref.copy()
    half[20:120] *= 1.3  # 100 frames 454 cents off: gross errors
    m = pc.score(half, tr)
    assert m["RPA"] == pytest.approx(0.5) and m["GPE"] == pytest.approx(0.5)


def test_scored_masks_skip_voicing_edges_and_aperiodic_frames(pc):
    f0 = np.r_[np.zeros(10), np.full(20, 200.0), np.zeros(10)]
    periodic = np.ones(40, bool)
    periodic[15] = False
    v, u = pc.scored_masks(f0, periodic, 3)
    assert np.flatnonzero(v).tolist() == [13, 14] + list(range(16, 27))
    assert np.flatnonzero(u).tolist() == list(range(0, 7)) + list(range(33, 40))


def test_away_from_jumps_leaves_out_frames_near_fast_pitch_changes(pc):
    f0 = np.array([100.0] * 10 + [200.0] * 10 + [0.0] * 3 + [210.0, 212.0, 214.0] + [0.0] * 4)
    keep = pc.away_from_jumps(f0, 2)
    assert keep.tolist() == [True] * 8 + [False] * 5 + [True] * 17  # jump at 10: frames 8..12 out; voicing changes stay


def test_fold_octaves_moves_outliers_by_whole_octaves(pc):
    f0 = np.r_[0.0, np.full(10, 200.0), 100.0, 410.0, 260.0, 0.0]
    out = pc.fold_octaves(f0)
    assert out[0] == 0 and out[-1] == 0 and np.allclose(out[1:11], 200)
    assert out[11] == 200.0 and out[12] == 205.0 and out[13] == 260.0


def test_concat_gaps_are_unvoiced_silence(pc):
    a = _track(pc, np.full(30, 220.0))
    a.audio[:] = 0.1
    joined = pc.concat([a, a], gap_s=0.1)
    assert len(joined.f0) == 30 * 2 + 10 * 3 and len(joined.audio) == len(joined.f0) * pc.HOP
    assert not joined.voiced[:10].any() and joined.unvoiced[:10].all() and (joined.audio[:1600] == 0).all()
    assert joined.voiced[10:40].all()


@pytest.mark.parametrize("variant", ["orig", "up12", "down12", "vibrato", "glide", "octave", "breathy", "low", "high"])
def test_variants_keep_voicing_and_do_what_they_say(pc, variant):
    rng = np.random.default_rng(3)
    t = np.arange(600) * 0.005
    f0 = np.where((t > 0.2) & (t < 2.8), 150 * 2 ** (0.1 * np.sin(t)), 0.0)
    ap = np.full((600, 257), 0.04)
    new, ap2 = pc.modify(variant, f0, ap, rng)
    assert np.array_equal(new > 0, f0 > 0)
    v = f0 > 0
    c = 1200 * np.log2(new[v] / f0[v])
    if variant in ("up12", "down12"):
        assert np.allclose(c, 1200 if variant == "up12" else -1200)
    elif variant == "vibrato":
        assert 40 * 0.95 < np.abs(c).max() <= 100
    elif variant == "octave":
        assert set(np.round(c).astype(int)) == {0, 1200}
    elif variant == "breathy":
        assert np.allclose(ap2, 0.2) and np.array_equal(new, f0)
    elif variant == "low":
        assert 60 <= np.median(new[v]) <= 90
    elif variant == "high":
        assert 600 <= np.median(new[v]) <= 1000
    elif variant == "glide":
        assert np.ptp(np.log2(new[v])) > 0.5
    else:
        assert np.array_equal(new, f0)


def test_world_resynthesis_has_the_stated_pitch(pc):
    """A 220 Hz WORLD resynthesis of a real voice: its autocorrelation period is the reference's."""
    pytest.importorskip("pyworld")
    from arvc.audio.io import load_audio

    root = Path(__file__).resolve().parents[1] / "assets" / "voices" / "kal"
    x = load_audio(root / "kal_51.flac", pc.SR, dtype=np.float64)[: int(1.2 * pc.SR)]
    f0, sp, ap = pc.world_analyse(x)
    f0 = np.where(f0 > 0, 220.0, 0.0)
    tr = pc.resynth(f0, sp, ap)
    assert tr.voiced.sum() > 20 and np.all(tr.f0[tr.voiced] == 220.0)
    i = np.flatnonzero(tr.voiced)[len(np.flatnonzero(tr.voiced)) // 2]
    seg = tr.audio[i * pc.HOP - 400 : i * pc.HOP + 400].astype(np.float64)
    ac = np.correlate(seg, seg, "full")[len(seg) - 1 :]
    lag = 40 + int(np.argmax(ac[40:120]))
    assert abs(pc.SR / lag - 220) < 4


@pytest.mark.parametrize("kind", ["white", "speech"])
@pytest.mark.parametrize("snr", [20.0, 0.0])
def test_noise_is_at_the_stated_snr(pc, kind, snr):
    rng = np.random.default_rng(0)
    f0 = np.r_[np.zeros(50), np.full(200, 200.0), np.zeros(50)]
    tr = _track(pc, f0)
    n = np.arange(len(tr.audio))
    tr.audio[:] = np.where(np.repeat(f0 > 0, pc.HOP), 0.3 * np.sin(2 * np.pi * 200 * n / pc.SR), 0)
    noisy = (pc.white_noise if kind == "white" else pc.speech_noise)(tr, snr, rng)
    scale = np.dot(noisy.audio, tr.audio) / np.dot(tr.audio, tr.audio)  # undo the anti-clipping rescale
    noise = noisy.audio / scale - tr.audio
    v = np.repeat(f0 > 0, pc.HOP)
    measured = 10 * np.log10(np.mean(tr.audio[v] ** 2) / np.mean(noise.astype(np.float64) ** 2))
    assert abs(measured - snr) < 0.5


def test_mp3_round_trip_is_aligned(pc):
    pytest.importorskip("av")
    rng = np.random.default_rng(0)
    n = np.arange(16000)
    x = (0.3 * np.sin(2 * np.pi * 180 * n / pc.SR) * (1 + 0.5 * np.sin(2 * np.pi * 3 * n / pc.SR))).astype(np.float32)
    x += 0.01 * rng.normal(size=len(x)).astype(np.float32)
    y = pc.mp3_roundtrip(x)
    assert len(y) == len(x)
    assert np.corrcoef(x[1000:-1000], y[1000:-1000])[0, 1] > 0.95


def test_tones_condition_and_reverb(bench, pc):
    tones = bench.tones_track(0)
    assert len(tones.audio) == len(tones.f0) * pc.HOP
    assert tones.voiced.sum() > 800 and tones.unvoiced.sum() > 100
    assert tones.f0[tones.voiced].min() < 95 and tones.f0[tones.voiced].max() > 580
    rir = pc.room_response(np.random.default_rng(0))
    assert rir[0] == 1.0 and 10 * np.log10(1 / np.sum(rir[1:] ** 2)) == pytest.approx(3.0)


def test_main_prints_rows_per_condition(bench, tmp_path, capsys):
    import json

    import torch

    threads = torch.get_num_threads()
    try:
        assert bench.main(["-m", "pm", "--quick", "--variants", "orig,low", "--conditions", "clean,tones", "--threads", str(threads),
                           "--json", str(tmp_path / "r.json")]) == 0
    finally:
        torch.set_num_threads(threads)
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("pm ")]
    assert [r[1] for r in rows[:2]] == ["clean", "tones"]
    scores = json.loads((tmp_path / "r.json").read_text())["pm"]["scores"]
    assert scores["tones"]["RPA"] > 0.95 and 0.5 < scores["clean"]["RPA"] < 1.0
