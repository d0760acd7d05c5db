"""Seconds per training step of the FULL v2 40 kHz HiFi-GAN model (RVC's architecture) on this machine.

Batch 4 of 3 s items (RVC's 12800-sample training segment is drawn from each), fp32 (with and without
``--fast_train``), the default ``--precision auto`` (bf16 autocast on AMX CPUs) and optionally ``--bf16_adamw``; prints s/step, audio seconds per second (dataset audio consumed, and generated segments),
and where a step's time goes. Reference point: Applio 3.6.4 takes 9.8 s per step here (batch 4, fp32, 2 threads).

    python benchmarks/bench_train.py [--steps 3] [--threads 2] [--batch_size 4] [--bf16]
    python benchmarks/bench_train.py --curve 30     # loss curves, fp32 vs auto, same weights and batches
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _trainer(root: Path, fast: bool, batch_size: int, bf16: bool, precision: str | None = None):
    from arvc.data import TrainingDataset, read_filelist
    from arvc.training.runtime import make_accelerator
    from arvc.models.config import ModelConfig
    from arvc.paths import ExperimentPaths
    from arvc.training.config import TrainConfig
    from arvc.training.loop import Trainer

    cfg = TrainConfig(model_name="bench", logs_dir=str(root.parent), model_size="full", batch_size=batch_size,
                      fast_train=fast, bf16_adamw=bf16, progress=False)
    acc, precision, _ = make_accelerator(None, precision or ("bf16" if bf16 else "fp32"))
    mc = ModelConfig.preset("v2", 40000)
    ds = TrainingDataset(read_filelist(root / "filelist.txt"), sample_rate=40000, hop=mc.hop_length,
                         spec_channels=mc.spec_channels, content_dim=768)
    return Trainer(cfg, mc, ds, ExperimentPaths.of("bench", root.parent), acc, precision=precision)


def _profile_parts(trainer, batch) -> dict[str, float]:
    """Wall time of the parts of one step (forward/backward of G and D, losses)."""
    parts = {}
    t = time.perf_counter()
    out = trainer.generator_forward(batch)
    parts["G forward"] = time.perf_counter() - t
    t = time.perf_counter()
    loss_d = trainer.discriminator_loss(out)
    parts["D forward (D step)"] = time.perf_counter() - t
    t = time.perf_counter()
    loss_d.backward()
    parts["D backward"] = time.perf_counter() - t
    trainer.net_d.requires_grad_(False)
    t = time.perf_counter()
    losses = trainer.generator_loss(out)
    parts["D forward + losses (G step)"] = time.perf_counter() - t
    t = time.perf_counter()
    losses["loss/g/total"].backward()
    parts["G backward (through D)"] = time.perf_counter() - t
    trainer.net_d.requires_grad_(True)
    trainer.optim_g.zero_grad(set_to_none=True)
    trainer.optim_d.zero_grad(set_to_none=True)
    return parts


def loss_curves(root: Path, batch_size: int, steps: int) -> None:
    """Train from the same initial weights on the same batches in fp32 and at auto precision; print the curves."""
    curves = {}
    for precision in ("fp32", "auto"):
        torch.manual_seed(0)
        trainer = _trainer(root, False, batch_size, False, precision)
        batches = list(trainer.batches(1))
        torch.manual_seed(1)
        curves[precision] = [trainer.train_step([batches[i % len(batches)]]) for i in range(steps)]
        del trainer
    for key in ("loss/g/mel", "loss/g/total", "loss/d/total"):
        a = [x[key] for x in curves["fp32"]]
        b = [x[key] for x in curves["auto"]]
        print(f"{key:14s} fp32 " + " ".join(f"{v:6.2f}" for v in a))
        print(f"{'':14s} auto " + " ".join(f"{v:6.2f}" for v in b))
        k = max(1, steps // 3)
        print(f"{'':14s} mean of the last {k}: fp32 {sum(a[-k:]) / k:.3f}, auto {sum(b[-k:]) / k:.3f}; "
              f"first -> last: fp32 {a[0]:.2f} -> {a[-1]:.2f}, auto {b[0]:.2f} -> {b[-1]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch_size", type=int, default=4)
    ap.add_argument("--bf16", action="store_true", help="also time --bf16_adamw (bf16 autocast)")
    ap.add_argument("--curve", type=int, default=0, metavar="STEPS",
                    help="instead of timing: train STEPS steps in fp32 and at auto precision, print both loss curves")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from _training_data import make_experiment

    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cpus (numbers are pessimistic when the machine is shared)")
    with tempfile.TemporaryDirectory() as tmp:
        root = make_experiment(Path(tmp) / "bench", n_items=2 * args.batch_size, seconds=3.0, equal_lengths=True)
        if args.curve:
            loss_curves(root, args.batch_size, args.curve)
            return
        from arvc.device import auto_precision

        auto = auto_precision(torch.device("cpu"), training=True)
        variants = [("fp32", False, False, "fp32"), ("fp32 --fast_train", True, False, "fp32"),
                    (f"auto ({auto}, fused AdamW): the default", False, False, "auto")]
        if args.bf16:
            variants.append(("--bf16_adamw (bf16 autocast)", False, True, "bf16"))
        for label, fast, bf16, precision in variants:
            trainer = _trainer(root, fast, args.batch_size, bf16, precision)
            batches = list(trainer.batches(1))
            trainer.train_step([batches[0]])  # warm-up (allocations, caches)
            times = []
            for i in range(args.steps):
                t = time.perf_counter()
                trainer.train_step([batches[i % len(batches)]])
                times.append(time.perf_counter() - t)
            per_step = min(times)
            seg = trainer.segment / 40000 * args.batch_size
            print(f"{label:32s} {per_step:6.2f} s/step (best of {args.steps}; mean {sum(times) / len(times):.2f}) | "
                  f"{args.batch_size * 3.0 / per_step:5.2f} dataset audio-s/s | {seg / per_step:5.3f} segment audio-s/s")
            if not fast and not bf16:  # fp32 and auto
                parts = _profile_parts(trainer, batches[0])
                print("  one step, split: " + ", ".join(f"{k} {v:.2f}s" for k, v in parts.items()))
            del trainer


if __name__ == "__main__":
    main()
