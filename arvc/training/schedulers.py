"""Learning-rate schedules as pure functions of the epoch, wrapped in LambdaLR.

All schedules are stepped once per epoch, as RVC does (ExponentialLR with gamma 0.999875).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch

from arvc.registry import Registry


@dataclass(frozen=True)
class ScheduleConfig:
    epochs: int = 1000
    gamma: float = 0.999875  # exponential decay per epoch (RVC's default)
    warmup_epochs: int = 0
    min_lr_ratio: float = 0.0  # cosine floor, as a fraction of the base LR


def exponential_factor(epoch: int, cfg: ScheduleConfig) -> float:
    """gamma ** epoch."""
    return cfg.gamma**epoch


def cosine_factor(epoch: int, cfg: ScheduleConfig) -> float:
    """Linear warm-up, then half a cosine from 1 to ``min_lr_ratio`` over the remaining epochs."""
    if cfg.warmup_epochs and epoch < cfg.warmup_epochs:
        return (epoch + 1) / cfg.warmup_epochs
    span = max(1, cfg.epochs - cfg.warmup_epochs)
    t = min(1.0, (epoch - cfg.warmup_epochs) / span)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def inverse_sqrt_factor(epoch: int, cfg: ScheduleConfig) -> float:
    """Linear warm-up over ``warmup_epochs`` (≥1), then sqrt(warmup / epoch)."""
    w = max(1, cfg.warmup_epochs)
    e = epoch + 1
    return e / w if e < w else math.sqrt(w / e)


SCHEDULERS: Registry[Callable[[int, ScheduleConfig], float]] = Registry("scheduler")
SCHEDULERS.add("exponential", exponential_factor, "exp", "ExponentialLR")
SCHEDULERS.add("cosine", cosine_factor, "cosine_lr", "CosineAnnealingLR")
SCHEDULERS.add("inverse_sqrt", inverse_sqrt_factor, "invsqrt", "InverseSqrt")


def lr_at(name: str, epoch: int, base_lr: float, cfg: ScheduleConfig) -> float:
    """The learning rate of schedule ``name`` at (0-based) ``epoch``: a pure function."""
    return base_lr * SCHEDULERS.get(name)(epoch, cfg)


def build_scheduler(
    name: str, optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, last_epoch: int = -1
) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR following schedule ``name``; ``last_epoch`` resumes it (the epoch index already done)."""
    fn = partial(SCHEDULERS.get(name), cfg=cfg)
    if last_epoch >= 0:
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=fn, last_epoch=last_epoch)
