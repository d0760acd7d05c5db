"""Tiled HiFi-GAN decoding: the vocoder run over short time tiles instead of a whole 40 s chunk.

The decoder is local (a finite receptive field), so each tile is decoded with ``margin`` extra
frames of context on both sides and only its own samples are kept; the harmonic source is computed
once over the whole sequence and sliced, so its running phase is the one a single pass gives.
The result equals the one-pass output (float rounding aside) while every intermediate tensor stays
cache-sized, which is what makes the multi-million-sample late stages fast on CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn

DEFAULT_TILE_FRAMES = 64


def _conv_reach(module: nn.Module) -> int:
    """Samples of one-sided context a chain of the module's Conv1d layers can read (upper bound)."""
    return sum((m.kernel_size[0] - 1) // 2 * m.dilation[0] + 1 for m in module.modules() if isinstance(m, nn.Conv1d))


def receptive_margin(dec: nn.Module) -> int:
    """Frames of context each side that make a tile's kept output exact, for a HiFiGANGenerator ``dec``."""
    n_stages = len(dec.ups)
    per_stage = len(dec.resblocks) // n_stages
    reach = _conv_reach(dec.conv_post)
    for i in reversed(range(n_stages)):
        blocks = dec.resblocks[i * per_stage:(i + 1) * per_stage]
        reach += max(_conv_reach(b) for b in blocks)
        up = dec.ups[i]
        reach = math.ceil((reach + up.kernel_size[0]) / up.stride[0]) + 1
    reach += _conv_reach(dec.conv_pre)
    return reach + 2


def supports_tiling(dec: nn.Module) -> bool:
    """True for RVC's HiFi-GAN (NSF) decoder, the structure this module knows how to tile."""
    return all(hasattr(dec, a) for a in ("ups", "resblocks", "conv_pre", "conv_post", "_stage", "upsample_rates")) \
        and type(dec).__name__ == "HiFiGANGenerator"


@torch.inference_mode()
def decode_tiled(dec: nn.Module, z: torch.Tensor, f0: torch.Tensor | None, g: torch.Tensor | None,
                 x_mask: torch.Tensor | None = None, tile_frames: int = DEFAULT_TILE_FRAMES,
                 margin: int | None = None) -> torch.Tensor:
    """``dec(z, f0, g, x_mask)`` computed tile by tile: z (B, C, T), f0 (B, T) Hz -> (B, 1, T * hop)."""
    import torch.nn.functional as F

    from arvc.models.commons import LRELU_SLOPE, masked, stage_mask

    b, _, t = z.shape
    upp = int(dec.upp)
    margin = receptive_margin(dec) if margin is None else margin
    if t <= tile_frames + 2 * margin:
        return dec(z, f0, g=g, x_mask=x_mask)
    har = None
    if dec.nsf:
        har = dec.source(f0).transpose(1, 2)  # (B, 1, T * upp), phase accumulated over the whole sequence
        har = masked(har, stage_mask(x_mask, upp))
    cond = dec.cond(g) if (g is not None and hasattr(dec, "cond")) else None
    out = z.new_empty(b, 1, t * upp)
    for a in range(0, t, tile_frames):
        e = min(t, a + tile_frames)
        lo, hi = max(0, a - margin), min(t, e + margin)
        mask = x_mask[..., lo:hi] if x_mask is not None else None
        x = dec.conv_pre(masked(z[..., lo:hi], mask))
        if cond is not None:
            x = x + cond
        h = har[..., lo * upp:hi * upp] if har is not None else None
        for i in range(len(dec.ups)):
            x = dec._stage(i, x, h, mask)
            mask = stage_mask(mask, dec.upsample_rates[i])
        x = masked(F.leaky_relu(x), mask)
        y = torch.tanh(dec.conv_post(x))
        out[..., a * upp:e * upp] = y[..., (a - lo) * upp:(e - lo) * upp]
    return out
