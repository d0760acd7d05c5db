"""``/api/ws-audio`` on the web UI's server: realtime conversion of a client's audio over a WebSocket.

The message format (Applio's and arvc's own) is :mod:`arvc.api.ws_protocol`. Each connection is one
session: its own :class:`~arvc.inference.realtime.BlockConverter` (the same block loop as ``arvc realtime``),
loaded and run on one thread of its own (torch's thread pool belongs to the thread that first used it, see
:class:`~arvc.inference.realtime_stream.StreamRunner`), while the event loop only receives, checks and sends.

The upgrade needs the page's login when the UI has one (Gradio's session cookie), and an ``Origin`` that is
the server's own when a browser sends one. Limits (:class:`WsLimits`) bound sessions, message sizes and rates;
a bad message gets an ``error`` message and the session goes on, or closes cleanly when it cannot.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from arvc.api import ws_protocol as wp
from arvc.api.options import REALTIME
from arvc.constants import SR_16K
from arvc.errors import ArvcError

log = logging.getLogger(__name__)
_CLOSE = object()  # worker -> sender: close the connection


@dataclass
class WsLimits:
    """Per-server and per-connection bounds. Rates are a token bucket (``rate`` per second, ``burst``)."""

    max_sessions: int = 2
    max_text_bytes: int = 64 * 1024
    max_message_seconds: float = 2.0  # of audio in one binary message
    rate: float = 200.0
    burst: int = 400
    max_errors: int = 5000  # bad messages in one connection before it is closed
    settings_timeout: float = 60.0
    idle_timeout: float = 300.0
    queue_seconds: float = 4.0  # input waiting for the converter; more is dropped


class _Bucket:
    def __init__(self, rate: float, burst: int):
        self.rate, self.burst, self.tokens, self.t = rate, burst, float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# ------------------------------------------------------------------------------------------- access
async def refusal(ws) -> str | None:
    """Why this upgrade is refused (None: accepted): no login when the UI has one, or a foreign ``Origin``."""
    app = ws.scope.get("app")
    dependency = getattr(app, "auth_dependency", None)
    if dependency is not None:
        user = dependency(ws)
        if inspect.isawaitable(user):
            user = await user
        if user is None:
            return "not logged in"
    elif getattr(app, "auth", None) is not None:
        cid = getattr(app, "cookie_id", "")
        token = ws.cookies.get(f"access-token-{cid}") or ws.cookies.get(f"access-token-unsecure-{cid}")
        if token is None or token not in getattr(app, "tokens", {}):
            return "not logged in"
    origin = ws.headers.get("origin")
    if origin and origin != "null":
        hosts = {ws.headers.get("host", ""), *ws.headers.get("x-forwarded-host", "").split(",")}
        if urlsplit(origin).netloc.lower() not in {h.strip().lower() for h in hosts if h.strip()}:
            return f"origin {origin} is not this server"
    return None


def allowed_path(value: str, roots: list[Path], kind: str, suffix: str | None) -> str:
    """``value`` when it names an existing file (``suffix``) or folder (``suffix=None``) under one of ``roots``;
    else :class:`ArvcError`. Paths are normalized (``..`` removed) before the check, links are the server's."""
    path = os.path.normpath(os.path.abspath(os.path.expanduser(value)))
    inside = any(os.path.commonpath([path, str(r)]) == str(r) for r in roots)
    if not inside:
        raise ArvcError(f"{kind} {value!r} is not under the server's models, logs or outputs folders")
    ok = (os.path.isfile(path) and path.lower().endswith(suffix)) if suffix else os.path.isdir(path)
    if not ok:
        raise ArvcError(f"{kind} {value!r}: no such {'*' + suffix + ' file' if suffix else 'folder'} on the server")
    return path


def resolve_voice(settings: wp.SessionSettings, voices: list[str], roots: list[Path]) -> tuple[str, str | None]:
    """(model, index) paths on the server for the client's names; untrusted paths outside ``roots`` refused.

    A model is one of ``voices`` (by path, file name or stem) or a ``.pth`` under ``roots``."""
    roots = [Path(os.path.normpath(os.path.abspath(r))) for r in roots]
    name = settings.model
    by_name = [v for v in voices if name in (v, Path(v).name, Path(v).stem)]
    if by_name:
        model = by_name[0]
    else:
        try:
            model = allowed_path(name, roots, "model", ".pth")
        except ArvcError:
            names = ", ".join(sorted({Path(v).stem for v in voices})[:12]) or "none"
            raise ArvcError(f"model {name!r} is not one of this server's voices ({names})") from None
    index = allowed_path(settings.index, roots, "index", ".index") if settings.index else None
    if settings.options.get("embedder_path"):
        settings.options["embedder_path"] = allowed_path(str(settings.options["embedder_path"]), roots,
                                                         "embedder_path", None)
    return model, index


def build_run(settings: wp.SessionSettings, voices: list[str], roots: list[Path]):
    """The :class:`~arvc.stages.realtime.RealtimeRun` of a session (the CLI's parser checks the options)."""
    from arvc.ui.realtime_tab import _parse

    model, index = resolve_voice(settings, voices, roots)
    options = dict(settings.options)
    options.setdefault("sample_rate", wp.STREAM_RATE)
    values = {k: v for k, v in options.items() if k in wp.CLIENT_OPTIONS}
    run = _parse(REALTIME.to_argv({**values, "model": model, "index": index}))
    run.config.validate()
    return run


# ------------------------------------------------------------------------------------------- worker
def _stats(conv, kind: str, **extra) -> str:
    import dataclasses

    return json.dumps({"type": kind, **{k: round(v, 2) if isinstance(v, float) else v
                                        for k, v in dataclasses.asdict(conv.stats.snapshot()).items()}, **extra})


class _Worker:
    """One session's conversion thread: loads the model, warms up, then converts queued input in order and
    hands the replies to ``emit`` (thread-safe, into the event loop)."""

    def __init__(self, run, settings: wp.SessionSettings, emit: Callable[[Any], None], queue_samples: int,
                 on_exit: Callable[[], None]):
        self.run, self.settings, self.emit, self.on_exit = run, settings, emit, on_exit
        self.inq: queue.Queue = queue.Queue()
        self.queued, self.queue_samples = 0, queue_samples
        self.lock = threading.Lock()
        self.stop_event, self.ready = threading.Event(), threading.Event()
        self.conv = None
        self.thread = threading.Thread(target=self._main, daemon=True, name="arvc-ws-audio")

    def put(self, kind: str, x: np.ndarray | None = None) -> bool:
        """Queue ``("audio", samples)`` or ``("flush", None)``; False when too much input is waiting."""
        n = 0 if x is None else len(x)
        with self.lock:
            if self.queued + n > self.queue_samples:
                return False
            self.queued += n
        self.inq.put((kind, x))
        return True

    def stop(self) -> None:
        self.stop_event.set()
        self.inq.put(None)

    def _main(self) -> None:
        from arvc.stages.realtime import open_converter

        try:
            conv = open_converter(self.run)
            conv.warm_up()
            self.conv = conv
            if not self.stop_event.is_set():
                self.ready.set()  # before the client hears of it
                self.emit(json.dumps({
                    "type": "ready", "version": wp.VERSION, "dialect": self.settings.dialect,
                    "sample_rate": conv.cfg.sample_rate, "block_samples": conv.b16 * conv.cfg.sample_rate // SR_16K,
                    "delay_samples": conv.delay_samples, "algorithmic_latency_ms": conv.cfg.algorithmic_latency_ms,
                    "resampling_ms": round(conv.resampling_ms, 2), "lead_samples": self._lead(conv),
                    "warm_block_ms": round(1000 * (conv.warm_block_seconds or 0.0), 2),
                    "warnings": [w for w in [*self.settings.warnings, conv.budget_warning()] if w]}))
                self._loop(conv)
        except ArvcError as e:
            self.emit(wp.error(str(e), fatal=True))
            self.emit(_CLOSE)
        except Exception as e:  # noqa: BLE001 - one line to the client and the log; the server goes on
            line = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            log.warning("ws-audio session failed: %s: %s", type(e).__name__, line)
            self.emit(wp.error(f"{type(e).__name__}: {line}", fatal=True))
            self.emit(_CLOSE)
        finally:
            self.on_exit()

    def _lead(self, conv) -> int:
        """Applio dialect: zeros ahead of the replies so each one has a full block (the loop's own block
        need not divide Applio's, so its output comes in uneven parts)."""
        return conv.b16 * conv.cfg.sample_rate // SR_16K + conv.cfg.sample_rate // 50 if self.settings.applio_block else 0

    def _loop(self, conv) -> None:
        """Input is fed to the loop in whole blocks of the stream, as ``--simulate`` feeds it: the block grid
        (where each block starts in the input) then does not depend on the client's message sizes, and a block
        is still converted as soon as its last sample arrives."""
        fifo = np.zeros(self._lead(conv), np.float32)
        io_block = conv.b16 * conv.cfg.sample_rate // SR_16K
        acc = np.zeros(0, np.float32)
        seq = 0
        while not self.stop_event.is_set():
            try:
                item = self.inq.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                return
            kind, x = item
            if kind == "flush":
                y = np.concatenate([conv.process(acc), conv.flush()])
                acc = np.zeros(0, np.float32)
                self.emit(y.astype("<f4").tobytes())
                self.emit(_stats(conv, "flushed", out_samples=len(y), delay_samples=conv.delay_samples))
                continue
            with self.lock:
                self.queued -= len(x)
            seq += 1
            t0 = time.perf_counter()
            acc = np.concatenate([acc, x * self.settings.input_gain if self.settings.input_gain != 1.0 else x])
            whole = len(acc) // io_block * io_block
            y = conv.process(acc[:whole]) if whole else np.zeros(0, np.float32)
            acc = acc[whole:]
            ms = 1000 * (time.perf_counter() - t0)
            if self.settings.applio_block:
                fifo = self._applio_reply(conv, fifo, y, x, ms)
            else:
                if len(y):
                    self.emit(y.astype("<f4").tobytes())
                self.emit(_stats(conv, "stats", seq=seq, in_samples=len(x), out_samples=len(y),
                                 compute_ms=round(ms, 2), queue_samples=self.queued,
                                 delay_samples=conv.delay_samples))

    def _applio_reply(self, conv, fifo: np.ndarray, y: np.ndarray, x: np.ndarray, ms: float) -> np.ndarray:
        fifo = np.concatenate([fifo, y])
        n = len(x)
        out = fifo[:n]
        if len(out) < n:
            conv.stats.underruns += 1
            out = np.concatenate([out, np.zeros(n - len(out), np.float32)])
        volume = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if n else 0.0
        self.emit(json.dumps({"type": "latency", "value": round(ms, 3), "volume": volume,
                              "offset_samples": self._lead(conv) + conv.delay_samples}))
        self.emit(out.astype("<f4").tobytes())
        return fifo[n:]


# ------------------------------------------------------------------------------------------ session
class _Session:
    """One connection: the settings, then audio to the worker and replies back (one sender task writes)."""

    def __init__(self, server: WsAudio, ws):
        self.server, self.ws, self.limits = server, ws, server.limits
        self.bucket = _Bucket(self.limits.rate, self.limits.burst)
        self.errors = 0
        self.outq: asyncio.Queue = asyncio.Queue()
        self.closed = False
        self.handed = False  # a worker holds the session slot (and releases it when its thread ends)

    async def run(self) -> None:
        """Serve until the client leaves."""
        got = await self._settings()
        if got is None:
            return
        settings, run = got
        loop = asyncio.get_running_loop()

        def emit(item) -> None:
            try:
                loop.call_soon_threadsafe(self.outq.put_nowait, item)
            except RuntimeError:  # the loop is closed: the server is stopping
                pass

        rate = run.config.sample_rate
        worker = _Worker(run, settings, emit, int(self.limits.queue_seconds * rate), self.server.release)
        worker.thread.start()
        self.handed = True
        sender = asyncio.create_task(self._sender())
        try:
            await self._reader(settings, worker, int(self.limits.max_message_seconds * rate))
        finally:
            worker.stop()
            self.outq.put_nowait(_CLOSE)
            await asyncio.wait([sender], timeout=5)

    async def _receive(self, timeout: float) -> dict | None:
        try:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
        except TimeoutError:
            await self._fatal("no message for too long")
            return None
        except Exception:  # noqa: BLE001 - the connection is gone
            return None
        return None if msg.get("type") == "websocket.disconnect" else msg

    async def _settings(self):
        deadline = time.monotonic() + self.limits.settings_timeout
        while True:
            msg = await self._receive(max(deadline - time.monotonic(), 0.01))
            if msg is None:
                return None
            try:
                if msg.get("text") is None:
                    raise ArvcError("send the settings (a JSON text message) before audio")
                settings = wp.parse_settings(wp.loads(msg["text"], self.limits.max_text_bytes))
                run = await asyncio.get_running_loop().run_in_executor(
                    None, build_run, settings, self.server.voices(), self.server.roots())
                return settings, run
            except ArvcError as e:
                if not await self._error(str(e)):
                    return None

    async def _error(self, message: str, direct: bool = True) -> bool:
        """Tell the client; False (and the connection closed) past the error limit."""
        self.errors += 1
        if self.errors > self.limits.max_errors:
            await self._fatal(f"more than {self.limits.max_errors} bad messages", direct)
            return False
        text = wp.error(message)
        if direct:
            await self.ws.send_text(text)
        else:
            self.outq.put_nowait(text)
        return True

    async def _fatal(self, message: str, direct: bool = True) -> None:
        if direct:
            await self.ws.send_text(wp.error(message, fatal=True))
            await self.ws.close(code=1008)
            self.closed = True
        else:
            self.outq.put_nowait(wp.error(message, fatal=True))
            self.outq.put_nowait(_CLOSE)

    async def _sender(self) -> None:
        while True:
            item = await self.outq.get()
            try:
                if item is _CLOSE:
                    if not self.closed:
                        self.closed = True
                        await self.ws.close(code=1000)
                    return
                if isinstance(item, bytes):
                    await self.ws.send_bytes(item)
                else:
                    await self.ws.send_text(item)
            except Exception:  # noqa: BLE001 - the client left
                self.closed = True
                return

    async def _reader(self, settings: wp.SessionSettings, worker: _Worker, max_samples: int) -> None:
        while not self.closed:
            msg = await self._receive(self.limits.idle_timeout)
            if msg is None or self.closed:
                return
            try:
                if not self.bucket.take():
                    raise ArvcError(f"over {self.limits.rate:.0f} messages/s: message dropped")
                if msg.get("bytes") is not None:
                    self._audio(msg["bytes"], settings, worker, max_samples)
                else:
                    self._control(wp.loads(msg.get("text") or "", self.limits.max_text_bytes), worker)
            except ArvcError as e:
                if not await self._error(str(e), direct=False):
                    return

    def _audio(self, data: bytes, settings: wp.SessionSettings, worker: _Worker, max_samples: int) -> None:
        if len(data) % 4:
            raise ArvcError(f"binary message of {len(data)} bytes: expected float32 samples (a multiple of 4)")
        if len(data) > 4 * max_samples:
            raise ArvcError(f"binary message of {len(data) // 4} samples is over the {max_samples}-sample limit")
        x = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise ArvcError("audio with NaN or infinite samples: message dropped")
        if settings.applio_block and len(x) != settings.applio_block:  # Applio pads or cuts to its block
            x = np.pad(x, (0, max(settings.applio_block - len(x), 0)))[: settings.applio_block]
        if not worker.ready.is_set():
            if settings.applio_block:  # Applio's client expects one reply per block: silence while loading
                self.outq.put_nowait(json.dumps({"type": "latency", "value": 0.0, "volume": 0.0}))
                self.outq.put_nowait(np.zeros(len(x), "<f4").tobytes())
                return
            raise ArvcError("not ready: wait for the ready message before sending audio")
        if not worker.put("audio", np.clip(x, -1.0, 1.0)):
            if worker.conv is not None:
                worker.conv.stats.dropped += 1
            raise ArvcError("input dropped: the converter is behind by more than "
                            f"{self.limits.queue_seconds:.0f} s (send in real time)")

    def _control(self, msg: dict, worker: _Worker) -> None:
        kind = msg.get("type")
        if kind == "ping":
            self.outq.put_nowait(json.dumps({"type": "pong", "t": msg.get("t")}))
        elif kind == "flush":
            if not worker.ready.is_set():
                raise ArvcError("not ready: nothing to flush")
            worker.put("flush")
        elif kind in ("settings", "init"):
            raise ArvcError("settings are fixed for a session: open a new connection to change them")
        else:
            raise ArvcError(f"unknown message type {str(kind)[:40]!r} (ping, flush)")


# ------------------------------------------------------------------------------------------- server
class WsAudio:
    """The endpoint: ``voices()`` lists the server's voice models, ``roots()`` the folders paths may be in."""

    def __init__(self, voices: Callable[[], list[str]], roots: Callable[[], list[Path]],
                 limits: WsLimits | None = None):
        self.voices, self.roots, self.limits = voices, roots, limits or WsLimits()
        self._lock = threading.Lock()
        self.active = 0

    def acquire(self) -> bool:
        with self._lock:
            if self.active >= self.limits.max_sessions:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active -= 1

    def route(self):
        from starlette.routing import WebSocketRoute

        return WebSocketRoute(wp.PATH, self.endpoint, name="arvc_ws_audio")

    async def endpoint(self, ws) -> None:
        reason = await refusal(ws)
        if reason is not None:
            log.info("ws-audio: refused %s: %s", ws.client, reason)
            await ws.close(code=1008)  # before accept: the upgrade is answered 403
            return
        await ws.accept()
        if not self.acquire():
            await ws.send_text(wp.error(f"busy: {self.limits.max_sessions} realtime session(s) running; "
                                        "try again later", fatal=True))
            await ws.close(code=1013)
            return
        session = _Session(self, ws)
        try:
            await session.run()
        except Exception as e:  # noqa: BLE001 - never a traceback from a client's doing
            log.warning("ws-audio: connection ended: %s: %s", type(e).__name__, str(e).splitlines()[0][:200]
                        if str(e) else "")
        finally:
            if not session.handed:
                self.release()


def for_ui(ctx, limits: WsLimits | None = None) -> WsAudio:
    """The endpoint over a :class:`~arvc.ui.app.UIContext`: its voices; the UI's allowed folders (``--allowed_dirs``)
    and its outputs as roots, the same rule as the page's fields."""
    return WsAudio(ctx.models, lambda: [*ctx.roots, ctx.output_dir], limits)
