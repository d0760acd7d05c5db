"""oneDNN's AMX bf16 convolution bug (small input-channel groups) and the padding that routes around it."""

from __future__ import annotations

import logging

import torch

from arvc.precision.cpu_features import cpu_amx_active

log = logging.getLogger(__name__)

_REDUCED = (torch.bfloat16, torch.float16)


def amx_conv_bug_shape(conv: torch.nn.Module) -> bool:
    """True for a convolution whose bf16 forward oneDNN's AMX kernel (``brg_conv_fwd``, oneDNN 3.12 in torch
    2.13) computes wrongly: 2-15 input channels per group, no dilation, and channels x kernel width (the
    reduction it folds into one AMX tile row) a multiple of 32. Such a layer's output is unrelated to fp32
    (relative error ~1.0); its backward passes and every other shape are right. Measured over 2,700 shapes."""
    if not isinstance(conv, (torch.nn.Conv1d, torch.nn.Conv2d)) or conv.padding_mode != "zeros":
        return False
    icpg = conv.in_channels // conv.groups
    kernel = conv.kernel_size
    width = kernel[-1] if kernel[-1] > 1 or len(kernel) == 1 else kernel[0]
    return 1 < icpg < 16 and all(d == 1 for d in conv.dilation) and (icpg * width) % 32 == 0


def _runs_reduced(x: torch.Tensor) -> bool:
    if x.dtype in _REDUCED:
        return True
    return (x.dtype == torch.float32 and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") in _REDUCED)


def _conv_padded_channels(conv: torch.nn.Module, x: torch.Tensor, weight: torch.Tensor,
                          bias: torch.Tensor | None) -> torch.Tensor:
    """The same convolution with each group's input channels zero-padded to 16 (a shape AMX computes right).

    ``x``: (B, C, T) or (B, C, H, W); ``weight``: (O, C/groups, *kernel)."""
    unbatched = x.dim() == weight.dim() - 1
    if unbatched:
        x = x.unsqueeze(0)
    g, icpg = conv.groups, weight.shape[1]
    spatial = x.shape[2:]
    extra = (0, 0) * len(spatial) + (0, 16 - icpg)
    x = torch.nn.functional.pad(x.reshape(x.shape[0], g, icpg, *spatial), extra).reshape(x.shape[0], g * 16, *spatial)
    weight = torch.nn.functional.pad(weight, extra)
    fn = torch.nn.functional.conv1d if len(spatial) == 1 else torch.nn.functional.conv2d
    y = fn(x, weight, bias, conv.stride, conv.padding, conv.dilation, g)
    return y.squeeze(0) if unbatched else y


def route_around_amx_conv_bug(model: torch.nn.Module) -> list[str]:
    """Make ``model``'s convolutions of :func:`amx_conv_bug_shape` right in bf16/fp16 on an AMX CPU: their
    reduced-precision forward pads each group's input channels to 16 (zeros; same result, correct kernel).
    fp32 calls are untouched. A no-op for a model off the CPU or where oneDNN cannot use AMX. Returns the
    layer names."""
    param = next(model.parameters(), None)
    if not cpu_amx_active() or (param is not None and param.device.type != "cpu"):
        return []
    patched = []
    for name, conv in model.named_modules():
        if not amx_conv_bug_shape(conv) or getattr(conv, "_arvc_amx_fix", False):
            continue

        def conv_forward(x, weight, bias, conv=conv, plain=type(conv)._conv_forward):
            if x.device.type == "cpu" and _runs_reduced(x):
                return _conv_padded_channels(conv, x, weight, bias)
            return plain(conv, x, weight, bias)

        conv._conv_forward = conv_forward
        conv._arvc_amx_fix = True
        patched.append(name)
    if patched:
        log.debug("AMX bf16 conv fix on %d layer(s): %s", len(patched), ", ".join(patched))
    return patched
