"""so-vits-svc voices through arvc's conversion pipeline and CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from _sovits import FIXTURE, config_41, write_voice

from arvc.errors import ArvcError
from arvc.inference.config import InferenceConfig
from arvc.inference.pipeline import VoiceConverter, load_input
from arvc.inference.sovits import SovitsConverter, is_sovits_voice, open_converter
from arvc.inference.sovits_features import (
    cluster_blend,
    expand_units,
    fill_unvoiced,
    frame_volume,
)

ROOT = Path(__file__).resolve().parents[1]


def test_fill_unvoiced_follows_sovits_rules():
    f0, uv = fill_unvoiced(np.array([0, 0, 100, 0, 0, 130, 0, 0, 160, 0], np.float32))
    assert uv.tolist() == [0, 0, 1, 0, 0, 1, 0, 0, 1, 0]
    # values checked against so-vits-svc-fork's interpolate_f0: a gap of g frames steps (next - last) / g per
    # frame, so its last frame already equals the next voiced value
    np.testing.assert_allclose(f0, [100, 100, 100, 115, 130, 130, 145, 160, 160, 160], atol=1e-4)
    # a gap that ends on the last frame: so-vits fills through it with the last voiced value
    f0, _ = fill_unvoiced(np.array([200, 0, 0, 300], np.float32))
    assert f0.tolist() == [200, 200, 200, 200]
    assert fill_unvoiced(np.zeros(4, np.float32))[0].tolist() == [0, 0, 0, 0]


def test_expand_units_modes():
    units = torch.arange(4, dtype=torch.float32)[:, None]
    assert expand_units(units, 2, "left")[:, 0].tolist() == [0, 1]
    assert expand_units(units, 2, "nearest")[:, 0].tolist() == [0, 2]
    up = expand_units(torch.arange(2, dtype=torch.float32)[:, None], 5, "left")[:, 0].tolist()
    assert up == [0, 0, 0, 1, 1]


def test_cluster_blend_and_volume():
    units = np.array([[0.0, 0.0], [10.0, 10.0]], np.float32)
    centres = np.array([[1.0, 1.0], [9.0, 8.0]], np.float32)
    assert np.array_equal(cluster_blend(units, centres, 0.0), units)
    np.testing.assert_allclose(cluster_blend(units, centres, 1.0), centres)
    np.testing.assert_allclose(cluster_blend(units, centres, 0.5), [[0.5, 0.5], [9.5, 9.0]])
    t = np.arange(16000) / 16000
    vol = frame_volume(0.5 * np.sin(2 * np.pi * 220 * t), 16000, 44100 / 512, 80)
    assert vol.shape == (80,) and np.abs(vol[2:-2] - 0.5 / np.sqrt(2)).max() < 0.03


def _cfg(fixtures_dir, **kw) -> InferenceConfig:
    base = dict(embedder_model="custom", embedder_path=str(fixtures_dir / "pipeline_tiny" / "embedder"),
                f0_method="pm", precision="fp32", silence_gate_db=None)
    base.update(kw)
    return InferenceConfig(**base)


@pytest.fixture(scope="module")
def audio16k(fixtures_dir):
    return load_input(fixtures_dir / "pipeline_tiny" / "input_short.wav")


def _expected_len(n16: int, sr: int) -> int:
    return (n16 // 160) * sr // 100


def test_fixture_voice_converts_with_speaker_cluster_and_seed(fixtures_dir, audio16k, one_thread):
    vc = open_converter(FIXTURE, None, _cfg(fixtures_dir, speaker="bob", cluster_ratio=0.5, seed=7, pitch=3))
    assert isinstance(vc, SovitsConverter) and vc.sid == 1 and vc.centres.shape == (8, 768)
    assert vc.noise_scale == 0.4 and vc.tgt_sr == 44100
    out, sr = vc.convert_audio(audio16k)
    assert sr == 44100 and len(out) == _expected_len(len(audio16k), 44100)
    assert np.isfinite(out).all() and np.sqrt(np.mean(out ** 2)) > 0.01
    again, _ = vc.convert_audio(audio16k)
    assert np.array_equal(out, again)  # --seed: reproducible
    plain = open_converter(FIXTURE, None, _cfg(fixtures_dir, speaker="bob", seed=7, pitch=3)).convert_audio(audio16k)[0]
    assert np.abs(plain - out).max() > 1e-3  # the cluster blend reaches the output


def test_41_voice_converts_end_to_end(tmp_path, fixtures_dir, audio16k, one_thread):
    folder = write_voice(tmp_path / "v41", config_41(), seed=11)
    vc = open_converter(folder, None, _cfg(fixtures_dir, speaker="ben", deterministic=True))
    assert vc.version == "v1" and vc.embedder.dim == 256 and vc.sid == 2 and vc.noise_scale == 0.0
    out, sr = vc.convert_audio(audio16k)
    assert sr == 44100 and len(out) == _expected_len(len(audio16k), 44100)
    assert np.isfinite(out).all() and np.sqrt(np.mean(out ** 2)) > 0.01
    assert np.array_equal(out, vc.convert_audio(audio16k)[0])  # deterministic: no draws at all


def test_index_blend_applies_to_sovits_voices(fixtures_dir, audio16k, one_thread):
    index = fixtures_dir / "pipeline_tiny" / "model.index"
    a = open_converter(FIXTURE, index, _cfg(fixtures_dir, index_rate=0.75, deterministic=True)).convert_audio(audio16k)[0]
    b = open_converter(FIXTURE, None, _cfg(fixtures_dir, deterministic=True)).convert_audio(audio16k)[0]
    assert len(a) == len(b) and np.abs(a - b).max() > 1e-3


def test_routing_and_option_errors(tmp_path, fixtures_dir):
    assert is_sovits_voice(FIXTURE) and is_sovits_voice(FIXTURE / "G_1000.pth")
    assert not is_sovits_voice(fixtures_dir / "synth_tiny_v2_40k" / "model.pth")
    rvc_logs = tmp_path / "logs" / "my_model"  # RVC/Applio experiment folders hold a config.json too
    rvc_logs.mkdir(parents=True)
    (rvc_logs / "config.json").write_text('{"data": {"sampling_rate": 40000}, "model": {"inter_channels": 192}}')
    (rvc_logs / "G_100.pth").write_bytes(b"x")
    assert not is_sovits_voice(rvc_logs) and not is_sovits_voice(rvc_logs / "G_100.pth")
    lib = tmp_path / "voices" / "nyaru"  # the library's layout: <name>.pth beside config.json; D_ files are no voice
    lib.mkdir(parents=True)
    for f in ("nyaru.pth", "D_100.pth", "config.json"):
        shutil.copy(FIXTURE / ("config.json" if f == "config.json" else "G_1000.pth"), lib / f)
    assert is_sovits_voice(lib / "nyaru.pth") and not is_sovits_voice(lib / "D_100.pth")
    with pytest.raises(ArvcError) as e:
        open_converter(fixtures_dir / "synth_tiny_v2_40k" / "model.pth", None, _cfg(fixtures_dir, speaker="x"))
    assert "so-vits-svc" in str(e.value)
    with pytest.raises(ArvcError) as e:
        open_converter(FIXTURE, None, _cfg(fixtures_dir, speaker="nobody"))
    assert "nobody" in str(e.value) and "alice" in str(e.value)
    with pytest.raises(ArvcError):
        InferenceConfig(cluster_ratio=1.5).validate()
    assert type(open_converter(fixtures_dir / "synth_tiny_v2_40k" / "model.pth", None, _cfg(fixtures_dir))) is VoiceConverter


class _Planted:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _cli(*argv) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "arvc.api.cli", *map(str, argv)], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.slow
def test_cli_refuses_pickle_payload_and_writes_nothing(tmp_path, fixtures_dir):
    target = tmp_path / "PWNED"
    folder = write_voice(tmp_path / "evil", config_41(), extra={"learning_rate": _Planted(target)})
    out = tmp_path / "out.wav"
    proc = _cli("infer", "-m", folder, "-i", fixtures_dir / "pipeline_tiny" / "input_short.wav", "-o", out)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "refused" in lines[0] and "G_100.pth" in lines[0], proc.stderr
    assert not target.exists() and not out.exists() and list(tmp_path.glob("*.wav")) == []


@pytest.mark.slow
def test_cli_converts_a_g_file_with_config(tmp_path, fixtures_dir):
    out = tmp_path / "out.wav"
    proc = _cli("infer", "-m", FIXTURE / "G_1000.pth", "--config", FIXTURE / "config.json", "--speaker", "1",
                "-i", fixtures_dir / "pipeline_tiny" / "input_short.wav", "-o", out, "--f0_method", "pm",
                "--embedder_model", "custom", "--embedder_path", fixtures_dir / "pipeline_tiny" / "embedder",
                "--noise_scale", "0.2", "--cluster_model", FIXTURE / "kmeans_8.pt", "--cluster_ratio", "0.3",
                "--quiet")
    assert proc.returncode == 0, proc.stderr
    y, sr = sf.read(out)
    assert sr == 44100 and len(y) > 44100 and np.abs(y).max() > 0.01


def _feature_index_pkl(path, dim=768, seed=0):
    import pickle

    import faiss

    rng = np.random.default_rng(seed)
    indexes = {}
    for sid in (0, 1):
        index = faiss.IndexFlatL2(dim)
        index.add(rng.standard_normal((64, dim)).astype(np.float32))
        indexes[sid] = index
    path.write_bytes(pickle.dumps(indexes))
    return path


def test_41_feature_index_pkl_is_read_safely_and_used(tmp_path, fixtures_dir, audio16k, one_thread):
    from arvc.formats.sovits import read_feature_index

    pkl = _feature_index_pkl(tmp_path / "feature_and_index.pkl")
    got = read_feature_index(pkl)
    assert sorted(got) == [0, 1] and got[1].ntotal == 64 and got[1].d == 768
    cfg = _cfg(fixtures_dir, speaker="bob", index_rate=0.8, deterministic=True)
    a = open_converter(FIXTURE, pkl, cfg).convert_audio(audio16k)[0]
    b = open_converter(FIXTURE, None, cfg).convert_audio(audio16k)[0]
    assert len(a) == len(b) and np.abs(a - b).max() > 1e-3

    import pickle

    target = tmp_path / "PWNED"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({1: _Planted(target)}))
    with pytest.raises(ArvcError) as e:
        read_feature_index(tmp_path / "evil.pkl")
    assert "refused" in str(e.value) and "\n" not in str(e.value) and not target.exists()


def test_realtime_simulate_streams_a_sovits_voice(tmp_path, capsys, fixtures_dir, audio16k, one_thread):
    from arvc.api.cli import main as cli_main

    x = audio16k.astype(np.float32)
    src, out = tmp_path / "in.wav", tmp_path / "rt.wav"
    sf.write(str(src), x, 16000, subtype="FLOAT")
    flags = ["-m", str(FIXTURE), "--embedder_model", "custom", "--embedder_path",
             str(fixtures_dir / "pipeline_tiny" / "embedder"), "--f0_method", "pm", "--speaker_id", "1",
             "--deterministic", "--silence_db", "-120"]
    rc = cli_main(["realtime", *flags, "--simulate", str(src), str(out), "--pace", "fast", "--sample_rate", "16000"])
    assert rc == 0, capsys.readouterr().err
    y, sr = sf.read(str(out), dtype="float32")
    assert sr == 16000 and abs(len(y) - len(x)) <= 4000 and np.isfinite(y).all()
    assert np.sqrt(np.mean(y ** 2)) > 0.01
    rc = cli_main(["realtime", "-m", str(tmp_path / "nothing"), "--simulate", str(src), str(tmp_path / "o.wav")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "model file not found" in err and "\n" not in err


def test_split_silence_gate_and_effects_apply_to_a_41_voice(tmp_path, fixtures_dir, audio16k, one_thread):
    """The pipeline around the model is RVC's: --split_audio and the silence gate keep the length (within 20 ms), a post effect
    (gain -6 dB) scales the so-vits output as it scales an RVC one."""
    from arvc.api.cli import main as cli_main

    folder = write_voice(tmp_path / "v41", config_41(), seed=12)
    src = fixtures_dir / "pipeline_tiny" / "input_short.wav"
    base = ["infer", "-m", str(folder), "-i", str(src), "--speaker", "ann", "--f0_method", "pm", "--embedder_model",
            "custom", "--embedder_path", str(fixtures_dir / "pipeline_tiny" / "embedder"), "--deterministic",
            "--wav_subtype", "FLOAT", "--quiet"]
    runs = {"plain": [], "gain": ["--post_process", "--gain", "--gain_db", "-6"],
            "split": ["--split_audio", "--silence_gate_db", "-40"]}
    out = {}
    for name, extra in runs.items():
        assert cli_main([*base, "-o", str(tmp_path / f"{name}.wav"), *extra]) == 0
        out[name], sr = sf.read(str(tmp_path / f"{name}.wav"), dtype="float32")
        assert sr == 44100 and np.isfinite(out[name]).all()
        # split pieces are converted in whole frames each: within 20 ms, as for RVC voices
        assert abs(len(out[name]) - _expected_len(len(audio16k), 44100)) <= (882 if name == "split" else 0)
    np.testing.assert_allclose(out["gain"], out["plain"] * 10 ** (-6 / 20), atol=1e-4)
    n = len(out["plain"])
    assert np.sqrt(np.mean(out["split"] ** 2)) > 0.01 and np.abs(out["split"][:n] - out["plain"][:n]).max() > 1e-3
