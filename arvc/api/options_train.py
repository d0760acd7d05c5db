"""The ``train`` command's option table (see :mod:`arvc.api.options`); apart because it reads arvc.training's
config, which ``infer`` must never import."""

from __future__ import annotations

from arvc.api.options import LOGS_DIR, OPTIMIZERS, PITCH_RANGE, PRECISIONS, PROGRESS, SEED_RANGE
from arvc.api.optionspec import CommandOptions, Option
from arvc.api.optionspec import opt as _o
from arvc.constants import SAMPLE_RATES, VERSIONS
from arvc.constants import VOCODER_NAMES as VOCODERS
from arvc.training.config import MODEL_SIZES, LossWeights, TrainConfig

TRAIN = CommandOptions("train", config=TrainConfig, options=(
    _o("model_name", applio=("model_name",), help="experiment name (a folder made by 'arvc preprocess' + 'arvc extract')"),
    _o("--sample_rate", type=int, choices=SAMPLE_RATES, group="model", help="model sample rate (default: model_info.json)"),
    _o("--version", choices=VERSIONS, group="model", help="model version (default: the extraction's)"),
    _o("--vocoder", default="HiFi-GAN", choices=VOCODERS, strict=False, group="model",
       help="HiFi-GAN (default), MRF HiFi-GAN or RefineGAN"),
    _o("--pitch_guidance", type=bool, field="use_f0", group="model", help="train with F0 (default true)"),
    _o("--model_size", choices=MODEL_SIZES, group="model",
       help="full = RVC's architecture (default; what pretrains fit); small = reduced, trains from scratch on a CPU "
            "(quickstart); tiny = debug size for tests"),
    _o("--pretrained_g", "--g_pretrained_path", group="model", help="generator pretrain (G_*.pth / f0G40k.pth)"),
    _o("--pretrained_d", "--d_pretrained_path", group="model", help="discriminator pretrain (D_*.pth)"),
    _o("--pretrained", group="model",
       help="a pretrain of the catalog (`arvc download pretrain --list`, downloaded on first use) or one made "
            "here (`arvc pretrain list`); default: the "
            "standard RVC pretrain for the model's version, sample rate and vocoder"),
    _o("--from_scratch", type=bool, group="model",
       help="train without any pretrain (otherwise a missing pretrain is an error)"),
    _o("--catalog_url", group="model", ui=False,
       help="pretrain catalog URL (default $ARVC_CATALOG_URL, else the shipped one)"),

    _o("--epochs", "--total_epoch", type=int, range=(1, None), group="schedule", help="epochs to train (default 300)"),
    _o("--max_steps", type=int, range=(1, None), group="schedule", help="stop after this many optimizer steps"),
    _o("--max_minutes", type=float, range=(0, None), group="schedule", help="stop (and save) after this much wall-clock time"),
    _o("--batch_size", type=int, range=(1, None), group="schedule", help="items per micro-batch (default 8)"),
    _o("--grad_accum_steps", type=int, range=(1, None), group="schedule",
       help="micro-batches per optimizer step (effective batch = batch_size x this)"),
    _o("--learning_rate", type=float, range=(0, 1), group="schedule", help="base learning rate (default 1e-4)"),
    _o("--lr_decay", type=float, range=(0, 1), group="schedule", help="exponential decay per epoch (default 0.999875)"),
    _o("--optimizer", choices=OPTIMIZERS, strict=False, group="schedule",
       help="AdamW (default), RAdam, AdaBelief, AdaBeliefV2, AnyPrecisionAdamW"),
    _o("--scheduler", choices=("exponential", "cosine", "inverse_sqrt"), strict=False, group="schedule",
       help="exponential, cosine or inverse_sqrt (default: the optimizer's)"),
    _o("--cosine_lr", type=bool, group="schedule", help="cosine annealing of the learning rate over --epochs"),
    _o("--warmup_epochs", type=int, range=(0, None), group="schedule", help="linear warm-up epochs (cosine / inverse_sqrt)"),
    _o("--use_8bit_adam", type=bool, group="schedule", help="bitsandbytes AdamW8bit"),
    _o("--grad_clip", type=float, range=(0, None), group="schedule", help="clip gradient norm to this value (norm is logged before)"),
    _o("--seed", type=int, range=SEED_RANGE, group="schedule", help="random seed (default 1234)"),

    _o("--multiscale_loss", type=bool, group="losses", help="multi-scale mel loss (8 scales; default true)"),
    _o("--energy_use", type=bool, group="losses", help="add an L1 loss on per-frame log energy"),
    _o("--c_mel", type=float, range=(0, None), default=LossWeights.mel, field=None, group="losses", help="mel loss weight (default 45)"),
    _o("--c_kl", type=float, range=(0, None), default=LossWeights.kl, field=None, group="losses", help="KL loss weight (default 1.0)"),

    _o("--gpu", group="hardware and speed",
       help="GPU id(s): 0 or 0,1 (several = one process per GPU); default: first GPU, else CPU"),
    _o("--precision", choices=PRECISIONS, group="hardware and speed",
       help="mixed precision (default auto: bf16 on AMX CPUs whose bf16 checks out and on bf16 GPUs, fp16 with "
            "GradScaler on other GPUs, else fp32)"),
    _o("--fast_train", type=bool, group="hardware and speed",
       help="TF32, cudnn.benchmark, CUDA allocator config, torch.compile, fast data loading (GPU-only items are "
            "skipped on the CPU)"),
    _o("--compile_model", type=bool, group="hardware and speed", help="torch.compile the generator and discriminator"),
    _o("--bf16_adamw", type=bool, group="hardware and speed",
       help="AnyPrecisionAdamW (fp32 weights, bf16 moments) + bf16 autocast"),
    _o("--cache_data_in_gpu", type=bool, group="hardware and speed",
       help="load the whole dataset onto the training device once"),
    _o("--deterministic", type=bool, group="hardware and speed", help="deterministic algorithms (slower)"),
    _o("--checkpointing", type=bool, group="hardware and speed",
       help="activation checkpointing (less memory, more compute)"),
    _o("--num_workers", type=int, range=(0, None), group="hardware and speed",
       help="DataLoader workers (default 0; fast_train: min(8, cpus/2))"),

    _o("--save_every", "--save_every_epoch", type=int, range=(1, None), group="saving and logging",
       help="save G/D every N epochs (default 10)"),
    _o("--save_every_minutes", type=float, range=(0, None), group="saving and logging", ui=False,
       help="also save G/D mid-epoch this often; a resume continues at that step (long epochs on a CPU)"),
    _o("--save_only_latest", type=bool, group="saving and logging", help="keep only the newest G/D pair"),
    _o("--save_every_weights", type=bool, group="saving and logging",
       help="also write a small inference .pth at every save"),
    _o("--log_every", type=int, range=(1, None), group="saving and logging",
       help="TensorBoard scalars averaged over N steps (default 50)"),
    _o("--eval_every", type=int, range=(0, None), group="saving and logging",
       help="every N epochs convert --eval_clips with the current model and log eval/* scores (0 = off)"),
    _o("--eval_clips", nargs="+", group="saving and logging", ui=False,
       help="clips to convert (default: three of the run's chunks)"),
    _o("--eval_references", nargs="+", group="saving and logging", ui=False,
       help="target-speaker audio (default: the run's chunks)"),
    _o("--eval_text", group="saving and logging", ui=False,
       help="transcripts of the clips (enables CER; see arvc evaluate -t)"),
    _o("--eval_pitch", type=float, range=PITCH_RANGE, group="saving and logging", ui=False,
       help="semitones applied when converting the clips"),
    _o("--overtrain_detect", type=bool, group="saving and logging",
       help="stop when the smoothed generator loss stops improving"),
    _o("--overtrain_threshold", type=int, range=(1, None), group="saving and logging",
       help="epochs without improvement before stopping"),
    _o("--author", group="saving and logging", help="author name stored in the model file"),
    Option(LOGS_DIR.flags, help=LOGS_DIR.help, group="saving and logging", ui=False),
    Option(PROGRESS.flags, type=bool, help=PROGRESS.help, group="saving and logging", ui=False),
))
