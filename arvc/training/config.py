"""Typed configuration of one training run (what ``arvc train`` flags become)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


MODEL_SIZES = ("full", "small", "tiny")


@dataclass
class LossWeights:
    """Weights of the generator loss terms (RVC: c_mel 45, c_kl 1.0; feature matching already doubled inside)."""

    mel: float = 45.0
    kl: float = 1.0
    fm: float = 1.0
    gen: float = 1.0
    energy: float = 1.0
    # Applio divides the summed multi-scale loss by 3 so its size matches the single mel loss
    multiscale_divisor: float = 3.0


@dataclass
class TrainConfig:
    """Everything a training run needs besides the data on disk.

    ``model_size``: ``"full"`` is RVC's preset (the only size RVC pretrains fit), ``"small"`` a reduced model
    that trains from scratch on a CPU (quickstart), ``"tiny"`` a debug size for tests.
    ``max_minutes``: a wall-clock budget; the run stops after the step that exceeds it and saves.
    ``sample_rate``/``version``/``vocoder`` default to model_info.json / the pretrains when None.
    """

    model_name: str
    logs_dir: str | None = None
    # model
    sample_rate: int | None = None
    version: str | None = None
    vocoder: str | None = None
    use_f0: bool = True
    model_size: str = "full"
    pretrained_g: str | None = None
    pretrained_d: str | None = None
    pretrained: str | None = None  # a pretrain catalog id/name (default: the catalog's standard one)
    from_scratch: bool = False  # the only way to train without a pretrain
    catalog_url: str | None = None
    # schedule
    epochs: int = 300
    max_steps: int | None = None
    max_minutes: float | None = None
    batch_size: int = 8
    grad_accum_steps: int = 1
    learning_rate: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.99)
    eps: float = 1e-9
    weight_decay: float = 0.0
    lr_decay: float = 0.999875
    optimizer: str = "AdamW"
    scheduler: str | None = None
    cosine_lr: bool = False
    use_8bit_adam: bool = False
    warmup_epochs: int = 0
    grad_clip: float | None = None
    seed: int = 1234
    # losses
    multiscale_loss: bool = True
    energy_use: bool = False
    weights: LossWeights = field(default_factory=LossWeights)
    # hardware / speed
    gpu: str | None = None
    precision: str = "auto"
    deterministic: bool = False
    checkpointing: bool = False
    fast_train: bool = False
    compile_model: bool = False
    bf16_adamw: bool = False
    cache_data_in_gpu: bool = False
    num_workers: int | None = None
    # saving / logging
    save_every: int = 10
    save_every_minutes: float | None = None  # also save mid-epoch this often (a resume continues from that step)
    save_only_latest: bool = False
    save_every_weights: bool = False
    log_every: int = 50
    eval_every: int = 0  # score the model every N epochs (eval/* in TensorBoard); 0 = never
    eval_clips: list[str] = field(default_factory=list)  # default: three of the run's own chunks
    eval_references: list[str] = field(default_factory=list)  # default: the run's chunks
    eval_text: str | None = None
    eval_pitch: float = 0.0
    eval_f0_method: str = "fcpe"
    overtrain_detect: bool = False
    overtrain_threshold: int = 50
    overtrain_smoothing: float = 0.9
    max_nonfinite_steps: int = 5
    progress: bool = True
    author: str = ""

    def __post_init__(self) -> None:
        if self.version not in (None, "v1", "v2"):
            raise ValueError(f"version must be v1 or v2, got {self.version!r}")
        if self.model_size not in MODEL_SIZES:
            raise ValueError(f"model_size must be one of {', '.join(MODEL_SIZES)}, got {self.model_size!r}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError("max_minutes must be > 0")
        if self.save_every_minutes is not None and self.save_every_minutes <= 0:
            raise ValueError("save_every_minutes must be > 0")
        if self.precision not in ("auto", "fp32", "fp16", "bf16"):
            raise ValueError(f"precision must be auto, fp32, fp16 or bf16, got {self.precision!r}")
        if self.batch_size < 1 or self.grad_accum_steps < 1 or self.epochs < 1:
            raise ValueError("batch_size, grad_accum_steps and epochs must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"--max_steps {self.max_steps}: must be >= 1 (omit it for no step limit)")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"--learning_rate {self.learning_rate}: must be a positive number")
        if self.save_every < 1 or self.log_every < 1:
            raise ValueError(f"--save_every {self.save_every} / --log_every {self.log_every}: must be >= 1")
        if self.grad_clip is not None and not (math.isfinite(self.grad_clip) and self.grad_clip > 0):
            raise ValueError(f"--grad_clip {self.grad_clip}: must be a positive number (omit it for no clipping)")
        if self.num_workers is not None and not 0 <= self.num_workers <= 64:
            raise ValueError(f"--num_workers {self.num_workers}: expected 0..64")
        if not 0 <= self.seed < 2 ** 32:
            raise ValueError(f"--seed {self.seed}: expected 0..{2 ** 32 - 1}")
        self.betas = tuple(self.betas)  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
