"""Startup: process start -> first conversion possible, per phase (wall and CPU seconds), as ``arvc infer`` and
``arvc realtime --simulate`` load: python + torch, the arvc modules of the command, the synthesizer, the embedder,
the F0 method, the realtime loop. Each run is a fresh interpreter; the slowest imports are listed
(``python -X importtime``). CPU seconds are the reliable figure on a shared machine (the load average is printed).

Usage:
  python benchmarks/bench_startup.py                       # full-size v2 40k + HuBERT base (random), fcpe, 3 runs
  python benchmarks/bench_startup.py --runs 5 --command realtime
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def worker(args: argparse.Namespace) -> None:
    """Runs in the fresh interpreter: each phase's end time (wall since process start, CPU) as one JSON line."""
    marks = []

    def mark(name: str) -> None:
        marks.append((name, time.time() - args.t0, time.process_time()))

    mark("python")
    import torch  # noqa: F401

    mark("torch")
    from arvc.api.cli import build_parser

    parser, module = build_parser(args.command)
    from arvc.inference.pipeline import VoiceConverter  # noqa: F401  (what the command's stage imports)
    from arvc.stages import infer as _infer, realtime as _realtime  # noqa: F401

    mark("arvc imports")
    from arvc.features.embedders import load_embedder
    from arvc.features.f0 import F0Options, get_f0_method
    from arvc.formats import load_synthesizer

    synth, _ = load_synthesizer(args.model)
    mark("synthesizer")
    load_embedder("custom", path=args.embedder)
    mark("embedder")
    get_f0_method(args.method, F0Options())
    mark("f0 method")
    if args.command == "realtime":
        from arvc.inference import InferenceConfig, VoiceConverter as VC
        from arvc.inference.realtime import BlockConverter, RealtimeConfig

        inf = InferenceConfig(f0_method=args.method, embedder_model="custom", embedder_path=args.embedder,
                              precision="fp32")
        BlockConverter(VC(args.model, None, inf), RealtimeConfig(sample_rate=16000, inference=inf))
        mark("realtime loop (whole VoiceConverter again)")
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("transformers", "gradio", "sklearn", "pandas",
                                                                    "librosa", "numba", "matplotlib", "faiss")
                   and "." not in m)
    heavy += [m for m in ("torch._dynamo", "scipy.signal", "scipy.stats", "arvc.training") if m in sys.modules]
    print(json.dumps({"marks": marks, "heavy": heavy}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--command", choices=("infer", "realtime"), default="infer")
    ap.add_argument("--method", default="fcpe")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--t0", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--model"), ap.add_argument("--embedder")
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    from bench_infer import make_full_models

    work = Path(args.workdir or tempfile.mkdtemp(prefix="arvc_bench_startup_"))
    work.mkdir(parents=True, exist_ok=True)
    model, emb = make_full_models(work)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    print(f"arvc {args.command} startup, full-size v2 40k + HuBERT base, f0 {args.method}; wall / CPU seconds at the "
          "end of each phase", flush=True)
    for run in range(args.runs):
        cmd = [sys.executable, "-X", "importtime", __file__, "--worker", "--command", args.command, "--model",
               str(model), "--embedder", str(emb), "--method", args.method]
        t0 = time.time()
        proc = subprocess.run(cmd + ["--t0", str(t0)], capture_output=True, text=True, env=env)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode or not lines:
            print(f"run {run}: FAILED {(proc.stderr.strip().splitlines() or ['?'])[-1][:200]}")
            continue
        r = json.loads(lines[-1])
        phases = "  ".join(f"{name} {wall:.2f}/{cpu:.2f}" for name, wall, cpu in r["marks"])
        print(f"run {run}: {phases}  (load {os.getloadavg()[0]:.1f})", flush=True)
        if run == 0:
            print(f"  heavy modules loaded: {', '.join(r['heavy']) or 'none'}")
            print("  slowest imports (cumulative wall ms): " + _slowest(proc.stderr))


def _slowest(importtime: str, n: int = 8) -> str:
    rows = []
    for line in importtime.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            depth = len(name) - len(name.lstrip(" "))
            if depth <= 3:  # top-level imports
                rows.append((int(parts[1]), name.strip()))
    return ", ".join(f"{name} {us // 1000}" for us, name in sorted(rows, reverse=True)[:n])


if __name__ == "__main__":
    main()
