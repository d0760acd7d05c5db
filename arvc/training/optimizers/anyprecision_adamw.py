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
            params = [p for p in group["params"] if p.grad is not None]
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError("AnyPrecisionAdamW does not support sparse gradients")
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p, dtype=group["momentum_dtype"])
                    state["exp_avg_sq"] = torch.zeros_like(p, dtype=group["variance_dtype"])
                    if group["use_kahan_summation"]:
                        state["compensation"] = torch.zeros_like(p, dtype=group["compensation_buffer_dtype"])
            # parameters that share step count, dtype and device are updated together (foreach kernels)
            buckets: dict[tuple, list[torch.Tensor]] = {}
            for p in params:
                state = self.state[p]
                state["step"] += 1
                buckets.setdefault((float(state["step"]), p.dtype, p.device), []).append(p)
            for (step, _, _), bucket in buckets.items():
                self._update(bucket, group, step)
        return loss

    def _update(self, params: list[torch.Tensor], group: dict, step: float) -> None:
        """One AdamW step for ``params`` (same step count): moments in fp32, stored back in their dtype.

        ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g²``,
        ``p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr wd p`` (decoupled weight decay).
        """
        beta1, beta2 = group["betas"]
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        states = [self.state[p] for p in params]
        grads = [p.grad.float() for p in params]
        m = [s["exp_avg"].to(torch.float32, copy=True) for s in states]  # fp32 work copies, reused below
        v = [s["exp_avg_sq"].to(torch.float32, copy=True) for s in states]
        torch._foreach_lerp_(m, grads, 1 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
        torch._foreach_copy_([s["exp_avg"] for s in states], m)
        torch._foreach_copy_([s["exp_avg_sq"] for s in states], v)
        # the rest works in place on the fp32 moment copies (fresh allocations of this size are page faults)
        bias1, bias2 = 1 - beta1**step, 1 - beta2**step
        denom = v
        torch._foreach_sqrt_(denom)
        torch._foreach_div_(denom, bias2**0.5)
        torch._foreach_add_(denom, eps)
        delta = m
        torch._foreach_div_(delta, denom)  # m / denom; the 1 / bias1 goes into the step size
        torch._foreach_mul_(delta, -lr / bias1)
        masters = [p.float() for p in params]  # the parameters themselves when fp32, copies otherwise
        if wd:
            torch._foreach_add_(delta, masters, alpha=-lr * wd)
        if group["use_kahan_summation"]:
            comps = [self.state[p]["compensation"] for p in params]
            torch._foreach_add_(delta, [c.float() for c in comps])  # corrected step
            new = torch._foreach_add(masters, delta)
            old = [q.clone() for q in masters] if any(p.dtype == torch.float32 for p in params) else masters
            torch._foreach_copy_(params, new)
            applied = torch._foreach_sub([p.float() for p in params], old)
            torch._foreach_copy_(comps, torch._foreach_sub(delta, applied))
        elif all(p.dtype == torch.float32 for p in params):
            torch._foreach_add_(params, delta)
        else:
            torch._foreach_copy_(params, torch._foreach_add(masters, delta))
