"""Collective operations of a multi-process run (``accelerate launch`` / ``torchrun``); no-ops for one process.

The GAN step needs the discriminator updated before the generator's pass, so gradients are averaged here
with one all-reduce per model instead of a DDP wrapper (which reduces inside ``backward``).
"""

from __future__ import annotations

import torch


def world_size() -> int:
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def broadcast_parameters(*models: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (same starting point everywhere)."""
    if world_size() <= 1:
        return
    for model in models:
        for t in list(model.parameters()) + list(model.buffers()):
            torch.distributed.broadcast(t.data, src=0)


def average_gradients(model: torch.nn.Module) -> None:
    """All-reduce (mean) every gradient of ``model`` across processes, in one flat buffer."""
    world = world_size()
    if world <= 1:
        return
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def any_rank(flag: bool, device: torch.device) -> bool:
    """True when ``flag`` is True on at least one process (so every process takes the same branch)."""
    if world_size() <= 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t)
    return bool(t.item() > 0)


def sum_across(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum of ``values`` over processes (float64)."""
    if world_size() <= 1:
        return list(values)
    t = torch.tensor(values, device=device, dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return t.tolist()
