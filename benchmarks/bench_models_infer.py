"""Synthesizer inference speed on CPU (random-init full-size model).

Prints GMAC per audio-second, wall and process-CPU seconds per audio-second for fp32 and bf16
(autocast, as ``--precision bf16`` runs it), the max-abs / SNR of bf16 vs fp32, and a per-module
profile (wall time and GMAC of enc_p, flow, source, each decoder stage's upsampler / resblocks).

    python benchmarks/bench_models_infer.py --version v2 --sample-rate 40000 --vocoder HiFi-GAN --seconds 2

The CPU is shared: every timing is the best of ``--repeats`` runs; the load average is printed.
"fp32 plain path" is the decoder with its channels-last fast path switched off (the pre-optimisation code).

Long chunks (the pipeline's default chunks reach 41 s) allocate ~100 MB activations per op; glibc returns
them to the OS each time and the next op page-faults them back (24 M minor faults for 20 s of audio).
Compare with the allocator told to keep them:
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184 \
        python benchmarks/bench_models_infer.py --seconds 20 --repeats 1
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections import defaultdict

import torch

from arvc.models.config import ModelConfig
from arvc.models.synthesizer import Synthesizer


def make_inputs(cfg: ModelConfig, frames: int, batch: int = 1):
    phone = torch.randn(batch, frames, cfg.content_dim)
    lens = torch.full((batch,), frames)
    pitchf = 120 + 60 * torch.rand(batch, frames)
    pitch = torch.randint(1, 256, (batch, frames))
    sid = torch.zeros(batch, dtype=torch.long)
    return phone, lens, pitch if cfg.use_f0 else None, pitchf if cfg.use_f0 else None, sid


def conv_macs(module: torch.nn.Module, inputs, output) -> int:
    w = module.weight
    if isinstance(module, torch.nn.ConvTranspose1d):
        return inputs[0].shape[0] * inputs[0].shape[-1] * w.shape[0] * w.shape[1] * w.shape[2]
    return output.shape[0] * output.shape[-1] * w.shape[0] * w.shape[1] * w.shape[2] // module.groups


def profile_groups(model: Synthesizer) -> dict[str, torch.nn.Module]:
    """Named modules whose time is reported (top level + each decoder stage)."""
    groups = {"enc_p": model.enc_p, "flow": model.flow}
    dec = model.dec
    for name in ("m_source", "conv_pre", "conv_post"):
        if hasattr(dec, name):
            groups[f"dec.{name}"] = getattr(dec, name)
    ups = getattr(dec, "ups", None) or getattr(dec, "upsamples", None)
    if ups is not None:
        for i, m in enumerate(ups):
            groups[f"dec.ups[{i}]"] = m
    if hasattr(dec, "noise_convs"):
        for i, m in enumerate(dec.noise_convs):
            groups[f"dec.noise_convs[{i}]"] = m
    if hasattr(dec, "resblocks"):
        k = dec.num_kernels
        for i, m in enumerate(dec.resblocks):
            groups[f"dec.resblocks[{i // k}][{i % k}]"] = m
    if hasattr(dec, "mrfs"):
        for i, stage in enumerate(dec.mrfs):
            for j, m in enumerate(stage):
                groups[f"dec.mrfs[{i}][{j}]"] = m
    return groups


def module_profile(model: Synthesizer, inputs, repeats: int) -> list[tuple[str, float, float, float]]:
    """(name, best wall s, GMAC, effective GMAC/s) per group; hooks time each call (nested groups are
    timed separately: enc_p / flow include their children)."""
    groups = profile_groups(model)
    times: dict[str, float] = defaultdict(float)
    macs: dict[str, int] = defaultdict(int)
    starts: dict[str, float] = {}
    hooks = []
    for name, mod in groups.items():
        def pre(m, i, name=name):
            starts[name] = time.perf_counter()

        def post(m, i, o, name=name):
            times[name] += time.perf_counter() - starts[name]
        hooks += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
        for sub in mod.modules():
            if isinstance(sub, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
                def count(m, i, o, name=name):
                    macs[name] += conv_macs(m, i, o)
                hooks.append(sub.register_forward_hook(count))
    best: dict[str, float] = {}
    for r in range(repeats):
        times.clear()
        macs.clear()
        model.infer(*inputs)
        for k, v in times.items():
            best[k] = min(best.get(k, math.inf), v)
    for h in hooks:
        h.remove()
    return [(n, best.get(n, 0.0), macs.get(n, 0) / 1e9, macs.get(n, 0) / 1e9 / max(best.get(n, 0.0), 1e-9))
            for n in groups]


def total_gmacs(model: Synthesizer, inputs) -> tuple[float, float]:
    """(whole synthesizer, decoder only) conv/linear GMAC for one call."""
    total = {"all": 0, "dec": 0}
    hooks = []
    dec_modules = set(model.dec.modules())
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d, torch.nn.Linear)):
            def count(mod, i, o):
                n = i[0].numel() // i[0].shape[-1] * mod.out_features if isinstance(mod, torch.nn.Linear) \
                    else conv_macs(mod, i, o)
                total["all"] += n
                if mod in dec_modules:
                    total["dec"] += n
            hooks.append(m.register_forward_hook(count))
    model.infer(*inputs)
    for h in hooks:
        h.remove()
    return total["all"] / 1e9, total["dec"] / 1e9


def set_fast(model: Synthesizer, flag) -> None:
    """Toggle the decoder's channels-last inference fast path (no-op for decoders without one)."""
    if flag is not None and hasattr(model.dec, "fast_inference"):
        model.dec.fast_inference = flag


def timed(fn, repeats: int) -> tuple[float, float, torch.Tensor]:
    """(best wall s, best process-CPU s, last output)."""
    out = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def snr_db(ref: torch.Tensor, test: torch.Tensor) -> float:
    noise = (ref - test).pow(2).sum().item()
    return float("inf") if noise == 0 else 10 * math.log10(ref.pow(2).sum().item() / noise)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", default="v2")
    p.add_argument("--sample-rate", type=int, default=40000)
    p.add_argument("--vocoder", default="HiFi-GAN")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--batch", type=int, default=1, help="items per infer call (the pipeline batches chunks)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--keep-weight-norm", action="store_true")
    p.add_argument("--no-bf16", action="store_true", help="skip the bf16 autocast measurement")
    p.add_argument("--no-profile", action="store_true", help="skip the per-module profile")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ModelConfig.preset(args.version, args.sample_rate, args.vocoder)
    model = Synthesizer(cfg).remove_posterior().eval().set_deterministic(True)
    if not args.keep_weight_norm:
        model.remove_weight_norm()
    frames = int(args.seconds * cfg.sample_rate / cfg.hop_length)
    audio_seconds = args.batch * frames * cfg.hop_length / cfg.sample_rate
    inputs = make_inputs(cfg, frames, args.batch)

    def run():
        return model.infer(*inputs, noise_scale=0.0)[0]

    def run_bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model.infer(*inputs, noise_scale=0.0)[0]

    fast = getattr(model.dec, "fast_inference", None)
    set_fast(model, False)  # module hooks only see the plain path; its MACs are the same
    gm_all, gm_dec = total_gmacs(model, inputs)
    set_fast(model, fast)
    print(f"{args.version} {cfg.sample_rate} {cfg.vocoder} threads={args.threads} batch={args.batch} "
          f"audio={audio_seconds:.2f}s weight_norm={'kept' if args.keep_weight_norm else 'folded'} "
          f"loadavg={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  GMAC per audio-second: {gm_all / audio_seconds:.1f} (decoder {gm_dec / audio_seconds:.1f})")
    with torch.inference_mode():
        if fast is not None:
            set_fast(model, False)
            wall, cpu, plain = timed(run, args.repeats)
            print(f"  fp32 plain path: wall {wall / audio_seconds:.3f} s/audio-s  cpu {cpu / audio_seconds:.3f} s/audio-s")
            set_fast(model, True)
        wall, cpu, ref = timed(run, args.repeats)
        if fast is not None:
            print(f"  fast path max-abs vs plain: {(ref - plain).abs().max().item():.3g}")
        print(f"  fp32: wall {wall / audio_seconds:.3f} s/audio-s  cpu {cpu / audio_seconds:.3f} s/audio-s  "
              f"({gm_all / wall:.0f} GMAC/s)")
        if not args.no_bf16:
            wall, cpu, out = timed(run_bf16, args.repeats)
            diff = (out.float() - ref).abs().max().item()
            print(f"  bf16: wall {wall / audio_seconds:.3f} s/audio-s  cpu {cpu / audio_seconds:.3f} s/audio-s  "
                  f"max-abs vs fp32 {diff:.3g}  SNR {snr_db(ref, out.float()):.1f} dB")
        if not args.no_profile:
            set_fast(model, False)
            rows = module_profile(model, inputs, args.repeats)
            set_fast(model, fast)
            total = sum(r[1] for r in rows)
            print(f"  per-module profile (fp32 plain path: hooks cannot see inside the fast path; best of "
                  f"{args.repeats}; sum {total:.3f}s):")
            for name, t, g, rate in rows:
                print(f"    {name:24s} {t * 1000:8.1f} ms  {100 * t / total:5.1f}%  {g:7.2f} GMAC  {rate:6.0f} GMAC/s")
            from torch.profiler import ProfilerActivity, profile
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                run()
            print("  torch.profiler, fp32 default (fast) path, top ops by self CPU time:")
            table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)
            print("\n".join("    " + line for line in table.splitlines()))
    print(f"  loadavg after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
