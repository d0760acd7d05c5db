"""AdamW whose optimizer state lives in a chosen dtype (e.g. bf16), with optional Kahan summation.

The parameters (master weights) keep their own dtype (fp32 in arvc); only ``exp_avg``, ``exp_avg_sq``
and the Kahan compensation buffer are stored in ``momentum_dtype`` / ``variance_dtype`` /
``compensation_buffer_dtype``. With bf16 moments this halves optimizer memory. Kahan summation
makes low-precision *parameter* updates exact-ish when parameters themselves are bf16.
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer


class AnyPrecisionAdamW(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        use_kahan_summation: bool = False,
        momentum_dtype: torch.dtype = torch.bfloat16,
        variance_dtype: torch.dtype = torch.bfloat16,
        compensation_buffer_dtype: torch.dtype = torch.bfloat16,
    ):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"invalid AnyPrecisionAdamW hyper-parameters lr={lr} betas={betas} eps={eps}")
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
            use_kahan_summation=use_kahan_summation, momentum_dtype=momentum_dtype,
            variance_dtype=variance_dtype, compensation_buffer_dtype=compensation_buffer_dtype,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            kahan = group["use_kahan_summation"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("AnyPrecisionAdamW does not support sparse gradients")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p, dtype=group["momentum_dtype"])
                    state["exp_avg_sq"] = torch.zeros_like(p, dtype=group["variance_dtype"])
                    if kahan:
                        state["compensation"] = torch.zeros_like(p, dtype=group["compensation_buffer_dtype"])
                state["step"] += 1
                step = state["step"].item()
                grad = p.grad.float()
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                m = exp_avg.float().mul_(beta1).add_(grad, alpha=1 - beta1)
                v = exp_avg_sq.float().mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                exp_avg.copy_(m)
                exp_avg_sq.copy_(v)
                bias1 = 1 - beta1**step
                bias2 = 1 - beta2**step
                denom = (v.sqrt() / (bias2**0.5)).add_(eps)
                update = (m / bias1) / denom
                p_f = p.float()
                delta = -lr * (update + wd * p_f)
                if kahan:
                    comp = state["compensation"]
                    corrected = delta + comp.float()
                    new = p_f + corrected
                    p.copy_(new)
                    comp.copy_(corrected - (p.float() - p_f))
                else:
                    p.copy_(p_f + delta)
        return loss
