"""Numbers and inputs checked where they enter: device strings, worker counts, seeds, clipping, names with
newlines, TTS text size and binary text files, cover gains and names, NaN audio at every write, absurd input
sample rates, and a voice zip's index paired with its model (or reported)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _robustness import assert_one_error, make_chunks, run_cli, run_cli_limited


def _fixture_infer(pt: Path) -> list[str]:
    return ["--f0_method", "pm", "--embedder_model", "custom", "--embedder_path", str(pt / "embedder")]


# ----------------------------------------------------------------------------------------- numbers


def test_gpu_bogus_is_one_line_in_infer(tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    r = run_cli("infer", "-m", pt / "model.pth", "-i", pt / "input_short.wav", "-o", tmp_path / "o.wav",
                *_fixture_infer(pt), "--gpu", "bogus")
    assert_one_error(r, "--gpu", "bogus")
    assert not (tmp_path / "o.wav").exists()


def test_gpu_bogus_is_one_line_in_extract_and_train(tmp_path, fixtures_dir):
    logs = tmp_path / "logs"
    make_chunks(logs / "exp", n=2, seconds=1.0)
    env_logs = ["--logs_dir", str(logs)]
    assert_one_error(run_cli("extract", "exp", *env_logs, "--f0_method", "pm", "--gpu", "bogus"), "--gpu")
    assert not (logs / "exp" / "extracted").exists() or not any((logs / "exp" / "extracted").iterdir())
    assert_one_error(run_cli("train", "exp", *env_logs, "--gpu", "bogus", "--from_scratch"), "--gpu")


@pytest.mark.parametrize("argv, needle", [
    (["train", "exp", "--num_workers", "-2", "--from_scratch"], "--num_workers -2"),
    (["train", "exp", "--grad_clip", "-1", "--from_scratch"], "--grad_clip -1"),
    (["train", "exp", "--grad_clip", "nan", "--from_scratch"], "--grad_clip nan"),
    (["train", "exp", "--seed", "-5", "--from_scratch"], "--seed -5"),
    (["create-index", "exp", "--seed", "-1"], "--seed -1"),
])
def test_numbers_out_of_range_are_one_line(argv, needle, tmp_path):
    logs = tmp_path / "logs"
    make_chunks(logs / "exp", n=2, seconds=1.0)
    assert_one_error(run_cli(*argv, "--logs_dir", str(logs)), needle)
    assert not list((logs / "exp").glob("*.index")) and not list((logs / "exp").glob("G_*.pth"))


@pytest.mark.parametrize("stage", ["preprocess", "extract", "create-index", "train"])
def test_model_name_with_newline_is_refused(stage, tmp_path):
    (tmp_path / "data").mkdir()
    extra = ["--dataset_path", str(tmp_path / "data")] if stage == "preprocess" else []
    r = run_cli(stage, "bad\nname", "--logs_dir", str(tmp_path / "logs"), *extra)
    assert_one_error(r, "not a plain folder name")
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())


# -------------------------------------------------------------------------------------------- TTS


def test_tts_text_file_too_long_is_refused_in_one_line(tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    big = tmp_path / "book.txt"
    big.write_text("A sentence that goes on. " * 42_000)  # ~1 MB
    r = run_cli_limited("tts", "--tts_file", big, "-m", pt / "model.pth", "-o", tmp_path / "o.wav", limit_gb=3)
    assert_one_error(r, "--tts_file", "limit")
    assert not (tmp_path / "o.wav").exists()


def test_tts_binary_file_is_refused_in_one_line(tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    for i, data in enumerate((os.urandom(4096), b"hello\x00\x01\x02world")):
        f = tmp_path / f"random{i}.txt"
        f.write_bytes(data)
        r = run_cli("tts", "--tts_file", f, "-m", pt / "model.pth", "-o", tmp_path / "o.wav")
        assert_one_error(r, str(f))
    assert not (tmp_path / "o.wav").exists()


def test_tts_long_text_given_directly_is_refused():
    from arvc.errors import ArvcError
    from arvc.stages.tts import MAX_TTS_CHARS, read_text

    with pytest.raises(ArvcError, match=f"limit of {MAX_TTS_CHARS}"):
        read_text("x" * (MAX_TTS_CHARS + 1), None)


# ------------------------------------------------------------------------------------------- cover


@pytest.mark.parametrize("flag, value", [("--vocal_gain", "1000"), ("--vocal_gain", "nan"),
                                         ("--instrumental_gain", "inf"), ("--backing_gain", "-1000")])
def test_cover_gains_out_of_range(flag, value, tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    wav = pt / "input_short.wav"
    r = run_cli("cover", "-m", pt / "model.pth", "--vocals", wav, "--instrumental", wav, "-o", tmp_path / "out",
                *_fixture_infer(pt), flag, value)
    assert_one_error(r, flag)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["../../x", "/tmp/arvc_cover_abs", "a/b", "x\ny"])
def test_cover_name_stays_in_the_output_folder(name, tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    wav = pt / "input_short.wav"
    before = set(tmp_path.rglob("*"))
    r = run_cli("cover", "-m", pt / "model.pth", "--vocals", wav, "--instrumental", wav,
                "-o", tmp_path / "a" / "b" / "out", *_fixture_infer(pt), "--name", name)
    assert_one_error(r, "--name")
    assert set(tmp_path.rglob("*")) == before and not Path("/tmp/arvc_cover_abs_cover.wav").exists()


def test_nan_audio_is_refused_at_every_write(tmp_path):
    from arvc.audio.io import save_audio
    from arvc.errors import ArvcError
    from arvc.stages.cover import _write

    bad = np.array([0.1, np.nan, 0.2], dtype=np.float32)
    for fmt in ("wav", "flac"):
        with pytest.raises(ArvcError, match="NaN or infinite"):
            save_audio(tmp_path / f"x.{fmt}", bad, 40000)
        with pytest.raises(ArvcError, match="NaN or infinite"):
            _write(tmp_path / f"mix.{fmt}", np.stack([bad, bad], axis=1), 40000, fmt)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------- sample rates


@pytest.mark.parametrize("rate", [1, 100, 3_000_000])
def test_absurd_input_sample_rate_is_refused_without_blow_up(rate, tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    wav = tmp_path / f"r{rate}.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(1000)).astype(np.float32), rate,
             subtype="PCM_16")
    r = run_cli_limited("infer", "-m", pt / "model.pth", "-i", wav, "-o", tmp_path / "o.wav", *_fixture_infer(pt),
                        limit_gb=3, timeout=120)
    assert_one_error(r, str(wav), "sample rate")
    assert not (tmp_path / "o.wav").exists()


# -------------------------------------------------------------------------------------- zip pairing


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_pairing_rules():
    from arvc.stages.library import _pair_indexes

    P = Path
    pairs, free = _pair_indexes([P("beta/beta_v2.pth"), P("alpha/alpha.pth")],
                                [P("beta/trained/beta.index"), P("alpha/alpha.index")])
    assert pairs == {P("beta/beta_v2.pth"): P("beta/trained/beta.index"), P("alpha/alpha.pth"): P("alpha/alpha.index")}
    assert free == []
    pairs, free = _pair_indexes([P("pack/a.pth"), P("pack/b/b.pth")], [P("pack/b/b.index")])
    assert pairs[P("pack/b/b.pth")] == P("pack/b/b.index") and pairs[P("pack/a.pth")] is None
    pairs, free = _pair_indexes([P("v/v.pth")], [P("v/trained_v.index"), P("v/added_v.index")])
    assert pairs[P("v/v.pth")] == P("v/added_v.index") and free == [P("v/trained_v.index")]


def test_zip_index_below_the_model_is_installed_and_an_unpairable_one_reported(tmp_path, fixtures_dir):
    import threading
    from http.server import ThreadingHTTPServer

    from test_library import _Handler

    model = (fixtures_dir / "pipeline_tiny" / "model.pth").read_bytes()
    index = (fixtures_dir / "pipeline_tiny" / "model.index").read_bytes()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.cut, srv.requests, srv.etags = {}, set(), [], {}
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        srv.files["/voices.zip"] = _zip({"alpha/alpha.pth": model, "alpha/alpha.index": index,
                                         "beta/beta_v2.pth": model, "beta/trained/beta.index": index,
                                         "extra/gamma.index": index})
        r = run_cli("download", "model", f"{url}/voices.zip", env=None, cwd=tmp_path)
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.returncode == 0, r.stderr
    voices = Path(os.environ["ARVC_MODELS_DIR"]) / "voices"
    assert (voices / "beta_v2" / "beta_v2.index").read_bytes() == index
    assert (voices / "alpha" / "alpha.index").is_file()
    assert "gamma.index could not be paired" in r.stderr


@pytest.mark.parametrize("stored", ["../../elsewhere", "/tmp", "a\nb"])
def test_embedder_name_from_a_model_file_is_not_a_path(stored, tmp_path, fixtures_dir):
    import torch

    pt = fixtures_dir / "pipeline_tiny"
    raw = torch.load(pt / "model.pth", map_location="cpu", weights_only=True)
    raw["embedder_model"] = stored
    torch.save(raw, tmp_path / "m.pth")
    r = run_cli("infer", "-m", tmp_path / "m.pth", "-i", pt / "input_short.wav", "-o", tmp_path / "o.wav",
                "--f0_method", "pm")
    assert_one_error(r, "embedder_model", "not an embedder name")
    assert not (tmp_path / "o.wav").exists()
