"""Small shared pieces of the RVC networks: weight norm with RVC's state-dict names, masks, slicing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.1


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def init_weights(module: nn.Module, mean: float = 0.0, std: float = 0.01) -> None:
    """HiFi-GAN init: N(mean, std) for conv weights (the direction ``weight_v`` under weight norm)."""
    if "Conv" in module.__class__.__name__:
        target = getattr(module, "weight_v", None)
        if target is None:
            target = module.weight
        target.data.normal_(mean, std)


class _WeightNormHook:
    """Forward pre-hook recomputing ``weight = g * v / ||v||`` (norm over all dims but 0) each call."""

    def __init__(self, name: str = "weight") -> None:
        self.name = name

    def compute(self, module: nn.Module) -> torch.Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return torch._weight_norm(v, g, 0)

    def __call__(self, module: nn.Module, inputs) -> None:
        setattr(module, self.name, self.compute(module))


def weight_norm(module: nn.Module, name: str = "weight") -> nn.Module:
    """Weight-normalise ``module`` in place with RVC's parameter names ``<name>_g`` / ``<name>_v``.

    Same state-dict layout and maths as the legacy ``torch.nn.utils.weight_norm(dim=0)`` (bias first,
    then g, then v), without its deprecation warning. ``w`` is recomputed in the parameter dtype on
    every forward, so fp16 files loaded into fp32 modules are evaluated in fp32.
    """
    weight = getattr(module, name)
    del module._parameters[name]
    g = torch.norm_except_dim(weight, 2, 0)
    module.register_parameter(name + "_g", nn.Parameter(g.data))
    module.register_parameter(name + "_v", nn.Parameter(weight.data))
    hook = _WeightNormHook(name)
    setattr(module, name, hook.compute(module))
    module._arvc_weight_norm = module.register_forward_pre_hook(hook)
    module._arvc_weight_norm_name = name
    return module


def is_weight_normed(module: nn.Module) -> bool:
    return hasattr(module, "_arvc_weight_norm")


def remove_weight_norm(module: nn.Module) -> nn.Module:
    """Fold ``g * v / ||v||`` into a plain ``weight`` parameter (computed in fp32, stored in ``v``'s dtype)."""
    name = module._arvc_weight_norm_name
    with torch.no_grad():
        g = getattr(module, name + "_g")
        v = getattr(module, name + "_v")
        weight = torch._weight_norm(v.float(), g.float(), 0).to(v.dtype)
    module._arvc_weight_norm.remove()
    del module._arvc_weight_norm, module._arvc_weight_norm_name
    del module._parameters[name + "_g"], module._parameters[name + "_v"]
    if name in module.__dict__:
        del module.__dict__[name]
    module.register_parameter(name, nn.Parameter(weight.detach()))
    return module


def remove_all_weight_norm(root: nn.Module) -> int:
    """Fold every weight norm under ``root``; returns how many were folded."""
    count = 0
    for module in list(root.modules()):
        if is_weight_normed(module):
            remove_weight_norm(module)
            count += 1
    return count


def sequence_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """``(B,)`` lengths -> bool ``(B, T)`` with True inside each sequence."""
    if max_length is None:
        max_length = int(lengths.max())
    positions = torch.arange(max_length, dtype=lengths.dtype, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


def slice_segments(x: torch.Tensor, ids_start: torch.Tensor, segment_size: int) -> torch.Tensor:
    """Per-item windows along the last axis: ``x (B, ..., T)`` -> ``(B, ..., segment_size)``.

    ``ids_start (B,)`` long. Positions past the end of ``x`` read zeros.
    """
    t = x.size(-1)
    idx = ids_start.to(x.device).long().view(-1, 1) + torch.arange(segment_size, device=x.device)
    valid = (idx >= 0) & (idx < t)
    idx = idx.clamp(0, max(t - 1, 0))
    shape = (x.size(0),) + (1,) * (x.dim() - 2) + (segment_size,)
    gathered = torch.gather(x, -1, idx.view(shape).expand(*x.shape[:-1], segment_size))
    return gathered * valid.view(shape).to(x.dtype)


def rand_slice_segments(x: torch.Tensor, lengths: torch.Tensor | None, segment_size: int
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random window of ``segment_size`` frames inside each item: ``x (B, C, T)`` -> (slice, ids (B,))."""
    b, _, t = x.size()
    if lengths is None:
        lengths = torch.full((b,), t, device=x.device)
    ids_max = (lengths.to(x.device) - segment_size + 1).clamp(min=1)
    ids = (torch.rand([b], device=x.device) * ids_max).to(torch.long)
    return slice_segments(x, ids, segment_size), ids


def fused_add_tanh_sigmoid_multiply(a: torch.Tensor, b: torch.Tensor, n_channels: int) -> torch.Tensor:
    """WaveNet gate: ``tanh(x[:, :n]) * sigmoid(x[:, n:])`` with ``x = a + b``."""
    x = a + b
    return torch.tanh(x[:, :n_channels]) * torch.sigmoid(x[:, n_channels:])


def kl_divergence(m_p, logs_p, m_q, logs_q):
    """KL(P || Q) elementwise for diagonal Gaussians given means and log-stds."""
    kl = (logs_q - logs_p) - 0.5
    kl = kl + 0.5 * (torch.exp(2.0 * logs_p) + (m_p - m_q) ** 2) * torch.exp(-2.0 * logs_q)
    return kl


def masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask


def stage_mask(mask: torch.Tensor | None, factor: int) -> torch.Tensor | None:
    """Frame mask ``(B, 1, T)`` -> sample mask ``(B, 1, T * factor)`` (nearest)."""
    if mask is None or factor == 1:
        return mask
    return mask.repeat_interleave(factor, dim=-1)


def pad_to(x: torch.Tensor, length: int) -> torch.Tensor:
    """Right-pad (zeros) or crop the last axis to ``length``."""
    t = x.size(-1)
    if t == length:
        return x
    if t > length:
        return x[..., :length]
    return F.pad(x, (0, length - t))


def to_nwc(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T)`` -> ``(B, C, 1, T)`` in channels-last memory (oneDNN's fast layout for these convs)."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def from_nwc(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, 1, T)`` -> contiguous ``(B, C, T)``."""
    return x.squeeze(2).contiguous()


def conv_nwc(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a ``Conv1d`` / ``ConvTranspose1d`` to ``x (B, C, 1, T)`` channels-last, as the equivalent 2-D conv.

    Same maths as ``conv(x.squeeze(2))`` (inference fast path; the CPU runs channels-last 2-D convs
    1.2-4x faster than 1-D ones at HiFi-GAN sizes). Returns ``(B, C_out, 1, T_out)`` channels-last.
    """
    if hasattr(conv, "forward_nwc"):  # a layer with its own channels-last form (e.g. an int8 conv)
        return conv.forward_nwc(x)
    if is_weight_normed(conv):
        _WeightNormHook(conv._arvc_weight_norm_name)(conv, ())
    w = conv.weight.unsqueeze(2)
    if isinstance(conv, nn.ConvTranspose1d):
        return F.conv_transpose2d(x, w, conv.bias, (1, conv.stride[0]), (0, conv.padding[0]),
                                  (0, conv.output_padding[0]), conv.groups, (1, conv.dilation[0]))
    if isinstance(conv.padding, str):
        raise ValueError("conv_nwc needs numeric padding")
    return F.conv2d(x, w, conv.bias, (1, conv.stride[0]), (0, conv.padding[0]), (1, conv.dilation[0]), conv.groups)
