"""Optimizer registry: ``build_optimizer(name, params, lr, ...)``; unknown names list the choices.

Each entry knows which keyword arguments it accepts, so a flag an optimizer does not take (e.g.
``fused`` for RAdam) is dropped with a debug note rather than crashing, and each names the
scheduler it is usually paired with (AdaBelief → cosine, AdaBeliefV2 → inverse_sqrt).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch

from arvc.errors import ArvcError
from arvc.registry import Registry
from arvc.training.optimizers.adabelief import AdaBelief
from arvc.training.optimizers.anyprecision_adamw import AnyPrecisionAdamW

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OptimizerSpec:
    factory: Callable[..., torch.optim.Optimizer]
    accepts: frozenset[str]
    default_scheduler: str = "exponential"
    description: str = ""
    extra_defaults: dict = field(default_factory=dict)


OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer")

_ADAM_KW = frozenset({"lr", "betas", "eps", "weight_decay"})
FUSED_DEVICES = ("cuda", "cpu")  # where torch's fused AdamW kernel exists and is tested


def _adamw(params, fused: bool | None = None, **kw):
    return torch.optim.AdamW(params, fused=fused, **kw)


def _adamw_8bit(params, **kw):
    try:
        import bitsandbytes as bnb
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ArvcError(f"--use_8bit_adam needs bitsandbytes, which failed to import ({e})") from None
    return bnb.optim.AdamW8bit(params, **kw)


OPTIMIZERS.add("AdamW", OptimizerSpec(_adamw, _ADAM_KW | {"fused"}, "exponential",
                                      "torch AdamW; fused kernel on CUDA and the CPU"), "adam")
OPTIMIZERS.add("RAdam", OptimizerSpec(torch.optim.RAdam, _ADAM_KW | {"decoupled_weight_decay", "foreach"},
                                      "exponential", "rectified Adam (no warm-up needed)", {"foreach": True}))
OPTIMIZERS.add("AnyPrecisionAdamW", OptimizerSpec(
    AnyPrecisionAdamW,
    _ADAM_KW | {"use_kahan_summation", "momentum_dtype", "variance_dtype", "compensation_buffer_dtype"},
    "exponential", "AdamW with optimizer state in a chosen dtype (bf16 by default), optional Kahan summation"),
    "anyprecision")
OPTIMIZERS.add("AdaBelief", OptimizerSpec(AdaBelief, _ADAM_KW | {"rectify", "decoupled_decay"}, "cosine",
                                          "AdaBelief, paired with cosine annealing"))
OPTIMIZERS.add("AdaBeliefV2", OptimizerSpec(AdaBelief, _ADAM_KW | {"rectify", "decoupled_decay"}, "inverse_sqrt",
                                            "AdaBelief with AMSGrad, paired with an inverse-sqrt schedule",
                                            {"amsgrad": True}))
OPTIMIZERS.add("AdamW8bit", OptimizerSpec(_adamw_8bit, _ADAM_KW, "exponential",
                                          "bitsandbytes AdamW8bit (--use_8bit_adam)"), "adamw_8bit", "8bit")


def build_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter] | Iterable[dict],
    lr: float,
    betas: tuple[float, float] = (0.8, 0.99),
    eps: float = 1e-9,
    weight_decay: float = 0.0,
    device: torch.device | None = None,
    **kwargs,
) -> torch.optim.Optimizer:
    """Build optimizer ``name`` (RVC's defaults: betas (0.8, 0.99), eps 1e-9).

    ``fused=True`` (one kernel for every parameter: the same update, ~10x faster on a CPU) is requested for
    AdamW on CUDA and the CPU; keyword arguments an optimizer does not take are dropped (logged at debug level).
    """
    spec = OPTIMIZERS.get(name)
    kw = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, **kwargs)
    if "fused" not in kw and "fused" in spec.accepts:
        kw["fused"] = bool(device is not None and device.type in FUSED_DEVICES)
    dropped = sorted(k for k in kw if k not in spec.accepts)
    if dropped:
        log.debug("optimizer %s ignores %s", OPTIMIZERS.resolve(name), ", ".join(dropped))
    kw = {k: v for k, v in kw.items() if k in spec.accepts}
    kw.update(spec.extra_defaults)
    return spec.factory(params, **kw)


def default_scheduler_for(name: str) -> str:
    return OPTIMIZERS.get(name).default_scheduler


__all__ = ["OPTIMIZERS", "OptimizerSpec", "build_optimizer", "default_scheduler_for", "AnyPrecisionAdamW", "AdaBelief"]
