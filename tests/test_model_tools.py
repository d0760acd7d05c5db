"""model-info, model-merge and export-onnx, through the CLI and their stage functions."""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pytest
import torch

from arvc.api.cli import main
from arvc.formats import ModelMetadata, load_synthesizer, read_model, write_model


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def v2_model(fixtures_dir):
    return fixtures_dir / "synth_tiny_v2_40k" / "model.pth"


def test_model_info_text_and_json(v2_model, capsys):
    assert main(["model-info", str(v2_model)]) == 0
    text = capsys.readouterr().out
    lines = {ln[:16].strip(): ln[16:] for ln in text.splitlines()}
    # every field the issue lists: sr, version, f0, vocoder, embedder, epoch, dataset length, speakers, param count
    assert lines["sample rate"].startswith("40000 Hz")
    assert lines["version"].startswith("v2 ")
    assert lines["pitch (f0)"] == "yes"
    assert lines["vocoder"] == "HiFi-GAN"
    assert lines["embedder"] == "custom"
    assert lines["epoch / step"] == "1 / 1"
    assert lines["dataset length"] == "00:00:00"
    assert lines["speakers"].startswith("4 ")
    assert lines["parameters"].startswith("1,092,866 in 385 tensors")
    assert lines["model_hash"] == "c51ae075993d643277c6712e594fcc6262d29bfb4d97ac74aa5e60414e624f02"
    assert main(["model-info", str(v2_model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sample_rate"] == 40000 and info["f0"] is True and info["speakers"] == 4
    assert info["n_params"] == 1092866 and info["config"]["hidden_channels"] == 64 and info["epoch"] == 1
    assert len(info["weights_sha256"]) == 64


def test_model_info_on_checkpoint(tmp_path, capsys, v2_model):
    from arvc.formats import save_checkpoint

    w = {k: v.float() for k, v in read_model(v2_model).weights.items()}
    p = save_checkpoint(tmp_path / "G_12.pth", w, None, 1e-4, 12)
    assert main(["model-info", str(p), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["type"] == "training checkpoint (G)" and info["iteration (epoch)"] == 12
    assert info["n_params"] == 1092866 and info["speakers"] == 4 and info["content_dim"] == 768


def test_model_info_errors_are_one_line(tmp_path, capsys):
    p = tmp_path / "not_a_model.pth"
    torch.save({"hello": 1}, p)
    assert main(["model-info", str(p)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and str(p) in err and "\n" not in err


def _variant(src, dst, speakers, seed):
    """A compatible model: the fixture's weights perturbed, with ``speakers`` rows in emb_g."""
    m = read_model(src)
    g = torch.Generator().manual_seed(seed)
    w = OrderedDict((k, (v.float() + 0.05 * torch.randn(v.shape, generator=g)).half()) for k, v in m.weights.items())
    w["emb_g.weight"] = w["emb_g.weight"][:speakers]
    write_model(dst, w, m.config_list, ModelMetadata(embedder_model="custom", model_name="b"))
    return read_model(dst)


def test_model_merge_weighted_average(tmp_path, v2_model, capsys):
    a = read_model(v2_model)
    b = _variant(v2_model, tmp_path / "b.pth", speakers=3, seed=1)
    out = tmp_path / "merged.pth"
    assert main(["model-merge", str(v2_model), str(tmp_path / "b.pth"), "-o", str(out), "--ratio", "0.3"]) == 0
    m = read_model(out)
    assert list(m.weights) == list(a.weights)
    for k, ta in a.weights.items():
        tb = b.weights[k]
        n = min(ta.shape[0], tb.shape[0]) if k == "emb_g.weight" else ta.shape[0]
        expect = (0.3 * ta[:n].float() + 0.7 * tb[:n].float()).half()
        assert torch.equal(m.weights[k], expect), k
    assert m.weights["emb_g.weight"].shape[0] == 3 and m.config_list[15] == 3 and m.metadata.speakers_id == 3
    assert m.metadata.embedder_model == "custom" and "0.3" in m.metadata.info
    net, _ = load_synthesizer(out)  # the merged file is a loadable model
    assert net.emb_g.num_embeddings == 3


def test_model_merge_refuses_incompatible(tmp_path, v2_model, fixtures_dir, capsys):
    mrf = fixtures_dir / "synth_tiny_mrf_v2_40k" / "model.pth"
    assert main(["model-merge", str(v2_model), str(mrf), "-o", str(tmp_path / "x.pth")]) == 1
    assert "different vocoder" in capsys.readouterr().err
    m = read_model(v2_model)
    cfg = list(m.config_list)
    cfg[4] = 96  # filter_channels
    w = OrderedDict(m.weights)
    write_model(tmp_path / "other.pth", w, cfg, ModelMetadata())
    assert main(["model-merge", str(v2_model), str(tmp_path / "other.pth"), "-o", str(tmp_path / "x.pth")]) == 1
    assert "filter_channels" in capsys.readouterr().err
    assert main(["model-merge", str(v2_model), str(v2_model), "-o", str(tmp_path / "x.pth"), "--ratio", "1.5"]) == 1
    assert not (tmp_path / "x.pth").exists()


@pytest.mark.parametrize("vocoder", ["HiFi-GAN", "MRF HiFi-GAN"])
def test_export_onnx_matches_torch(tmp_path, capsys, vocoder):
    """ONNX (onnxruntime) vs torch on a tiny random model: measured max abs error 9e-8 (HiFi-GAN) and 3e-7
    (MRF HiFi-GAN); asserted <= 1e-4. (On the fixtures' 200-frame models: 7.6e-6 HiFi-GAN, 7.7e-5 MRF HiFi-GAN,
    growing along the signal, the size of the float32 rounding of the MRF source's long phase cumsum, which
    itself differs from a float64 evaluation by up to 6.6e-5 there.)"""
    from arvc.formats.onnx_export import example_inputs, run_onnx
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer

    torch.manual_seed(0)
    cfg = ModelConfig.tiny(vocoder=vocoder, upsample_rates=[20, 20], upsample_kernel_sizes=[40, 40],
                           resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]])  # few layers: tracing cost is per layer
    src = write_model(tmp_path / "tiny.pth", Synthesizer(cfg), cfg, ModelMetadata())
    onnx_path = tmp_path / "tiny.onnx"
    assert main(["export-onnx", str(src), "-o", str(onnx_path)]) == 0
    assert "max abs error" in capsys.readouterr().out

    net, _ = load_synthesizer(src)
    net.set_deterministic(True)
    for frames in (37, 80):  # dynamic length, neither equal to the traced one
        x = example_inputs(net, frames=frames, seed=frames)
        x["rnd"] = torch.zeros_like(x["rnd"])
        got = run_onnx(onnx_path, x)
        ref, _, _ = net.infer(x["phone"], x["phone_lengths"], x["pitch"], x["pitchf"], x["sid"], noise_scale=0.0)
        assert got.shape == (1, 1, frames * net.hop_length)
        err = float(np.abs(got - ref.numpy()).max())
        assert err <= 1e-4, err
        assert float(np.abs(ref.numpy()).max()) > 1e-3  # not a trivially silent comparison
    # an impossible tolerance makes the check fail with a one-line error (the graph itself is kept)
    assert main(["export-onnx", str(src), "-o", str(onnx_path), "--tolerance", "0"]) == 1
    assert "differs from torch" in capsys.readouterr().err and onnx_path.is_file()


def test_export_onnx_no_pitch_batch_and_refinegan(tmp_path):
    """A no-f0 model exports without pitch inputs; a batch of 2 equals each item alone; RefineGAN is refused."""
    from arvc.errors import ArvcError
    from arvc.formats.onnx_export import example_inputs, export_synthesizer, run_onnx
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer

    torch.manual_seed(2)
    cfg = ModelConfig.tiny(use_f0=False, upsample_rates=[20, 20], upsample_kernel_sizes=[40, 40],
                           resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]])
    net = Synthesizer(cfg).eval()
    path = export_synthesizer(net, tmp_path / "nof0.onnx", example_frames=16)
    x = example_inputs(net, frames=30, batch=2, seed=5)
    assert list(x) == ["phone", "phone_lengths", "sid", "rnd"]
    x["sid"] = torch.tensor([0, 3])
    x["phone"] = x["phone"][:1].repeat(2, 1, 1)  # same content and noise: only the speaker differs
    x["rnd"] = x["rnd"][:1].repeat(2, 1, 1)
    both = run_onnx(path, x)
    for i in range(2):
        alone = run_onnx(path, {k: v[i : i + 1] for k, v in x.items()})
        assert float(np.abs(both[i : i + 1] - alone).max()) <= 1e-5
    assert float(np.abs(both[0] - both[1]).max()) > 1e-4  # the speaker input is used
    with pytest.raises(ArvcError, match="RefineGAN"):
        export_synthesizer(Synthesizer(ModelConfig.tiny(vocoder="RefineGAN")), tmp_path / "r.onnx")


@pytest.mark.parametrize("command", ["model-merge", "export-onnx"])
def test_unwritable_output_is_a_one_line_error(tmp_path, capsys, v2_model, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "out.pth"
    argv = ([command, str(v2_model), str(v2_model), "-o", str(out)] if command == "model-merge"
            else [command, str(v2_model), "-o", str(out), "--check", "false"])
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write") and str(out) in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
