"""so-vits-svc voices in the model library: models add (folder, zip), download, model-info, infer -m NAME."""

from __future__ import annotations

import io
import os
import shutil
import zipfile

import numpy as np
from _sovits import FIXTURE, config_41, write_voice
from test_library import server  # noqa: F401 - the local HTTP server fixture

from arvc.api.cli import main as cli


def _zip_folder(folder, prefix="voice/") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, prefix + p.name)
    return buf.getvalue()


def _voices():
    from arvc.library.models_dir import list_voices

    return {v.name: v for v in list_voices()}


def test_models_add_folder_and_zip_then_convert_by_name(tmp_path, capsys, fixtures_dir, one_thread):
    assert cli(["models", "add", str(FIXTURE), "--name", "svc40"]) == 0
    (tmp_path / "v.zip").write_bytes(_zip_folder(write_voice(tmp_path / "v41", config_41(), seed=2)))
    assert cli(["models", "add", str(tmp_path / "v.zip"), "--name", "svc41"]) == 0
    voices = _voices()
    assert voices["svc40"].family == voices["svc41"].family == "so-vits-svc"
    assert voices["svc40"].version == "so-vits-svc 4.0" and voices["svc41"].version == "so-vits-svc 4.1"
    assert voices["svc40"].cluster_file == "kmeans.pt" and voices["svc41"].speakers == ["ann", "ben"]
    assert voices["svc40"].embedder == "vec768l12" and voices["svc41"].embedder == "vec256l9"
    capsys.readouterr()
    assert cli(["model-info", str(voices["svc41"].folder)]) == 0
    text = capsys.readouterr().out
    assert "so-vits-svc 4.1" in text and "44100" in text and "vec256l9" in text and "'ann', 'ben'" in text
    assert cli(["models", "info", "svc40"]) == 0
    assert "so-vits-svc 4.0" in capsys.readouterr().out

    from arvc.inference.config import InferenceConfig
    from arvc.inference.pipeline import load_input
    from arvc.inference.sovits import SovitsConverter, open_converter

    cfg = InferenceConfig(embedder_model="custom", embedder_path=str(fixtures_dir / "pipeline_tiny" / "embedder"),
                          f0_method="pm", precision="fp32", speaker="bob", cluster_ratio=0.5, seed=1)
    vc = open_converter("svc40", None, cfg)
    assert isinstance(vc, SovitsConverter) and vc.centres is not None
    out, sr = vc.convert_audio(load_input(fixtures_dir / "pipeline_tiny" / "input_short.wav"))
    assert sr == 44100 and np.isfinite(out).all() and np.abs(out).max() > 0.01


def test_download_takes_a_sovits_zip(server, tmp_path, capsys):
    folder = tmp_path / "src"
    shutil.copytree(FIXTURE, folder)
    for extra in ("meta.json", "reference.npz"):
        (folder / extra).unlink()
    server.files["/pack.zip"] = _zip_folder(folder, "my voice/44k/")
    assert cli(["download", "model", f"{server.url}/pack.zip", "--name", "dl"]) == 0
    v = _voices()["dl"]
    assert v.family == "so-vits-svc" and v.source == f"{server.url}/pack.zip" and v.cluster_file == "kmeans.pt"
    assert (v.folder / "config.json").is_file() and v.model_path.read_bytes() == (FIXTURE / "G_1000.pth").read_bytes()


class _Planted:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_zip_with_pickle_payload_adds_nothing(tmp_path, capsys):
    target = tmp_path / "PWNED"
    folder = write_voice(tmp_path / "evil", config_41(), extra={"optimizer": _Planted(target)})
    (tmp_path / "evil.zip").write_bytes(_zip_folder(folder))
    assert cli(["models", "add", str(tmp_path / "evil.zip")]) != 0
    err = capsys.readouterr().err.strip()
    assert "refused" in err and f"{tmp_path / 'evil.zip'}:voice/G_100.pth" in err and "\n" not in err
    assert not target.exists()
    assert _voices() == {}
    from arvc.library.models_dir import voices_root

    assert [p.name for p in voices_root().iterdir()] == []  # no staging or temporary folder left


def test_unsupported_speech_encoder_is_one_line_naming_file_and_encoder(tmp_path, capsys, fixtures_dir):
    folder = write_voice(tmp_path / "hs", config_41())
    cfg = config_41(speech_encoder="hubertsoft")
    (folder / "config.json").write_text(__import__("json").dumps(cfg))
    out = tmp_path / "out.wav"
    for argv in (["infer", "-m", str(folder), "-i", str(fixtures_dir / "pipeline_tiny" / "input_short.wav"), "-o",
                  str(out), "--f0_method", "pm"], ["models", "add", str(folder), "--name", "hs"]):
        assert cli(argv) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and str(folder / "config.json") in err and "'hubertsoft'" in err, err
        assert "weights cannot be had here" in err
    assert not out.exists() and _voices() == {}


def _feature_index_pkl(path, dim, speakers=(0, 1, 2)):
    import pickle

    import faiss

    rng = np.random.default_rng(0)
    indexes = {}
    for sid in speakers:
        indexes[sid] = faiss.IndexFlatL2(dim)
        indexes[sid].add(rng.standard_normal((32, dim)).astype(np.float32))
    path.write_bytes(pickle.dumps(indexes))


def test_library_voice_keeps_its_41_feature_index_and_kmeans(tmp_path, fixtures_dir, one_thread):
    """A 4.1 folder with ``feature_and_index.pkl`` and a 4.0 one with ``kmeans*.pt``: both found again when the
    voice is used by name or by its ``<name>.pth`` (the path the web UI passes)."""
    from arvc.inference.config import InferenceConfig
    from arvc.inference.pipeline import load_input
    from arvc.inference.sovits import SovitsConverter, open_converter

    folder = write_voice(tmp_path / "v41", config_41(), seed=3)
    _feature_index_pkl(folder / "feature_and_index.pkl", 256)
    assert cli(["models", "add", str(folder), "--name", "fr41"]) == 0
    assert cli(["models", "add", str(FIXTURE), "--name", "km40"]) == 0
    voices = _voices()
    assert voices["fr41"].index_file == "feature_and_index.pkl" and voices["km40"].cluster_file == "kmeans.pt"
    base = dict(embedder_model="custom", embedder_path=str(fixtures_dir / "pipeline_tiny" / "embedder"),
                f0_method="pm", precision="fp32", deterministic=True)
    audio = load_input(fixtures_dir / "pipeline_tiny" / "input_short.wav")
    for model in ("fr41", str(voices["fr41"].model_path)):
        vc = open_converter(model, None, InferenceConfig(**base, speaker="ben", index_rate=0.7))
        assert isinstance(vc, SovitsConverter) and vc.retriever is not None and vc.retriever.index.ntotal == 32
    out = vc.convert_audio(audio)[0]
    plain = open_converter(model, None, InferenceConfig(**base, speaker="ben", index_rate=0.0)).convert_audio(audio)[0]
    assert np.isfinite(out).all() and np.abs(out - plain).max() > 1e-3  # the index reaches the output
    for model in ("km40", str(voices["km40"].model_path)):
        vc = open_converter(model, None, InferenceConfig(**base, speaker="bob", cluster_ratio=0.5))
        assert isinstance(vc, SovitsConverter) and vc.centres is not None and vc.centres.shape == (8, 768)
