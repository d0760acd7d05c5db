"""The web UI's own limits: fields that name server files stay inside the allowed roots and are never parsed as
options, errors never echo a file's contents, folder scans are bounded and cancellable, one TensorBoard per run,
--output_dir cannot expose the disk, uploads are size-limited, IPv6 loopback works, and under --auth the
long-poll routes need the login too."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from _robustness import assert_one_error, run_cli
from _ui_server import free_port, ui_server, wait_http

gr = pytest.importorskip("gradio")

SECRET = "root:x:0:0:SECRET-LINE-42:/root:/bin/bash"


@pytest.fixture
def ctx(tmp_path):
    from arvc.ui.app import UIContext

    class Jobs:  # records what the UI would run; no process is started
        def __init__(self):
            self.submitted = []

        def submit(self, kind, title, steps, module="arvc.api.cli"):
            done = threading.Event()
            done.set()
            job = type("J", (), {"finished": False, "steps": steps, "title": title, "done": done,
                                 "status": lambda self: "done", "log": lambda self, n=None: ""})()
            self.submitted.append((kind, steps, module))
            return job

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    return UIContext(output_dir=allowed / "ui_out", jobs=Jobs(), roots=(allowed,))


def _secret_file(folder: Path) -> Path:
    p = folder / "passwd"
    p.write_text("QZXW:pw\n" + SECRET + "\n")
    return p


# ------------------------------------------------------------------------------------ paths and options


@pytest.mark.parametrize("value", ["/etc/passwd", "/", "../../etc", "~"])
def test_fields_outside_the_allowed_roots_are_refused(value, ctx):
    with pytest.raises(gr.Error, match="outside the allowed folders"):
        ctx.path(value, "model")


def test_symlink_out_of_an_allowed_root_is_refused(ctx, tmp_path):
    (ctx.roots[0] / "escape").symlink_to("/etc")
    with pytest.raises(gr.Error, match="outside the allowed folders"):
        ctx.path(str(ctx.roots[0] / "escape" / "passwd"), "index")


def test_server_folder_of_root_is_refused_without_scanning(ctx):
    from arvc.ui.common import audio_files as _audio_files

    t0 = time.monotonic()
    with pytest.raises(gr.Error, match="outside the allowed folders"):
        _audio_files(ctx, "/")
    assert time.monotonic() - t0 < 1.0


def test_folder_scan_is_bounded_and_cancellable(tmp_path):
    from arvc.errors import ArvcError
    from arvc.ui.guard import scan_audio

    big = tmp_path / "big"
    for i in range(30):
        (big / f"d{i}").mkdir(parents=True)
        for j in range(5):
            (big / f"d{i}" / f"{j}.wav").write_bytes(b"")
    assert len(scan_audio(big, {".wav"})) == 150
    with pytest.raises(ArvcError, match="too large to scan"):
        scan_audio(big, {".wav"}, max_entries=100)
    with pytest.raises(ArvcError, match="more than 20 audio files"):
        scan_audio(big, {".wav"}, max_files=20)
    stop = threading.Event()
    stop.set()
    with pytest.raises(ArvcError, match="scan stopped"):
        scan_audio(big, {".wav"}, cancel=stop)


def test_stop_ends_a_running_folder_scan_within_a_second(ctx, monkeypatch):
    """A scan of a slow, large folder (10 ms per directory, 2000 directories: 20 s) ends within a second of Stop
    (the Stop buttons set ``ctx.scan_cancel``)."""
    from arvc.ui.common import audio_files as _audio_files

    big = ctx.roots[0] / "big"
    for i in range(2000):
        (big / f"d{i:04d}").mkdir(parents=True)
    real_scandir = os.scandir

    def slow_scandir(path):
        time.sleep(0.01)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", slow_scandir)
    outcome = {}

    def scan():
        try:
            outcome["files"] = _audio_files(ctx, str(big))
        except gr.Error as e:
            outcome["error"] = str(e)
        outcome["ended"] = time.monotonic()

    worker = threading.Thread(target=scan, daemon=True)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive(), "the scan ended before Stop: the folder is not slow enough to test Stop"
    stopped = time.monotonic()
    ctx.scan_cancel.set()
    worker.join(5.0)
    assert not worker.is_alive() and outcome["ended"] - stopped < 1.0, outcome
    assert "scan stopped" in outcome["error"]


def test_uploads_are_removed_when_the_server_stops(tmp_path):
    """Uploads go to the server's own folder below $GRADIO_TEMP_DIR, and it is gone once the server stops."""
    temp = tmp_path / "gradio_tmp"
    temp.mkdir()
    (tmp_path / "work").mkdir()
    with ui_server(tmp_path / "work", env={"GRADIO_TEMP_DIR": str(temp)}) as (url, _):
        boundary = "arvcboundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"clip.wav\"\r\n"
                "Content-Type: audio/wav\r\n\r\n").encode() + b"RIFF" + b"\0" * 4096 + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(url + "gradio_api/upload", data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            kept = Path(json.loads(r.read())[0])
        assert kept.is_file() and temp in kept.parents
    assert not kept.exists() and not list(temp.rglob("clip.wav"))
    assert not list(temp.glob("arvc-ui-uploads-*"))


def test_evaluate_folder_is_never_parsed_as_an_option(ctx):
    from arvc.api.cli import build_parser
    from arvc.ui.tools_tab import eval_argv as _eval_argv

    with pytest.raises(gr.Error):
        _eval_argv(ctx, ctx.new_dir("eval"), None, "--f0_method=bogus", "", "", "", 0, False, False)
    odd = ctx.roots[0] / "--f0_method=bogus"  # a real folder with that name inside the allowed root
    odd.mkdir()
    old = Path.cwd()
    os.chdir(ctx.roots[0])
    try:
        argv = _eval_argv(ctx, ctx.new_dir("eval"), None, "--f0_method=bogus", "", "", "", 0, False, False)
    finally:
        os.chdir(old)
    args = build_parser("evaluate")[0].parse_args(argv[1:])
    assert args.f0_method == "fcpe" and [Path(p) for p in args.input] == [odd.resolve()]


def test_path_options_of_the_controls_are_checked(ctx):
    from arvc.api.options import INFER
    from arvc.ui.controls import build_controls

    with gr.Blocks():
        controls = build_controls(INFER)
    raw = [c.value for c in controls.components.values()]
    raw[list(controls.components).index("f0_file")] = "/etc/passwd"
    with pytest.raises(gr.Error, match="f0 file /etc/passwd: outside the allowed folders"):
        ctx.argv(controls, raw)


@pytest.mark.parametrize("name", ["../../x", "a/b", "x\ny", ".."])
def test_tensorboard_name_is_a_plain_name(name, ctx):
    from arvc.ui.train_tab import _open_tensorboard

    with pytest.raises(gr.Error, match="not a plain folder name"):
        _open_tensorboard(ctx, name)
    assert ctx.jobs.submitted == []


def test_one_tensorboard_per_run(ctx, monkeypatch):
    from arvc.ui.train_tab import _open_tensorboard

    monkeypatch.setenv("ARVC_LOGS_DIR", str(ctx.roots[0] / "logs"))
    (ctx.roots[0] / "logs" / "voice" / "eval").mkdir(parents=True)
    links = {_open_tensorboard(ctx, "voice") for _ in range(6)}
    assert len(ctx.jobs.submitted) == 1 and len(links) == 1


@pytest.mark.parametrize("name", ["../../x", "a/b", "x\ny"])
def test_train_model_name_is_a_plain_name(name, ctx):
    from arvc.ui.train_tab import train_steps

    with pytest.raises(gr.Error, match="not a plain folder name"):
        train_steps(ctx, (None,) * 4, [0, 0, 0, 0], (name, "", None, 40000, "from scratch", False, None, None),
                    ("train",))


# ------------------------------------------------------------------------------ errors never echo contents


def test_f0_file_error_does_not_echo_its_lines(tmp_path):
    from arvc.errors import ArvcError
    from arvc.features.f0.postprocess import load_f0_file

    with pytest.raises(ArvcError) as e:
        load_f0_file(_secret_file(tmp_path), 100)
    assert "SECRET" not in str(e.value) and "passwd" in str(e.value)


def test_model_and_index_errors_do_not_echo_bytes(tmp_path):
    from arvc.errors import ArvcError
    from arvc.formats.rvc_pth import read_model
    from arvc.index.io import read_index

    secret = _secret_file(tmp_path)
    for reader in (read_model, read_index):
        with pytest.raises(ArvcError) as e:
            reader(secret)
        text = str(e.value).replace(str(secret), "")
        assert "QZXW" not in text and "SECRET" not in text and "root" not in text, text


# ----------------------------------------------------------------------------------------- the server


def test_output_dir_must_be_inside_the_allowed_roots(tmp_path):
    for out, extra in (("/", []), (str(tmp_path / "elsewhere"), ["--allowed_dirs", str(tmp_path / "a")])):
        (tmp_path / "a").mkdir(exist_ok=True)
        r = run_cli("ui", "--port", str(free_port()), "--output_dir", out, *extra, cwd=tmp_path, timeout=120)
        assert_one_error(r, "--output_dir")


def _post_login(url: str, user: str, password: str) -> str:
    data = f"username={user}&password={password}".encode()
    req = urllib.request.Request(url + "login", data=data, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return "; ".join(c.split(";")[0] for c in r.headers.get_all("Set-Cookie"))


def test_long_poll_routes_need_the_login_and_uploads_are_limited(tmp_path):
    with ui_server(tmp_path, "--auth", "ann:s3cret", "--max_upload_mb", "1", host="0.0.0.0") as (url, _):
        for path in ("gradio_api/heartbeat/abcdef", "gradio_api/queue/data?session_hash=abcdef"):
            t0 = time.monotonic()
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(url + path, timeout=20)
            assert e.value.code == 401 and time.monotonic() - t0 < 5
        cookie = _post_login(url, "ann", "s3cret")
        req = urllib.request.Request(url + "gradio_api/heartbeat/abcdef", headers={"Cookie": cookie})
        with urllib.request.urlopen(req, timeout=20) as r:  # logged in: the route answers
            assert r.status == 200
        boundary = "arvcboundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.wav\"\r\n"
                "Content-Type: audio/wav\r\n\r\n").encode() + b"\0" * (2 * 1024 ** 2) + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(url + "gradio_api/upload", data=body, method="POST", headers={
            "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code in (400, 413)


def test_ipv6_loopback_host_serves(tmp_path):
    import socket

    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    port = free_port()
    import subprocess
    import sys

    from _robustness import cli_env

    proc = subprocess.Popen([sys.executable, "-m", "arvc.api.cli", "ui", "--host", "::1", "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=cli_env(), text=True,
                            start_new_session=True)
    try:
        wait_http(f"http://[::1]:{port}/gradio_api/info", proc=proc)
    finally:
        os.killpg(proc.pid, 15)
        out = proc.communicate(timeout=30)[0]
    assert "Traceback" not in out, out



def test_download_fields_are_never_parsed_as_options(ctx):
    """The Downloads tab puts ``--`` before the pretrain name and the URL; names are plain names."""
    import gradio as gr_

    from arvc.api.cli import build_parser
    from arvc.ui.downloads import downloads_tab

    with gr_.Blocks() as demo:
        downloads_tab(ctx)
    fns = {d.get("api_name"): demo.fns[i].fn for i, d in enumerate(demo.config["dependencies"])
           if d.get("api_name")}
    with pytest.raises(gr.Error, match="not a plain folder name"):
        list(fns["download_pretrain"]("../../x", "40000"))
    with pytest.raises(gr.Error):
        list(fns["download_model"]("--catalog_url=http://evil", "", ""))
    list(fns["download_pretrain"]("-h", "40000"))
    argv = ctx.jobs.submitted[-1][1][0]
    args = build_parser("download")[0].parse_args(argv[1:])
    assert args.name == "-h" and args.sample_rate == [40000]
