"""TensorBoard through the UI's own server: one ``arvc tensorboard`` process per training run, on a loopback
port, served at ``/tensorboard/<run>/`` by a reverse-proxy route of the UI (behind the same login, see
:data:`arvc.ui.guard.GATED_PREFIXES`), so the link works for a remote user and TensorBoard itself is never
reachable from outside."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field

from arvc.api.tables import argv_for
from arvc.errors import ArvcError
from arvc.paths import logs_root
from arvc.safe_paths import plain_name

PREFIX = "/tensorboard"
MAX_BODY = 1_000_000  # TensorBoard's POSTs are small JSON queries
START_SECONDS = 60.0  # a first request waits this long for a process still starting
# response headers passed on to the browser (the body is sent decoded, so no content-encoding)
PASSED_HEADERS = ("content-type", "cache-control", "location", "etag", "last-modified", "expires",
                  "x-content-type-options")


def url_of(run: str) -> str:
    return f"{PREFIX}/{run}/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TensorBoards:
    """The TensorBoard processes of the UI (jobs of kind ``service``), by run name."""

    jobs: object  # arvc.ui.jobs.JobManager
    running: dict[str, tuple[object, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, run: str) -> str:
        """Start TensorBoard for the run ``logs/<run>/eval`` unless one serves it already; its URL path.
        ArvcError for a name that is not a plain folder name or a run without logs."""
        run = plain_name((run or "").strip(), "Name")
        logdir = logs_root() / run / "eval"
        if not logdir.is_dir():
            raise ArvcError(f"{run}: no training logs yet")
        with self.lock:
            job = self.running.get(run)
            if job is None or job[0].finished:
                port = _free_port()
                argv = argv_for("tensorboard", {"logs_dir": str(logdir.resolve()), "host": "127.0.0.1",
                                                "port": port, "path_prefix": url_of(run).rstrip("/")})
                self.running[run] = (self.jobs.submit("service", f"tensorboard {run}", [argv]), port)
        return url_of(run)

    def port(self, run: str) -> int | None:
        with self.lock:
            job = self.running.get(run)
        return job[1] if job is not None and not job[0].finished else None

    def routes(self) -> list:
        from starlette.routing import Route

        return [Route(PREFIX + "/{run}", self._slash, methods=["GET"]),
                Route(PREFIX + "/{run}/{path:path}", self.proxy, methods=["GET", "POST"])]

    async def _slash(self, request):
        from starlette.responses import RedirectResponse

        return RedirectResponse(url_of(request.path_params["run"]) if self.port(request.path_params["run"])
                                else "/", status_code=307)

    async def proxy(self, request):
        """Pass one request to the run's TensorBoard and its answer back (404 for a run not opened here)."""
        import httpx
        from starlette.responses import PlainTextResponse, Response

        port = self.port(request.path_params["run"])
        if port is None:
            return PlainTextResponse("no TensorBoard for this run: open it from the Train tab", status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("request too large", status_code=413)
        target = f"http://127.0.0.1:{port}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")}
        deadline = time.monotonic() + START_SECONDS
        async with httpx.AsyncClient(timeout=60.0, follow_redirects=False) as client:
            while True:
                try:
                    r = await client.request(request.method, target, content=body, headers=headers)
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline or self.port(request.path_params["run"]) is None:
                        return PlainTextResponse("TensorBoard did not start", status_code=502)
                    await asyncio.sleep(0.5)
        passed = {k: v for k, v in r.headers.items() if k.lower() in PASSED_HEADERS}
        return Response(r.content, status_code=r.status_code, headers=passed)
