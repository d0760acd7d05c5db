"""``arvc train <model>``: train a voice model on an extracted experiment (flags as Applio, plus speed options).

Also runs under ``accelerate launch -m arvc.api.cli train ...`` / ``torchrun`` for several processes.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from arvc.api.argtypes import add_bool

    parser.add_argument("model_name", help="experiment name (a folder made by 'arvc preprocess' + 'arvc extract')")
    g = parser.add_argument_group("model")
    g.add_argument("--sample_rate", type=int, choices=(32000, 40000, 48000), default=None,
                   help="model sample rate (default: model_info.json)")
    g.add_argument("--version", choices=("v1", "v2"), default=None, help="model version (default: the extraction's)")
    g.add_argument("--vocoder", default="HiFi-GAN", help="HiFi-GAN (default), MRF HiFi-GAN or RefineGAN")
    add_bool(g, "--pitch_guidance", True, "train with F0 (default true)")
    g.add_argument("--model_size", choices=("full", "small", "tiny"), default="full",
                   help="full = RVC's architecture (default; what pretrains fit); small = reduced, trains from "
                        "scratch on a CPU (quickstart); tiny = debug size for tests")
    g.add_argument("--pretrained_g", "--g_pretrained_path", default=None, help="generator pretrain (G_*.pth / f0G40k.pth)")
    g.add_argument("--pretrained_d", "--d_pretrained_path", default=None, help="discriminator pretrain (D_*.pth)")
    g.add_argument("--pretrained", default=None, metavar="NAME",
                   help="a pretrain of the catalog (`arvc download pretrain --list`), downloaded on first use; "
                        "default: the standard RVC pretrain for the model's version, sample rate and vocoder")
    add_bool(g, "--from_scratch", False, "train without any pretrain (otherwise a missing pretrain is an error)")
    g.add_argument("--catalog_url", default=None, help="pretrain catalog URL (default $ARVC_CATALOG_URL, else the shipped one)")

    g = parser.add_argument_group("schedule")
    g.add_argument("--epochs", "--total_epoch", type=int, default=300, help="epochs to train (default 300)")
    g.add_argument("--max_steps", type=int, default=None, help="stop after this many optimizer steps")
    g.add_argument("--max_minutes", type=float, default=None, help="stop (and save) after this much wall-clock time")
    g.add_argument("--batch_size", type=int, default=8, help="items per micro-batch (default 8)")
    g.add_argument("--grad_accum_steps", type=int, default=1,
                   help="micro-batches per optimizer step (effective batch = batch_size x this)")
    g.add_argument("--learning_rate", type=float, default=1e-4, help="base learning rate (default 1e-4)")
    g.add_argument("--lr_decay", type=float, default=0.999875, help="exponential decay per epoch (default 0.999875)")
    g.add_argument("--optimizer", default="AdamW", help="AdamW (default), RAdam, AdaBelief, AdaBeliefV2, AnyPrecisionAdamW")
    g.add_argument("--scheduler", default=None, help="exponential, cosine or inverse_sqrt (default: the optimizer's)")
    add_bool(g, "--cosine_lr", False, "cosine annealing of the learning rate over --epochs")
    g.add_argument("--warmup_epochs", type=int, default=0, help="linear warm-up epochs (cosine / inverse_sqrt)")
    add_bool(g, "--use_8bit_adam", False, "bitsandbytes AdamW8bit")
    g.add_argument("--grad_clip", type=float, default=None, help="clip gradient norm to this value (norm is logged before)")
    g.add_argument("--seed", type=int, default=1234, help="random seed (default 1234)")

    g = parser.add_argument_group("losses")
    add_bool(g, "--multiscale_loss", True, "multi-scale mel loss (8 scales; default true)")
    add_bool(g, "--energy_use", False, "add an L1 loss on per-frame log energy")
    g.add_argument("--c_mel", type=float, default=45.0, help="mel loss weight (default 45)")
    g.add_argument("--c_kl", type=float, default=1.0, help="KL loss weight (default 1.0)")

    g = parser.add_argument_group("hardware and speed")
    g.add_argument("--gpu", default=None, help="GPU id(s): 0 or 0,1 (several = one process per GPU); default: first GPU, else CPU")
    g.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                   help="mixed precision (default auto: bf16 on AMX CPUs whose bf16 checks out and on bf16 GPUs, "
                        "fp16 with GradScaler on other GPUs, else fp32)")
    add_bool(g, "--fast_train", False, "TF32, cudnn.benchmark, CUDA allocator config, torch.compile, fast data loading "
             "(GPU-only items are skipped on the CPU)")
    add_bool(g, "--compile_model", False, "torch.compile the generator and discriminator")
    add_bool(g, "--bf16_adamw", False, "AnyPrecisionAdamW (fp32 weights, bf16 moments) + bf16 autocast")
    add_bool(g, "--cache_data_in_gpu", False, "load the whole dataset onto the training device once")
    add_bool(g, "--deterministic", False, "deterministic algorithms (slower)")
    add_bool(g, "--checkpointing", False, "activation checkpointing (less memory, more compute)")
    g.add_argument("--num_workers", type=int, default=None, help="DataLoader workers (default 0; fast_train: min(8, cpus/2))")

    g = parser.add_argument_group("saving and logging")
    g.add_argument("--save_every", "--save_every_epoch", type=int, default=10, help="save G/D every N epochs (default 10)")
    add_bool(g, "--save_only_latest", False, "keep only the newest G/D pair")
    add_bool(g, "--save_every_weights", False, "also write a small inference .pth at every save")
    g.add_argument("--log_every", type=int, default=50, help="TensorBoard scalars averaged over N steps (default 50)")
    g.add_argument("--eval_every", type=int, default=0,
                   help="every N epochs convert --eval_clips with the current model and log eval/* scores (0 = off)")
    g.add_argument("--eval_clips", nargs="+", default=[], help="clips to convert (default: three of the run's chunks)")
    g.add_argument("--eval_references", nargs="+", default=[], help="target-speaker audio (default: the run's chunks)")
    g.add_argument("--eval_text", default=None, help="transcripts of the clips (enables CER; see arvc evaluate -t)")
    g.add_argument("--eval_pitch", type=float, default=0.0, help="semitones applied when converting the clips")
    add_bool(g, "--overtrain_detect", False, "stop when the smoothed generator loss stops improving")
    g.add_argument("--overtrain_threshold", type=int, default=50, help="epochs without improvement before stopping")
    g.add_argument("--author", default="", help="author name stored in the model file")
    g.add_argument("--logs_dir", default=None, help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)")
    add_bool(g, "--progress", True, "show a progress bar")


def config_from_args(args: argparse.Namespace):
    from arvc.training.config import LossWeights, TrainConfig

    return TrainConfig(
        model_name=args.model_name, logs_dir=args.logs_dir, sample_rate=args.sample_rate, version=args.version,
        vocoder=args.vocoder, use_f0=args.pitch_guidance, model_size=args.model_size,
        pretrained_g=args.pretrained_g, pretrained_d=args.pretrained_d, pretrained=args.pretrained,
        from_scratch=args.from_scratch, catalog_url=args.catalog_url, epochs=args.epochs, max_steps=args.max_steps,
        max_minutes=args.max_minutes, batch_size=args.batch_size, grad_accum_steps=args.grad_accum_steps, learning_rate=args.learning_rate,
        lr_decay=args.lr_decay, optimizer=args.optimizer, scheduler=args.scheduler, cosine_lr=args.cosine_lr,
        warmup_epochs=args.warmup_epochs, use_8bit_adam=args.use_8bit_adam, grad_clip=args.grad_clip, seed=args.seed,
        multiscale_loss=args.multiscale_loss, energy_use=args.energy_use,
        weights=LossWeights(mel=args.c_mel, kl=args.c_kl), gpu=args.gpu, precision=args.precision,
        deterministic=args.deterministic, checkpointing=args.checkpointing, fast_train=args.fast_train,
        compile_model=args.compile_model, bf16_adamw=args.bf16_adamw, cache_data_in_gpu=args.cache_data_in_gpu,
        num_workers=args.num_workers, save_every=args.save_every, save_only_latest=args.save_only_latest,
        save_every_weights=args.save_every_weights, log_every=args.log_every, overtrain_detect=args.overtrain_detect,
        overtrain_threshold=args.overtrain_threshold, eval_every=args.eval_every, eval_clips=args.eval_clips,
        eval_references=args.eval_references, eval_text=args.eval_text, eval_pitch=args.eval_pitch, progress=args.progress, author=args.author,
    )


def _relaunch_multi_gpu(args: argparse.Namespace) -> int | None:
    """``--gpu 0,1`` outside a launcher: start one process per GPU through ``accelerate launch``."""
    import os
    import subprocess
    import sys

    from arvc.device import device_count, in_distributed_launch, parse_gpu_ids

    ids = parse_gpu_ids(args.gpu)
    if len(ids) < 2 or in_distributed_launch() or os.environ.get("ARVC_DEVICE") or device_count("cuda") < 2:
        return None
    argv = sys.argv[sys.argv.index("train") + 1:] if "train" in sys.argv else []
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(len(ids)),
           "--gpu_ids", ",".join(map(str, ids)), "-m", "arvc.api.cli", "train", *argv]
    return subprocess.call(cmd)


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.stages.train import train
    from arvc.training.loop import stopped_early

    code = _relaunch_multi_gpu(args)
    if code is not None:
        return code
    try:
        cfg = config_from_args(args)
    except ValueError as e:
        raise ArvcError(str(e)) from None
    result = train(cfg)
    where = f"; model: {result.weights}" if result.weights else ""
    print(f"{cfg.model_name}: epoch {result.epoch}, step {result.step} ({result.stop_reason}){where}")
    return 1 if stopped_early(result) else 0
