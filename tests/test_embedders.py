"""Content embedders: HuBERT-family loading (folder, single file, weight-norm names), layers, mixing,
precision, v1 final_proj, the offline error, fixture parity, and the packaged Whisper encoder."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import torch

from arvc.errors import ArvcError
from arvc.features.embedders import LayerMix, load_embedder, n_frames
from arvc.features.embedders.hubert import _hubert_class

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # module fixtures import huggingface_hub before conftest's autouse env
N_LAYERS = 3


def _tiny_config(**kw):
    from transformers import HubertConfig

    return HubertConfig(hidden_size=128, num_hidden_layers=N_LAYERS, num_attention_heads=2, intermediate_size=96,
                        conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=16,
                        classifier_proj_size=24, **kw)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A random tiny HuBERT with final_proj, saved by transformers' save_pretrained."""
    torch.manual_seed(0)
    model = _hubert_class()(_tiny_config())
    with torch.no_grad():  # make the positional conv's g differ from ||v|| so ignoring g would show
        g = model.encoder.pos_conv_embed.conv.parametrizations.weight.original0
        g.mul_(torch.linspace(0.5, 1.5, g.numel()).reshape(g.shape))
    folder = tmp_path_factory.mktemp("tiny_hubert")
    model.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def reference(tiny_dir):
    """Hidden states computed by transformers' own loader, independent of arvc's."""
    from transformers import HubertModel

    model = HubertModel.from_pretrained(tiny_dir).eval()
    sd = json.loads((tiny_dir / "config.json").read_text())
    assert sd["classifier_proj_size"] == 24
    from safetensors.torch import load_file

    weights = load_file(str(tiny_dir / "model.safetensors"))
    audio = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 16000)).astype(np.float32) * 0.1)
    with torch.no_grad():
        out = model(audio, output_hidden_states=True)
    return audio, out, weights


def test_shapes_and_frame_rule(tiny_dir):
    emb = load_embedder("custom", path=tiny_dir)
    assert emb.dim == 128
    for n in (400, 719, 720, 16000, 16321, 4000):
        f = emb.extract(torch.zeros(1, n) + 0.01 * torch.randn(1, n))
        assert f.shape == (1, (n - 400) // 320 + 1, 128) == (1, n_frames(n), 128)
        assert f.dtype == torch.float32
    assert emb.extract(torch.randn(3, 8000)).shape == (3, 24, 128)
    assert emb.extract(torch.randn(1, 100)).shape == (1, 1, 128)  # shorter than the receptive field


def test_v2_and_layers_match_transformers(tiny_dir, reference):
    audio, out, _ = reference
    v2 = load_embedder("custom", path=tiny_dir).extract(audio)
    torch.testing.assert_close(v2, out.last_hidden_state, atol=1e-5, rtol=1e-5)
    for layer in (0, 1, 2):
        got = load_embedder("custom", path=tiny_dir, layer=layer).extract(audio)
        torch.testing.assert_close(got, out.hidden_states[layer], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out.hidden_states[1], out.hidden_states[2], atol=1e-3)
    with pytest.raises(ArvcError, match="layer 7"):
        load_embedder("custom", path=tiny_dir, layer=7)


def test_layer_mix(tiny_dir, reference):
    audio, out, _ = reference
    got = load_embedder("custom", path=tiny_dir, mix=(1, 3, 0.25)).extract(audio)
    want = 0.25 * out.hidden_states[1] + 0.75 * out.last_hidden_state
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert LayerMix.parse("9,12,0.5") == LayerMix(9, 12, 0.5)
    assert LayerMix.parse("9,12") == LayerMix(9, 12, 0.5)
    for bad in ("9", "a,b", "9,12,1.5", "1,2,0.5,4"):
        with pytest.raises(ArvcError, match="embedders_mix"):
            LayerMix.parse(bad)


def test_v1_final_proj(tiny_dir, reference):
    audio, out, weights = reference
    emb = load_embedder("custom", path=tiny_dir, version="v1")
    assert emb.dim == 24
    got = emb.extract(audio)
    # tiny model has 3 layers, so RVC's layer 9 is clamped to the last one
    want = out.hidden_states[N_LAYERS] @ weights["final_proj.weight"].T + weights["final_proj.bias"]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    got1 = load_embedder("custom", path=tiny_dir, version="v1", layer=1).extract(audio)
    want1 = out.hidden_states[1] @ weights["final_proj.weight"].T + weights["final_proj.bias"]
    torch.testing.assert_close(got1, want1, atol=1e-5, rtol=1e-5)


def test_v1_without_final_proj_is_an_error(tmp_path):
    from transformers import HubertModel

    torch.manual_seed(0)
    HubertModel(_tiny_config()).save_pretrained(tmp_path, safe_serialization=True)
    assert load_embedder("custom", path=tmp_path).dim == 128
    with pytest.raises(ArvcError, match="final_proj"):
        load_embedder("custom", path=tmp_path, version="v1")


def test_weight_norm_names_and_single_file(tiny_dir, reference, tmp_path):
    """Checkpoints storing the positional conv as weight_g/weight_v (and bare weight files) load the same."""
    audio, out, weights = reference
    legacy = {}
    for k, v in weights.items():
        k = k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v")
        legacy[k] = v.clone()
    assert "encoder.pos_conv_embed.conv.weight_g" in legacy
    folder = tmp_path / "legacy"
    folder.mkdir()
    torch.save(legacy, folder / "pytorch_model.bin")
    (folder / "config.json").write_text((tiny_dir / "config.json").read_text())
    got = load_embedder("custom", path=folder).extract(audio)
    torch.testing.assert_close(got, out.last_hidden_state, atol=1e-5, rtol=1e-5)

    single = tmp_path / "alone" / "hubert.pt"  # no config.json: the config is read off the shapes
    single.parent.mkdir()
    torch.save({f"hubert.{k}" if not k.startswith("final_proj") else k: v for k, v in legacy.items()}, single)
    got = load_embedder("custom", path=single, layer=2).extract(audio)
    torch.testing.assert_close(got, out.hidden_states[2], atol=1e-5, rtol=1e-5)


def test_bf16_agrees_with_fp32(tiny_dir, reference):
    audio, _, _ = reference
    fp32 = load_embedder("custom", path=tiny_dir).extract(audio)
    emb = load_embedder("custom", path=tiny_dir, precision="bf16")
    if emb.guard.kept_fp32:  # layers whose bf16 kernels drift on this CPU: visible in the test log
        warnings.warn(emb.guard.summary("tiny HuBERT"))
    bf16 = emb.extract(audio)
    assert bf16.dtype == torch.float32 and bf16.shape == fp32.shape
    rel = (bf16 - fp32).norm() / fp32.norm()
    assert rel < 0.05, rel
    cos = torch.nn.functional.cosine_similarity(bf16, fp32, dim=-1)
    assert cos.min() > 0.98
    with pytest.raises(ArvcError, match="fp16"):
        load_embedder("custom", path=tiny_dir, precision="fp16")


def test_offline_error_says_what_to_download(tmp_path):
    with pytest.raises(ArvcError) as info:
        load_embedder("contentvec")
    msg = str(info.value)
    assert "\n" not in msg
    assert "huggingface.co/IAHispano/Applio/resolve/main/Resources/embedders/contentvec/pytorch_model.bin" in msg
    assert str(tmp_path / "models" / "embedders" / "contentvec") in msg
    with pytest.raises(ArvcError, match="unknown embedder"):
        load_embedder("nope")
    with pytest.raises(ArvcError, match="embedder_path"):
        load_embedder("custom")
    with pytest.raises(ArvcError, match="no such file"):
        load_embedder("custom", path=tmp_path / "missing")


def test_named_embedder_from_models_dir(tiny_dir, reference, tmp_path):
    """A named embedder placed by hand in $ARVC_MODELS_DIR/embedders/<name>/ loads without the hub."""
    import shutil

    audio, out, _ = reference
    shutil.copytree(tiny_dir, tmp_path / "models" / "embedders" / "contentvec")
    got = load_embedder("contentvec").extract(audio)
    torch.testing.assert_close(got, out.last_hidden_state, atol=1e-5, rtol=1e-5)


def test_fixture_embedder_reproduces_applio_features(fixtures_dir):
    from arvc.audio.dsp import highpass

    pipe = fixtures_dir / "pipeline_tiny"
    emb = load_embedder("custom", path=pipe / "embedder")
    audio16k = np.load(pipe / "synth_inputs_short.npz")["audio16k"]
    padded = np.pad(highpass(audio16k), 16000, mode="reflect").astype(np.float32)
    feats = emb.extract(torch.from_numpy(padded)[None])[0].numpy()
    ref = np.load(pipe / "feats_short.npy")
    assert feats.shape == ref.shape
    assert np.abs(feats - ref).max() < 1e-4


@pytest.fixture(scope="module")
def whisper():
    return load_embedder("whisper-tiny.en")


def test_whisper_log_mel_matches_faster_whisper():
    from faster_whisper.feature_extractor import FeatureExtractor

    from arvc.features.embedders.whisper import log_mel

    audio = (np.random.default_rng(3).standard_normal(24000) * 0.1).astype(np.float32)
    want = FeatureExtractor(80)(audio, padding=480000 - len(audio))[:, :3000]
    got = log_mel(torch.from_numpy(audio)[None])[0].numpy()
    assert got.shape == (80, 3000)
    assert np.abs(got - want).max() < 1e-3


def test_whisper_features(whisper, voices_dir):
    from arvc.audio.io import load_audio

    assert whisper.dim == 768
    speech = load_audio(voices_dir / "slt" / "slt_01.flac", sr=16000)[:32000]
    a = torch.from_numpy(speech)[None]
    f = whisper.extract(a)
    assert f.shape == (1, n_frames(len(speech)), 768)
    assert torch.isfinite(f).all()
    torch.testing.assert_close(f[..., :384], f[..., 384:])  # v2 mapping: [x, x]
    again = whisper.extract(a)
    torch.testing.assert_close(f, again)
    # content follows the audio: speech and silence differ, two halves of speech differ
    silence = whisper.extract(torch.zeros(1, 32000))
    assert (f - silence).abs().mean() > 0.1
    # longer than one 30 s window: frame rule still holds and the first window is unchanged
    long = torch.from_numpy(np.tile(speech, 16))[None]  # 32 s
    fl = whisper.extract(long)
    assert fl.shape == (1, n_frames(long.shape[1]), 768)


def test_whisper_rejects_v1_and_layers():
    with pytest.raises(ArvcError, match="v2"):
        load_embedder("whisper-tiny.en", version="v1")
    with pytest.raises(ArvcError, match="layer"):
        load_embedder("whisper-tiny.en", layer=2)


def test_hub_cache_lookup(tiny_dir, reference, monkeypatch):
    """Named / hub-id embedders come from huggingface_hub's cache first (no network), with Applio's layout."""
    import huggingface_hub

    audio, out, _ = reference
    calls = []

    def fake_download(repo_id, filename, subfolder=None, local_files_only=False, **kw):
        calls.append((repo_id, subfolder, filename, local_files_only))
        if not local_files_only:
            raise ConnectionError("no network in this test")
        path = tiny_dir / filename
        if not path.exists():
            raise FileNotFoundError(filename)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr("arvc.hub.offline_reason", lambda: None)  # pretend the hub answers
    got = load_embedder("someone/tiny-hubert").extract(audio)
    torch.testing.assert_close(got, out.last_hidden_state, atol=1e-5, rtol=1e-5)
    assert calls[0] == ("someone/tiny-hubert", None, "config.json", True)
    assert ("someone/tiny-hubert", None, "model.safetensors", True) in calls
    calls.clear()
    with pytest.raises(ArvcError, match="ConnectionError"):  # Applio's contentvec ships pytorch_model.bin only
        load_embedder("contentvec")
    assert calls[0] == ("IAHispano/Applio", "Resources/embedders/contentvec", "config.json", True)
    assert ("IAHispano/Applio", "Resources/embedders/contentvec", "pytorch_model.bin", True) in calls
    assert calls[-1] == ("IAHispano/Applio", "Resources/embedders/contentvec", "config.json", False)


@pytest.mark.parametrize(
    "label, config, weights, match",
    [
        ("list_config", "[1, 2]", None, "config.json: expected a JSON object"),
        ("bad_json", "{", None, "config.json: unreadable config"),
        ("bad_type", {"hidden_size": "abc"}, None, "config.json: invalid HuBERT config"),
        ("bad_heads", {"num_attention_heads": 3}, None, "config.json: invalid HuBERT config"),
        ("wrong_size", {"hidden_size": 64, "num_attention_heads": 2}, None, "model.safetensors: the weights do not fit"),
        ("not_hubert", {"model_type": "whisper"}, None, "is not a HuBERT model"),
        ("junk_weights", None, b"not a safetensors file", "model.safetensors: not a readable safetensors file"),
    ],
)
def test_bad_embedder_folders_give_one_line_naming_the_file(tiny_dir, tmp_path, label, config, weights, match):
    import shutil

    folder = tmp_path / label
    shutil.copytree(tiny_dir, folder)
    if isinstance(config, dict):
        cfg = json.loads((tiny_dir / "config.json").read_text())
        cfg.update(config)
        (folder / "config.json").write_text(json.dumps(cfg))
    elif config is not None:
        (folder / "config.json").write_text(config)
    if weights is not None:
        (folder / "model.safetensors").write_bytes(weights)
    with pytest.raises(ArvcError, match=match) as err:
        load_embedder("custom", path=folder)
    assert str(folder) in str(err.value) and "\n" not in str(err.value)


def test_bad_single_weight_file(tmp_path):
    junk = tmp_path / "hubert.pt"
    junk.write_bytes(b"\x80\x02garbage")
    with pytest.raises(ArvcError, match="hubert.pt") as err:
        load_embedder("custom", path=junk)
    assert "\n" not in str(err.value)


def test_precision_auto():
    from arvc.device import auto_precision, resolve_precision

    assert resolve_precision("auto", torch.device("cpu")) == auto_precision(torch.device("cpu"))
    assert resolve_precision("auto", torch.device("cuda", 0)) == "fp16"  # resolution only; no GPU needed
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    assert resolve_precision("int8", torch.device("cpu")) == "int8"  # CPU inference (arvc.precision.int8)
    with pytest.raises(ArvcError, match="int8"):
        resolve_precision("int8", torch.device("cuda", 0))
    with pytest.raises(ArvcError, match="precision"):
        resolve_precision("int4", torch.device("cpu"))


def test_int8_embedder_quantizes_its_linears_and_agrees(tiny_dir, reference):
    from arvc.precision.int8 import Int8Linear

    audio, out, _ = reference
    emb = load_embedder("custom", path=tiny_dir, precision="int8")
    assert emb.precision == "int8" and emb.int8_error <= 0.1
    assert any(isinstance(m, Int8Linear) for m in emb.model.modules())
    got = emb.extract(audio)
    rel = float((got - out.last_hidden_state).norm() / out.last_hidden_state.norm())
    assert got.shape == out.last_hidden_state.shape and rel < 0.1, rel


def test_precision_auto_on_a_cpu_without_amx_is_fp32(tiny_dir, reference, monkeypatch):
    from arvc.precision import cpu_features

    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    audio, out, _ = reference
    emb = load_embedder("custom", path=tiny_dir, precision="auto")
    assert emb.precision == "fp32"
    torch.testing.assert_close(emb.extract(audio), out.last_hidden_state, atol=1e-5, rtol=1e-5)


def test_int8_embedder_stays_fp32_when_its_features_drift(tiny_dir, reference, monkeypatch):
    from arvc.features.embedders import hubert
    from arvc.precision.int8 import Int8Linear

    monkeypatch.setattr(hubert, "INT8_TOLERANCE", 0.0)  # any int8 error is too much
    audio, out, _ = reference
    emb = load_embedder("custom", path=tiny_dir, precision="int8")
    assert emb.precision == "fp32" and emb.int8_error > 0
    assert not any(isinstance(m, Int8Linear) for m in emb.model.modules())
    torch.testing.assert_close(emb.extract(audio), out.last_hidden_state, atol=1e-5, rtol=1e-5)


def test_int8_embedder_probe_is_cached_per_weights(tiny_dir, reference, monkeypatch):
    """The second int8 load of the same weights reuses the first one's probe error (no probe forwards) and
    gives the same features; other weights are probed afresh."""
    from arvc.features.embedders import hubert

    audio, _, _ = reference
    first = load_embedder("custom", path=tiny_dir, precision="int8")

    def no_probe(*_a, **_k):
        raise AssertionError("probed again")

    monkeypatch.setattr(hubert, "guard_probe_audio", no_probe)
    again = load_embedder("custom", path=tiny_dir, precision="int8")
    assert again.precision == "int8" and again.int8_error == first.int8_error
    torch.testing.assert_close(again.extract(audio), first.extract(audio), atol=0, rtol=0)
    with torch.no_grad():
        next(again.model.parameters()).add_(1e-3)  # other weights: a new key
    with pytest.raises(AssertionError, match="probed again"):
        hubert.HubertEmbedder._int8_linears(again)


def test_whisper_encoder_stays_fp32_in_an_int8_conversion(whisper, voices_dir):
    """CTranslate2's int8 whisper encoder cost a trained model 0.2 dB log-mel (over the int8 bar): an int8
    conversion keeps the encoder fp32 and says so; its features are fp32's."""
    emb = load_embedder("whisper-tiny.en", precision="int8")
    assert emb.precision == "fp32" and emb.model.compute_type == "float32"
    from arvc.audio.io import load_audio

    audio = torch.from_numpy(load_audio(voices_dir / "slt" / "slt_01.flac", sr=16000)[:16000])[None]
    assert torch.equal(emb._forward(audio), whisper._forward(audio))


def test_positional_conv_keeps_its_weight_norm_until_the_weights_change():
    from arvc.features.embedders.hubert_net import HubertNetConfig, _PositionalConv

    torch.manual_seed(0)
    pc = _PositionalConv(HubertNetConfig(hidden_size=32, num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4))
    torch.nn.init.uniform_(pc.conv.weight_g, 0.5, 1.5)
    x = torch.randn(1, 20, 32)

    def fresh():
        w = torch._weight_norm(pc.conv.weight_v, pc.conv.weight_g, 2)
        return pc.act(pc.conv._conv_forward(x.transpose(1, 2), w, pc.conv.bias)[:, :, :-1]).transpose(1, 2)

    with torch.inference_mode():
        first = pc(x)
        assert pc(x).data_ptr() != first.data_ptr() and pc.weight() is pc.weight()  # computed once, then kept
        assert torch.equal(first, fresh())
    with torch.no_grad():
        pc.conv.weight_g.mul_(2.0)  # an in-place change (load_state_dict copies in place)
        assert torch.equal(pc(x), fresh()) and not torch.equal(pc(x), first)
    pc.load_state_dict({k: torch.randn_like(v) for k, v in pc.state_dict().items()})
    with torch.no_grad():
        assert torch.equal(pc(x), fresh())
    assert pc(x).requires_grad  # with grad: computed per call, differentiable
