"""``arvc tts`` offline: espeak-ng speech converted by the fixture model; engine choice and errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from arvc.api.cli import main
from arvc.errors import ArvcError
from arvc.tts import pick_engine

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng")


@pytest.fixture(scope="module")
def pt(fixtures_dir):
    return fixtures_dir / "pipeline_tiny"


def test_tts_offline_speech_converted_by_the_model(pt, tmp_path, one_thread, capsys):
    conv = ["--f0_method", "pm", "--embedder_path", str(pt / "embedder"), "--deterministic", "--wav_subtype", "FLOAT"]
    out, plain = tmp_path / "said.wav", tmp_path / "plain.wav"
    text = tmp_path / "text.txt"
    text.write_text("The birch canoe slid on the smooth planks.", encoding="utf-8")
    assert main(["tts", "--tts_file", str(text), "-m", str(pt / "model.pth"), "--index", str(pt / "model.index"),
                 "-o", str(out), "--output_tts", str(plain), "--tts_voice", "en-us", "--tts_rate", "10", *conv]) == 0
    speech, sr_tts = sf.read(str(plain))
    y, sr = sf.read(str(out), dtype="float32")
    assert sr_tts == 22050 and sr == 40000  # espeak-ng's rate in, the model's rate out
    assert len(speech) / sr_tts > 1.5
    assert abs(len(y) / sr - len(speech) / sr_tts) < 0.05  # RVC works in whole 10 ms frames
    assert np.sqrt(np.mean(y**2)) > 0.01
    # the output is that speech converted by the model: the same as 'arvc infer' on the kept TTS audio
    assert main(["infer", "-m", str(pt / "model.pth"), "--index", str(pt / "model.index"), "-i", str(plain), "-o",
                 str(tmp_path / "again.wav"), "--quiet", *conv]) == 0
    again, _ = sf.read(str(tmp_path / "again.wav"), dtype="float32")
    assert np.array_equal(y, again)


def test_tts_engine_choice_and_errors(pt, tmp_path, capsys):
    assert pick_engine("auto", "en-US-AriaNeural").name == "edge"
    assert pick_engine("auto", "en+f3").name == "espeak" and pick_engine("auto", None).name == "espeak"
    with pytest.raises(ArvcError, match="espeak-ng failed for voice 'xx-nonexistent'"):
        pick_engine("espeak", None).synthesize("hello", tmp_path / "x.wav", "xx-nonexistent")
    assert main(["tts", "-m", str(pt / "model.pth"), "-o", str(tmp_path / "o.wav"), "--f0_method", "pm",
                 "--embedder_path", str(pt / "embedder")]) == 1
    assert "nothing to say" in capsys.readouterr().err
    assert not (tmp_path / "o.wav").exists()


def test_tts_with_a_random_sovits_voice(pt, tmp_path, one_thread):
    """espeak-ng speech converted by a 4.1-shaped random so-vits voice: the speech's length at the voice's rate,
    finite, audible, and the same as ``arvc infer`` on the kept TTS audio with the same speaker."""
    from _sovits import config_41, write_voice

    voice = write_voice(tmp_path / "v41", config_41(), seed=8)
    conv = ["-m", str(voice), "--speaker", "ann", "--f0_method", "pm", "--embedder_model", "custom",
            "--embedder_path", str(pt / "embedder"), "--deterministic", "--wav_subtype", "FLOAT"]
    out, plain = tmp_path / "said.wav", tmp_path / "plain.wav"
    assert main(["tts", "A quick test of the voice.", "-o", str(out), "--output_tts", str(plain),
                 "--tts_voice", "en-us", *conv]) == 0
    speech, sr_tts = sf.read(str(plain))
    y, sr = sf.read(str(out), dtype="float32")
    assert sr == 44100 and abs(len(y) / sr - len(speech) / sr_tts) < 0.02
    assert np.isfinite(y).all() and np.sqrt(np.mean(y**2)) > 0.01
    assert main(["infer", "-i", str(plain), "-o", str(tmp_path / "again.wav"), "--quiet", *conv]) == 0
    assert np.array_equal(y, sf.read(str(tmp_path / "again.wav"), dtype="float32")[0])
