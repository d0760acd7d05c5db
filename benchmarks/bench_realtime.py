"""Realtime block loop: per-block compute p50/p95, late blocks and real underruns, per block size and precision.

Model: a FULL-SIZE v2 40k HiFi-GAN model and a full-size HuBERT-base embedder (random init, the real
architectures; built by ``bench_infer.make_full_models``), fcpe, no index, on speech (the bundled kal
voice). Each case runs in a fresh subprocess: a warm-up, then ``--seconds`` of audio streamed by
``--pace fast`` (compute per block; "late" = blocks slower than their duration) and by ``--pace realtime``
(a clock plays the device; "underruns" are real).

Usage:
  python benchmarks/bench_realtime.py                                   # blocks 250 150, fp32 bf16 int8, 2 threads
  python benchmarks/bench_realtime.py --blocks 250 --precisions fp32 --context_ms 500 --seconds 30
  python benchmarks/bench_realtime.py --fast_only --seconds 5        # compute per block only (busy machines)
  python benchmarks/bench_realtime.py --blocks 250 --precisions int8 --threads 1 --fast_only --breakdown
      # + CPU ms per block of each part (embedder, F0, enc_p, flow, decoder, SOLA, resampling; process time)
Every case runs deterministic (no prior / NSF noise), so each precision's streamed output is compared with fp32's
(log-mel distance, SNR). The machine may be shared: the load average is printed beside the numbers.
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
from bench_infer import make_full_models, make_input  # noqa: E402

from arvc.api.cli import GOMP_SPIN  # noqa: E402


def run_case(args: argparse.Namespace) -> dict:
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from arvc.audio.io import load_audio
    from arvc.inference import InferenceConfig, VoiceConverter
    from arvc.inference.realtime import BlockConverter, RealtimeConfig
    from arvc.inference.realtime_stream import simulate

    inf = InferenceConfig(f0_method=args.method, embedder_model="custom", embedder_path=args.embedder,
                          index_rate=0.0, precision=args.precision, deterministic=True)  # outputs comparable
    vc = VoiceConverter(args.model, None, inf)
    audio = load_audio(args.input, 16000)

    def loop():
        cfg = RealtimeConfig(block_ms=args.block_ms, context_ms=args.context_ms, crossfade_ms=args.crossfade_ms,
                             headroom_ms=args.headroom_ms, sample_rate=16000, inference=inf)
        return BlockConverter(vc, cfg)

    simulate(loop(), audio[:16000], pace="fast")  # warm-up: kernels for both window lengths
    fast = loop()
    parts = _instrument(vc, fast) if args.breakdown else {}
    c0 = time.process_time()
    out = simulate(fast, audio, pace="fast").output
    n_blocks = max(len(fast.stats.compute), 1)
    cpu_per_block = (time.process_time() - c0) / n_blocks
    if args.save:
        np.save(args.save, out)
    live = loop()
    if not args.fast_only:
        simulate(live, audio, pace="realtime")
    st = fast.stats
    return {"p50_ms": 1000 * st.percentile(50), "p95_ms": 1000 * st.percentile(95),
            "max_ms": 1000 * max(st.compute), "blocks": len(st.compute), "late": st.late,
            "underruns": "-" if args.fast_only else live.stats.underruns, "rt_p95_ms": 1000 * live.stats.percentile(95),
            "latency_ms": fast.cfg.algorithmic_latency_ms, "precision": vc.precision, "cpu_ms": 1000 * cpu_per_block,
            "finite": bool(np.isfinite(np.asarray(st.compute)).all()),
            "parts_ms": {k: 1000 * v / n_blocks for k, v in parts.items()}}


PARTS = {"embedder": ("vc", "content_features"), "f0": ("vc", "pitch_track"), "enc_p": ("synth", "enc_p"),
         "flow": ("synth", "flow"), "dec": ("synth", "dec"), "sola": ("loop", "_sola"),
         "resample_out": ("loop", "rs_out")}  # resample_out runs outside the step (in ``process``)
OF_WHICH = ("embedder cnn", "dec last stage")  # parts of the parts above: not subtracted again for "other"


def _sub_parts(vc) -> dict[str, list[tuple[object, str]]]:
    """(object, method) pairs timed as :data:`OF_WHICH`: HuBERT's conv feature encoder (fp32 under int8) and the
    decoder's last-stage residual blocks (the output stage int8 keeps fp32)."""
    out = {}
    model = getattr(vc.embedder, "model", None)
    if hasattr(model, "feature_extractor"):
        out["embedder cnn"] = [(model.feature_extractor, "forward")]
    dec = vc.synth.dec
    n, k = len(getattr(dec, "upsample_rates", ())), getattr(dec, "num_kernels", 0)
    if n and k and hasattr(dec, "resblocks"):
        blocks = list(dec.resblocks)[(n - 1) * k:]
        out["dec last stage"] = [(b, m) for b in blocks for m in ("forward", "forward_nwc") if hasattr(b, m)]
    return out


def _instrument(vc, loop) -> dict[str, float]:
    """Wrap the block loop's parts so each adds its CPU seconds (``time.process_time``: the machine may be shared;
    with one torch thread that is this thread's work) to the returned dict; "step" is one whole block."""
    import time as _t

    acc = {k: 0.0 for k in [*PARTS, *OF_WHICH, "step"]}

    def timed(key, fn):
        def run(*a, **k):
            c = _t.process_time()
            try:
                return fn(*a, **k)
            finally:
                acc[key] += _t.process_time() - c
        return run

    owners = {"vc": vc, "synth": vc.synth, "loop": loop}
    for key, (owner, name) in PARTS.items():
        obj = owners[owner]
        target = getattr(obj, name)
        if hasattr(target, "forward"):  # a module: time its forward (nn.Module.__call__ calls the instance's)
            target.forward = timed(key, target.forward)
        else:
            setattr(obj, name, timed(key, target))
    for key, pairs in _sub_parts(vc).items():
        for obj, name in pairs:
            setattr(obj, name, timed(key, getattr(obj, name)))
    loop.step = timed("step", loop.step)
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocks", nargs="+", type=int, default=[250, 150])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "int8"])
    ap.add_argument("--method", default="fcpe")
    ap.add_argument("--context_ms", type=int, default=1000)
    ap.add_argument("--crossfade_ms", type=int, default=50)
    ap.add_argument("--headroom_ms", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--fast_only", action="store_true", help="skip the realtime-pace run (no underrun count)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model"), ap.add_argument("--embedder"), ap.add_argument("--input")
    ap.add_argument("--precision", default="fp32"), ap.add_argument("--block_ms", type=int, default=250)
    ap.add_argument("--save", default=None)
    ap.add_argument("--breakdown", action="store_true",
                    help="per-part CPU ms per block (embedder, F0, enc_p, flow, decoder, SOLA, resampling, other)")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(run_case(args)))
        return
    from arvc.precision.cpu_features import cpu_model_name, describe_cpu_bf16

    work = Path(args.workdir or tempfile.mkdtemp(prefix="arvc_bench_rt_"))
    work.mkdir(parents=True, exist_ok=True)
    inp = work / f"input_{int(args.seconds)}s.wav"
    if not inp.exists():
        make_input(inp, args.seconds)
    model, emb = make_full_models(work)
    print(f"{cpu_model_name()}; {describe_cpu_bf16()}; {args.threads} threads; {args.seconds:.0f} s of speech; "
          f"f0 {args.method}; context {args.context_ms} ms, crossfade {args.crossfade_ms} ms, "
          f"headroom {args.headroom_ms} ms", flush=True)
    print(f"{'block':>6} {'prec':>5} {'latency':>8} {'p50':>7} {'p95':>7} {'max':>7} {'late':>9} {'underruns':>9}  "
          "CPU time (all threads)  load",
          flush=True)
    for block in args.blocks:
        for prec in args.precisions:
            cmd = [sys.executable, __file__, "--worker", "--model", str(model), "--embedder", str(emb), "--input",
                   str(inp), "--precision", prec, "--block_ms", str(block), "--method", args.method,
                   "--context_ms", str(args.context_ms), "--crossfade_ms", str(args.crossfade_ms),
                   "--headroom_ms", str(args.headroom_ms), "--threads", str(args.threads),
                   "--save", str(work / f"rt_{block}_{prec}.npy")]
            cmd += ["--fast_only"] if args.fast_only else []
            cmd += ["--breakdown"] if args.breakdown else []
            t0 = time.time()
            (work / f"rt_{block}_{prec}.npy").unlink(missing_ok=True)
            env = {**os.environ, "ARVC_MODELS_DIR": os.environ.get("ARVC_MODELS_DIR", str(work / "models"))}
            if "OMP_WAIT_POLICY" not in env and "GOMP_SPINCOUNT" not in env:
                env["GOMP_SPINCOUNT"] = GOMP_SPIN  # the OpenMP barrier spin `arvc realtime` runs with
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode or not lines:
                err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{block:>6} {prec:>5} FAILED: {err[:150]}", flush=True)
                continue
            r = json.loads(lines[-1])
            print(f"{block:>6} {r['precision']:>5} {r['latency_ms']:>6} ms {r['p50_ms']:>5.0f}ms {r['p95_ms']:>5.0f}ms "
                  f"{r['max_ms']:>5.0f}ms {r['late']:>3}/{r['blocks']:<5} {r['underruns']:>9}  "
                  f"CPU {r['cpu_ms']:.0f} ms/block  "
                  f"{os.getloadavg()[0]:.1f} ({time.time() - t0:.0f} s){_vs_fp32(work, block, prec)}", flush=True)
            if r["parts_ms"]:
                print("       " + _breakdown(r["parts_ms"], r["cpu_ms"]), flush=True)


def _breakdown(parts: dict[str, float], cpu_ms: float) -> str:
    """One line: CPU ms per block of each part, "other" = the step's rest, "outside" = the loop around steps."""
    step = parts.pop("step")
    other = step - sum(v for k, v in parts.items() if k != "resample_out" and k not in OF_WHICH)
    cells = [f"({k} {v:.1f})" if k in OF_WHICH else f"{k} {v:.1f}" for k, v in parts.items()] + [f"other {other:.1f}", f"step {step:.1f}",
                                                            f"outside steps {cpu_ms - step:.1f}"]
    return "CPU ms/block: " + ", ".join(cells)


def _vs_fp32(work: Path, block: int, prec: str) -> str:
    """``; vs fp32: log-mel .. dB, SNR .. dB`` of this case's streamed output (16 kHz) against fp32's."""
    import numpy as np

    from arvc.inference.int8_check import log_mel_distance_db, snr_db

    ref, got = work / f"rt_{block}_fp32.npy", work / f"rt_{block}_{prec}.npy"
    if prec == "fp32" or not (ref.exists() and got.exists()):
        return ""
    a, b = np.load(ref), np.load(got)
    return f"; vs fp32: log-mel {log_mel_distance_db(a, b, 16000):.3f} dB, SNR {snr_db(a, b):.1f} dB"


if __name__ == "__main__":
    main()
