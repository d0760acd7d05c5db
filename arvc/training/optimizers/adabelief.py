"""AdaBelief (Zhuang et al., 2020): Adam whose second moment tracks the *belief* (g - m)^2.

Decoupled weight decay (AdamW-style), optional AMSGrad and optional rectification are exposed;
``AdaBeliefV2`` in the registry is AdaBelief with AMSGrad, paired with an inverse-sqrt schedule.
"""

from __future__ import annotations

import math

import torch
from torch.optim import Optimizer


class AdaBelief(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-16,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        decoupled_decay: bool = True,
        rectify: bool = False,
    ):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"invalid AdaBelief hyper-parameters lr={lr} betas={betas} eps={eps}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        decoupled_decay=decoupled_decay, rectify=rectify)
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
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise RuntimeError("AdaBelief does not support sparse gradients")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_var"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["amsgrad"]:
                        state["max_exp_avg_var"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                step = state["step"].item()
                if wd != 0:
                    if group["decoupled_decay"]:
                        p.mul_(1 - lr * wd)
                    else:
                        grad = grad.add(p, alpha=wd)
                exp_avg, exp_avg_var = state["exp_avg"], state["exp_avg_var"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                diff = grad - exp_avg
                exp_avg_var.mul_(beta2).addcmul_(diff, diff, value=1 - beta2).add_(eps)
                bias1 = 1 - beta1**step
                bias2 = 1 - beta2**step
                var = exp_avg_var
                if group["amsgrad"]:
                    torch.maximum(state["max_exp_avg_var"], exp_avg_var, out=state["max_exp_avg_var"])
                    var = state["max_exp_avg_var"]
                denom = (var.sqrt() / math.sqrt(bias2)).add_(eps)
                step_size = lr / bias1
                if group["rectify"]:
                    rho_inf = 2 / (1 - beta2) - 1
                    rho_t = rho_inf - 2 * step * beta2**step / bias2
                    if rho_t > 4:
                        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                        p.addcdiv_(exp_avg, denom, value=-step_size * r)
                    else:
                        p.add_(exp_avg, alpha=-step_size)
                else:
                    p.addcdiv_(exp_avg, denom, value=-step_size)
        return loss
