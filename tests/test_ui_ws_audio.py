"""``/api/ws-audio`` (arvc.ui.ws_audio): the message format, the path checks, and a real ``arvc ui`` server on
loopback (slow): arvc's Python client (``arvc realtime --connect``) and an Applio-format client both get the
converted stream the local block loop gives; without the login the upgrade is refused; 1,000 malformed
messages leave the server serving the next client."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
import soundfile as sf

from arvc.api import ws_protocol as wp
from arvc.api.cli import main as cli_main
from arvc.errors import ArvcError
from arvc.ui.ws_audio import resolve_voice

AUTH = "alice:s3cret-pw"


# ------------------------------------------------------------------------------------- protocol (fast)
def test_applio_settings_map_to_realtime_options():
    s = wp.parse_settings({"type": "init", "chunk_size": 94, "cross_fade_overlap_size": 0.05,
                           "extra_convert_size": 1.0, "model_path": "v.pth", "index_path": "", "f0_method": "pm",
                           "f0_up_key": 3, "index_rate": 0.5, "protect": 0.33, "sid": 0, "silent_threshold": -70,
                           "input_audio_gain": 50, "vad_enabled": True, "kwargs": {"reverb": True}})
    assert s.dialect == "applio" and s.applio_block == 94 * 128 and s.index is None and s.input_gain == 0.5
    assert s.options == {"block_ms": 250, "crossfade_ms": 50, "context_ms": 1000, "sample_rate": 48000,
                         "pitch": 3, "index_rate": 0.5, "protect": 0.33, "speaker_id": 0, "silence_db": -70,
                         "f0_method": "pm"}
    assert "vad_enabled" in s.warnings[0] and "kwargs" in s.warnings[0]
    argv = wp.options_argv(s.options)
    assert argv[argv.index("--block_ms") + 1] == "250" and argv[argv.index("--pitch") + 1] == "3"


@pytest.mark.parametrize("msg, needle", [
    ({"chunk_size": 0, "model_path": "v"}, "chunk_size"),
    ({"chunk_size": "big", "model_path": "v"}, "chunk_size"),
    ({"chunk_size": 90}, "model_path"),
    ({"chunk_size": 90, "model_path": "v", "f0_up_key": float("nan")}, "f0_up_key"),
    ({"type": "settings", "protocol": "arvc", "version": 9, "model": "v"}, "version"),
    ({"type": "settings", "protocol": "arvc", "model": "v", "options": {"simulate": "x"}}, "simulate"),
    ({"type": "settings", "protocol": "arvc", "model": "v", "options": {"pitch": [1]}}, "options.pitch"),
    ({"type": "settings", "protocol": "arvc", "model": ["v"]}, "model"),
    ({"hello": 1}, "first message"),
])
def test_bad_settings_are_one_line_errors(msg, needle):
    with pytest.raises(ArvcError, match=needle) as e:
        wp.parse_settings(msg)
    assert "\n" not in str(e.value)


def test_loads_limits():
    with pytest.raises(ArvcError, match="limit"):
        wp.loads("x" * 100, 50)
    with pytest.raises(ArvcError, match="JSON"):
        wp.loads("{nope", 1000)
    with pytest.raises(ArvcError, match="object"):
        wp.loads("[1]", 1000)
    with pytest.raises(ArvcError, match="JSON"):
        wp.loads("[" * 100_000, 10**6)  # deep nesting: an error, not a RecursionError


def test_client_paths_stay_under_the_roots(tmp_path):
    models, outside = tmp_path / "models", tmp_path / "outside"
    (models / "v").mkdir(parents=True)
    outside.mkdir()
    for p in (models / "v" / "v.pth", models / "v" / "v.index", outside / "x.pth", outside / "x.index"):
        p.write_bytes(b"0")
    voices = [str(models / "v" / "v.pth")]

    def settings(model, index=None, **options):
        return wp.SessionSettings("arvc", model, index, options)

    assert resolve_voice(settings("v"), voices, [models]) == (voices[0], None)  # by name
    assert resolve_voice(settings(voices[0], str(models / "v" / "v.index")), voices, [models])[1] == \
        str(models / "v" / "v.index")
    for bad in (str(outside / "x.pth"), str(models / ".." / "outside" / "x.pth"), "/etc/passwd", "x"):
        with pytest.raises(ArvcError, match="not one of this server's voices"):
            resolve_voice(settings(bad), voices, [models])
    with pytest.raises(ArvcError, match="not under"):
        resolve_voice(settings("v", str(models / "v" / ".." / ".." / "outside" / "x.index")), voices, [models])
    with pytest.raises(ArvcError, match="not under"):
        resolve_voice(settings("v", None, embedder_path="/etc"), voices, [models])
    with pytest.raises(ArvcError, match="no such"):
        resolve_voice(settings("v", str(models / "v" / "v.pth")), voices, [models])  # not an .index


# --------------------------------------------------------------------------------- server (slow)
@pytest.fixture(scope="module")
def served(tmp_path_factory, fixtures_dir):
    """An ``arvc ui --auth`` server on loopback whose models folder holds the fixture voice and embedder."""
    from _ui_server import ui_server

    root = tmp_path_factory.mktemp("ws")
    pt = fixtures_dir / "pipeline_tiny"
    models = root / "models"
    (models / "fixture").mkdir(parents=True)
    shutil.copy(pt / "model.pth", models / "fixture" / "fixture.pth")
    shutil.copy(pt / "model.index", models / "fixture" / "fixture.index")
    shutil.copytree(pt / "embedder", models / "embedder")
    clip = root / "clip.wav"
    x, sr = sf.read(str(pt / "input_long.wav"), dtype="float32")
    sf.write(str(clip), x[: 6 * sr], sr)
    env = {"ARVC_MODELS_DIR": str(models), "ARVC_LOGS_DIR": str(root / "logs")}
    with ui_server(root, "--auth", AUTH, env=env) as (url, proc):
        yield dict(url=url, ws=url.replace("http://", "ws://") + "api/ws-audio", root=root, models=models,  # noqa: C408
                   clip=clip, log=root / "ui.log", proc=proc)


def _flags(served, deterministic: bool = True) -> list[str]:
    return ["--embedder_model", "custom", "--embedder_path", str(served["models"] / "embedder"), "--f0_method", "pm",
            "--pitch", "2", "--index_rate", "0.5", "--protect", "0.33", "--silence_db", "-120", "--block_ms", "250",
            "--context_ms", "1000", "--crossfade_ms", "50", "--sample_rate", "48000",
            *(["--deterministic"] if deterministic else [])]


def _local(served, tmp_path, deterministic: bool = True, name: str = "local.wav") -> np.ndarray:
    """``arvc realtime --simulate`` of the clip here, with the settings the remote tests ask for."""
    out = tmp_path / name
    m = served["models"] / "fixture"
    assert cli_main(["realtime", "-m", str(m / "fixture.pth"), "--index", str(m / "fixture.index"),
                     *_flags(served, deterministic), "--simulate", str(served["clip"]), str(out), "--pace", "fast"]) == 0
    return sf.read(str(out), dtype="float32")[0]


def _dist(a: np.ndarray, b: np.ndarray, sr: int = 48000) -> float:
    from test_realtime import per_second

    return float(np.mean(per_second(a, b, sr)[0]))


def _cookie(served) -> str:
    from arvc.api.ws_client import login_cookie

    return login_cookie(served["ws"], *AUTH.split(":"))


@pytest.mark.slow
def test_python_client_gets_the_local_loops_output(served, tmp_path, capsys):
    ref = _local(served, tmp_path)
    out = tmp_path / "remote.wav"
    rc = cli_main(["realtime", "--connect", served["ws"], "--connect_auth", AUTH, "-m", "fixture",
                   "--index", str(served["models"] / "fixture" / "fixture.index"), *_flags(served),
                   "--simulate", str(served["clip"]), str(out), "--pace", "fast"])
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    assert "network round trip" in stdout and "summary: blocks" in stdout
    y, sr = sf.read(str(out), dtype="float32")
    assert sr == 48000 and len(y) == len(ref)
    d, control = _dist(ref, y), _dist(ref[24000:], y)
    print(f"remote vs local --simulate: log-mel {d:.3f} dB (0.5 s misaligned control {control:.2f} dB)")
    assert d < 0.5 and control > d + 1.0


@pytest.mark.slow
def test_applio_format_client_gets_a_reply_per_block(served, tmp_path):
    from websockets.sync.client import connect

    # Applio's settings have no "deterministic": compare with two (random) local runs, as the browser test does
    ref, ref2 = _local(served, tmp_path, False, "a.wav"), _local(served, tmp_path, False, "b.wav")
    x = sf.read(str(served["clip"]), dtype="float32")[0]
    from arvc.audio.io import resample

    x = resample(x, 16000, 48000).astype(np.float32)
    chunk = 94  # 12,032 samples: not a multiple of the loop's 250 ms block (12,000)
    block = chunk * 128
    settings = {"type": "init", "chunk_size": chunk, "cross_fade_overlap_size": 0.05, "extra_convert_size": 1.0,
                "model_path": "fixture", "index_path": str(served["models"] / "fixture" / "fixture.index"),
                "f0_method": "pm", "embedder_model": "custom",
                "embedder_model_custom": str(served["models"] / "embedder"), "silent_threshold": -120, "sid": 0,
                "input_audio_gain": 100, "f0_up_key": 2, "index_rate": 0.5, "protect": 0.33, "volume_envelope": 1,
                "vad_enabled": False, "autotune": False, "clean_audio": False, "post_process": False, "kwargs": {}}
    pad = np.concatenate([x, np.zeros(3 * block, np.float32)])
    replies, latencies = [], []
    with connect(served["ws"], additional_headers={"Cookie": _cookie(served)}, max_size=2**24) as ws:
        ws.send(json.dumps(settings))
        # replies are silence until the model is loaded: a live client does not care, this one waits
        while json.loads(ws.recv(timeout=120))["type"] != "ready":
            pass
        for a in range(0, len(pad) - block + 1, block):
            ws.send(pad[a : a + block].tobytes())
            while True:  # Applio's client: text messages are status, the binary is the block
                msg = ws.recv(timeout=120)
                if isinstance(msg, bytes):
                    replies.append(np.frombuffer(msg, np.float32))
                    break
                d = json.loads(msg)
                assert d["type"] != "error", d
                if d["type"] == "latency":
                    latencies.append(d)
    assert all(len(r) == block for r in replies) and len(latencies) == len(replies)
    assert all(isinstance(d["value"], float) and d["volume"] >= 0 for d in latencies)
    y = np.concatenate(replies)
    assert np.abs(y).max() > 0.05
    # the stream is the local loop's, behind by a fixed offset (the replies' lead + the loop's delay)
    best = latencies[-1]["offset_samples"]
    d, runs = _dist(ref, y[best : best + len(ref)]), _dist(ref, ref2)
    print(f"Applio client: offset {best} samples ({best / 48:.0f} ms), log-mel vs local {d:.3f} dB (two local runs "
          f"differ by {runs:.3f} dB), compute per block {np.median([v['value'] for v in latencies[3:]]):.0f} ms")
    assert d < runs + 1.0 and best <= block + 960 + 4000
    assert len(y) - best >= len(ref)  # the whole clip came back


@pytest.mark.slow
def test_auth_and_origin_refuse_the_upgrade(served):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    for headers in ({}, {"Cookie": "access-token-unsecure-x=forged"},
                    {"Cookie": _cookie(served), "Origin": "http://evil.example"}):
        with pytest.raises(InvalidStatus) as e:
            connect(served["ws"], additional_headers=headers, open_timeout=30)
        assert e.value.response.status_code == 403
    with connect(served["ws"], additional_headers={"Cookie": _cookie(served), "Origin": served["url"].rstrip("/")},
                 open_timeout=30) as ws:
        ws.send(json.dumps({"type": "ping"}))  # before settings: an error, and the connection stays open
        assert json.loads(ws.recv(timeout=30))["type"] == "error"


def _malformed(k: int, n_big: int):
    kinds = [b"abc", np.full(480, np.nan, np.float32).tobytes(), "{nope", "[1, 2]", '{"type": "bogus"}',
             '{"type": "settings", "protocol": "arvc", "model": "fixture"}', "x" * 70_000, '{"type": 7}']
    if k < n_big:
        return np.zeros(48000 * 3, np.float32).tobytes()  # over the 2 s message limit
    return kinds[k % len(kinds)]


@pytest.mark.slow
def test_malformed_messages_leave_the_server_serving(served, tmp_path):
    from websockets.sync.client import connect

    from arvc.api.ws_client import stream

    cookie = {"Cookie": _cookie(served)}
    # bad first messages, each on its own connection: an error each, nothing loaded
    for first in ("{", '{"chunk_size": 90, "model_path": "../../etc/passwd"}',
                  '{"type": "settings", "protocol": "arvc", "model": "fixture", "index": "/etc/hostname"}',
                  '{"type": "settings", "protocol": "arvc", "model": "fixture", "options": {"block_ms": 255}}'):
        with connect(served["ws"], additional_headers=cookie, max_size=2**24) as ws:
            ws.send(first)
            d = json.loads(ws.recv(timeout=30))
            assert d["type"] == "error" and not d["fatal"] and "\n" not in d["message"], d
    # a session that gets 1,000 malformed messages: an error for each, and it still converts afterwards
    opts = {"f0_method": "pm", "embedder_model": "custom", "embedder_path": str(served["models"] / "embedder")}
    with connect(served["ws"], additional_headers=cookie, max_size=2**24) as ws:
        ws.send(json.dumps({"type": "settings", "protocol": "arvc", "model": "fixture", "options": opts}))
        while json.loads(ws.recv(timeout=120))["type"] != "ready":
            pass
        errors = 0
        for k in range(1000):
            ws.send(_malformed(k, 5))
            d = json.loads(ws.recv(timeout=30))
            errors += d["type"] == "error" and not d["fatal"]
        assert errors == 1000
        time.sleep(3)  # the flood emptied the rate limiter's bucket: let it refill
        ws.send(np.zeros(12000, np.float32).tobytes())
        while isinstance(msg := ws.recv(timeout=60), bytes) or json.loads(msg)["type"] == "pong":
            pass
        assert json.loads(msg)["type"] == "stats", msg
    # the next client is served
    x = sf.read(str(served["clip"]), dtype="float32")[0][: 16000 * 2]
    r = stream(served["ws"], "fixture", x, options=opts, sample_rate=16000, auth=AUTH)
    assert len(r.output) == len(x) and np.abs(r.output).max() > 0.05
    log = served["log"].read_text()
    assert "Traceback" not in log, log[-3000:]


# --------------------------------------------------------------------------- limits, in process (fast)
def _app(tmp_path, **limits):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from arvc.ui.ws_audio import WsAudio, WsLimits

    server = WsAudio(list, lambda: [tmp_path], WsLimits(**limits))
    return TestClient(Starlette(routes=[server.route()])), server


def test_session_limit_answers_busy_and_frees_the_slot(tmp_path):
    client, server = _app(tmp_path, max_sessions=1)
    with client.websocket_connect(wp.PATH) as first:
        with client.websocket_connect(wp.PATH) as second:
            d = json.loads(second.receive_text())
            assert d["type"] == "error" and d["fatal"] and "busy" in d["message"]
        first.send_text("{")
        assert json.loads(first.receive_text())["type"] == "error"
    assert server.active == 0
    with client.websocket_connect(wp.PATH) as third:  # the slot is free again
        third.send_text('{"chunk_size": 90, "model_path": "nothing"}')
        assert "not one of this server's voices" in json.loads(third.receive_text())["message"]


def test_error_limit_closes_cleanly(tmp_path):
    from starlette.websockets import WebSocketDisconnect

    client, server = _app(tmp_path, max_errors=5)
    with client.websocket_connect(wp.PATH) as ws:
        for _ in range(5):
            ws.send_bytes(b"abc")
            assert not json.loads(ws.receive_text())["fatal"]
        ws.send_bytes(b"abc")
        d = json.loads(ws.receive_text())
        assert d["fatal"] and "bad messages" in d["message"]
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_text()
        assert e.value.code == 1008
    assert server.active == 0
