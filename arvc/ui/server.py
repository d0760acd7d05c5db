"""Start the web UI: build the app over one :class:`~arvc.ui.jobs.JobManager` and serve it until Ctrl-C."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from arvc.ui.app import ASSETS, CSS, UIContext, build_app, job_env
from arvc.ui.guard import (DEFAULT_MAX_UPLOAD_MB, AuthGate, LoginThrottle, check_output_dir, default_roots,
                           private_uploads)
from arvc.ui.jobs import JobManager
from arvc.ui.ws_audio import for_ui


def serve(host: str = "127.0.0.1", port: int = 7865, logins: list[tuple[str, str]] | None = None,
          share: bool = False, output_dir: Path = Path("outputs/ui"), allowed_dirs: list[Path] | None = None,
          max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB) -> None:
    """``allowed_dirs``: the folders UI fields may name (default :func:`~arvc.ui.guard.default_roots`); the
    output folder must lie in one of them. Uploads above ``max_upload_mb`` are refused by the server;
    uploads live in a folder of this server's own, removed when it stops."""
    roots = tuple(Path(p).resolve() for p in allowed_dirs) if allowed_dirs else tuple(default_roots())
    output_dir = check_output_dir(Path(output_dir), roots)
    output_dir.mkdir(parents=True, exist_ok=True)
    with private_uploads():  # Gradio reads the folder when the app is built and launched
        _serve(host, port, logins, share, output_dir, roots, max_upload_mb)


def _serve(host: str, port: int, logins: list[tuple[str, str]] | None, share: bool, output_dir: Path,
           roots: tuple[Path, ...], max_upload_mb: int) -> None:
    from starlette.middleware import Middleware

    from arvc.ui import settings_tab

    ctx = UIContext(output_dir=output_dir, jobs=JobManager(env=job_env(), workdir=output_dir / "jobs"), roots=roots)
    problem = settings_tab.restore(ctx)  # the Settings tab's choices of the last run
    if problem:
        print(f"warning: {problem}", flush=True)
    demo = build_app(ctx)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so running jobs are stopped below
    shown = f"[{host.strip('[]')}]" if ":" in host else host  # IPv6: Gradio and browsers want [::1]
    print(f"arvc ui: http://{shown}:{port}/ (outputs in {output_dir}; server folders allowed under "
          f"{', '.join(map(str, roots))})", flush=True)
    try:
        demo.queue(default_concurrency_limit=4).launch(
            server_name=shown, server_port=port, auth=logins or None, share=share, favicon_path=ASSETS / "favicon.png",
            allowed_paths=[str(output_dir)], show_error=True, quiet=True, footer_links=["api"],
            max_file_size=f"{int(max_upload_mb)}mb", css=CSS,
            app_kwargs={"middleware": [Middleware(LoginThrottle), Middleware(AuthGate)],
                        # /api/ws-audio: realtime from the browser; /tensorboard/<run>/: the runs' TensorBoards
                        "routes": [for_ui(ctx).route(), *ctx.tensorboards.routes()]},
        )
    finally:
        ctx.scan_cancel.set()
        ctx.realtime.stop(timeout=10.0)
        ctx.jobs.shutdown()
