"""Pieces of the inference pipeline checked against Applio's fixture intermediates (no synthesizer needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvc.audio.dsp import highpass
from arvc.inference.batch import plan_jobs
from arvc.inference.chunking import ChunkTimes, cut_points, plan_chunks
from arvc.inference.config import InferenceConfig
from arvc.inference.envelope import mix_rms, peak_normalize
from arvc.inference.pipeline import load_input, prepare_input
from arvc.inference.feature_frames import protect_features, repeat_frames
from arvc.inference.split import speech_segments
from arvc.errors import ArvcError


@pytest.fixture(scope="module")
def pt(fixtures_dir):
    return fixtures_dir / "pipeline_tiny"


def test_input_loading_is_applios(pt):
    """44.1 kHz wav -> 16 kHz float64 exactly as Applio's librosa/soxr path (length fixed to ceil)."""
    x = prepare_input(load_input(pt / "input_short.wav"))
    ref = np.load(pt / "synth_inputs_short.npz")["audio16k"]
    assert x.shape == ref.shape
    np.testing.assert_allclose(x, ref, atol=1e-12)


def test_long_input_cut_like_applio(pt):
    x = prepare_input(load_input(pt / "input_long.wav"))
    assert len(x) == 720000
    hp = highpass(x)
    points = cut_points(hp)
    assert len(points) == 1 and points[0] // 160 * 160 == 521600
    chunks = plan_chunks(len(hp), points)
    padded_len = len(hp) + 32000
    lengths = [(c.end or padded_len) - c.start for c in chunks]
    assert lengths == [553760, 230400]
    assert (chunks[0].frame_start, chunks[0].frame_end, chunks[1].frame_start) == (0, 3460, 3260)
    # short inputs are never cut
    assert cut_points(hp[:600000]) == []


def test_cut_at_the_quietest_spot():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000 * 50) * 0.1
    quiet = 16000 * 36
    x[quiet : quiet + 1600] = 0.0
    (p,) = cut_points(x, ChunkTimes())
    assert quiet - 160 <= p <= quiet + 1600


def test_mix_rms_follows_source_envelope():
    t = np.arange(16000 * 4) / 16000
    src = np.sin(2 * np.pi * 200 * t) * np.where(t < 2, 0.05, 0.5)
    out = np.sin(2 * np.pi * 300 * np.arange(40000 * 4) / 40000).astype(np.float32) * 0.3
    y0 = mix_rms(src, 16000, out, 40000, 0.0)
    assert np.abs(y0[: 40000]).max() < np.abs(y0[-40000:]).max() / 5  # loud where the input is loud
    assert mix_rms(src, 16000, out, 40000, 1.0) is out
    assert np.abs(peak_normalize(np.array([2.0, -1.0], np.float32))).max() == pytest.approx(0.99)


def test_repeat_and_protect():
    f = torch.arange(6.0).view(3, 2)
    assert repeat_frames(f).tolist() == [[0, 1], [0, 1], [2, 3], [2, 3], [4, 5], [4, 5]]
    feats, feats0 = torch.ones(4, 2), torch.zeros(4, 2)
    pf = torch.tensor([0.0, 120.0, 0.5, 300.0])
    out = protect_features(feats, feats0, pf, 0.33)
    assert out[:, 0].tolist() == pytest.approx([0.33, 1.0, 0.33, 1.0])


def test_speech_segments():
    x = np.zeros(16000 * 5)
    x[16000:24000] = 0.3
    x[56000:64000] = 0.3
    segs = speech_segments(x)
    assert len(segs) == 2 and segs[0][0] < 16000 < segs[0][1] <= 56000 and segs[1][0] <= 56000


def test_config_validation():
    for kw in [dict(index_rate=1.5), dict(protect=0.7), dict(rms_mix_rate=-1), dict(export_format="aac"), dict(batch_size=0)]:
        with pytest.raises(ArvcError):
            InferenceConfig(**kw).validate()


def test_plan_jobs_mirrors_tree(tmp_path):
    src = tmp_path / "in"
    (src / "a" / "b").mkdir(parents=True)
    for p in ["x.wav", "a/y.flac", "a/b/z.mp3", "a/notes.txt"]:
        (src / p).write_bytes(b"")
    jobs = plan_jobs([src], tmp_path / "out", "flac")
    assert sorted(str(j.target.relative_to(tmp_path / "out")) for j in jobs) == ["a/b/z.flac", "a/y.flac", "x.flac"]
    one = plan_jobs([src / "x.wav"], tmp_path / "o.wav", "wav")
    assert one[0].target == tmp_path / "o.wav"
    assert plan_jobs([src / "x.wav"], None, "wav")[0].target == src / "x_converted.wav"
    with pytest.raises(ArvcError, match="not found"):
        plan_jobs([tmp_path / "missing.wav"], None, "wav")
