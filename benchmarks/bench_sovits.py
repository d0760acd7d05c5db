"""so-vits-svc generator speed on the CPU next to an RVC one of the usual size. Prints numbers; asserts nothing.

    python benchmarks/bench_sovits.py [--threads 2] [--seconds 5]

Random-weight generators at the sizes users share: so-vits-svc 4.1 44.1 kHz (config_template.json: hidden 192,
filter 768, 6 layers, upsample 512 over [8, 8, 2, 2, 2], gin 768, vec768l12) and RVC v2 40 kHz (the standard
preset). Real-time factor = compute seconds / audio seconds of the generator alone (no embedder, no F0), weight
norm folded, fp32, the decoder tiled as the pipeline does.
"""

from __future__ import annotations

import argparse
import time

import torch


def timed(fn, repeat: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def sovits_41(seconds: float) -> tuple[float, int]:
    from arvc.device import decoder_tile_frames
    from arvc.models.sovits import SovitsSynthesizer
    from arvc.models.sovits_config import SovitsConfig

    cfg = SovitsConfig.from_dict({
        "data": {"sampling_rate": 44100, "hop_length": 512},
        "model": {"inter_channels": 192, "hidden_channels": 192, "filter_channels": 768, "n_heads": 2,
                  "n_layers": 6, "kernel_size": 3, "resblock": "1", "resblock_kernel_sizes": [3, 7, 11],
                  "resblock_dilation_sizes": [[1, 3, 5]] * 3, "upsample_rates": [8, 8, 2, 2, 2],
                  "upsample_initial_channel": 512, "upsample_kernel_sizes": [16, 16, 4, 4, 4], "gin_channels": 768,
                  "ssl_dim": 768, "n_speakers": 1, "speech_encoder": "vec768l12"}})
    net = SovitsSynthesizer(cfg).eval().remove_weight_norm()
    net.decode_tile = decoder_tile_frames(torch.device("cpu"))
    t = int(seconds * cfg.frame_rate)
    c, f0, uv = torch.randn(1, t, 768), torch.full((1, t), 200.0), torch.ones(1, t)
    return timed(lambda: net.infer(c, f0, uv, noise_scale=0.4)), sum(p.numel() for p in net.parameters())


def rvc_v2(seconds: float) -> tuple[float, int]:
    from arvc.device import decoder_tile_frames
    from arvc.formats.rvc_pth import build_synthesizer
    from arvc.models.config import ModelConfig

    net = build_synthesizer(ModelConfig.preset("v2", 40000)).eval().remove_weight_norm()
    net.decode_tile = decoder_tile_frames(torch.device("cpu"))
    t = int(seconds * 100)
    phone = torch.randn(1, t, 768)
    pitchf = torch.full((1, t), 200.0)
    pitch = torch.full((1, t), 100, dtype=torch.long)
    lengths = torch.tensor([t])
    return (timed(lambda: net.infer(phone, lengths, pitch, pitchf, noise_scale=0.66666)),
            sum(p.numel() for p in net.parameters()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.seconds:.0f} s of audio, {args.threads} thread(s), fp32, generator only")
    with torch.inference_mode():
        for name, fn in (("so-vits-svc 4.1 44.1k", sovits_41), ("RVC v2 40k", rvc_v2)):
            sec, n = fn(args.seconds)
            print(f"{name:<22} {n / 1e6:5.1f} M params  {sec:6.2f} s  RTF {sec / args.seconds:.3f}")


if __name__ == "__main__":
    main()
