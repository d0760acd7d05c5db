"""Reading so-vits-svc voices: safe loading, config validation before any tensor, speakers, cluster files."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
from _sovits import FIXTURE, config_41, write_voice

from arvc.errors import ArvcError
from arvc.formats.sovits import find_voice_files, read_cluster_model, read_sovits
from arvc.models.sovits_config import SovitsConfig


class _Planted:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _one_line(e) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_fixture_voice_reads_as_40():
    model = read_sovits(FIXTURE)
    cfg = model.config
    assert (cfg.version, cfg.sample_rate, cfg.hop_length, cfg.speech_encoder) == ("4.0", 44100, 512, "vec768l12")
    assert cfg.speaker_names() == ["alice", "bob"] and model.cluster_path.name == "kmeans_8.pt"
    assert "so-vits-svc 4.0" in model.describe() and "bob" in model.describe()
    assert not any(k.startswith(("enc_q", "f0_decoder")) for k in model.weights)


def test_g_file_with_explicit_config(tmp_path):
    shutil.copy(FIXTURE / "G_1000.pth", tmp_path / "voice.pth")
    with pytest.raises(ArvcError) as e:
        read_sovits(tmp_path / "voice.pth")
    assert "config.json" in _one_line(e)
    assert read_sovits(tmp_path / "voice.pth", FIXTURE / "config.json").config.n_speakers == 2


def test_pickle_payload_in_checkpoint_is_refused(tmp_path):
    target = tmp_path / "PWNED"
    folder = write_voice(tmp_path / "evil", config_41(), extra={"optimizer": _Planted(target)})
    with pytest.raises(ArvcError) as e:
        read_sovits(folder)
    msg = _one_line(e)
    assert "refused" in msg and "G_100.pth" in msg
    assert not target.exists()


def test_non_finite_weight_is_refused(tmp_path):
    folder = write_voice(tmp_path / "nan", config_41())
    ckpt = torch.load(folder / "G_100.pth", weights_only=True)
    ckpt["model"]["dec.conv_pre.bias"][0] = float("nan")
    torch.save(ckpt, folder / "G_100.pth")
    with pytest.raises(ArvcError) as e:
        read_sovits(folder)
    assert "dec.conv_pre.bias" in _one_line(e) and "NaN" in str(e.value)


def test_rvc_file_or_other_dict_is_not_a_sovits_generator(tmp_path):
    torch.save({"weight": {"a": torch.zeros(1)}, "config": [1]}, tmp_path / "G_1.pth")
    (tmp_path / "config.json").write_text(json.dumps(config_41()))
    with pytest.raises(ArvcError) as e:
        read_sovits(tmp_path)
    assert "not a so-vits-svc generator" in _one_line(e)


@pytest.mark.parametrize("change, words", [
    ({"hidden_channels": 10 ** 9}, "hidden_channels"),
    ({"upsample_rates": [8, 8, 2, 2, 2, 2, 2, 2, 2]}, "upsample_rates"),
    ({"n_speakers": -1}, "n_speakers"),
    ({"ssl_dim": 768}, "ssl_dim"),
    ({"speech_encoder": "whisper-ppg"}, "whisper-ppg"),
    ({"speech_encoder": "hubertsoft"}, "not supported"),
    ({"use_depthwise_conv": True}, "use_depthwise_conv"),
    ({"use_transformer_flow": True}, "use_transformer_flow"),
    ({"vocoder_name": "nsf-snake-hifigan"}, "nsf-snake-hifigan"),
    ({"vol_embedding": "yes"}, "vol_embedding"),
    ({"n_heads": 3}, "n_heads"),
])
def test_bad_configs_are_refused_before_tensors(change, words):
    with pytest.raises(ArvcError) as e:
        SovitsConfig.from_dict(config_41(**change), "cfg.json")
    msg = _one_line(e)
    assert "cfg.json" in msg and words in msg


def test_config_file_errors(tmp_path):
    p = tmp_path / "config.json"
    p.write_text("{not json")
    with pytest.raises(ArvcError) as e:
        SovitsConfig.read(p)
    assert "not valid JSON" in _one_line(e)
    p.write_text(json.dumps({"model": {}}))
    with pytest.raises(ArvcError):
        SovitsConfig.read(p)
    bad = config_41()
    bad["spk"] = {"x": 7}
    with pytest.raises(ArvcError) as e:
        SovitsConfig.from_dict(bad)
    assert "'x'" in _one_line(e)


def test_weights_must_match_config(tmp_path):
    folder = write_voice(tmp_path / "v", config_41())
    (folder / "config.json").write_text(json.dumps(config_41(n_speakers=5)))
    with pytest.raises(ArvcError) as e:
        read_sovits(folder)
    assert "emb_g" in _one_line(e)
    (folder / "config.json").write_text(json.dumps(config_41(vol_embedding=False)))
    with pytest.raises(ArvcError) as e:
        read_sovits(folder)
    assert "emb_vol" in _one_line(e)


def test_speaker_names_and_ids():
    cfg = SovitsConfig.from_dict(config_41())
    assert cfg.speaker_id("ben") == 2 and cfg.speaker_id("1") == 1 and cfg.speaker_id(None) == 0
    for bad in ("carl", "3", -1):
        with pytest.raises(ArvcError) as e:
            cfg.speaker_id(bad)
        _one_line(e)


def test_folder_picks_highest_step(tmp_path):
    write_voice(tmp_path, config_41())
    shutil.copy(tmp_path / "G_100.pth", tmp_path / "G_2000.pth")
    (tmp_path / "D_2000.pth").write_bytes(b"x")
    assert find_voice_files(tmp_path).generator.name == "G_2000.pth"


def test_cluster_model_reads_centres_and_refuses_code(tmp_path):
    centres = read_cluster_model(FIXTURE / "kmeans_8.pt")
    assert set(centres) == {"alice", "bob"} and centres["bob"].shape == (8, 768)
    target = tmp_path / "PWNED"
    torch.save({"a": {"cluster_centers_": _Planted(target)}}, tmp_path / "k.pt")
    with pytest.raises(ArvcError) as e:
        read_cluster_model(tmp_path / "k.pt")
    assert "refused" in _one_line(e) and not target.exists()
    torch.save({"a": {"cluster_centers_": np.full((2, 3), np.inf, np.float32)}}, tmp_path / "k.pt")
    with pytest.raises(ArvcError):
        read_cluster_model(tmp_path / "k.pt")
