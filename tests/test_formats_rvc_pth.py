"""The RVC inference .pth: reference key layout, round trips, Applio and mainline files, weight-norm names."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
import torch

from arvc.errors import ArvcError
from arvc.formats import ModelMetadata, applio_model_hash, read_model, write_model
from arvc.formats.naming import to_parametrized_key
from arvc.formats.rvc_pth import build_model_dict, inference_weights


pytestmark = pytest.mark.usefixtures("one_thread")


APPLIO_TOP = ["weight", "config", "epoch", "step", "sr", "f0", "version", "creation_date", "model_hash",
              "dataset_length", "model_name", "author", "embedder_model", "speakers_id", "vocoder"]
FIXTURES = ["synth_tiny_v2_40k", "synth_tiny_mrf_v2_40k"]


@pytest.fixture(scope="module")
def specs(specs_dir):
    return json.loads((specs_dir / "rvc_models.json").read_text())


def _spec_weights(entry, dtype=torch.float16):
    """Full-size tensors with the spec's names/shapes (zeros: only the layout matters)."""
    return OrderedDict((n, torch.zeros(shape, dtype=dtype)) for n, shape, _ in entry["inference_weight"])


@pytest.fixture(scope="module")
def tiny(fixtures_dir):
    """The tiny Applio fixture as (weights fp16, config list)."""
    raw = torch.load(fixtures_dir / "synth_tiny_v2_40k" / "model.pth", weights_only=True)
    return OrderedDict(raw["weight"]), raw["config"]


def _as_v1(weights):
    w = OrderedDict(weights)
    w["enc_p.emb_phone.weight"] = torch.zeros(w["enc_p.emb_phone.weight"].shape[0], 256, dtype=torch.float16)
    return w


@pytest.mark.parametrize("key", ["v2_40k_hifigan_nsf_f0", "v2_40k_mrf_hifigan_f0", "v2_40k_hifigan_nof0", "v2_40k_refinegan_f0"])
def test_full_size_layout_matches_reference(specs, key):
    """What write_model saves for every full-size configuration (built in memory to keep the test fast)."""
    entry = specs[key]
    weights = _spec_weights(entry)
    weights["enc_q.enc.dummy.weight"] = torch.zeros(3)  # must be dropped
    md = ModelMetadata(epoch=100, step=2000, model_name="spec", author="me", embedder_model="contentvec",
                       dataset_length="00:10:00", vocoder=entry["vocoder"], f0=entry["f0"], version="v2")
    raw = build_model_dict(inference_weights(weights), entry["config"], md)
    assert list(raw) == list(entry["inference_pth_top_level"]) == APPLIO_TOP
    for k, spec in entry["inference_pth_top_level"].items():
        assert type(raw[k]).__name__ == spec["type"], k
    assert [[n, list(t.shape), str(t.dtype).removeprefix("torch.")] for n, t in raw["weight"].items()] == entry["inference_weight"]
    assert raw["config"] == entry["config"] and raw["sr"] == entry["sample_rate"] and raw["f0"] is entry["f0"]
    assert raw["vocoder"] == entry["vocoder"]
    assert raw["model_hash"] == applio_model_hash("spec", 100, 2000, entry["sample_rate"], "v2", entry["config"])


@pytest.mark.parametrize("name", FIXTURES)
def test_applio_fixture_reads_and_rewrites_identically(tmp_path, fixtures_dir, name):
    src = fixtures_dir / name / "model.pth"
    meta = json.loads((fixtures_dir / name / "meta.json").read_text())
    m = read_model(src)
    top = meta["pth_top_level"]
    assert m.metadata.sr == 40000 and m.metadata.f0 is True and m.metadata.version == "v2"
    assert m.metadata.vocoder == meta["vocoder"] and m.metadata.embedder_model == top["embedder_model"]
    assert m.metadata.epoch == top["epoch"] and m.metadata.step == top["step"]
    assert m.config.to_list() == meta["config"] and m.config.vocoder == meta["vocoder"]
    assert len(m.weights) == meta["n_weight_tensors"] and m.n_params == meta["n_params"]
    # Applio's hash recipe reproduces the stored hash
    assert applio_model_hash(top["model_name"], top["epoch"], top["step"], top["sr"], top["version"], top["config"]) == top["model_hash"]

    fp32 = OrderedDict((k, v.float()) for k, v in m.weights.items())
    fp32["enc_q.pre.weight"] = torch.zeros(2, 2, 1)  # training-only tensors are dropped
    out = write_model(tmp_path / "again.pth", fp32, m.config, m.metadata)
    a, b = torch.load(src, weights_only=True), torch.load(out, weights_only=True)
    assert list(a) == list(b) and list(a["weight"]) == list(b["weight"])
    assert all(torch.equal(a["weight"][k], b["weight"][k]) and a["weight"][k].dtype == b["weight"][k].dtype for k in a["weight"])
    assert {k: v for k, v in a.items() if k != "weight"} == {k: v for k, v in b.items() if k != "weight"}


def test_round_trip_fp32_state_dict(tmp_path, tiny):
    g = torch.Generator().manual_seed(3)
    weights = OrderedDict((k, v.float() + torch.randn(v.shape, generator=g) * 1e-2) for k, v in tiny[0].items())
    config = list(tiny[1])
    config[-1] = 40000  # (a 32000 here would contradict the 400-sample hop: refused)
    md = ModelMetadata(epoch=7, step=140, model_name="rt", author="a", embedder_model="spin",
                       dataset_length="00:01:02", overtrain_info="best epoch 5", speakers_id=2, info="hello")
    out = write_model(tmp_path / "rt.pth", weights, config, md)
    m = read_model(out)
    assert list(m.weights) == list(weights)
    for k, v in weights.items():
        assert m.weights[k].dtype == torch.float16 and torch.equal(m.weights[k], v.half())
    got = m.metadata
    assert (got.epoch, got.step, got.model_name, got.author, got.embedder_model, got.dataset_length,
            got.overtrain_info, got.speakers_id, got.info) == (7, 140, "rt", "a", "spin", "00:01:02", "best epoch 5", 2, "hello")
    assert (got.sr, got.f0, got.version, got.vocoder) == (40000, True, "v2", "HiFi-GAN")
    raw = torch.load(out, weights_only=True)
    assert list(raw)[:9] == APPLIO_TOP[:9] and list(raw)[9] == "overtrain_info" and list(raw)[-1] == "info"
    # a second write of what was read is identical (fp16 stays fp16, views are not bloated)
    out2 = write_model(tmp_path / "rt2.pth", m.weights, m.config, m.metadata)
    assert out2.stat().st_size == out.stat().st_size


def test_mainline_v1_file(tmp_path, specs, tiny):
    entry = specs["v1_40k_hifigan_nsf_f0"]
    config = list(tiny[1])
    config[15] = 109  # mainline stores the configured count; the emb_g rows (4) win
    raw = OrderedDict(weight=_as_v1(tiny[0]), config=config, info="100epoch", sr="40k", f0=1, version="v1")
    assert list(raw) == list(entry["inference_pth_top_level"])
    p = tmp_path / "mainline.pth"
    torch.save(raw, p)
    m = read_model(p)
    md = m.metadata
    assert (md.sr, md.f0, md.version, md.vocoder, md.epoch, md.info) == (40000, True, "v1", "HiFi-GAN", 100, "100epoch")
    assert m.config.version == "v1" and m.config.content_dim == 256 and m.config.spk_embed_dim == 4


def test_missing_fields_are_inferred(tmp_path, tiny, fixtures_dir):
    p = tmp_path / "old.pth"
    torch.save({"weight": _as_v1(tiny[0]), "config": tiny[1]}, p)
    md = read_model(p).metadata
    assert (md.version, md.vocoder, md.f0, md.sr) == ("v1", "HiFi-GAN", True, 40000)
    nof0 = OrderedDict((k, v) for k, v in tiny[0].items() if "emb_pitch" not in k)
    torch.save({"weight": nof0, "config": tiny[1], "f0": 1}, p)  # the weights have no pitch embedding: f0 off
    assert read_model(p).metadata.f0 is False
    mrf = torch.load(fixtures_dir / "synth_tiny_mrf_v2_40k" / "model.pth", weights_only=True)
    p2 = tmp_path / "mrf_novocoder.pth"
    torch.save({"weight": mrf["weight"], "config": mrf["config"], "f0": True}, p2)
    assert read_model(p2).metadata.vocoder == "MRF HiFi-GAN"


def test_new_weight_norm_names_are_read_and_written_old(tmp_path, tiny):
    old = tiny[0]
    new = OrderedDict((to_parametrized_key(k), v) for k, v in old.items())
    assert any(".parametrizations.weight.original1" in k for k in new)
    p = tmp_path / "new.pth"
    torch.save({"weight": new, "config": tiny[1], "sr": 40000, "f0": True, "version": "v2"}, p)
    m = read_model(p)
    assert list(m.weights) == list(old)
    out = write_model(tmp_path / "old.pth", new, m.config, m.metadata)
    assert list(torch.load(out, weights_only=True)["weight"]) == list(old)


def test_bad_config_and_weights(tmp_path, tiny):
    weights, config = tiny
    p = tmp_path / "bad.pth"
    torch.save({"weight": weights, "config": config[:10]}, p)
    with pytest.raises(ArvcError, match="18-item"):
        read_model(p)
    torch.save({"weight": {"foo": torch.zeros(1)}, "config": config}, p)
    with pytest.raises(ArvcError, match="not an RVC synthesizer"):
        read_model(p)
    torch.save({"weight": {"enc_p.emb_phone.weight": [1, 2]}, "config": config}, p)
    with pytest.raises(ArvcError, match="not a tensor"):
        read_model(p)


def test_safetensors_model_round_trip(tmp_path, fixtures_dir):
    m = read_model(fixtures_dir / "synth_tiny_v2_40k" / "model.pth")
    out = write_model(tmp_path / "m.safetensors", m.weights, m.config, m.metadata)
    s = read_model(out)
    assert list(s.weights) == list(m.weights)
    assert all(torch.equal(s.weights[k], m.weights[k]) for k in m.weights)
    assert s.metadata == m.metadata and s.config_list == m.config_list


@pytest.mark.parametrize("name", FIXTURES)
def test_load_synthesizer_reproduces_applio(fixtures_dir, name):
    """The public loader gives Applio's output on the fixture (zero-noise convention; measured max abs ~8e-6)."""
    import numpy as np

    from arvc.formats import load_synthesizer

    net, model = load_synthesizer(fixtures_dir / name / "model.pth")
    assert not hasattr(net, "enc_q") and not net.training
    assert all(p.dtype == torch.float32 for p in net.parameters())
    net.set_deterministic(True)
    x = np.load(fixtures_dir / name / "inputs.npz")
    args = [torch.from_numpy(x[k]) for k in ("phone", "phone_lengths", "pitch", "pitchf", "sid")]
    audio, _, _ = net.infer(*args, noise_scale=0.0)
    ref = np.load(fixtures_dir / name / "reference_infer.npy")
    assert audio.shape == ref.shape
    assert float(np.abs(audio.numpy() - ref).max()) <= 1e-4


def test_synthesizer_write_then_load(tmp_path):
    from arvc.formats import load_synthesizer
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer

    torch.manual_seed(1)
    cfg = ModelConfig.tiny(vocoder="MRF HiFi-GAN")
    net = Synthesizer(cfg)
    out = write_model(tmp_path / "t.pth", net, cfg, ModelMetadata(epoch=3, step=30, embedder_model="contentvec"))
    raw = torch.load(out, weights_only=True)
    assert not any("enc_q" in k for k in raw["weight"]) and raw["vocoder"] == "MRF HiFi-GAN"
    assert raw["model_name"] == "t" and raw["config"] == cfg.to_list()
    loaded, model = load_synthesizer(out)
    own = {k: v for k, v in net.state_dict().items() if not k.startswith("enc_q.")}
    got = loaded.state_dict()
    assert set(got) == set(own)
    for k, v in own.items():
        assert torch.equal(got[k], v.half().float()), k
