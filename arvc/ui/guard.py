"""The web UI's own limits: which server folders its fields may name, how far a folder scan goes, how large an
upload may be, and which routes need a login.

- Paths typed into the UI (model, index, F0 file, dataset, server folders, ...) must resolve inside one of the
  allowed roots (``arvc ui --allowed_dirs``; default: the logs, datasets and models folders and the folder the
  UI was started in); they go to commands as absolute paths, so a value can never be read as an option.
- A server-folder scan visits at most :data:`MAX_SCAN_ENTRIES` entries, lists at most :data:`MAX_SCAN_FILES`
  audio files, stops after :data:`SCAN_SECONDS` and whenever its cancel event is set.
- Uploads go to a folder of this server's own (:func:`private_uploads`), removed when the server stops; Gradio
  deletes uploads older than an hour while it runs.
- Under ``--auth`` every long-poll, upload and streaming route needs the login cookie too (:class:`AuthGate`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from arvc.errors import ArvcError
from arvc.paths import datasets_root, logs_root, models_root
from arvc.safe_paths import resolved, under_roots

MAX_SCAN_ENTRIES = 100_000
MAX_SCAN_FILES = 2_000
SCAN_SECONDS = 20.0
DEFAULT_MAX_UPLOAD_MB = 500
PATH_OPTIONS = ("f0_file", "embedder_path", "dataset_path", "pretrained_g", "pretrained_d", "model", "index")
# routes that hold a connection open, take uploads or stream results: refused without a login under --auth
GATED_PREFIXES = ("/gradio_api/heartbeat", "/gradio_api/queue", "/gradio_api/stream", "/gradio_api/upload",
                  "/gradio_api/cancel", "/gradio_api/reset", "/gradio_api/run-history", "/gradio_api/runs",
                  "/gradio_api/monitoring", "/gradio_api/vibe", "/gradio_api/undo-vibe", "/monitoring",
                  "/heartbeat", "/queue", "/upload", "/stream", "/tensorboard")


def default_roots(cwd: str | os.PathLike | None = None) -> list[Path]:
    """The logs, datasets and models folders and the folder the UI was started in (resolved)."""
    return [resolved(p) for p in (logs_root(), datasets_root(), models_root(), cwd or Path.cwd())]


def upload_root() -> Path:
    """Where Gradio keeps uploads (``$GRADIO_TEMP_DIR``, else ``<tmp>/gradio``)."""
    return resolved(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


@contextmanager
def private_uploads() -> Iterator[Path]:
    """A fresh upload folder for one server (below ``$GRADIO_TEMP_DIR`` when set), made Gradio's for the
    duration and removed with everything in it afterwards, so no upload outlives the server."""
    before = os.environ.get("GRADIO_TEMP_DIR")
    folder = Path(tempfile.mkdtemp(prefix="arvc-ui-uploads-", dir=before or None))
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = before
        shutil.rmtree(folder, ignore_errors=True)


def check_output_dir(output_dir: Path, roots: Iterable[Path], what: str = "output folder") -> Path:
    """The UI serves files from ``output_dir``: it must be a folder strictly inside an allowed root."""
    out = resolved(output_dir)
    if out == Path(out.anchor) or out == resolved(Path.home()):
        raise ArvcError(f"{what} {output_dir}: the UI serves every file below it; give a dedicated folder")
    under_roots(out, roots, what)
    return out


def scan_audio(folder: Path, suffixes: set[str], cancel: threading.Event | None = None,
               max_entries: int = MAX_SCAN_ENTRIES, max_files: int = MAX_SCAN_FILES,
               seconds: float = SCAN_SECONDS) -> list[Path]:
    """Audio files below ``folder`` (symbolic links not followed), sorted; ArvcError when the folder is larger
    than the limits or the scan is cancelled."""
    deadline = time.monotonic() + seconds
    found: list[Path] = []
    stack, seen = [folder], 0
    while stack:
        _check_scan(folder, cancel, seen, max_entries, deadline, seconds)
        try:
            with os.scandir(stack.pop()) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            seen += 1
            _check_scan(folder, cancel, seen, max_entries, deadline, seconds)
            if e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
            elif e.is_file(follow_symlinks=False) and Path(e.name).suffix.lower() in suffixes:
                found.append(Path(e.path))
                if len(found) > max_files:
                    raise ArvcError(f"{folder}: more than {max_files} audio files; convert it in parts")
    return sorted(found)


def _check_scan(folder: Path, cancel: threading.Event | None, seen: int, max_entries: int, deadline: float,
                seconds: float) -> None:
    if cancel is not None and cancel.is_set():
        raise ArvcError(f"{folder}: scan stopped")
    if seen > max_entries or time.monotonic() > deadline:
        raise ArvcError(f"{folder}: too large to scan (more than {max_entries} entries or {seconds:.0f} s); "
                        "give a smaller folder")


def _has_login(scope, app) -> bool:
    cookies = {}
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                cookies[name] = val
    cid = getattr(app, "cookie_id", "")
    tokens = getattr(app, "tokens", {}) or {}
    return any(cookies.get(f"{k}-{cid}") in tokens for k in ("access-token", "access-token-unsecure"))


class AuthGate:
    """ASGI middleware: when the app has a login, the :data:`GATED_PREFIXES` routes answer 401 without one."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            app = scope.get("app")
            path = scope.get("path", "")
            if getattr(app, "auth", None) is not None and path.startswith(GATED_PREFIXES) \
                    and not _has_login(scope, app):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'{"detail": "Not authenticated"}'})
                return
        await self.app(scope, receive, send)


LOGIN_FAILURES = 5
LOGIN_WINDOW = 60.0


class LoginThrottle:
    """ASGI middleware: after :data:`LOGIN_FAILURES` failed logins within :data:`LOGIN_WINDOW` seconds, a client
    (by address) gets 429 on the login route until the window has passed; a success clears its count."""

    def __init__(self, app, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW):
        self.app, self.failures, self.window = app, failures, window
        self._failed: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> list[float]:
        times = [t for t in self._failed.get(client, []) if now - t < self.window]
        if times:
            self._failed[client] = times
        else:
            self._failed.pop(client, None)
        return times

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").rstrip("/").endswith("/login") \
                or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        with self._lock:
            blocked = len(self._recent(client, time.monotonic())) >= self.failures
        if blocked:
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"60")]})
            await send({"type": "http.response.body",
                        "body": b'{"detail": "Too many failed logins; wait a minute."}'})
            return

        async def watch(message):
            if message["type"] == "http.response.start":
                with self._lock:
                    if 400 <= message["status"] < 500:
                        self._failed.setdefault(client, []).append(time.monotonic())
                    elif message["status"] < 400:
                        self._failed.pop(client, None)
            await send(message)

        await self.app(scope, receive, watch)
