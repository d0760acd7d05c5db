"""End-to-end latency of the Realtime tab's browser microphone on loopback (issue 26).

Starts ``arvc ui`` on loopback, opens the Realtime tab in Debian's Chromium with a fake microphone playing a kal
clip, streams ``--seconds`` through ``/api/ws-audio`` and prints what the page measured: the converted stream's
lag behind the microphone on arrival, the playback buffer, the audio device, the network round trip, the
algorithmic latency (block + crossfade + search) and the server's compute per block.

    python benchmarks/bench_ws_browser.py --block_ms 250 --context_ms 1000 --seconds 20
    python benchmarks/bench_ws_browser.py --model voice.pth --embedder /path/to/contentvec   # a real voice

Default voice: the tiny fixture model of ../shared/fixtures/pipeline_tiny (its custom embedder).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--block_ms", type=int, default=250)
    ap.add_argument("--context_ms", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--f0_method", default="pm")
    ap.add_argument("--model", type=Path, default=ROOT.parent / "shared/fixtures/pipeline_tiny/model.pth")
    ap.add_argument("--embedder", type=Path, default=ROOT.parent / "shared/fixtures/pipeline_tiny/embedder")
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of the server (default 1)")
    args = ap.parse_args()

    from _browser_mic import browser_stream
    from _ui_server import ui_server
    from playwright import sync_api
    from test_ui_realtime_browser import _clip

    work = Path(tempfile.mkdtemp(prefix="bench_ws_"))
    models = work / "models"
    (models / "voice").mkdir(parents=True)
    shutil.copy(args.model, models / "voice" / "voice.pth")
    shutil.copytree(args.embedder, models / "embedder")
    clip = _clip(ROOT / "assets" / "voices", work / "kal.wav")
    env = {"ARVC_MODELS_DIR": str(models), "ARVC_LOGS_DIR": str(work / "logs"), "OMP_NUM_THREADS": str(args.threads)}
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    name = next((ln.split(":", 1)[1].strip() for ln in cpu.splitlines() if ln.startswith("Model name")), "?")
    with ui_server(work, env=env) as (url, _):
        run = browser_stream(sync_api, "/usr/bin/chromium", url, models / "voice" / "voice.pth", models / "embedder",
                             clip, work, args.block_ms, args.seconds, context_ms=args.context_ms,
                             f0_method=args.f0_method)
    f = run.figures
    print(f"CPU: {name}, {os.cpu_count()} vCPUs, load average {os.getloadavg()[0]:.1f}; server threads {args.threads}")
    print(f"block {args.block_ms} ms, context {args.context_ms} ms, f0 {args.f0_method}, {run.seconds:.0f} s streamed")
    print(f"measured end to end {f['total']:.0f} ms = converted stream behind the microphone on arrival "
          f"{f['behind']:.0f} ms + playback buffer {f['buffer']:.0f} ms + audio device {f['device']:.0f} ms")
    print(f"algorithmic {f['algorithmic']:.0f} ms (block + crossfade + search) + resampling {f['resampling']:.0f} ms; "
          f"network round trip (loopback) {f['rtt']:.1f} ms")
    print(f"compute per block p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms of {args.block_ms} ms; playback "
          f"underruns {f['underruns']}")
    print(f"files in {work}")


if __name__ == "__main__":
    main()
