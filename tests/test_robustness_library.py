"""The model library's untrusted inputs: voice names and ``info.json`` (``arvc models remove``), pretrain catalog
entries fetched from a URL (ids, file names, schema, binary bodies), against a real HTTP server on loopback."""

from __future__ import annotations

import json
import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from arvc.api.cli import main as cli
from test_library import _Handler


def _errors(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("error: ")]


def _one_error(rc: int, err: str, *needles: str) -> str:
    lines = _errors(err)
    assert rc == 1 and "Traceback" not in err and len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.cut, srv.requests, srv.etags = {}, set(), [], {}
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


def _models() -> Path:
    return Path(os.environ["ARVC_MODELS_DIR"])


# --------------------------------------------------------------------------------------------- models remove


@pytest.mark.parametrize("name", ["../../victim", "../victim_in_models", os.sep + "abs_victim"])
def test_models_remove_never_leaves_the_voices_folder(name, tmp_path, capsys):
    (_models() / "voices").mkdir(parents=True)
    target = (_models() / "voices" / name) if not os.path.isabs(name) else tmp_path / "abs_victim"
    if os.path.isabs(name):
        name = str(target)
    target.mkdir(parents=True, exist_ok=True)
    (target / "info.json").write_text(json.dumps({"name": name, "model_file": "x.pth"}))
    (target / "precious.txt").write_text("keep me")
    rc = cli(["models", "remove", name, "--yes"])
    _one_error(rc, capsys.readouterr().err, "not a plain folder name")
    assert (target / "precious.txt").is_file()


def test_info_json_name_cannot_redirect_the_deletion(tmp_path, capsys):
    voices = _models() / "voices"
    (voices / "evil").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (voices / "evil" / "info.json").write_text(json.dumps({"name": "../../../victim", "model_file": "x.pth"}))
    assert cli(["models", "remove", "evil", "--yes"]) == 0
    assert not (voices / "evil").exists() and (victim / "precious.txt").is_file()


def test_voice_folder_symlink_is_not_followed(tmp_path, capsys):
    voices = _models() / "voices"
    voices.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "info.json").write_text(json.dumps({"model_file": "x.pth"}))
    (voices / "link").symlink_to(victim)
    _one_error(cli(["models", "remove", "link", "--yes"]), capsys.readouterr().err, "symbolic link")
    assert (victim / "info.json").is_file()


@pytest.mark.parametrize("content", ["{}", "[]", "null", '{"model_file": "../../etc/passwd"}', "\x00\x01binary"])
def test_broken_info_json_is_one_line_and_still_removable(content, capsys):
    folder = _models() / "voices" / "broken"
    folder.mkdir(parents=True)
    (folder / "info.json").write_text(content)
    _one_error(cli(["models", "info", "broken"]), capsys.readouterr().err, "info.json")
    assert cli(["models", "list"]) == 0  # the broken voice is left out with a warning, not a traceback
    assert cli(["models", "remove", "broken", "--yes"]) == 0
    assert not folder.exists()


def test_voice_name_with_newline_is_refused(capsys):
    _one_error(cli(["models", "remove", "a\nb", "--yes"]), capsys.readouterr().err, "not a plain folder name")


# ------------------------------------------------------------------------------------------------- catalog


def _catalog(server, pid: str, g_url: str | None = None) -> str:
    entry = {"id": pid, "name": "X", "version": "v2", "vocoder": "HiFi-GAN", "f0": True,
             "files": {"40000": {"G": {"url": g_url or f"{server.url}/model.pth"},
                                 "D": {"url": f"{server.url}/payload.sh"}}}}
    server.files["/catalog.json"] = json.dumps({"pretrains": [entry]}).encode()
    server.files["/model.pth"] = b"G" * 100
    server.files["/payload.sh"] = b"#!/bin/sh\necho owned\n"
    return f"{server.url}/catalog.json"


@pytest.mark.parametrize("pid", ["../../X", "../X", "/tmp/arvc_abs_X", "a/b", "x\ny", ".."])
def test_catalog_id_cannot_write_outside_the_models_folder(pid, server, tmp_path, capsys):
    url = _catalog(server, pid)
    before = set(tmp_path.rglob("*"))
    rc = cli(["download", "pretrain", pid, "--sample_rate", "40000", "--catalog_url", url])
    _one_error(rc, capsys.readouterr().err, "bad entry", "plain folder name")
    written = [p for p in set(tmp_path.rglob("*")) - before if p.is_file()]
    assert written == [], written
    assert not Path("/tmp/arvc_abs_X").exists()
    assert not any(path.startswith(("/model.pth", "/payload.sh")) for _, path, _ in server.requests)


@pytest.mark.parametrize("g_url", ["{u}/dir/..", "{u}/", "file:///etc/passwd", "ftp://127.0.0.1/G.pth"])
def test_catalog_file_urls_are_checked(g_url, server, capsys):
    url = _catalog(server, "fine", g_url.format(u=server.url))
    rc = cli(["download", "pretrain", "fine", "--sample_rate", "40000", "--catalog_url", url])
    _one_error(rc, capsys.readouterr().err, "bad entry")


@pytest.mark.parametrize("body", [os.urandom(4096), b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"pretrains": 5}',
                                  b'{"pretrains": [{"id": "x", "files": {"40000": {"G": 1, "D": 2}}}]}',
                                  b'{"pretrains": [{"id": "x", "f0": "yes", "files": {}}]}'])
def test_binary_or_malformed_catalog_is_one_line(body, server, capsys):
    server.files["/catalog.json"] = body
    rc = cli(["download", "pretrain", "--list", "--catalog_url", f"{server.url}/catalog.json"])
    _one_error(rc, capsys.readouterr().err, "catalog")
    assert not (_models() / "pretrains" / "catalog.json").exists()  # a bad catalog is not cached
