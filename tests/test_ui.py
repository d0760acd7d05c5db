"""Web UI: options defined once, exposure rules, jobs, and the real server driven with gradio_client."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _ui_server import ROOT, ui_server

pytest.importorskip("gradio")


# ---------------------------------------------------------------------------------------- options
def test_cli_flags_and_config_defaults_come_from_one_table():
    import dataclasses

    from arvc.api.cli import build_parser
    from arvc.api.options import CREATE_INDEX, EXTRACT, INFER, PREPROCESS, REALTIME
    from arvc.api.options_train import TRAIN

    for table in (INFER, PREPROCESS, EXTRACT, CREATE_INDEX, TRAIN, REALTIME):
        parser, _ = build_parser(table.command)
        required = {"infer": ["-m", "m.pth", "-i", "x.wav"], "realtime": []}.get(table.command, ["name"])
        parsed = vars(parser.parse_args(required))
        fields = {f.name: f for f in dataclasses.fields(table.config)} if table.config else {}
        for opt in table.options:
            if opt.positional or opt.required:
                continue
            assert parsed[opt.dest] == opt.default_from(table.config), (table.command, opt.dest)
            f = fields.get(opt.config_field() or "")
            if f is not None and not opt.own_default and f.default is not dataclasses.MISSING:
                assert parsed[opt.dest] == f.default, (table.command, opt.dest)


def test_to_argv_round_trips_through_the_parser():
    from arvc.api.cli import build_parser
    from arvc.api.options_train import TRAIN

    values = {"model_name": "voice", "epochs": 7.0, "fast_train": True, "multiscale_loss": False, "optimizer": "RAdam",
              "c_mel": 30.0, "max_steps": None, "author": "", "vocoder": "RefineGAN"}
    argv = TRAIN.to_argv(values)
    assert "--max_steps" not in argv and "--author" not in argv
    args = build_parser("train")[0].parse_args(argv)
    assert (args.model_name, args.epochs, args.fast_train, args.multiscale_loss, args.optimizer, args.c_mel,
            args.vocoder) == ("voice", 7, True, False, "RAdam", 30.0, "RefineGAN")


def test_every_ui_option_is_a_flag_with_help():
    from arvc.api.options import CREATE_INDEX, EXTRACT, INFER, PREPROCESS, REALTIME
    from arvc.api.options_train import TRAIN

    for table in (INFER, PREPROCESS, EXTRACT, CREATE_INDEX, TRAIN, REALTIME):
        for opt in table.options:
            assert opt.help, (table.command, opt.dest)
            assert opt.type in (bool, int, float, str)


# --------------------------------------------------------------------------------- no torch in ui
def test_ui_module_never_imports_torch_or_models():
    ui = ROOT / "arvc" / "ui"
    banned = re.compile(r"^\s*(import|from)\s+(torch|arvc\.(models|inference|training|features|index|formats|audio)"
                        r"|arvc\.stages\.(train|infer))\b", re.M)
    offenders = [f"{p.name}: {m.group(0).strip()}" for p in ui.rglob("*.py") for m in banned.finditer(p.read_text())]
    assert not offenders, offenders
    code = ("import sys; import arvc.ui.app, arvc.ui.server, arvc.api.commands.ui; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('arvc.models', 'arvc.training.loop', "
            "'arvc.inference.pipeline'))]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout + r.stderr


# ----------------------------------------------------------------------------------- exposure
def _cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arvc.api.cli", *argv], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("argv", [["--host", "0.0.0.0"], ["--share"]])
def test_exposed_without_login_exits_1_with_one_line(argv):
    r = _cli("ui", *argv, "--port", "9")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--auth" in lines[0], r.stderr


def test_bad_auth_file_is_named(tmp_path):
    bad = tmp_path / "logins.txt"
    bad.write_text("no-colon-here\n")
    r = _cli("ui", "--host", "0.0.0.0", "--auth_file", str(bad))
    assert r.returncode == 1 and str(bad) in r.stderr and r.stderr.count("\n") == 1


def test_auth_refuses_requests_without_credentials(tmp_path):
    with ui_server(tmp_path, "--auth", "ann:s3cret", host="0.0.0.0") as (url, _):
        for path in ("config", "gradio_api/info"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(url + path, timeout=10)
            assert e.value.code == 401
        from gradio_client import Client

        with pytest.raises(Exception):
            Client(url, auth=("ann", "wrong"), verbose=False)
        client = Client(url, auth=("ann", "s3cret"), verbose=False)
        endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert "/convert" in endpoints and "/realtime_start" in endpoints and "/realtime_stop" in endpoints


# --------------------------------------------------------------------------------------- jobs
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as ended
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_stop_ends_the_job_process_tree_only(tmp_path):
    from arvc.errors import ArvcError
    from arvc.ui.jobs import JobManager

    bystander = subprocess.Popen(["sleep", "60"])
    pidfile = tmp_path / "child.pid"
    script = (f"import subprocess, time; c = subprocess.Popen(['sleep', '60']); open({str(pidfile)!r}, 'w')"
              ".write(str(c.pid)); print('started', flush=True); time.sleep(60)")
    jobs = JobManager()
    try:
        job = jobs.submit("train", "sleeper", [["-c", script]], module="")
        with pytest.raises(ArvcError, match="already going"):
            jobs.submit("train", "second", [["-c", "pass"]], module="")
        deadline = time.time() + 20
        while not pidfile.exists() and time.time() < deadline:
            time.sleep(0.1)
        child = int(pidfile.read_text())
        parent = job.pid
        assert _alive(child) and _alive(parent)
        jobs.stop(job.id, grace=5)
        time.sleep(0.3)
        assert job.state == "stopped"
        assert not _alive(parent) and not _alive(child)
        assert _alive(bystander.pid)
        assert "started" in job.log()
        again = jobs.submit("train", "after stop", [["-c", "print('ok')"]], module="")
        assert again.done.wait(20) and again.state == "done"
    finally:
        bystander.kill()
        bystander.wait()


def test_conversions_queue_one_after_another():
    from arvc.ui.jobs import JobManager

    jobs = JobManager()
    code = "import time; print(time.time(), flush=True); time.sleep(0.5); print(time.time(), flush=True)"
    a = jobs.submit("convert", "a", [["-c", code]], module="")
    b = jobs.submit("convert", "b", [["-c", code]], module="")
    assert b.done.wait(30) and a.finished
    a_end = float([ln for ln in a.lines if not ln.startswith("$")][-1])
    b_start = float([ln for ln in b.lines if not ln.startswith("$")][0])
    assert b_start >= a_end


# ------------------------------------------------------------------------------ gradio_client
@contextmanager
def _file_server(folder: Path):
    """A loopback HTTP server over ``folder`` (stands in for a model host)."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _fixture_values(pt: Path) -> dict[str, object]:
    return {"Pitch": 2, "Pitch method": "pm", "Index rate": 0.5, "Rms mix rate": 0.5, "Protect": 0.33,
            "Embedder model": "custom", "Embedder path": str(pt / "embedder"), "Seed": 7, "Precision": "fp32",
            "Format": "wav"}


def _call_args(client, endpoint: str, by_label: dict[str, object]) -> list[object]:
    """Positional arguments of ``endpoint``: the given values by control label, the UI's defaults elsewhere."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"][endpoint]["parameters"]
    out = []
    for p in params:
        if p["label"] in by_label:
            out.append(by_label[p["label"]])
        else:
            out.append(p.get("parameter_default") if p.get("parameter_has_default") else None)
    return out


def test_convert_endpoint_matches_arvc_infer_bitwise(tmp_path, fixtures_dir):
    from gradio_client import Client, handle_file

    pt = fixtures_dir / "pipeline_tiny"
    values = _fixture_values(pt)
    src = tmp_path / "speech.wav"
    src.write_bytes((pt / "input_short.wav").read_bytes())
    corrupt = tmp_path / "broken_upload.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" + os.urandom(200))

    cli_out = tmp_path / "cli" / "speech.wav"
    r = _cli("infer", "-m", str(pt / "model.pth"), "--index", str(pt / "model.index"), "-i", str(src), "-o",
             str(cli_out), "--pitch", "2", "--f0_method", "pm", "--index_rate", "0.5", "--rms_mix_rate", "0.5",
             "--protect", "0.33", "--embedder_model", "custom", "--embedder_path", str(pt / "embedder"),
             "--seed", "7", "--precision", "fp32", "--format", "wav", timeout=300)
    assert r.returncode == 0, r.stderr

    with ui_server(tmp_path) as (url, _):
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        labels = {"Voice": str(pt / "model.pth"), "Index": str(pt / "model.index"), **values}
        t0 = time.time()
        files, audio, status = client.predict(*_call_args(client, "/convert", {
            **labels, "Audio files": [handle_file(str(corrupt)), handle_file(str(src))]}), api_name="/convert")
        print(f"batch of 2 (one corrupt) through the UI: {time.time() - t0:.1f} s")
        assert "broken_upload.wav" in status and "done with 1 failure" in status, status
        assert len(files) == 1 and Path(files[0]).name == "speech.wav"
        assert Path(files[0]).read_bytes() == cli_out.read_bytes()
        assert audio

        # Model tools tab -> `arvc model-info`
        info = client.predict(str(pt / "model.pth"), api_name="/model_info")
        assert "40000 Hz" in info and "v2 (content dim 768)" in info, info

        # Downloads tab -> `arvc download model` (the model library): checksum checked, where it went is shown
        import hashlib

        digest = hashlib.sha256((pt / "model.pth").read_bytes()).hexdigest()
        with _file_server(pt) as base:
            log = client.predict(f"{base}/model.pth", "fetched", "0" * 64, api_name="/download_model")
            assert "failed" in log and "sha256" in log.lower(), log
            log = client.predict(f"{base}/model.pth", "fetched", digest, api_name="/download_model")
            assert ": done" in log and "fetched" in log, log
        assert any("fetched" in p.parts for p in Path(os.environ["ARVC_MODELS_DIR"]).rglob("*.pth"))
        # Downloads tab -> `arvc download f0` (offline here: the job fails with one line naming the file)
        log = client.predict(["penn"], api_name="/download_f0")
        assert "failed" in log and "fcnf0++.pt" in log, log

        files2, _, status2 = client.predict(*_call_args(client, "/convert", {
            **labels, "Audio files": [handle_file(str(src))]}), api_name="/convert")
        assert "1 converted, 0 failed" in status2, status2
        assert Path(files2[0]).read_bytes() == cli_out.read_bytes()
    y, sr = sf.read(str(cli_out))
    assert sr == 40000 and np.isfinite(y).all() and np.abs(y).max() > 1e-3


def test_option_choice_lists_match_the_registries():
    """The torch-free choice lists the UI shows are the registries' names (one fact, checked)."""
    from arvc.api import options
    from arvc.features.embedders import embedder_names
    from arvc.features.f0 import f0_method_names

    assert set(options.F0_METHODS) == {n for n in f0_method_names() if not n.startswith("hybrid")}
    assert set(options.EMBEDDERS) == set(embedder_names())


# ------------------------------------------------------------------------------------- Realtime tab
class _FakeSoundDevice:
    """Stands in for ``sounddevice``: the given ``(name, inputs, outputs)`` devices; no stream is opened."""

    def __init__(self, devices):
        import types

        self.devices = [dict(name=n, max_input_channels=i, max_output_channels=o, default_samplerate=48000.0)
                        for n, i, o in devices]
        ins = [k for k, d in enumerate(self.devices) if d["max_input_channels"]]
        outs = [k for k, d in enumerate(self.devices) if d["max_output_channels"]]
        self.default = types.SimpleNamespace(device=(ins[0] if ins else -1, outs[0] if outs else -1))

    def query_devices(self):
        return self.devices


@pytest.fixture
def realtime_ui(tmp_path):
    """``(tab, ctx)``: the Realtime tab built in a Blocks of its own; its session is stopped afterwards."""
    import gradio as gr

    from arvc.ui.app import UIContext
    from arvc.ui.jobs import JobManager
    from arvc.ui.realtime_tab import realtime_tab

    from conftest import ASSETS, SHARED

    ctx = UIContext(output_dir=tmp_path / "ui_out", jobs=JobManager(), roots=(tmp_path, SHARED, ASSETS))

    def build():
        with gr.Blocks():
            return realtime_tab(ctx)

    yield build, ctx
    ctx.realtime.stop(timeout=30)


def _tab_values(tab, model: str, index: str = "", simulate: str | None = None, **options) -> list:
    """The arguments of ``tab.start`` in order: the fixed fields, then each control's value (the tab's default
    unless given by option name)."""
    raw = [options.pop(dest, comp.value) for dest, comp in tab.controls.components.items()]
    assert not options, f"not controls of the tab: {sorted(options)}"
    return [model, index, tab.input_device.value, tab.output_device.value, simulate is not None, simulate, *raw]


def _fixture_realtime_options(pt: Path, pace: str) -> dict[str, object]:
    return {"embedder_model": "custom", "embedder_path": str(pt / "embedder"), "f0_method": "fcpe", "pitch": 2,
            "index_rate": 0.5, "precision": "fp32", "deterministic": True, "pace": pace}


def test_realtime_tab_exists_with_its_controls(tmp_path):
    import gradio as gr

    from arvc.api.options import REALTIME
    from arvc.ui.app import UIContext, build_app
    from arvc.ui.jobs import JobManager

    demo = build_app(UIContext(output_dir=tmp_path, jobs=JobManager()))
    blocks = list(demo.blocks.values())
    assert any(isinstance(b, gr.Tab) and b.label == "Realtime" for b in blocks)
    ids = {b.elem_id for b in blocks if getattr(b, "elem_id", None)}
    for elem in ("model", "index", "input-device", "output-device", "devices", "simulate", "sim-input", "start",
                 "stop", "status", "sim-output"):
        assert f"realtime-{elem}" in ids, elem
    live = ("pitch", "f0_method", "index_rate", "protect", "rms_mix_rate", "speaker_id", "precision", "block_ms",
            "crossfade_ms", "context_ms", "silence_db", "noise_gate_db", "pace")
    for dest in live:
        assert f"realtime-{dest}" in ids, dest
    shown = {f"realtime-{o.dest}" for o in REALTIME.options if o.ui}
    assert shown <= ids  # every option the table marks for the UI (the CLI's flags) is a control
    assert "realtime-model" in ids and "realtime-list_devices" not in ids


def test_realtime_tab_without_sound_devices_says_so(realtime_ui, monkeypatch, fixtures_dir):
    import sys

    build, _ = realtime_ui
    monkeypatch.setitem(sys.modules, "sounddevice", _FakeSoundDevice([]))
    tab = build()
    assert "no audio devices found" in tab.devices_note.value
    assert tab.input_device.choices == [] and tab.simulate.value is True  # simulate is ticked for you
    pt = fixtures_dir / "pipeline_tiny"
    msg = tab.start(*_tab_values(tab, str(pt / "model.pth")))  # live, with no device
    assert msg.startswith("error: ") and "no audio devices found" in msg and "\n" not in msg, msg
    # the same answer when PortAudio itself is missing
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import sounddevice -> ImportError
    assert "no audio devices found" in tab.refresh_devices()[2]


def test_realtime_tab_bad_setup_is_one_line(realtime_ui, monkeypatch, fixtures_dir, tmp_path):
    import sys

    build, ctx = realtime_ui
    monkeypatch.setitem(sys.modules, "sounddevice", _FakeSoundDevice([("mic", 1, 0), ("speaker", 0, 2)]))
    tab = build()
    assert [c[0] for c in tab.input_device.choices] == ["0: mic"] and tab.output_device.value == "1"
    assert tab.simulate.value is False
    pt = fixtures_dir / "pipeline_tiny"
    model = str(pt / "model.pth")
    cases = {
        "choose a model": _tab_values(tab, ""),
        "no/such.pth: model file not found": _tab_values(tab, str(tmp_path / "no" / "such.pth")),
        "outside the allowed folders": _tab_values(tab, "/etc/passwd"),
        "--input_device 7: no such device": [model, "", "7", "1", False, None, *_tab_values(tab, model)[6:]],
        "'mic' has no output channels": [model, "", "0", "0", False, None, *_tab_values(tab, model)[6:]],
        "--block_ms must be": _tab_values(tab, model, block_ms=255),
        "upload an input file": [*_tab_values(tab, model)[:4], True, None, *_tab_values(tab, model)[6:]],
        "missing.wav: file not found": _tab_values(tab, model, simulate=str(tmp_path / "missing.wav")),
        "--noise_gate_db": _tab_values(tab, model, noise_gate_db="loud"),
    }
    for expected, values in cases.items():
        msg = tab.start(*values)
        assert msg.startswith("error: ") and expected in msg and "\n" not in msg, (expected, msg)
    assert not ctx.realtime.running and ctx.realtime.state == "idle"


def test_realtime_tab_simulates_a_file_through_the_handler(realtime_ui, fixtures_dir, one_thread):
    pt = fixtures_dir / "pipeline_tiny"
    build, ctx = realtime_ui
    tab = build()
    src = pt / "input_short.wav"
    opts = _fixture_realtime_options(pt, "fast")
    msg = tab.start(*_tab_values(tab, str(pt / "model.pth"), str(pt / "model.index"), simulate=str(src),
                                 noise_gate_db="-50", **opts))
    assert not msg.startswith("error"), msg
    assert ctx.realtime.wait(180), "the simulation did not finish"
    status, out, shown = tab.view(None)
    print(status)
    assert ctx.realtime.state == "done", status
    assert "algorithmic latency 310 ms" in status and "p50" in status and "p95" in status and "underruns" in status
    assert out == shown and Path(out).is_file()
    y, sr = sf.read(out)
    x_seconds = sf.info(str(src)).duration
    assert np.isfinite(y).all() and np.abs(y).max() > 1e-3
    assert abs(len(y) / sr - x_seconds) <= 0.25  # ± one 250 ms block
    assert tab.view(shown)[2] == shown  # the output is sent once


def test_realtime_tab_refuses_a_second_start_and_stops(realtime_ui, fixtures_dir, one_thread):
    pt = fixtures_dir / "pipeline_tiny"
    build, ctx = realtime_ui
    tab = build()
    opts = _fixture_realtime_options(pt, "realtime")  # 45 s of input in real time: runs until stopped
    values = _tab_values(tab, str(pt / "model.pth"), simulate=str(pt / "input_long.wav"), **opts)
    assert not tab.start(*values).startswith("error")
    deadline = time.time() + 120
    while ctx.realtime.stats is None and ctx.realtime.running and time.time() < deadline:
        time.sleep(0.2)
    assert ctx.realtime.running and ctx.realtime.state == "running", ctx.realtime.status()
    assert "p50" in ctx.realtime.status()  # the periodic report arrived
    msg = tab.start(*values)
    assert msg.startswith("error: ") and "already running" in msg and "\n" not in msg, msg
    t0 = time.time()
    status = tab.stop()
    print(f"stopped in {time.time() - t0:.2f} s: {status}")
    assert not ctx.realtime.running and ctx.realtime.state == "stopped", status
    assert "no output written" in status
    assert not list((ctx.output_dir / "realtime").rglob("*.wav"))
    assert tab.stop().startswith("nothing is running")
    assert "choose a model" in tab.start(*[None, *values[1:]])  # a new start is not refused as running


# ------------------------------------------------------------------------------------ safe to expose
def test_jobs_never_import_modules_planted_in_their_working_folder(tmp_path, fixtures_dir):
    from arvc.ui.jobs import JobManager

    work = tmp_path / "work"
    work.mkdir()
    marker = tmp_path / "PLANTED"
    for name in ("onnx", "torch", "arvc"):
        (work / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name} ')\nraise SystemExit(3)\n")
    model = fixtures_dir / "pipeline_tiny" / "model.pth"
    # the planted files do run when a job is started the old way (``python -m`` in that folder)
    old = subprocess.run([sys.executable, "-m", "arvc.api.cli", "model-info", str(model)], cwd=work,
                         capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert marker.is_file() and old.returncode != 0
    marker.unlink()
    jobs = JobManager(workdir=work)
    job = jobs.submit("tool", "export", [["export-onnx", str(model), "-o", str(tmp_path / "m.onnx")]])
    assert job.done.wait(300) and job.state == "done", job.log()
    assert not marker.exists() and (tmp_path / "m.onnx").stat().st_size > 1000
    assert job.artifacts() or job.of_type("run_end")  # the event stream still works in isolated mode


def _login(url: str, user: str, password: str) -> int:
    req = urllib.request.Request(url + "login", data=f"username={user}&password={password}".encode(),
                                 method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _evil_zip(folder: Path, pt: Path) -> Path:
    import zipfile

    import torch

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {folder / 'PWNED'}",))

    torch.save({"weight": Evil()}, folder / "evil.pth")
    out = folder / "evil.zip"
    with zipfile.ZipFile(out, "w") as z:
        z.write(folder / "evil.pth", "evil.pth")
        z.write(pt / "model.index", "evil.index")
    return out


@pytest.mark.slow
def test_auth_file_voice_upload_tts_cover_and_login_throttling(tmp_path, fixtures_dir):
    import zipfile

    from gradio_client import Client, handle_file

    pt = fixtures_dir / "pipeline_tiny"
    logins = tmp_path / "logins.txt"
    logins.write_text("# the UI's users\nann:s3cret\n")
    good = tmp_path / "voice.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.write(pt / "model.pth", "uploaded/uploaded.pth")
        z.write(pt / "model.index", "uploaded/added_uploaded.index")
    evil = _evil_zip(tmp_path, pt)
    with ui_server(tmp_path, "--auth_file", str(logins)) as (url, _):
        client = Client(url, auth=("ann", "s3cret"), verbose=False, download_files=str(tmp_path / "dl"))
        message, listed = client.predict(handle_file(str(good)), "", None, api_name="/add_voice")
        voice = listed["value"]  # the Voice list, refreshed with the new voice chosen
        assert "uploaded" in message and Path(voice).is_file() and ["uploaded", voice] in listed["choices"], listed
        voices = Path(os.environ["ARVC_MODELS_DIR"]) / "voices"
        assert (voices / "uploaded" / "uploaded.index").is_file()
        with pytest.raises(Exception, match="pickle would import or run code"):
            client.predict(handle_file(str(evil)), "evil", None, api_name="/add_voice")
        assert not (tmp_path / "PWNED").exists() and not (voices / "evil").exists()

        # TTS tab: espeak-ng speech converted by the uploaded voice
        args = _call_args(client, "/tts", {"Voice": voice, "Text": "Hello from the web page.", "Pitch method": "pm",
                                           "Embedder model": "custom", "Embedder path": str(pt / "embedder"),
                                           "TTS engine": "espeak"})
        spoken, plain, status = client.predict(*args, api_name="/tts")
        y, sr = sf.read(spoken)
        assert sr == 40000 and len(y) / sr > 0.5 and np.abs(y).max() > 1e-3, status
        assert abs(len(y) / sr - sf.info(plain).duration) < 0.05

        # Cover tab with the stems given: the converted vocal mixed over the instrumental, every stem playable
        vocals = pt / "input_short.wav"
        y, sr = sf.read(str(vocals))
        instrumental = tmp_path / "instrumental.wav"
        sf.write(str(instrumental), 0.1 * np.sin(2 * np.pi * 220 * np.arange(len(y)) / sr), sr)
        args = _call_args(client, "/cover", {"Voice": voice, "or its vocals": handle_file(str(vocals)),
                                             "and its instrumental": handle_file(str(instrumental)),
                                             "Pitch method": "pm", "Embedder model": "custom",
                                             "Embedder path": str(pt / "embedder")})
        status, mix, converted, _, inst = client.predict(*args, api_name="/cover")
        for stem in (mix, converted, inst):
            a, rate = sf.read(stem)
            assert abs(len(a) / rate - len(y) / sr) < 0.05 and np.abs(a).max() > 1e-3, (stem, status)

        # five wrong passwords in a minute are answered, the sixth is refused with 429, then even the right one
        codes = [_login(url, "ann", f"wrong{i}") for i in range(6)]
        assert codes[:5] == [400] * 5 and codes[5] == 429, codes
        assert _login(url, "ann", "s3cret") == 429


def test_credentials_from_the_environment(tmp_path):
    with ui_server(tmp_path, host="0.0.0.0", env={"ARVC_UI_AUTH": "bob:pa55"}) as (url, _):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "config", timeout=10)
        assert e.value.code == 401
        assert _login(url, "bob", "wrong") == 400 and _login(url, "bob", "pa55") == 200
