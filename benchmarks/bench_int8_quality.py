"""int8 beside fp32 on one voice model: quality on the same inputs and noise seed, and CPU seconds.

Each variant converts every input in its own subprocess (same seed, same settings; random prior noise and NSF
noise on, as a user's conversion): CPU seconds of the conversions (after a warm-up file) and of the model load
(the first int8 load pays for the self-check / calibration unless cached). Then every output is scored against
fp32's (log-mel distance in dB, SNR) and on its own (speaker similarity to ``--references`` or else to the
source, F0 correlation with the source transposed by ``--pitch``, DNSMOS OVRL), means over the inputs (and the
median clip's change of F0 correlation: a pitch tracker's octave slip on two frames of one clip moves the mean).

Variants (``--variants``):
  fp32              the reference
  int8              ``--precision int8``: decoder convs int8 (dynamic activations) + the embedder in int8
  int8-static       the same with static, per-model calibrated activation ranges (``int8_activations=static``)
  int8-dec          decoder int8 (dynamic), embedder fp32: what the decoder alone costs in quality
  int8-dec-static   decoder int8 (static), embedder fp32

Usage:
  python benchmarks/bench_int8_quality.py --model slt.pth --index slt.index --inputs voices/kal --pitch 10 \\
      --references voices/slt
  python benchmarks/bench_int8_quality.py --full --inputs voices/kal        # random full-size v2 40k + HuBERT
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VARIANTS = {"fp32": ("fp32", "dynamic", False), "int8": ("int8", "dynamic", False),
            "int8-static": ("int8", "static", False), "int8-dec": ("fp32", "dynamic", True),
            "int8-dec-static": ("fp32", "static", True)}


def worker(args: argparse.Namespace) -> dict:
    """Convert every input with one variant; save outputs as .npy in ``args.out``; CPU seconds."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")
    import torch

    torch.set_num_threads(args.threads)
    from arvc.inference import InferenceConfig, VoiceConverter
    from arvc.inference import int8_check
    from arvc.inference.pipeline import load_input

    precision, acts, dec_only = VARIANTS[args.variant]
    cfg = InferenceConfig(f0_method=args.f0_method, pitch=args.pitch, index_rate=0.75 if args.index else 0.0,
                          embedder_model=args.embedder_model, embedder_path=args.embedder_path,
                          precision=precision, int8_activations=acts, seed=args.seed)
    c0 = time.process_time()
    vc = VoiceConverter(args.model, args.index, cfg)
    if dec_only:
        quantize = int8_check.static_quantizer(vc.synth, args.model) if acts == "static" else int8_check.quantize_decoder
        quantize(vc.synth.dec)
    load_cpu = time.process_time() - c0
    inputs = [Path(p) for p in args.input_files]
    vc.convert(load_input(inputs[0]))  # warm-up: kernels built per shape
    cpu, audio_s = 0.0, 0.0
    for path in inputs:
        x = load_input(path)
        c0 = time.process_time()
        y = vc.convert(x)
        cpu += time.process_time() - c0
        audio_s += len(x) / 16000
        np.save(Path(args.out) / f"{path.stem}.npy", y)
    return {"precision": vc.precision, "embedder": getattr(vc.embedder, "precision", "?"), "sr": vc.tgt_sr,
            "load_cpu_s": round(load_cpu, 2), "cpu_s": round(cpu, 2), "cpu_per_audio_s": round(cpu / audio_s, 3)}


def spawn(args: argparse.Namespace, variant: str, out: Path, inputs: list[Path]) -> dict | None:
    cmd = [sys.executable, __file__, "--worker", "--variant", variant, "--out", str(out), "--model", str(args.model),
           "--f0_method", args.f0_method, "--pitch", str(args.pitch), "--seed", str(args.seed),
           "--threads", str(args.threads), "--input_files", *map(str, inputs)]
    for k in ("index", "embedder_model", "embedder_path"):
        if getattr(args, k):
            cmd += [f"--{k}", str(getattr(args, k))]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"{variant}: FAILED: {(proc.stderr.strip().splitlines() or ['?'])[-1][:200]}", flush=True)
        return None
    return json.loads(lines[-1])


def score(outs: dict[str, Path], inputs: list[Path], sr: int, pitch: float, references: list[Path]) -> dict:
    """Per variant: means over inputs of log-mel dB / SNR to fp32, speaker similarity, F0 corr, DNSMOS OVRL."""
    from arvc.audio.io import load_audio
    from arvc.audio.io import resample
    from arvc.evaluation import speaker
    from arvc.evaluation.pitch import compare_f0
    from arvc.evaluation.quality import dnsmos
    from arvc.features.f0 import get_f0_method
    from arvc.inference.int8_check import log_mel_distance_db, snr_db

    f0 = get_f0_method("fcpe")
    profile = speaker.centroid([speaker.embed(load_audio(f, 16000)) for f in references]) if references else None
    rows: dict[str, dict[str, list[float]]] = {v: {} for v in outs}
    for path in inputs:
        src = load_audio(path, 16000)
        src_f0, src_emb = f0.compute(src.astype(np.float32)), speaker.embed(src)
        ref = np.load(outs["fp32"] / f"{path.stem}.npy")
        for v, folder in outs.items():
            y = np.load(folder / f"{path.stem}.npy")
            y16 = resample(y, sr, 16000).astype(np.float32)
            emb = speaker.embed(y16)
            r = {"sim": speaker.cosine(emb, profile if profile is not None else src_emb),
                 "f0_corr": compare_f0(src_f0, f0.compute(y16), pitch)["f0_corr"],
                 "dnsmos": dnsmos(y16)["mos_ovrl"]}
            if v != "fp32":
                r |= {"mel_db": log_mel_distance_db(ref, y, sr), "snr_db": snr_db(ref, y)}
            for k, val in r.items():
                rows[v].setdefault(k, []).append(val)
    res = {v: {k: float(np.nanmean(vals)) for k, vals in r.items()} for v, r in rows.items()}
    for v, r in rows.items():  # one tracker slip on one clip moves a mean of 10: the median clip's change too
        res[v]["f0_corr_median_delta"] = float(np.nanmedian(np.subtract(r["f0_corr"], rows["fp32"]["f0_corr"])))
    return res


def print_table(title: str, res: dict, timing: dict) -> None:
    base = res["fp32"]
    print(f"\n{title}")
    print(f"{'variant':<16} {'CPU-s/audio-s':>13} {'load CPU-s':>10} {'log-mel dB':>10} {'SNR dB':>7} "
          f"{'spk sim':>14} {'F0 corr':>16} {'median clip':>11} {'DNSMOS':>14}")
    for v, r in res.items():
        t = timing[v]

        def d(k, fmt):
            return f"{r[k]:{fmt}}" + ("" if v == "fp32" else f" ({r[k] - base[k]:+{fmt}})")

        mel = "-" if v == "fp32" else f"{r['mel_db']:.3f}"
        snr = "-" if v == "fp32" else f"{r['snr_db']:.1f}"
        print(f"{v:<16} {t['cpu_per_audio_s']:>13.3f} {t['load_cpu_s']:>10.2f} {mel:>10} {snr:>7} "
              f"{d('sim', '.4f'):>14} {d('f0_corr', '.4f'):>16} {r['f0_corr_median_delta']:>+11.4f} "
              f"{d('dnsmos', '.3f'):>14}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model"), ap.add_argument("--index"), ap.add_argument("--embedder_model")
    ap.add_argument("--embedder_path")
    ap.add_argument("--full", action="store_true", help="random full-size v2 40k model + HuBERT-base (generated)")
    ap.add_argument("--inputs", nargs="+", default=[str(ROOT / "assets" / "voices" / "kal")])
    ap.add_argument("--references", nargs="*", default=[], help="target speaker recordings (speaker similarity)")
    ap.add_argument("--pitch", type=float, default=0.0), ap.add_argument("--f0_method", default="fcpe")
    ap.add_argument("--variants", nargs="+", default=["fp32", "int8", "int8-static"], choices=list(VARIANTS))
    ap.add_argument("--seed", type=int, default=0), ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--rescore", action="store_true", help="score the outputs already in --workdir again")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", help=argparse.SUPPRESS), ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--input_files", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    from arvc.stages.evaluate import collect_audio

    work = Path(args.workdir or tempfile.mkdtemp(prefix="arvc_int8q_"))
    if args.full:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_infer import make_full_models

        work.mkdir(parents=True, exist_ok=True)
        model, emb = make_full_models(work)
        args.model, args.embedder_model, args.embedder_path = str(model), "custom", str(emb)
    inputs = collect_audio([Path(p) for p in args.inputs])
    refs = collect_audio([Path(p) for p in args.references]) if args.references else []
    variants = ["fp32", *[v for v in args.variants if v != "fp32"]]
    outs, timing = {}, {}
    saved = json.loads((work / "timing.json").read_text()) if args.rescore else {}
    for v in variants:
        outs[v] = work / v
        outs[v].mkdir(parents=True, exist_ok=True)
        r = saved.get(v) if args.rescore else spawn(args, v, outs[v], inputs)
        if r is None:
            outs.pop(v)
            continue
        timing[v] = r
        print(f"{v}: {r}", flush=True)
    (work / "timing.json").write_text(json.dumps(timing))
    res = score(outs, inputs, timing["fp32"]["sr"], args.pitch, refs)
    from arvc.precision.cpu_features import cpu_model_name
    from arvc.precision.int8 import describe_cpu_int8

    print_table(f"{Path(args.model).name}: {len(inputs)} inputs, seed {args.seed}, {args.threads} thread(s); "
                f"{cpu_model_name()} ({describe_cpu_int8()}); deltas vs fp32 in brackets", res, timing)


if __name__ == "__main__":
    main()
