"""The model library against a real HTTP server on loopback: resumable verified downloads, untrusted zips,
content sniffing, the models folder, and the Hugging Face code path (HF_ENDPOINT) for pretrains and
prerequisites feeding extract + train."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from arvc.api.cli import main as cli
from arvc.errors import ArvcError

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files`` with Range support and the headers ``hf_hub_download`` reads; a path in
    ``server.cut`` has its first whole-file GET cut off halfway (the connection drops)."""

    def log_message(self, *args):
        pass

    def _send(self, head_only: bool) -> None:
        srv = self.server
        path = self.path.split("?")[0]
        srv.requests.append((self.command, path, self.headers.get("Range")))
        data = srv.files.get(path)
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.send_header("X-Repo-Commit", COMMIT)
            self.end_headers()
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{srv.etags.get(path) or hashlib.sha256(data).hexdigest()}"')
        self.end_headers()
        if head_only:
            return
        body = data[start:]
        if path in srv.cut and not rng and self.command == "GET":
            srv.cut.discard(path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def do_GET(self):
        self._send(False)

    def do_HEAD(self):
        self._send(True)


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.cut, srv.requests, srv.etags = {}, set(), [], {}
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _models_dir() -> Path:
    return Path(os.environ["ARVC_MODELS_DIR"])


def _leftovers() -> list[Path]:
    root = _models_dir()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(scope="module")
def model_bytes(fixtures_dir) -> bytes:
    return (fixtures_dir / "pipeline_tiny" / "model.pth").read_bytes()


@pytest.fixture(scope="module")
def index_bytes(fixtures_dir) -> bytes:
    return (fixtures_dir / "pipeline_tiny" / "model.index").read_bytes()


def _evil_pth(marker: Path) -> bytes:
    """A torch file whose pickle would run ``os.system('touch marker')`` when loaded without weights_only."""
    import torch

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    buf = io.BytesIO()
    torch.save({"weight": {"x": Payload()}, "config": [0] * 18}, buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- downloads


def test_cut_download_resumes_with_range_and_verifies(server, tmp_path):
    from arvc.library.download import download_http

    data = os.urandom(300_000)
    server.files["/big.bin"] = data
    server.cut.add("/big.bin")
    seen = []
    dest = tmp_path / "dl" / "big.bin"
    with pytest.raises(ArvcError, match=r"download failed: http://127\.0\.0\.1:\d+/big\.bin: .*re-run to resume"):
        download_http(f"{server.url}/big.bin", dest, retries=0, show_bar=False)
    part = dest.with_name("big.bin.part")
    assert not dest.exists() and part.stat().st_size == 150_000

    server.cut.add("/big.bin")  # a whole-file GET would be cut again: only a Range request completes
    out = download_http(f"{server.url}/big.bin", dest, sha256=hashlib.sha256(data).hexdigest(),
                        progress=seen.append, show_bar=False)
    assert out == dest and dest.read_bytes() == data and not part.exists()
    assert ("GET", "/big.bin", "bytes=150000-") in server.requests
    assert seen[0].done == 150_000 and seen[-1].done == seen[-1].total == 300_000

    dest.unlink()
    server.cut.add("/big.bin")  # one call: the drop is retried with Range inside the same download
    download_http(f"{server.url}/big.bin", dest, sha256=hashlib.sha256(data).hexdigest(), show_bar=False)
    assert dest.read_bytes() == data


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    from arvc.library.download import download_http

    server.files["/f.bin"] = b"x" * 1000
    with pytest.raises(ArvcError) as e:
        download_http(f"{server.url}/f.bin", tmp_path / "f.bin", sha256="0" * 64, show_bar=False)
    assert "0" * 64 in str(e.value) and hashlib.sha256(b"x" * 1000).hexdigest() in str(e.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["404", "refused"])
def test_http_errors_are_one_line_exit_1(server, capsys, kind):
    url = f"{server.url}/missing.pth" if kind == "404" else f"http://127.0.0.1:{_free_port()}/m.pth"
    assert cli(["download", "model", url]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: download failed: ") and url in err
    assert ("HTTP 404" in err) if kind == "404" else ("refused" in err.lower())
    assert _leftovers() == []


# ------------------------------------------------------------------------------------------ untrusted zips


def test_zip_slip_and_bomb_are_refused(server, tmp_path, capsys, model_bytes):
    server.files["/slip.zip"] = _zip({"voice/model.pth": model_bytes, "voice/../../evil.txt": b"pwned"})
    assert cli(["download", "model", f"{server.url}/slip.zip"]) == 1
    assert "'..'" in capsys.readouterr().err
    assert not list(_models_dir().parent.rglob("evil.txt")) and _leftovers() == []

    server.files["/bomb.zip"] = _zip({"zeros.bin": bytes(64 * 1024 ** 2)})  # 64 MB that compresses to ~65 kB
    assert len(server.files["/bomb.zip"]) < 200_000
    assert cli(["download", "model", f"{server.url}/bomb.zip", "--max_size", "16M"]) == 1
    assert "more than the limit" in capsys.readouterr().err
    assert _leftovers() == []


def test_safe_extract_refuses_absolute_paths_and_links(tmp_path):
    from arvc.library.archive import safe_extract

    bad = tmp_path / "abs.zip"
    bad.write_bytes(_zip({"/tmp/abs_evil.txt": b"x"}))
    with pytest.raises(ArvcError, match="absolute path"):
        safe_extract(bad, tmp_path / "out")
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArvcError, match="symbolic link"):
        safe_extract(link, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zip_with_two_models_gives_two_voices_with_indexes(server, capsys, model_bytes, index_bytes):
    server.files["/pack.zip"] = _zip({
        "pack/alto/weights/alto.pth": model_bytes, "pack/alto/weights/added_IVF1_alto.index": index_bytes,
        "pack/tenor/deep/x/tenor.pth": model_bytes, "pack/tenor/deep/x/trained.index": index_bytes,
        "pack/README.txt": b"two voices"})
    assert cli(["download", "model", f"{server.url}/pack.zip", "--name", "duo"]) == 0
    from arvc.library.models_dir import list_voices

    voices = {v.name: v for v in list_voices()}
    assert set(voices) == {"duo_alto", "duo_tenor"}
    for v in voices.values():
        assert v.index_path.is_file() and v.model_path.read_bytes() == model_bytes
        assert v.index_path.read_bytes() == index_bytes
        assert v.source == f"{server.url}/pack.zip" and v.sample_rate == 40000 and v.version == "v2"
        assert v.sha256 == hashlib.sha256(model_bytes).hexdigest()
    assert not [p for p in (_models_dir() / "voices").iterdir() if p.name.startswith(".")]


def test_planted_pickle_is_refused_and_never_runs(server, tmp_path, capsys, model_bytes):
    marker = tmp_path / "payload_ran"
    evil = _evil_pth(marker)
    server.files["/evil.pth"] = evil
    server.files["/evil.zip"] = _zip({"a/good.pth": model_bytes, "b/evil.pth": evil})
    for url in ("/evil.pth", "/evil.zip"):
        assert cli(["download", "model", server.url + url]) == 1
        err = capsys.readouterr().err
        assert "refused to load" in err and "would import or run code" in err
    assert not marker.exists()
    assert _leftovers() == []


def test_plain_https_pth_and_name_sanitised(server, capsys, model_bytes):
    server.files["/dl/My%20Voice.pth"] = model_bytes
    assert cli(["download", "model", f"{server.url}/dl/My%20Voice.pth", "--name", "../../My Voice!"]) == 0
    from arvc.library.models_dir import list_voices

    (v,) = list_voices()
    assert v.name == "My_Voice" and v.index_file is None and v.model_path.parent == _models_dir() / "voices" / "My_Voice"


def test_safetensors_model_is_identified_by_content(server, tmp_path, capsys, fixtures_dir):
    from arvc.formats import read_model, write_model

    m = read_model(fixtures_dir / "pipeline_tiny" / "model.pth")
    st = write_model(tmp_path / "v.safetensors", m.weights, m.config_list, m.metadata)
    server.files["/files/voice.safetensors"] = st.read_bytes()
    server.files["/files/notes.pth"] = b"just text, named like a model"
    assert cli(["download", "model", f"{server.url}/files/voice.safetensors"]) == 0
    from arvc.library.models_dir import list_voices

    (v,) = list_voices()
    assert v.model_file == "voice.safetensors" and v.sample_rate == 40000
    assert cli(["download", "model", f"{server.url}/files/notes.pth", "--name", "voice"]) == 1
    assert "no RVC model" in capsys.readouterr().err


def test_hub_links_are_recognised():
    from arvc.library.download import parse_hub_url

    h = parse_hub_url("https://huggingface.co/someone/voices/blob/main/sub/dir/My%20Voice.zip?download=true")
    assert (h.repo_id, h.revision, h.filename, h.repo_type) == ("someone/voices", "main", "sub/dir/My Voice.zip", None)
    h = parse_hub_url("https://huggingface.co/datasets/a/b/resolve/v1/x.pth")
    assert (h.repo_id, h.revision, h.filename, h.repo_type) == ("a/b", "v1", "x.pth", "dataset")
    assert parse_hub_url("https://example.com/someone/voices/resolve/main/x.pth") is None
    assert parse_hub_url("https://huggingface.co/someone/voices") is None


def test_hub_download_reports_progress_and_checks_the_lfs_sha256(server, tmp_path, monkeypatch):
    import huggingface_hub.constants

    from arvc.library.download import download

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    data = os.urandom(200_000)
    server.files["/someone/voices/resolve/main/v.pth"] = data
    seen = []
    out = download("https://huggingface.co/someone/voices/resolve/main/v.pth", tmp_path / "v.pth",
                   progress=seen.append, show_bar=False)
    assert out.read_bytes() == data and seen[-1].done == seen[-1].total == 200_000
    assert [p.name for p in tmp_path.iterdir()] == ["v.pth"]  # the staging folder is gone
    server.files["/someone/voices/resolve/main/w.pth"] = data
    server.etags["/someone/voices/resolve/main/w.pth"] = "f" * 64  # the hub says another sha256
    with pytest.raises(ArvcError, match="sha256 mismatch"):
        download("https://huggingface.co/someone/voices/blob/main/w.pth", tmp_path / "w.pth", show_bar=False)
    assert [p.name for p in tmp_path.iterdir()] == ["v.pth"]  # nothing of w.pth is left


# ----------------------------------------------------------------------------------------- models folder


def test_models_add_list_info_remove(fixtures_dir, tmp_path, capsys, monkeypatch):
    exp = tmp_path / "logs" / "fixture_voice"
    exp.mkdir(parents=True)
    shutil.copy(fixtures_dir / "pipeline_tiny" / "model.pth", exp / "fixture_voice_5e_10s.pth")
    shutil.copy(fixtures_dir / "pipeline_tiny" / "model.index", exp / "added_IVF1_Flat.index")
    assert cli(["models", "add", str(exp)]) == 0
    capsys.readouterr()
    assert cli(["models", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:7] == ["name", "rate", "ver", "vocoder", "f0", "index", "size"]
    row = table[1].split()
    assert row[:4] == ["fixture_voice", "40k", "v2", "HiFi-GAN"] and row[4:6] == ["yes", "yes"]
    assert cli(["models", "info", "fixture_voice"]) == 0
    assert "sample rate     40000 Hz" in capsys.readouterr().out
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert cli(["models", "remove", "fixture_voice"]) == 1
    assert "--yes" in capsys.readouterr().err
    assert cli(["models", "remove", "fixture_voice", "--yes"]) == 0
    capsys.readouterr()
    assert cli(["models", "list"]) == 0
    assert "no voices" in capsys.readouterr().out
    assert not (_models_dir() / "voices" / "fixture_voice").exists()


def test_catalog_url_is_cached_and_shipped_one_is_the_fallback(server, monkeypatch):
    from arvc.library.catalog import SHIPPED, cached_catalog_path, find, load_catalog

    shipped = json.loads(SHIPPED.read_text())
    assert {"rvc-v2-f0", "rvc-v1-nof0", "titan"} <= {e["id"] for e in shipped["pretrains"]}
    newer = {"pretrains": [{"id": "newer", "name": "Newer", "version": "v2", "vocoder": "HiFi-GAN", "f0": True,
                            "files": {"40000": {"G": {"url": f"{server.url}/g.pth"}, "D": {"url": f"{server.url}/d.pth"}}}}]}
    server.files["/catalog.json"] = json.dumps(newer).encode()
    assert find(load_catalog(f"{server.url}/catalog.json"), "newer").sample_rates == [40000]
    assert cached_catalog_path().is_file()
    monkeypatch.setenv("ARVC_CATALOG_URL", f"http://127.0.0.1:{_free_port()}/catalog.json")  # server gone
    assert [e.id for e in load_catalog()] == ["newer"]  # the cached copy
    cached_catalog_path().unlink()
    assert len(load_catalog()) == len(shipped["pretrains"])  # the shipped one


# ------------------------------------------------------------------------- Hugging Face hub on loopback


def _tiny_pretrains() -> tuple[bytes, bytes]:
    """G/D in the bare pretrain layout ({"model": state}), tiny v2 40k (what --model_size tiny builds)."""
    import torch

    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer
    from arvc.training.loop import build_discriminator

    torch.manual_seed(0)
    mc = ModelConfig.tiny(version="v2", sample_rate=40000)
    out = []
    for net in (Synthesizer(mc), build_discriminator(mc, size="tiny")):
        buf = io.BytesIO()
        torch.save({"model": net.state_dict()}, buf)
        out.append(buf.getvalue())
    return out[0], out[1]


def _hub_env(tmp_path, server_url: str | None) -> dict:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HOME=str(tmp_path / "hf_home"),
               ARVC_MODELS_DIR=str(tmp_path / "models"), ARVC_LOGS_DIR=str(tmp_path / "logs"))
    env.pop("ARVC_DEVICE", None)
    if server_url:
        env.update(HF_ENDPOINT=server_url, HF_HUB_OFFLINE="0")
    return env


def _arvc(env, *argv, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arvc.api.cli", *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


PRE = "/lj1995/VoiceConversionWebUI/resolve/main/pretrained_v2"


def test_pretrain_download_through_hf_endpoint_then_train(server, tmp_path):
    from _training_data import make_experiment

    g, d = _tiny_pretrains()
    server.files[f"{PRE}/f0G40k.pth"], server.files[f"{PRE}/f0D40k.pth"] = g, d
    env = _hub_env(tmp_path, server.url)
    r = _arvc(env, "download", "pretrain", "rvc-v2-f0", "--sample_rate", "40000", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "models" / "pretrains" / "rvc-v2-f0"
    assert (folder / "f0G40k.pth").read_bytes() == g and (folder / "f0D40k.pth").read_bytes() == d
    assert ("HEAD", f"{PRE}/f0G40k.pth", None) in server.requests  # huggingface_hub's metadata request
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]

    make_experiment(tmp_path / "logs" / "pre", n_items=4, seconds=0.4)
    env.update(HF_HUB_OFFLINE="1")  # cached now: training needs no network
    r = _arvc(env, "train", "pre", "--pretrained", "rvc-v2-f0", "--model_size", "tiny", "--epochs", "1",
              "--batch_size", "4", "--progress", "false", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "starting from pretrains" in r.stderr and "f0G40k.pth" in r.stderr
    from arvc.formats import read_model

    assert read_model(tmp_path / "logs" / "pre" / "pre.pth").metadata.pretrain == "rvc-v2-f0 40000 Hz (f0G40k.pth / f0D40k.pth)"


def test_prerequisites_then_extract_and_train_with_defaults(server, tmp_path, fixtures_dir, voices_dir):
    import torch
    from safetensors.torch import load_file

    from arvc.features.f0.rmvpe import E2E

    g, d = _tiny_pretrains()
    server.files[f"{PRE}/f0G40k.pth"], server.files[f"{PRE}/f0D40k.pth"] = g, d
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in E2E().state_dict().items()}, buf)
    server.files["/lj1995/VoiceConversionWebUI/resolve/main/rmvpe.pt"] = buf.getvalue()
    emb = fixtures_dir / "pipeline_tiny" / "embedder"  # a 2-layer 768-dim HuBERT in ContentVec's layout
    buf = io.BytesIO()
    torch.save(load_file(str(emb / "model.safetensors")), buf)
    cv = "/IAHispano/Applio/resolve/main/Resources/embedders/contentvec"
    server.files[f"{cv}/config.json"] = (emb / "config.json").read_bytes()
    server.files[f"{cv}/pytorch_model.bin"] = buf.getvalue()

    env = _hub_env(tmp_path, server.url)
    r = _arvc(env, "prerequisites", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("downloaded") == 3
    models = tmp_path / "models"
    assert (models / "f0" / "rmvpe.pt").is_file() and (models / "embedders" / "contentvec" / "pytorch_model.bin").is_file()
    assert (models / "pretrains" / "rvc-v2-f0" / "f0G40k.pth").read_bytes() == g
    r = _arvc(env, "prerequisites", "--check", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.count("present") == 3, r.stdout

    env.update(HF_HUB_OFFLINE="1", HF_ENDPOINT=f"http://127.0.0.1:{_free_port()}")  # offline from here on
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(voices_dir / "slt" / "slt_01.flac", data / "slt_01.flac")
    for argv in (["preprocess", "voice", "--dataset_path", str(data), "--sample_rate", "40000"],
                 ["extract", "voice"],
                 ["train", "voice", "--model_size", "tiny", "--epochs", "1", "--batch_size", "4", "--progress", "false"]):
        r = _arvc(env, *argv, cwd=tmp_path)
        assert r.returncode == 0, (argv, r.stderr[-2000:])
    info = json.loads((tmp_path / "logs" / "voice" / "model_info.json").read_text())
    assert info.get("f0_method") == "rmvpe" and info.get("embedder_model") == "contentvec"
    from arvc.formats import read_model

    assert read_model(tmp_path / "logs" / "voice" / "voice.pth").metadata.pretrain.startswith("rvc-v2-f0 40000 Hz")


def test_offline_train_without_pretrain_names_both_ways_out(tmp_path):
    from _training_data import make_experiment

    make_experiment(tmp_path / "logs" / "off", n_items=2, seconds=0.3)
    env = _hub_env(tmp_path, None)
    env.update(HF_HUB_OFFLINE="1")
    r = _arvc(env, "train", "off", "--epochs", "1", "--progress", "false", cwd=tmp_path)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "arvc prerequisites" in last and "--from_scratch" in last
    assert not (tmp_path / "models" / "pretrains" / "rvc-v2-f0" / "f0G40k.pth").exists()


def test_f0_weights_by_prerequisites_and_on_first_use(server, tmp_path, monkeypatch):
    """penn/djcm weights come from their hub paths: ``arvc prerequisites --f0_weights`` and ``arvc download f0``
    (CLI) and, when missing, on the first ``get_f0_method`` (in process); all land in <models>/f0/."""
    import huggingface_hub.constants
    import torch

    from arvc.features.f0 import get_f0_method
    from arvc.features.f0.penn import Fcnf0

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save({"model": Fcnf0().state_dict(), "step": 1}, buf)
    server.files["/maxrmorrison/fcnf0-plus-plus/resolve/main/fcnf0%2B%2B.pt"] = buf.getvalue()  # as the client asks

    env = _hub_env(tmp_path, server.url)
    r = _arvc(env, "prerequisites", "--f0_weights", "penn", "--rmvpe", "false", "--pretrains", "false",
              "--embedders", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "penn (f0)" in r.stdout and "downloaded" in r.stdout
    assert (tmp_path / "models" / "f0" / "fcnf0++.pt").read_bytes() == buf.getvalue()
    r = _arvc(env, "prerequisites", "--check", "--f0_weights", "penn", "djcm", "--rmvpe", "false",
              "--pretrains", "false", "--embedders", cwd=tmp_path)
    lines = {line.split()[0]: line.split()[2] for line in r.stdout.splitlines()[1:]}
    assert r.returncode == 1 and lines == {"penn": "present", "djcm": "missing"}, r.stdout

    server.files["/AnhP/Vietnamese-RVC-Project/resolve/main/predictors/djcm.pt"] = b"djcm bytes"  # `download f0`
    r = _arvc(env, "download", "f0", "djcm", "penn", cwd=tmp_path)
    assert r.returncode == 0 and "(already there)" in r.stdout, r.stdout + r.stderr
    assert (tmp_path / "models" / "f0" / "djcm.pt").read_bytes() == b"djcm bytes"
    r = _arvc(env, "download", "f0", "crepe", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        "error: download f0: no downloadable weights for crepe; choices: penn, djcm"], r.stderr

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("ARVC_MODELS_DIR", str(tmp_path / "fresh"))
    m = get_f0_method("penn")
    assert (tmp_path / "fresh" / "f0" / "fcnf0++.pt").is_file()
    assert m.compute(np.zeros(1600, np.float32)).shape == (10,)
