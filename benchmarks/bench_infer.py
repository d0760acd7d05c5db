"""Inference speed: RTF (wall seconds per audio second), CPU seconds, peak RSS and time per stage.

Cases (each in a fresh subprocess so peak RSS is per case):
  * the fixture model (tiny v2 40k) + the fixture embedder, once per F0 method;
  * a FULL-SIZE v2 40k HiFi-GAN model (random init, ``ModelConfig.preset``) with a full-size
    random HuBERT-base embedder (ContentVec's architecture: 12 layers, 768 dims), fcpe, no index,
    in fp32, bf16 and int8 (``auto`` too: int8 where the model's cached self-check passes; its first run pays
    for the check in ``load``), with each output's log-mel distance and SNR to fp32's (the reference: Applio
    3.6.4 takes 1.18 wall-s per audio-s here, 10.6 of 11.8 s in the synthesizer). int8's full quality figures
    (speaker similarity, F0 correlation, DNSMOS; trained or random model; static vs dynamic activations) are
    benchmarks/bench_int8_quality.py's.

Usage:
  python benchmarks/bench_infer.py                       # everything, 60 s input, 2 threads
  python benchmarks/bench_infer.py --cases full --seconds 60 --precisions fp32 bf16 int8 auto
  python benchmarks/bench_infer.py --cases full --seconds 600 --precisions fp32   # 10-minute input, peak RSS
  python benchmarks/bench_infer.py --cases fixture --methods fcpe crepe-tiny pm
The machine is shared while helpers work: numbers taken then are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARVC_SHARED_DIR", ROOT.parent / "shared"))
FIXTURE = SHARED / "fixtures" / "pipeline_tiny"
ALL_METHODS = ["rmvpe", "crepe", "crepe-tiny", "fcpe", "harvest", "dio", "pm", "yin", "pyin", "piptrack", "swipe",
               "rapt", "swift", "pesto"]


def make_input(path: Path, seconds: float) -> None:
    """``seconds`` of speech at 16 kHz: the bundled kal voice files, concatenated and repeated."""
    import numpy as np
    import soundfile as sf

    from arvc.audio.io import load_audio

    files = sorted((ROOT / "assets" / "voices" / "kal").glob("*.*"))
    parts, total = [], 0
    while total < seconds * 16000:
        for f in files:
            x = load_audio(f, 16000)
            parts.append(x)
            total += len(x)
            if total >= seconds * 16000:
                break
    sf.write(str(path), np.concatenate(parts)[: int(seconds * 16000)], 16000, subtype="FLOAT")


def make_full_models(folder: Path) -> tuple[Path, Path]:
    """A full-size v2 40k HiFi-GAN model file and a full-size HuBERT-base embedder folder (random init)."""
    import torch
    from transformers import HubertConfig, HubertModel

    from arvc.formats import ModelMetadata, write_model
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer

    model = folder / "full_v2_40k.pth"
    emb = folder / "hubert_base_random"
    if not model.exists():
        torch.manual_seed(0)
        cfg = ModelConfig.preset(version="v2", sample_rate=40000, vocoder="HiFi-GAN", use_f0=True)
        write_model(model, Synthesizer(cfg), cfg, ModelMetadata(sr=40000, f0=True, version="v2", vocoder="HiFi-GAN",
                                                                 embedder_model="custom", model_name="bench"))
    if not emb.exists():
        torch.manual_seed(0)
        HubertModel(HubertConfig()).save_pretrained(str(emb), safe_serialization=True)
    return model, emb


def run_case(args: argparse.Namespace) -> dict:
    """One conversion in this process; returns timings."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")  # as the infer CLI does
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from arvc.inference import InferenceConfig, VoiceConverter
    from arvc.inference.pipeline import load_input

    cfg = InferenceConfig(f0_method=args.method, embedder_model="custom", embedder_path=args.embedder,
                          index_rate=0.75 if args.index else 0.0, precision=args.precision,
                          batch_size=args.batch_size, protect=0.33, rms_mix_rate=0.25, deterministic=True)
    t0 = time.perf_counter()
    vc = VoiceConverter(args.model, args.index, cfg)
    load_s = time.perf_counter() - t0
    synth_parts: dict[str, float] = {}
    starts: dict[str, float] = {}

    def pre(name):
        return lambda *_: starts.__setitem__(name, time.perf_counter())

    def post(name):
        return lambda *_: synth_parts.__setitem__(name, synth_parts.get(name, 0.0) + time.perf_counter() - starts[name])

    for name in ("enc_p", "flow", "dec"):
        mod = getattr(vc.synth, name)
        mod.register_forward_pre_hook(pre(name))
        mod.register_forward_hook(post(name))
    audio = load_input(args.input)
    seconds = len(audio) / 16000
    vc.times.seconds.clear()
    if args.warmup:
        vc.convert(audio[:16000 * 3])
        vc.times.seconds.clear()
        synth_parts.clear()
    c0, t0 = time.process_time(), time.perf_counter()
    if args.profile:
        from torch.profiler import profile

        with profile() as prof:
            out = vc.convert(audio)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12), file=sys.stderr)
    else:
        out = vc.convert(audio)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert np.isfinite(out).all()
    if args.save:
        np.save(args.save, out)
    return {
        "precision": vc.precision, "embedder_precision": getattr(vc.embedder, "precision", "?"),
        "audio_s": round(seconds, 2), "wall_s": round(wall, 2), "rtf": round(wall / seconds, 3),
        "cpu_s_per_audio_s": round(cpu / seconds, 3), "load_s": round(load_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stages_s": {k: round(v, 2) for k, v in vc.times.seconds.items()},
        "synth_parts_s": {k: round(v, 2) for k, v in synth_parts.items()},
    }


def spawn(label: str, **kw) -> None:
    cmd = [sys.executable, __file__, "--worker"]
    for k, v in kw.items():
        if v is None or v is False:
            continue
        cmd += [f"--{k}"] + ([] if v is True else [str(v)])
    env = dict(os.environ)
    if kw.get("model") is not None:  # the int8 self-check's cache beside the generated models
        env.setdefault("ARVC_MODELS_DIR", str(Path(kw["model"]).parent / "models"))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"{label:<44} FAILED: {err[:150]}", flush=True)
        return
    r = json.loads(lines[-1])
    if kw.get("profile"):
        print(proc.stderr[-4000:])
    print(f"{label:<44} [{r['precision']}, embedder {r['embedder_precision']}; load {os.getloadavg()[0]:.1f}] "
          f"RTF {r['rtf']:6.3f}  cpu/audio {r['cpu_s_per_audio_s']:6.3f}  peak RSS {r['peak_rss_mb']:7.0f} MB  "
          f"load {r['load_s']:.1f} s  stages {r['stages_s']}  synth {r['synth_parts_s']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=["fixture", "full"], choices=["fixture", "full"])
    ap.add_argument("--methods", nargs="+", default=ALL_METHODS, help="F0 methods for the fixture case")
    ap.add_argument("--full_method", default="fcpe")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "int8"])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch_size", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's top ops for the full model")
    ap.add_argument("--workdir", default=None, help="keep generated models/inputs here (default: a temp folder)")
    # worker mode
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model"), ap.add_argument("--embedder"), ap.add_argument("--index"), ap.add_argument("--input")
    ap.add_argument("--method", default="fcpe"), ap.add_argument("--precision", default="fp32")
    ap.add_argument("--warmup", action="store_true"), ap.add_argument("--save", default=None)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(run_case(args)))
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="arvc_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    inp = work / f"input_{int(args.seconds)}s.wav"
    if not inp.exists():
        make_input(inp, args.seconds)
    print(f"input {args.seconds:.0f} s, {args.threads} threads, batch_size {args.batch_size}, "
          f"load {os.getloadavg()[0]:.1f} (machine shared: numbers are pessimistic)", flush=True)
    if "fixture" in args.cases:
        for m in args.methods:
            spawn(f"fixture tiny v2 40k + index, f0 {m}", model=FIXTURE / "model.pth", embedder=FIXTURE / "embedder",
                  index=FIXTURE / "model.index", input=inp, method=m, precision="fp32", threads=args.threads,
                  batch_size=args.batch_size)
    if "full" in args.cases:
        model, emb = make_full_models(work)
        outs = {}
        for prec in args.precisions:
            outs[prec] = work / f"out_full_{prec}_{int(args.seconds)}s.npy"
            spawn(f"FULL v2 40k HiFi-GAN, {args.full_method}, {prec}", model=model, embedder=emb, input=inp,
                  method=args.full_method, precision=prec, threads=args.threads, batch_size=args.batch_size,
                  warmup=True, profile=args.profile, save=outs[prec])
        if "fp32" in outs and outs["fp32"].exists():
            import numpy as np

            from arvc.inference.int8_check import log_mel_distance_db, snr_db

            ref = np.load(outs["fp32"])
            for prec, path in outs.items():
                if prec != "fp32" and path.exists():
                    y = np.load(path)
                    print(f"{prec} output vs fp32 (same input, deterministic): log-mel distance "
                          f"{log_mel_distance_db(ref, y, 40000):.3f} dB, SNR {snr_db(ref, y):.1f} dB")


if __name__ == "__main__":
    main()
