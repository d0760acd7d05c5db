"""``arvc cover``: the mix from given stems (gains, lengths, no clipping, accompaniment shifted with the voice);
separation through audio-separator's own loading and separation code on a tiny random VR-architecture model
(UVR's CascadedNet) that it loads from a local folder, with the stem cache; the offline error."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from arvc.api.cli import main

SR = 44100


@pytest.fixture(scope="module")
def pt(fixtures_dir):
    return fixtures_dir / "pipeline_tiny"


def _music(seconds: float = 3.5) -> np.ndarray:
    """A stereo chord with a beat: something music-like, (N, 2)."""
    t = np.arange(int(seconds * SR)) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    beat = (np.sin(2 * np.pi * 2 * t) > 0.9) * np.sin(2 * np.pi * 60 * t)
    return np.stack([0.5 * chord + 0.3 * beat, 0.45 * chord + 0.3 * beat], 1).astype(np.float32)


def _conv(pt) -> list[str]:
    return ["-m", str(pt / "model.pth"), "--f0_method", "pm", "--embedder_path", str(pt / "embedder"), "--deterministic"]


def _tone_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return float((spec * np.fft.rfftfreq(len(x), 1 / SR)).sum() / spec.sum())


def test_cover_from_given_stems_is_the_gained_sum(pt, tmp_path, one_thread):
    from arvc.audio.io import resample

    inst = tmp_path / "music.wav"
    sf.write(str(inst), _music(), SR, subtype="FLOAT")
    voice = pt / "input_short.wav"  # 3 s, 16 kHz mono: shorter than the music, another rate
    out = tmp_path / "cover"
    assert main(["cover", "--vocals", str(voice), "--instrumental", str(inst), "-o", str(out), "--name", "song",
                 "--vocal_gain", "-3", "--instrumental_gain", "-6", "--pitch", "2", *_conv(pt)]) == 0
    info = json.loads((out / "song_cover.json").read_text())
    mix, sr = sf.read(str(out / "song_cover.wav"), dtype="float32")
    conv, _ = sf.read(str(out / "song_converted_vocals.wav"), dtype="float32")
    music, _ = sf.read(str(out / "song_instrumental.wav"), dtype="float32")
    assert sr == SR and mix.shape == music.shape == conv.shape == _music().shape  # aligned to the instrumental
    assert np.array_equal(music, _music())  # no --pitch_all: the instrumental is untouched
    expected = (10 ** (-3 / 20) * conv + 10 ** (-6 / 20) * music) * info["peak_scale"]
    assert np.abs(mix - expected).max() < 1e-5
    assert np.abs(mix).max() <= 0.99 + 1e-6
    # the vocal stem is the model's conversion of the voice, resampled to the song's rate
    assert main(["infer", "-i", str(voice), "-o", str(tmp_path / "v.wav"), "--pitch", "2", "--wav_subtype", "FLOAT",
                 "--quiet", *_conv(pt)]) == 0
    v, vsr = sf.read(str(tmp_path / "v.wav"), dtype="float32")
    ref = resample(v, vsr, SR)
    n = min(len(ref), len(conv))
    assert np.abs(conv[:n, 0] - ref[:n]).max() < 1e-6 and np.array_equal(conv[:, 0], conv[:, 1])
    assert np.all(conv[len(ref) + 1 :] == 0)
    # --pitch_all: the accompaniment moves by the same semitones
    assert main(["cover", "--vocals", str(voice), "--instrumental", str(inst), "-o", str(out), "--name", "up",
                 "--pitch", "3", "--pitch_all", *_conv(pt)]) == 0
    up, _ = sf.read(str(out / "up_instrumental.wav"), dtype="float32")
    shifted = 12 * np.log2(_tone_hz(up[SR // 2 : 3 * SR // 2, 0]) / _tone_hz(_music()[SR // 2 : 3 * SR // 2, 0]))
    print(f"instrumental moved by {shifted:.2f} semitones")
    assert abs(shifted - 3) < 0.35


def _tiny_vr_model(folder):
    """A randomly initialised UVR VR-architecture network (audio-separator's CascadedNet) saved as a model
    audio-separator can load: the weights, its model-data entry keyed by the file's MD5 (as UVR's lists are)
    and a download list naming it, all in a local folder."""
    import torch
    from audio_separator.separator.uvr_lib_v5.vr_network.nets_new import CascadedNet

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = CascadedNet(2048, 31191, nout=8, nout_lstm=16)
    torch.save(net.state_dict(), folder / "tiny_vr.pth")
    md5 = hashlib.md5((folder / "tiny_vr.pth").read_bytes()).hexdigest()
    (folder / "vr_model_data.json").write_text(json.dumps(
        {md5: {"vr_model_param": "1band_sr44100_hl1024", "primary_stem": "Vocals", "nout": 8, "nout_lstm": 16}}))
    (folder / "mdx_model_data.json").write_text("{}")
    lists = {k: {} for k in ("vr_download_list", "mdx_download_list", "mdx_download_vip_list", "demucs_download_list",
                             "mdx23c_download_list", "mdx23c_download_vip_list", "roformer_download_list")}
    lists["vr_download_list"]["VR Arch Single Model v5: arvc tiny test"] = "tiny_vr.pth"
    (folder / "download_checks.json").write_text(json.dumps(lists))


needs_separator = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="audio-separator needs Debian's ffmpeg")


@needs_separator
def test_cover_separates_with_audio_separator_and_caches(pt, tmp_path, one_thread, monkeypatch, capsys):
    pytest.importorskip("audio_separator")
    models = tmp_path / "separator"
    _tiny_vr_model(models)
    song = tmp_path / "song.wav"
    music = _music(2.0)
    sf.write(str(song), music, SR)
    args = ["cover", str(song), "-o", str(tmp_path / "out"), "--separator_model", "tiny_vr.pth", "--separator_dir",
            str(models), "--cache_dir", str(tmp_path / "cache"), *_conv(pt)]
    assert main(args) == 0
    info = json.loads((tmp_path / "out" / "song_cover.json").read_text())
    assert info["separated"] is True
    vocals, inst = info["stems"]["vocals"], (tmp_path / "out" / "song_instrumental.wav")
    assert vocals == str(tmp_path / "out" / "song_vocals.wav")
    v, vsr = sf.read(vocals, dtype="float32")
    i, isr = sf.read(str(inst), dtype="float32")
    assert vsr == isr == SR and v.shape[1] == i.shape[1] == 2
    assert abs(len(v) - len(music)) < SR // 10 and np.abs(v).max() > 0 and np.abs(i).max() > 0
    # another pitch: the stems come from the cache, no separation runs
    import arvc.audio.separation as separation

    monkeypatch.setattr(separation, "separate", lambda *a, **k: pytest.fail("separated again"))
    assert main([*args, "--pitch", "5", "--name", "again"]) == 0
    assert json.loads((tmp_path / "out" / "again_cover.json").read_text())["separated"] is False


@needs_separator
def test_cover_offline_without_weights_is_one_line(pt, tmp_path, monkeypatch, capsys):
    pytest.importorskip("audio_separator")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing may leave this machine
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    song = tmp_path / "song.wav"
    sf.write(str(song), _music(1.0), SR)
    rc = main(["cover", str(song), "-o", str(tmp_path / "out"), "--separator_model", "UVR-MDX-NET-Voc_FT.onnx",
               "--separator_dir", str(tmp_path / "empty"), "--cache_dir", str(tmp_path / "cache"), *_conv(pt)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and "UVR-MDX-NET-Voc_FT.onnx" in err[0] and "arvc prerequisites" in err[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cover_with_a_random_sovits_voice_from_given_stems(pt, tmp_path, one_thread):
    """A 4.1-shaped random so-vits voice converts the lead in ``arvc cover`` (given stems: nothing to download):
    the vocal stem is ``arvc infer``'s conversion with the same speaker, at the song's rate and length."""
    from _sovits import config_41, write_voice

    from arvc.audio.io import resample

    voice_dir = write_voice(tmp_path / "v41", config_41(), seed=6)
    inst = tmp_path / "music.wav"
    sf.write(str(inst), _music(), SR, subtype="FLOAT")
    voice = pt / "input_short.wav"
    conv = ["-m", str(voice_dir), "--speaker", "ben", "--f0_method", "pm", "--embedder_model", "custom",
            "--embedder_path", str(pt / "embedder"), "--deterministic"]
    out = tmp_path / "cover"
    assert main(["cover", "--vocals", str(voice), "--instrumental", str(inst), "-o", str(out), "--name", "svc",
                 "--pitch", "2", *conv]) == 0
    mix, sr = sf.read(str(out / "svc_cover.wav"), dtype="float32")
    vocal, _ = sf.read(str(out / "svc_converted_vocals.wav"), dtype="float32")
    assert sr == SR and mix.shape == vocal.shape == _music().shape and np.isfinite(mix).all()
    assert main(["infer", "-i", str(voice), "-o", str(tmp_path / "v.wav"), "--pitch", "2", "--wav_subtype", "FLOAT",
                 "--quiet", *conv]) == 0
    v, vsr = sf.read(str(tmp_path / "v.wav"), dtype="float32")
    x, xsr = sf.read(str(voice))
    assert vsr == 44100 and len(v) == (len(x) * 16000 // xsr // 160) * 441  # whole 10 ms frames at 44.1 kHz
    ref = resample(v, vsr, SR)
    n = min(len(ref), len(vocal))
    assert np.abs(vocal[:n, 0] - ref[:n]).max() < 1e-6 and np.sqrt(np.mean(vocal[:n, 0] ** 2)) > 0.01
    assert np.all(vocal[len(ref) + 1 :] == 0)
