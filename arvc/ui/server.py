"""Start the web UI: build the app over one :class:`~arvc.ui.jobs.JobManager` and serve it until Ctrl-C."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from arvc.ui.app import ASSETS, UIContext, build_app
from arvc.ui.jobs import JobManager
from arvc.ui.ws_audio import for_ui


def serve(host: str = "127.0.0.1", port: int = 7865, logins: list[tuple[str, str]] | None = None,
          share: bool = False, output_dir: Path = Path("outputs/ui")) -> None:
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    ctx = UIContext(output_dir=output_dir, jobs=JobManager())
    demo = build_app(ctx)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so running jobs are stopped below
    print(f"arvc ui: http://{host}:{port}/ (outputs in {output_dir})", flush=True)
    try:
        demo.queue(default_concurrency_limit=4).launch(
            server_name=host, server_port=port, auth=logins or None, share=share, favicon_path=ASSETS / "favicon.png",
            allowed_paths=[str(output_dir)], show_error=True, quiet=True, footer_links=["api"],
            app_kwargs={"routes": [for_ui(ctx).route()]},  # /api/ws-audio: realtime from the browser
        )
    finally:
        ctx.realtime.stop(timeout=10.0)
        ctx.jobs.shutdown()
