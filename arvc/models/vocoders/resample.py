"""Band-limited resampling with a windowed sinc, in plain torch: the maths of torchaudio's
``functional.resample`` with ``resampling_method="sinc_interp_kaiser"`` (the default here) or
``"sinc_interp_hann"`` (``window="hann"``; torchaudio's own default, with width 6 and rolloff 0.99)."""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

KAISER_BETA = 14.769656459379492
ROLLOFF = 0.9475937167399596
LOWPASS_FILTER_WIDTH = 64


@lru_cache(maxsize=64)
def _kernel_cpu(orig: int, new: int, width_zc: int, rolloff: float, beta: float,
                dtype: torch.dtype, window: str = "kaiser") -> tuple[torch.Tensor, int]:
    base = min(orig, new) * rolloff
    width = math.ceil(width_zc * orig / base)
    idx = torch.arange(-width, width + orig, dtype=dtype)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=dtype)[:, None, None] / new + idx
    t = (t * base).clamp_(-width_zc, width_zc)
    if window == "hann":
        taper = torch.cos(t * math.pi / width_zc / 2) ** 2
    else:
        taper = torch.i0(beta * torch.sqrt(1 - (t / width_zc) ** 2)) / torch.i0(torch.tensor(float(beta), dtype=dtype))
    t = t * math.pi
    kernel = torch.where(t == 0, torch.tensor(1.0, dtype=dtype), t.sin() / t)
    kernel = kernel * taper * (base / orig)
    return kernel, width


def sinc_kernel(orig: int, new: int, *, lowpass_filter_width: int = LOWPASS_FILTER_WIDTH,
                rolloff: float = ROLLOFF, beta: float = KAISER_BETA, dtype: torch.dtype = torch.float32,
                device: torch.device | str = "cpu", window: str = "kaiser") -> tuple[torch.Tensor, int]:
    """Polyphase kernel ``(new, 1, 2*width + orig)`` and ``width`` for the gcd-reduced ratio."""
    if window not in ("kaiser", "hann"):
        raise ValueError(f"resampling window must be 'kaiser' or 'hann', got {window!r}")
    g = math.gcd(int(orig), int(new))
    kernel, width = _kernel_cpu(int(orig) // g, int(new) // g, int(lowpass_filter_width), float(rolloff),
                                float(beta), dtype, window)
    return kernel.to(device), width


def resample(x: torch.Tensor, orig_freq: int, new_freq: int, *, lowpass_filter_width: int = LOWPASS_FILTER_WIDTH,
             rolloff: float = ROLLOFF, beta: float = KAISER_BETA, window: str = "kaiser") -> torch.Tensor:
    """Resample the last axis of ``x (..., N)`` from ``orig_freq`` to ``new_freq`` -> ``(..., ceil(N*new/orig))``."""
    orig_freq, new_freq = int(orig_freq), int(new_freq)
    if orig_freq == new_freq:
        return x
    g = math.gcd(orig_freq, new_freq)
    orig, new = orig_freq // g, new_freq // g
    kernel, width = sinc_kernel(orig_freq, new_freq, lowpass_filter_width=lowpass_filter_width,
                                rolloff=rolloff, beta=beta, dtype=x.dtype, device=x.device, window=window)
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    length = flat.shape[-1]
    flat = F.pad(flat, (width, width + orig))
    out = F.conv1d(flat[:, None], kernel, stride=orig)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)
    target = math.ceil(new * length / orig)
    return out[..., :target].reshape(shape[:-1] + (-1,))
