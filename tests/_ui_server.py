"""Start ``arvc ui`` as a real server process on a free loopback port (for the UI tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return  # answering (e.g. 401): it is up
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


@contextmanager
def ui_server(workdir: Path, *extra: str, host: str = "127.0.0.1", env: dict | None = None):
    """Yields ``(url, process)``; the server's output goes to ``workdir/ui.log``."""
    port = free_port()
    log = open(workdir / "ui.log", "w")
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   "OMP_NUM_THREADS": "1", **(env or {})}
    if "--allowed_dirs" not in extra:  # the test's folder and ../shared (fixtures, voices) may be named in fields
        shared = Path(os.environ.get("ARVC_SHARED_DIR", ROOT.parent / "shared"))
        extra = (*extra, "--allowed_dirs", str(workdir), str(shared), str(ROOT / "assets"))
    proc = subprocess.Popen([sys.executable, "-m", "arvc.api.cli", "ui", "--host", host, "--port", str(port),
                             "--output_dir", str(workdir / "ui_out"), *extra], cwd=workdir, stdout=log,
                            stderr=subprocess.STDOUT, env=environment, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http(url + "gradio_api/info", proc=proc)
        yield url, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
