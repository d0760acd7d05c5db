"""What these CPUs can do at most, and how much of it the decoder reaches.

Prints GEMM and convolution throughput (GFLOP/s) in fp32 and bf16 (and int8 GOP/s) at 2 threads, the FLOPs of the full v2 40k
HiFi-GAN decoder per second of audio (counted from its layers), the decoder's measured time in each precision
as inference runs it (weights folded, channels-last, 250-frame tiles; bf16 weights cast once; int8 as
``--precision int8`` runs it, output stage in fp32), the fraction of the conv peak that is, and each output's
log-mel distance / SNR to fp32's (deterministic NSF source).

    python benchmarks/bench_peaks.py [--threads 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import torch


def _best(fn, n: int = 5) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def gemm_gflops(dtype: torch.dtype, n: int = 2048) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    return 2 * n ** 3 / _best(lambda: a @ b) / 1e9


def conv_gflops(dtype: torch.dtype, c: int = 256, k: int = 7, t: int = 48000) -> float:
    conv = torch.nn.Conv2d(c, c, (1, k), padding=(0, k // 2)).to(dtype)
    x = torch.randn(1, c, 1, t).to(dtype).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return 2 * c * c * k * t / _best(lambda: conv(x)) / 1e9


def int8_conv_gops(c: int = 256, k: int = 7, t: int = 48000) -> float:
    """The same conv through arvc's int8 layer (oneDNN, dynamic activation range included)."""
    from arvc.precision.int8 import Int8Conv1d

    conv = Int8Conv1d.from_conv(torch.nn.Conv1d(c, c, k, padding=k // 2))
    x = torch.randn(1, c, 1, t).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return 2 * c * c * k * t / _best(lambda: conv.forward_nwc(x)) / 1e9


def decoder_flops_per_frame(dec: torch.nn.Module, frames: int = 200) -> float:
    """Multiply-adds x 2 of every conv / transposed conv in one decoder pass, per input frame."""
    total = 0

    def hook(m, inp, out):
        nonlocal total
        w = m.weight
        if isinstance(m, torch.nn.ConvTranspose1d):
            total += 2 * inp[0].shape[-1] * w.shape[0] * w.shape[1] * w.shape[2] * inp[0].shape[0]
        else:
            total += 2 * out.shape[-1] * w.numel() * out.shape[0]

    hooks = [m.register_forward_hook(hook) for m in dec.modules()
             if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d))]
    fast = dec.fast_inference
    dec.fast_inference = False  # the plain path calls the modules, so the hooks see every layer
    with torch.no_grad():
        dec(torch.randn(1, dec.conv_pre.in_channels, frames), torch.full((1, frames), 150.0),
            g=torch.randn(1, dec.cond.in_channels, 1))
    dec.fast_inference = fast
    for h in hooks:
        h.remove()
    return total / frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from arvc.inference.int8_check import log_mel_distance_db, quantize_decoder, snr_db
    from arvc.precision.cpu_features import describe_cpu_bf16
    from arvc.precision.int8 import describe_cpu_int8, int8_available
    from arvc.device import decoder_tile_frames
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer

    from arvc.precision.cpu_features import cpu_model_name

    print(f"{cpu_model_name()}; torch {torch.__version__}, {args.threads} threads, {describe_cpu_bf16()}; "
          f"load {os.getloadavg()[0]:.1f}")
    peaks = {}
    for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        peaks[name] = conv_gflops(dt)
        print(f"{name}: GEMM 2048^3 {gemm_gflops(dt):7.1f} GFLOP/s | conv 256->256 k7 x 48000 {peaks[name]:7.1f} GFLOP/s")
    if int8_available(torch.device("cpu")):
        peaks["int8"] = int8_conv_gops()
        print(f"int8 ({describe_cpu_int8()}): conv 256->256 k7 x 48000 {peaks['int8']:7.1f} GOP/s")
    torch.manual_seed(0)
    cfg = ModelConfig.preset(version="v2", sample_rate=40000, vocoder="HiFi-GAN", use_f0=True)
    dec = Synthesizer(cfg, with_posterior=False).eval().remove_weight_norm().dec
    per_frame = decoder_flops_per_frame(dec)
    frames = int(args.seconds * cfg.sample_rate / cfg.hop_length)
    flops = per_frame * frames
    print(f"decoder: {per_frame / 1e9:.3f} GFLOP per frame, {flops / 1e9:.0f} GFLOP for {args.seconds:g} s of audio")
    x = torch.randn(1, cfg.inter_channels, frames)
    f0 = torch.full((1, frames), 150.0)
    g = torch.randn(1, cfg.gin_channels, 1)
    tile = decoder_tile_frames(torch.device("cpu"))
    for m in dec.modules():
        if hasattr(m, "deterministic"):
            m.deterministic = True  # the same source in every precision: outputs comparable
    outs = {}
    for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("int8", torch.float32)):
        if name not in peaks:
            continue
        d = copy.deepcopy(dec).to(dt)
        if name == "int8":
            quantize_decoder(d)
        with torch.inference_mode():
            s = _best(lambda: d.infer_tiled(x.to(dt), f0, g.to(dt), None, tile), n=2)
            outs[name] = d.infer_tiled(x.to(dt), f0, g.to(dt), None, tile).float().reshape(-1).numpy()
        unit = "GOP/s" if name == "int8" else "GFLOP/s"
        vs = "" if name == "fp32" else (f"; vs fp32: log-mel {log_mel_distance_db(outs['fp32'], outs[name], 40000):.3f}"
                                        f" dB, SNR {snr_db(outs['fp32'], outs[name]):.1f} dB")
        print(f"decoder {name}: {s:6.2f} s for {args.seconds:g} s (RTF {s / args.seconds:.3f}), "
              f"{flops / s / 1e9:6.1f} {unit} = {flops / s / 1e9 / peaks[name]:.0%} of the {name} conv peak{vs}; "
              f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
