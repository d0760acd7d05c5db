"""Model-file and ONNX timings on a full-size v2 40k HiFi-GAN model (random init). Prints numbers; asserts nothing.

    python benchmarks/bench_formats.py [--threads 2] [--seconds 5] [--no-onnx]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def timed(fn, repeat: int = 3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0, help="audio length for the inference comparison")
    ap.add_argument("--no-onnx", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from arvc.formats import load_synthesizer, read_model, write_model
    from arvc.formats.onnx_export import example_inputs, export_synthesizer
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer

    cfg = ModelConfig.preset("v2", 40000)
    torch.manual_seed(0)
    net = Synthesizer(cfg)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.pth"
        t_write, _ = timed(lambda: write_model(path, net, cfg))
        t_read, model = timed(lambda: read_model(path))
        t_load, (synth, _) = timed(lambda: load_synthesizer(path))
        print(f"full-size v2 40k: {model.n_params:,} params, file {path.stat().st_size / 1e6:.1f} MB")
        print(f"write_model {t_write * 1e3:.0f} ms | read_model {t_read * 1e3:.0f} ms | load_synthesizer {t_load * 1e3:.0f} ms")
        if args.no_onnx:
            return
        import onnxruntime as ort

        onnx_path = Path(d) / "bench.onnx"
        t0 = time.perf_counter()
        export_synthesizer(synth, onnx_path)
        print(f"export_onnx {time.perf_counter() - t0:.1f} s, {onnx_path.stat().st_size / 1e6:.1f} MB")
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        frames = int(args.seconds * cfg.sample_rate / cfg.hop_length)
        x = example_inputs(synth, frames=frames, seed=1)
        feed = {k: v.numpy() for k, v in x.items()}
        synth.set_deterministic(True)
        t_ort, got = timed(lambda: sess.run(["audio"], feed)[0], repeat=2)
        torch_fn = lambda: synth.infer(x["phone"], x["phone_lengths"], x["pitch"], x["pitchf"], x["sid"],  # noqa: E731
                                       noise_scale=0.0)[0]
        x["rnd"].zero_()
        feed["rnd"] = x["rnd"].numpy()
        got0 = sess.run(["audio"], feed)[0]
        t_torch, ref = timed(torch_fn, repeat=2)
        print(f"{args.seconds:g} s of audio, {args.threads} threads: onnxruntime {t_ort:.2f} s "
              f"({t_ort / args.seconds:.3f} s/audio-s) | torch infer {t_torch:.2f} s ({t_torch / args.seconds:.3f} s/audio-s)")
        print(f"onnxruntime vs torch (rnd = 0) max abs error {np.abs(got0 - ref.numpy()).max():.2e}")


if __name__ == "__main__":
    main()
