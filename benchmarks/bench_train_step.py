"""One training step of the ``small`` (quickstart) and the full v2 model on this CPU: s/step and where it goes.

fp32, batch 4 of 3 s items, the loop's own ``Trainer.train_step``. Prints, per model:

* s/step over ``--steps`` steps after a warm-up, as CPU time of this process (the reliable figure on a shared
  machine at 1 thread) and wall time, each as min / median / max, with the load average;
* the step split into its parts (CPU seconds, one step, each part run as the loop runs it): data loading
  (one batch from the dataset), the generator forward per sub-module, the discriminator step (forward on real
  + fake, backward, grad norm/clip, AdamW), the generator step (discriminator forward on real and on fake,
  the losses, backward, grad norm/clip, AdamW), and the step's FLOPs (GFLOP/s = how close the step is to the
  core's peak);
* how many STFTs (mel losses) one step computes.

    python benchmarks/bench_train_step.py                      # small 32 kHz and full 40 kHz, 1 thread
    python benchmarks/bench_train_step.py --models full --threads 2 --steps 5
    python benchmarks/bench_train_step.py --models small --sample_rate 32000 --no_parts
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def build_trainer(root: Path, size: str, sample_rate: int, batch_size: int, **overrides):
    """A fp32 CPU Trainer for ``size`` (small / full / tiny) on the synthetic experiment at ``root``."""
    from arvc.data import TrainingDataset, read_filelist
    from arvc.models.config import ModelConfig
    from arvc.paths import ExperimentPaths
    from arvc.training.config import TrainConfig
    from arvc.training.loop import Trainer
    from arvc.training.runtime import make_accelerator

    cfg = TrainConfig(model_name="bench", logs_dir=str(root.parent), model_size=size, batch_size=batch_size,
                      progress=False, **overrides)
    acc, precision, _ = make_accelerator(None, "fp32")
    mc = ModelConfig.for_size(size, version="v2", sample_rate=sample_rate)
    ds = TrainingDataset(read_filelist(root / "filelist.txt"), sample_rate=sample_rate, hop=mc.hop_length,
                         spec_channels=mc.spec_channels, content_dim=768)
    return Trainer(cfg, mc, ds, ExperimentPaths.of("bench", root.parent), acc, precision=precision)


class Clock:
    """CPU seconds (this process) of named parts, summed over calls."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}

    @contextmanager
    def part(self, name: str):
        t = time.process_time()
        try:
            yield
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.process_time() - t

    def hook(self, module: torch.nn.Module, name: str) -> list:
        """Time ``module``'s forward under ``name`` (returns the hook handles)."""
        start: list[float] = []
        pre = module.register_forward_pre_hook(lambda *_: start.append(time.process_time()))

        def post(*_):
            self.parts[name] = self.parts.get(name, 0.0) + time.process_time() - start.pop()

        return [pre, module.register_forward_hook(post)]


def time_steps(trainer, batches, steps: int) -> tuple[list[float], list[float]]:
    """CPU and wall seconds of ``steps`` train steps (after one warm-up step)."""
    trainer.train_step([batches[0]])
    cpu, wall = [], []
    for i in range(steps):
        c, w = time.process_time(), time.perf_counter()
        trainer.train_step([batches[i % len(batches)]])
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return cpu, wall


def split_step(trainer, batch) -> dict[str, float]:
    """CPU seconds of each part of one step, done in the order and the way ``Trainer.train_step`` does it."""
    from arvc.training.losses import generator_losses
    from arvc.training.mel import multiscale_mel_loss

    clock = Clock()
    with clock.part("data: one batch from the dataset"):
        next(iter(trainer.batches(1)))
    g = trainer.net_g
    handles = [h for name in ("enc_p", "enc_q", "flow", "dec") for h in clock.hook(getattr(g, name), f"G fwd {name}")]
    out = trainer.generator_forward(batch)
    for h in handles:
        h.remove()
    with clock.part("D step: D forward real+fake, loss"):
        loss_d = trainer.discriminator_loss(out)
    with clock.part("D step: backward"):
        loss_d.backward()
    with clock.part("D step: grad norm/clip"):
        trainer._grad_norm(trainer.net_d)
    with clock.part("D step: optimizer"):
        trainer.optim_d.step()
        trainer.optim_d.zero_grad(set_to_none=True)
    trainer.net_d.requires_grad_(False)
    with clock.part("G step: D forward real"):
        _, fmap_r = zip(*[d(out.wave) for d in trainer.net_d.discriminators])
    with clock.part("G step: D forward fake"):
        fake, fmap_g = zip(*[d(out.y_hat) for d in trainer.net_d.discriminators])
    mc, cfg = trainer.model_cfg, trainer.cfg
    _z, z_p, m_p, logs_p, _m_q, logs_q = out.latents
    with clock.part("G step: losses (mel + adv + fm + kl)"):
        losses = generator_losses(
            real=out.wave, fake=out.y_hat, disc_fake=list(fake), fmap_real=list(fmap_r), fmap_fake=list(fmap_g),
            z_p=z_p, logs_q=logs_q, m_p=m_p, logs_p=logs_p, z_mask=out.z_mask, sample_rate=mc.sample_rate,
            hop=trainer.hop, n_fft=mc.filter_length, n_mels=mc.n_mel_channels, weights=cfg.weights,
            multiscale=cfg.multiscale_loss, energy=cfg.energy_use)
    with clock.part("G step: backward (through D, G)"):
        losses["loss/g/total"].backward()
    trainer.net_d.requires_grad_(True)
    with clock.part("G step: grad norm/clip"):
        trainer._grad_norm(trainer.net_g)
    with clock.part("G step: optimizer"):
        trainer.optim_g.step()
        trainer.optim_g.zero_grad(set_to_none=True)
    fake_leaf = out.y_hat.detach().requires_grad_()
    with clock.part("  of which: mel loss forward+backward alone"):
        multiscale_mel_loss(out.wave, fake_leaf, mc.sample_rate).backward()
    return clock.parts


def count_stfts(trainer, batch) -> int:
    """torch.stft calls in one train step."""
    calls = [0]
    real = torch.stft

    def counting(*a, **k):
        calls[0] += 1
        return real(*a, **k)

    torch.stft = counting
    try:
        trainer.train_step([batch])
    finally:
        torch.stft = real
    return calls[0]


def step_gflop(trainer, batch) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        trainer.train_step([batch])
    return fc.get_total_flops() / 1e9


def spread(xs: list[float]) -> str:
    return f"{min(xs):6.2f} / {statistics.median(xs):6.2f} / {max(xs):6.2f}"


def run(size: str, sample_rate: int, args) -> None:
    from _training_data import make_experiment

    with tempfile.TemporaryDirectory() as tmp:
        root = make_experiment(Path(tmp) / "bench", n_items=2 * args.batch_size, seconds=3.0,
                               sample_rate=sample_rate, equal_lengths=True)
        trainer = build_trainer(root, size, sample_rate, args.batch_size)
        batches = list(trainer.batches(1))
        n_g = sum(p.numel() for p in trainer.net_g.parameters()) / 1e6
        n_d = sum(p.numel() for p in trainer.net_d.parameters()) / 1e6
        load = os.getloadavg()
        cpu, wall = time_steps(trainer, batches, args.steps)
        print(f"\n{size} v2 {sample_rate // 1000} kHz (G {n_g:.1f} M, D {n_d:.1f} M params), batch {args.batch_size}, "
              f"fp32, {torch.get_num_threads()} thread(s), load average {load[0]:.2f} -> {os.getloadavg()[0]:.2f}")
        print(f"  s/step over {args.steps} steps, min / median / max:  CPU {spread(cpu)}   wall {spread(wall)}")
        if args.no_parts:
            return
        gflop = step_gflop(trainer, batches[0])
        print(f"  {gflop:.0f} GFLOP per step = {gflop / statistics.median(cpu):.0f} GFLOP/s per CPU-second; "
              f"{count_stfts(trainer, batches[0])} STFTs per step")
        parts = split_step(trainer, batches[0])
        total = sum(v for k, v in parts.items() if not k.startswith(" "))
        print(f"  one step split (CPU s; parts sum to {total:.2f}):")
        for name, sec in parts.items():
            print(f"    {name:44s} {sec:6.3f}  {100 * sec / total:5.1f} %")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["small", "full"], choices=["small", "full", "tiny"])
    ap.add_argument("--sample_rate", type=int, default=None, help="default: 32000 for small, 40000 for full")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch_size", type=int, default=4)
    ap.add_argument("--no_parts", action="store_true", help="only s/step")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {os.cpu_count()} cpus, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    for size in args.models:
        run(size, args.sample_rate or (40000 if size == "full" else 32000), args)


if __name__ == "__main__":
    main()
