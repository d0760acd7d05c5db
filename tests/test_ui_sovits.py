"""so-vits-svc voices in the web UI: listed in the Convert tab beside RVC voices, their speaker / cluster ratio /
noise scale controls shown only for them, and a conversion through the tab's handler with a chosen speaker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from _sovits import config_41, write_voice
from _ui_server import ROOT, ui_server

gr = pytest.importorskip("gradio")


def _library_voice(tmp_path: Path, name: str = "svc41") -> Path:
    """A 4.1-shaped random so-vits voice added to the models folder (``$ARVC_MODELS_DIR``, per test)."""
    from arvc.library.sovits_voice import add_sovits_voice

    info = add_sovits_voice(write_voice(tmp_path / "src", config_41(), seed=5), name=name)
    return info.model_path


def test_sovits_voices_are_listed_and_only_they_get_the_family_controls(tmp_path, fixtures_dir):
    from arvc.api.options import INFER
    from arvc.ui.library import voice_choices
    from arvc.ui.sovits_controls import SovitsControls, speaker_update

    models, logs = Path(os.environ["ARVC_MODELS_DIR"]), tmp_path / "logs"
    lib = _library_voice(tmp_path)
    loose = models / "downloaded" / "nyaru"  # a so-vits folder as published, dropped into the models folder
    write_voice(loose, config_41(n_speakers=1) | {"spk": {}}, seed=1)
    (loose / "G_100.pth").rename(loose / "G_8000.pth")
    write_voice(loose, config_41(n_speakers=1) | {"spk": {}}, seed=1)  # an older step beside it
    rvc_logs = logs / "mine"  # an RVC experiment: G_/D_ checkpoints and a config.json without ssl_dim
    rvc_logs.mkdir(parents=True)
    (rvc_logs / "config.json").write_text('{"data": {"sampling_rate": 40000}, "model": {"inter_channels": 192}}')
    for f in ("G_100.pth", "D_100.pth", "mine.pth"):
        (rvc_logs / f).write_bytes(b"")
    rvc = models / "voices" / "anna" / "anna.pth"
    rvc.parent.mkdir(parents=True)
    rvc.write_bytes((fixtures_dir / "pipeline_tiny" / "model.pth").read_bytes())

    choices = dict(voice_choices(models, logs))
    assert choices == {"svc41": str(lib), "nyaru (G_8000)": str(loose / "G_8000.pth"), "anna": str(rvc),
                       "mine": str(rvc_logs / "mine.pth")}

    upd = speaker_update(str(lib))
    assert upd["visible"] and upd["choices"] == ["ann", "ben"] and upd["value"] == "ann"
    assert speaker_update(str(lib), "ben")["value"] == "ben"
    assert speaker_update(str(loose / "G_8000.pth"))["choices"] == ["0"]  # no names: the ids
    assert speaker_update(str(rvc), "ben") == {"__type__": "update", "visible": False, "choices": [], "value": None}

    with gr.Blocks():
        speaker = SovitsControls.speaker_choice(INFER, str(lib), elem_id="s")
        svc = SovitsControls.build(INFER, speaker, str(lib))
    assert speaker.visible and speaker.value == "ann" and svc.box.visible
    assert list(svc.more.components) == ["cluster_ratio", "noise_scale"]
    raw = ["ben", 0.25, "0.3"]
    assert svc.values(str(lib), raw) == {"speaker": "ben", "cluster_ratio": 0.25, "noise_scale": "0.3"}
    assert svc.values(str(rvc), raw) == {}  # never sent for an RVC voice
    argv = INFER.to_argv({"model": str(lib), "input": ["x.wav"], **svc.values(str(lib), raw)})
    assert argv[argv.index("--speaker") + 1] == "ben" and argv[argv.index("--cluster_ratio") + 1] == "0.25"
    with gr.Blocks():
        hidden = SovitsControls.speaker_choice(INFER, str(rvc), elem_id="s")
        assert not SovitsControls.build(INFER, hidden, str(rvc)).box.visible
    assert not hidden.visible


def _cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "arvc.api.cli", *argv], capture_output=True, text=True, env=env, check=False,
                          timeout=300)


def _call_args(client, endpoint: str, by_label: dict[str, object]) -> list[object]:
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"][endpoint]["parameters"]
    return [by_label[p["label"]] if p["label"] in by_label else
            (p.get("parameter_default") if p.get("parameter_has_default") else None) for p in params]


def test_convert_tab_lists_a_sovits_voice_and_converts_with_the_chosen_speaker(tmp_path, fixtures_dir):
    from gradio_client import Client, handle_file

    pt = fixtures_dir / "pipeline_tiny"
    lib = _library_voice(tmp_path)
    src = tmp_path / "speech.wav"
    src.write_bytes((pt / "input_short.wav").read_bytes())
    conv = ["--f0_method", "pm", "--embedder_model", "custom", "--embedder_path", str(pt / "embedder"),
            "--deterministic", "true", "--precision", "fp32", "--format", "wav"]
    for who in ("ben", "ann"):
        r = _cli("infer", "-m", "svc41", "--speaker", who, "-i", str(src), "-o", str(tmp_path / f"{who}.wav"), *conv)
        assert r.returncode == 0, r.stderr

    with ui_server(tmp_path) as (url, _):
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/convert"]["parameters"]
        voice = next(p for p in api if p["label"] == "Voice")
        assert str(lib) in voice["python_type"]["type"], voice  # the Convert list offers it
        labels = {"Voice": str(lib), "Speaker": "ben", "Pitch method": "pm", "Embedder model": "custom",
                  "Embedder path": str(pt / "embedder"), "Deterministic": True, "Precision": "fp32",
                  "Format": "wav", "Audio files": [handle_file(str(src))]}
        files, _, status = client.predict(*_call_args(client, "/convert", labels), api_name="/convert")
    assert "1 converted, 0 failed" in status, status
    got = Path(files[0]).read_bytes()
    assert got == (tmp_path / "ben.wav").read_bytes()  # the same command line as the CLI's, speaker included
    assert got != (tmp_path / "ann.wav").read_bytes()
    y, sr = sf.read(files[0], dtype="float32")
    x, sr_in = sf.read(str(src))
    assert sr == 44100 and len(y) == (len(x) * 16000 // sr_in // 160) * 441
    assert np.isfinite(y).all() and np.sqrt(np.mean(y ** 2)) > 0.01
