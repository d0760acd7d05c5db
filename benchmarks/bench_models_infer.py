"""Synthesizer inference speed (random-init full-size model; prints seconds per audio-second).

    python benchmarks/bench_models_infer.py --version v2 --sample-rate 40000 --vocoder HiFi-GAN --seconds 4
"""

from __future__ import annotations

import argparse
import time

import torch

from arvc.models.config import ModelConfig
from arvc.models.synthesizer import Synthesizer


def decoder_gmacs_per_second(model: Synthesizer, frames: int) -> float:
    """Multiply-accumulates of every Conv1d/ConvTranspose1d in ``dec`` for ``frames`` frames, per audio second."""
    total = 0
    hooks = []

    def count(module, inputs, output):
        nonlocal total
        w = module.weight
        if isinstance(module, torch.nn.ConvTranspose1d):
            total += inputs[0].shape[-1] * w.shape[0] * w.shape[1] * w.shape[2]
        else:
            total += output.shape[-1] * w.shape[0] * w.shape[1] * w.shape[2]

    for m in model.dec.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
            hooks.append(m.register_forward_hook(count))
    phone, lens, pitch, pitchf, sid = make_inputs(model.cfg, frames)
    model.infer(phone, lens, pitch, pitchf, sid)
    for h in hooks:
        h.remove()
    seconds = frames * model.cfg.hop_length / model.cfg.sample_rate
    return total / seconds / 1e9


def make_inputs(cfg: ModelConfig, frames: int, batch: int = 1):
    phone = torch.randn(batch, frames, cfg.content_dim)
    lens = torch.full((batch,), frames)
    pitchf = 120 + 60 * torch.rand(batch, frames)
    pitch = torch.randint(1, 256, (batch, frames))
    sid = torch.zeros(batch, dtype=torch.long)
    return phone, lens, pitch if cfg.use_f0 else None, pitchf if cfg.use_f0 else None, sid


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--version", default="v2")
    p.add_argument("--sample-rate", type=int, default=40000)
    p.add_argument("--vocoder", default="HiFi-GAN")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--keep-weight-norm", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = ModelConfig.preset(args.version, args.sample_rate, args.vocoder)
    model = Synthesizer(cfg).remove_posterior().eval()
    if not args.keep_weight_norm:
        model.remove_weight_norm()
    frames = int(args.seconds * cfg.sample_rate / cfg.hop_length)
    audio_seconds = frames * cfg.hop_length / cfg.sample_rate
    inputs = make_inputs(cfg, frames)
    model.infer(*inputs)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        model.infer(*inputs)
        times.append(time.perf_counter() - t)
    best = min(times)
    print(f"{args.version} {cfg.sample_rate} {cfg.vocoder} threads={args.threads} audio={audio_seconds:.2f}s "
          f"weight_norm={'kept' if args.keep_weight_norm else 'folded'}")
    median = sorted(times)[len(times) // 2]
    print(f"  best {best:.3f}s  median {median:.3f}s  -> {best / audio_seconds:.3f} s per audio-second")
    print(f"  decoder conv GMAC per audio-second: {decoder_gmacs_per_second(model, frames):.1f}")


if __name__ == "__main__":
    main()
