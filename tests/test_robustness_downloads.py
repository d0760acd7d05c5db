"""Downloads against hostile servers on loopback: a redirect to ftp:// is refused, a server trickling bytes is
dropped by the minimum rate, every download has an overall deadline, and URLs with non-ASCII paths work."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from arvc.errors import ArvcError


class _Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        if self.path == "/ftp":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/secret.bin")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path in ("/trickle", "/steady"):
            n, pause = (1000, srv.pause) if self.path == "/trickle" else (10 ** 7, 0.05)
            block = 1 if self.path == "/trickle" else 4096
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            try:
                for _ in range(n // block):
                    if srv.stop.is_set():
                        return
                    self.wfile.write(b"x" * block)
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass
            return
        data = srv.files.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")


@pytest.fixture()
def hostile():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    srv.daemon_threads, srv.files, srv.pause, srv.stop = True, {}, 0.3, threading.Event()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


def test_redirect_to_ftp_is_refused(hostile, tmp_path):
    from arvc.library.download import download

    with pytest.raises(ArvcError, match="refused a redirect to ftp://"):
        download(f"{hostile.url}/ftp", tmp_path / "x.bin", show_bar=False, retries=0)
    assert list(tmp_path.iterdir()) == []


def test_trickling_server_is_dropped_by_the_minimum_rate(hostile, tmp_path):
    from arvc.library.download import download_http

    t0 = time.monotonic()
    with pytest.raises(ArvcError, match="slower than 100 bytes/s") as e:
        download_http(f"{hostile.url}/trickle", tmp_path / "t.bin", show_bar=False, retries=0, min_rate=100,
                      rate_window_s=1.5)
    assert time.monotonic() - t0 < 10 and "\n" not in str(e.value)
    assert not (tmp_path / "t.bin").exists()


def test_overall_deadline(hostile, tmp_path):
    from arvc.library.download import download_http

    t0 = time.monotonic()
    with pytest.raises(ArvcError, match="deadline"):
        download_http(f"{hostile.url}/steady", tmp_path / "s.bin", show_bar=False, retries=3, deadline_s=1.5)
    assert time.monotonic() - t0 < 10
    assert not (tmp_path / "s.bin").exists()


def test_non_ascii_url_path_is_encoded(hostile, tmp_path):
    from arvc.library.download import download

    hostile.files["/" + quote("voix/modèle 日本.bin")] = b"payload"
    got = download(f"{hostile.url}/voix/modèle 日本.bin", tmp_path / "m.bin", show_bar=False, retries=0)
    assert got.read_bytes() == b"payload"
