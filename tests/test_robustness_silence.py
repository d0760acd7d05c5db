"""Silence in, silence out: digital silence converts to at most -60 dBFS, pauses are muted with short fades,
and input without a pause is left bit-identical (the reference-client parity tests run with the gate off)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from arvc.api.cli import main as cli_main

LIMIT = 10 ** (-60 / 20)


@pytest.fixture(scope="module")
def converters(fixtures_dir):
    from arvc.inference import InferenceConfig, VoiceConverter

    pt = fixtures_dir / "pipeline_tiny"
    kw = dict(f0_method="pm", index_rate=0.5, embedder_model="custom", embedder_path=str(pt / "embedder"),
              deterministic=True)
    on = VoiceConverter(pt / "model.pth", pt / "model.index", InferenceConfig(**kw))
    off = VoiceConverter(pt / "model.pth", pt / "model.index", InferenceConfig(**kw, silence_gate_db=None))
    return on, off


def test_digital_silence_comes_out_silent(tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    sf.write(tmp_path / "silence.wav", np.zeros(16000 * 20, dtype=np.float32), 16000)
    rc = cli_main(["infer", "-m", str(pt / "model.pth"), "-i", str(tmp_path / "silence.wav"), "-o",
                   str(tmp_path / "out.wav"), "--f0_method", "pm", "--embedder_model", "custom", "--embedder_path",
                   str(pt / "embedder"), "--wav_subtype", "FLOAT"])
    assert rc == 0
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert len(y) > 0 and np.abs(y).max() <= LIMIT


def test_pause_is_muted_speech_is_kept(converters, fixtures_dir):
    from arvc.audio.io import load_audio
    from arvc.inference.silence_gate import silent_frames

    on, off = converters
    speech = load_audio(fixtures_dir / "pipeline_tiny" / "input_short.wav", 16000)[:16000 * 2]
    x = np.concatenate([speech, np.zeros(16000, dtype=np.float32), speech]).astype(np.float32)
    y_on, y_off = on.convert(x), off.convert(x)
    sr = on.tgt_sr
    pause = y_on[int(2.1 * sr):int(2.9 * sr)]
    assert np.abs(pause).max() <= LIMIT < np.abs(y_off[int(2.1 * sr):int(2.9 * sr)]).max()
    loud = ~np.repeat(silent_frames(x, 16000), sr // 100)[: len(y_on)]
    assert np.corrcoef(y_on[: len(loud)][loud], y_off[: len(loud)][loud])[0, 1] > 0.99


def test_gate_is_identity_without_pauses():
    from arvc.inference.silence_gate import apply_silence_gate

    rng = np.random.default_rng(0)
    source = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    out = rng.standard_normal(40000 * 3).astype(np.float32)
    assert apply_silence_gate(source, 16000, out, 40000) is out
    short_dip = source.copy()
    short_dip[16000:16000 + 800] = 0  # 50 ms of silence inside speech is not a pause
    assert apply_silence_gate(short_dip, 16000, out, 40000) is out


def test_gate_fades_are_short():
    from arvc.inference.silence_gate import apply_silence_gate

    source = np.concatenate([np.full(16000, 0.1), np.zeros(16000), np.full(16000, 0.1)]).astype(np.float32)
    out = np.ones(48000, dtype=np.float32)
    y = apply_silence_gate(source, 16000, out, 16000)
    ramp = np.flatnonzero((y > 0) & (y < 1))
    assert 0 < len(ramp) <= 2 * 16000 * 0.012  # two fades of about 10 ms
    assert y[20000:28000].max() == 0 and y[:15000].min() == 1 and y[33000:].min() == 1
