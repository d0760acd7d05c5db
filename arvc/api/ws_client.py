"""A client of ``/api/ws-audio`` (:mod:`arvc.api.ws_protocol`, arvc's dialect): stream audio through a
remote ``arvc ui`` server and collect the converted stream (``arvc realtime --connect URL --simulate IN OUT``).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arvc.api import ws_protocol as wp
from arvc.errors import ArvcError


@dataclass
class RemoteResult:
    """output: stream-rate float32 aligned to the input (the loop's delay removed), cut to its length;
    ready: the server's ``ready`` message; stats: its last statistics; rtt_ms: ping round trips."""

    output: np.ndarray
    sample_rate: int
    ready: dict
    stats: dict
    rtt_ms: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0


def login_cookie(url: str, user: str, password: str, timeout: float = 30.0) -> str:
    """Log in to the UI at ``url`` (ws:// or http://); the ``Cookie`` header value of its session."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    body = urllib.parse.urlencode({"username": user, "password": password}).encode()
    req = urllib.request.Request(f"{scheme}://{parts.netloc}/login", data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            cookies = r.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as e:
        raise ArvcError(f"{scheme}://{parts.netloc}/login: login refused (HTTP {e.code})") from None
    except OSError as e:
        raise ArvcError(f"{scheme}://{parts.netloc}: cannot connect ({e})") from None
    pairs = [c.split(";", 1)[0] for c in cookies if c.startswith("access-token")]
    if not pairs:
        raise ArvcError(f"{scheme}://{parts.netloc}/login: no session cookie in the answer")
    return "; ".join(pairs)


def _connect(url: str, auth: str | None, timeout: float):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    headers = {}
    if auth:
        user, _, password = auth.partition(":")
        headers["Cookie"] = login_cookie(url, user, password, timeout)
    try:
        return connect(url, additional_headers=headers, open_timeout=timeout, max_size=2**24)
    except InvalidStatus as e:
        code = e.response.status_code
        hint = " (log in: --connect_auth USER:PASSWORD)" if code in (401, 403) else ""
        raise ArvcError(f"{url}: the server refused the connection (HTTP {code}){hint}") from None
    except OSError as e:
        raise ArvcError(f"{url}: cannot connect ({e})") from None


def _text(ws, timeout: float, on_binary: Callable[[bytes], None] | None = None) -> dict:
    """The next text message (binary ones go to ``on_binary``); an ``error`` raises (this client sends nothing
    the server should refuse, so any error means the result would be incomplete)."""
    while True:
        msg = ws.recv(timeout=timeout)
        if isinstance(msg, bytes):
            if on_binary is not None:
                on_binary(msg)
            continue
        d = json.loads(msg)
        if d.get("type") == "error":
            raise ArvcError(f"server: {d.get('message')}")
        return d


def stream(url: str, model: str, audio: np.ndarray, *, index: str | None = None, options: dict[str, Any] | None = None,
           sample_rate: int = wp.STREAM_RATE, auth: str | None = None, pace: str = "fast", window: int = 2,
           timeout: float = 300.0, pings: int = 5) -> RemoteResult:
    """Stream ``audio`` ((N,) float at ``sample_rate``) through the server at ``url``.

    ``pace="fast"``: at most ``window`` blocks in flight (as fast as the server converts);
    ``pace="realtime"``: one block per block duration, as a microphone would."""
    from websockets.exceptions import ConnectionClosed

    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    t_start = time.perf_counter()
    try:
        with _connect(url, auth, timeout) as ws:
            ws.send(json.dumps({"type": "settings", "protocol": "arvc", "version": wp.VERSION, "model": model,
                                "index": index, "options": {**(options or {}), "sample_rate": sample_rate}}))
            ready = _text(ws, timeout)
            while ready.get("type") != "ready":
                ready = _text(ws, timeout)
            rtt = []
            for k in range(pings):
                t0 = time.perf_counter()
                ws.send(json.dumps({"type": "ping", "t": k}))
                _text(ws, timeout)
                rtt.append(1000 * (time.perf_counter() - t0))
            parts: list[bytes] = []
            stats = _send_all(ws, x, int(ready["block_samples"]), sample_rate, pace, window, timeout, parts.append)
            ws.send(json.dumps({"type": "flush"}))
            stats = _text(ws, timeout, parts.append)
            while stats.get("type") != "flushed":
                stats = _text(ws, timeout, parts.append)
    except ConnectionClosed as e:
        raise ArvcError(f"{url}: the server closed the connection ({e.rcvd.reason if e.rcvd else 'no reason'})") from None
    except TimeoutError:
        raise ArvcError(f"{url}: no answer in {timeout:.0f} s") from None
    y = np.frombuffer(b"".join(parts), dtype="<f4").astype(np.float32)
    delay = int(stats.get("delay_samples", ready["delay_samples"]))
    return RemoteResult(y[delay : delay + len(x)], sample_rate, ready, stats, rtt, time.perf_counter() - t_start)


def _send_all(ws, x: np.ndarray, block: int, sr: int, pace: str, window: int, timeout: float,
              on_binary: Callable[[bytes], None]) -> dict:
    """Send ``x`` in blocks; returns the last ``stats`` message once every block was answered."""
    sent = answered = 0
    stats: dict = {}
    t0 = time.perf_counter()
    for k, a in enumerate(range(0, len(x), block)):
        if pace == "realtime":
            wait = t0 + k * block / sr - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        while pace == "fast" and sent - answered >= window:
            stats = _text(ws, timeout, on_binary)
            answered += stats.get("type") == "stats"
        ws.send(x[a : a + block].astype("<f4").tobytes())
        sent += 1
    while answered < sent:
        stats = _text(ws, timeout, on_binary)
        answered += stats.get("type") == "stats"
    return stats
