"""HiFi-GAN decoder, with the NSF harmonic source (RVC's default with pitch) or without (no-f0 models)."""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from arvc.models.commons import (LRELU_SLOPE, conv_nwc, from_nwc, init_weights, masked, stage_mask, to_nwc,
                                 weight_norm)
from arvc.models.modules import make_resblock
from arvc.models.vocoders.source import SineSource


def noise_conv_geometry(upsample_rates: list[int], i: int) -> tuple[int, int, int]:
    """(kernel, stride, padding) of the conv that brings the sample-rate source to stage ``i``."""
    stride = math.prod(upsample_rates[i + 1:]) if i + 1 < len(upsample_rates) else 1
    kernel = 1 if stride == 1 else stride * 2 - stride % 2
    padding = 0 if stride == 1 else (kernel - stride) // 2
    return kernel, stride, padding


def upsample_geometry(u: int, k: int, nsf: bool = True) -> tuple[int, int]:
    """(padding, output_padding) of an upsampling ConvTranspose1d (odd rates handled as Applio does)."""
    if u % 2 == 0 or not nsf:
        return (k - u) // 2, 0
    return u // 2 + u % 2, u % 2


def average_blocks(blocks, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of the residual blocks' outputs on ``x (B, C, T)`` (multi-receptive-field fusion); in place
    when no gradient is needed."""
    xs = blocks[0](x, mask)
    if torch.is_grad_enabled():
        for block in blocks[1:]:
            xs = xs + block(x, mask)
        return xs / len(blocks)
    for block in blocks[1:]:
        xs.add_(block(x, mask))
    return xs.div_(len(blocks))


def decode(gen: nn.Module, x: torch.Tensor, har: torch.Tensor | None, g: torch.Tensor | None,
           x_mask: torch.Tensor | None) -> torch.Tensor:
    """The HiFi-GAN family's decoder pass: ``conv_pre`` (+ speaker ``cond``), one ``gen._stage`` per upsampling
    rate (activation-checkpointed when training with ``gen.checkpointing``), leaky ReLU, ``conv_post``, tanh.

    CPU inference takes ``gen._forward_nwc`` (channels-last, same values). ``x (B, C, T)`` -> ``(B, 1, T * hop)``.
    """
    if gen.use_fast_path(x):
        return gen._forward_nwc(x, har, g, x_mask)
    x = gen.conv_pre(masked(x, x_mask))
    if g is not None:
        x = x + gen.cond(g)
    mask = x_mask
    last = len(gen.upsample_rates) - 1
    for i, rate in enumerate(gen.upsample_rates):
        with output_rate_in_fp32(x, i == last):
            if gen.training and gen.checkpointing:
                x = torch.utils.checkpoint.checkpoint(gen._stage, i, x, har, mask, use_reentrant=False)
            else:
                x = gen._stage(i, x, har, mask)
        mask = stage_mask(mask, rate)
    with output_rate_in_fp32(x):
        x = masked(F.leaky_relu(x), mask)
        return torch.tanh(gen.conv_post(x))


@contextlib.contextmanager
def output_rate_in_fp32(x: torch.Tensor, active: bool = True):
    """Autocast off for the decoder's last stage (the output sample rate) and ``conv_post``.

    In bf16 these put a floor ~50 dB under the waveform, which the log-mel loss sees in quiet bins: training a
    full v2 40k model with them in bf16 plateaued (mel loss 152 after 16 steps vs 127-129 in fp32, the spread
    of two fp32 seeds); with them in fp32 it tracks fp32 (128) for ~5% more time per step."""
    if not (active and torch.is_autocast_enabled(x.device.type)):
        yield
        return
    with torch.autocast(device_type=x.device.type, enabled=False):
        yield


def decode_channels_last(gen: nn.Module, ups: nn.ModuleList, block_groups: list, x: torch.Tensor,
                         har: torch.Tensor | None, g: torch.Tensor | None, x_mask: torch.Tensor | None,
                         drop: int = 0, reach: list[int] | None = None) -> torch.Tensor:
    """The HiFi-GAN family's ``forward`` with every activation channels-last ``(B, C, 1, T)`` (CPU inference).

    ``gen`` holds ``conv_pre``, ``cond``, ``noise_convs``, ``conv_post``, ``upsample_rates``, ``num_kernels``;
    ``ups[i]`` upsamples stage i and ``block_groups[i]`` are its residual blocks (averaged). Same values as
    the plain path. ``x (B, C, T)``, ``har (B, 1, T * hop) | None`` -> ``(B, 1, (T - drop) * hop)``: the first
    ``drop`` frames are context only. With ``reach`` (:func:`stage_reach`) each stage after the first runs only
    on the samples the kept output reads, so the context costs the later, high-rate stages nothing; same values.
    """
    mask = x_mask.unsqueeze(2) if x_mask is not None else None
    x = conv_nwc(gen.conv_pre, to_nwc(masked(x, x_mask)))
    if g is not None:
        x.add_(gen.cond(g).unsqueeze(2))
    har = to_nwc(har) if har is not None else None
    off, rate = 0, 1  # samples cut from the front at the current rate; the current rate in samples per frame
    for i, blocks in enumerate(block_groups):
        x = F.leaky_relu_(x, LRELU_SLOPE)
        if mask is not None:
            x.mul_(mask)
        x = conv_nwc(ups[i], x)
        off, rate = off * gen.upsample_rates[i], rate * gen.upsample_rates[i]
        mask = stage_mask(mask, gen.upsample_rates[i])
        if har is not None:
            x.add_(conv_nwc(gen.noise_convs[i], har)[..., off:off + x.shape[-1]])
        xs = blocks[0].forward_nwc(x, mask)
        for block in blocks[1:]:
            xs.add_(block.forward_nwc(x, mask))
        x = xs.div_(gen.num_kernels)
        cut = max(drop * rate - reach[i], off) - off if reach is not None and i + 1 < len(block_groups) else 0
        if cut > 0:
            x, off = x[..., cut:].contiguous(memory_format=torch.channels_last), off + cut
            mask = mask[..., cut:] if mask is not None else None
    x = F.leaky_relu_(x)
    if mask is not None:
        x.mul_(mask)
    return torch.tanh_(from_nwc(conv_nwc(gen.conv_post, x)))[..., drop * rate - off:]


def stage_reach(upsample_rates: list[int], upsample_kernel_sizes: list[int], resblock_kernel_sizes: list[int],
                resblock_dilation_sizes: list[list[int]], post_kernel: int = 7) -> list[int]:
    """``r[i]``: samples at stage ``i``'s rate before an output sample's own position that the rest of the decoder
    (stages ``i+1..``, ``conv_post``) reads to make it, an upper bound from the layer geometry (a residual
    block's convs counted as if all in series, ResBlock1's second conv per dilation included)."""
    blocks = max(sum((k - 1) // 2 * (d + 1) for d in dil) for k, dil in zip(resblock_kernel_sizes,
                                                                           resblock_dilation_sizes))
    r, out = (post_kernel - 1) // 2, [0] * len(upsample_rates)
    for j in range(len(upsample_rates) - 1, 0, -1):
        u, k = upsample_rates[j], upsample_kernel_sizes[j]
        pad = upsample_geometry(u, k)[0]
        r = -(-(r + blocks) // u) + -(-max(k - 1 - pad, 0) // u) + 1
        out[j - 1] = r
    return out


class HiFiGANGenerator(nn.Module):
    """``dec`` of RVC: conv_pre -> [lrelu, ConvTranspose, (+ source conv), mean of ResBlocks] x N -> conv_post.

    ``forward(x (B, inter, T), f0 (B, T) Hz | None, g (B, gin, 1) | None, x_mask (B, 1, T) | None)
    -> (B, 1, T * hop)`` in [-1, 1]. With ``x_mask`` every conv reads zeros past each item's end, so
    a padded batch gives each item the output it would get alone. ``mainline_order`` registers
    ``noise_convs`` before ``conv_pre`` (mainline RVC's state-dict order, used for v1; Applio's otherwise).
    """

    def __init__(self, initial_channel: int, resblock: str, resblock_kernel_sizes: list[int],
                 resblock_dilation_sizes: list[list[int]], upsample_rates: list[int],
                 upsample_initial_channel: int, upsample_kernel_sizes: list[int], gin_channels: int = 0,
                 sample_rate: int | None = None, nsf: bool = True, checkpointing: bool = False,
                 mainline_order: bool = False):
        super().__init__()
        self.nsf = nsf
        self.num_kernels = len(resblock_kernel_sizes)
        self.upsample_rates = list(upsample_rates)
        self.upp = int(math.prod(upsample_rates))
        self.checkpointing = checkpointing
        self.fast_inference = True
        if nsf:
            self.m_source = SineSource(sample_rate, harmonic_num=0)
        if nsf and mainline_order:
            self.noise_convs = nn.ModuleList()
        self.conv_pre = nn.Conv1d(initial_channel, upsample_initial_channel, 7, 1, padding=3)
        self.ups = nn.ModuleList()
        if nsf and not mainline_order:
            self.noise_convs = nn.ModuleList()
        channels = [upsample_initial_channel // (2 ** (i + 1)) for i in range(len(upsample_rates))]
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            pad, out_pad = upsample_geometry(u, k, nsf)
            self.ups.append(weight_norm(nn.ConvTranspose1d(
                upsample_initial_channel // (2**i), channels[i], k, u, padding=pad, output_padding=out_pad)))
            if nsf:
                kernel, stride, padding = noise_conv_geometry(upsample_rates, i)
                self.noise_convs.append(nn.Conv1d(1, channels[i], kernel_size=kernel, stride=stride,
                                                  padding=padding))
        self.reach = stage_reach(upsample_rates, upsample_kernel_sizes, resblock_kernel_sizes, resblock_dilation_sizes)
        self.resblocks = nn.ModuleList([
            make_resblock(resblock, channels[i], k, d)
            for i in range(len(self.ups))
            for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes)])
        self.conv_post = nn.Conv1d(channels[-1], 1, 7, 1, padding=3, bias=False)
        self.ups.apply(init_weights)
        if gin_channels:
            self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def source(self, f0: torch.Tensor) -> torch.Tensor:
        """Harmonic source ``(B, T * hop, 1)`` for ``f0 (B, T)``."""
        return self.m_source(f0, self.upp)

    def _stage(self, i: int, x: torch.Tensor, har: torch.Tensor | None, mask: torch.Tensor | None):
        if not torch.is_autocast_enabled(x.device.type):  # inside output_rate_in_fp32 (or no autocast at all)
            x = x.to(self.conv_pre.weight.dtype)
            har = har.to(x.dtype) if har is not None else None
        x = masked(F.leaky_relu(x, LRELU_SLOPE), mask)
        x = self.ups[i](x)
        mask = stage_mask(mask, self.upsample_rates[i])
        if har is not None:
            x = x + self.noise_convs[i](har)
        blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
        return average_blocks(blocks, x, mask)

    def use_fast_path(self, x: torch.Tensor) -> bool:
        """Inference on CPU without autograd: run the convs channels-last (``_forward_nwc``), same values."""
        return self.fast_inference and not torch.is_grad_enabled() and x.device.type == "cpu"

    def _forward_nwc(self, x: torch.Tensor, har: torch.Tensor | None, g: torch.Tensor | None,
                     x_mask: torch.Tensor | None, drop: int = 0) -> torch.Tensor:
        groups = [self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels] for i in range(len(self.ups))]
        return decode_channels_last(self, self.ups, groups, x, har, g, x_mask, drop, getattr(self, "reach", None))

    def context_frames(self, g: torch.Tensor | None = None) -> int:
        """Frames on each side that one output frame depends on (measured once: a change to one input
        frame moves exactly this many frames of output on either side), plus a margin of 2."""
        if getattr(self, "_context", None) is None:
            p = 32
            while True:
                dtype = self.conv_pre.weight.dtype
                x = torch.randn(1, self.conv_pre.in_channels, 2 * p + 1, generator=torch.Generator().manual_seed(0))
                x = x.to(dtype=dtype, device=self.conv_pre.weight.device)
                har = torch.zeros(1, 1, x.shape[-1] * self.upp, dtype=dtype, device=x.device) if self.nsf else None
                gg = g[:1] if g is not None else None
                with torch.no_grad():
                    y1 = decode(self, x, har, gg, None)
                    x[..., p] += 1.0
                    moved = (decode(self, x, har, gg, None) != y1).flatten().nonzero()
                reach = int(max(abs(int(moved.min()) - p * self.upp), abs(int(moved.max()) - (p + 1) * self.upp)))
                frames = -(-reach // self.upp)
                if frames < p - 2:
                    self._context = frames + 2
                    break
                p *= 2
        return self._context

    def infer_tiled(self, x: torch.Tensor, f0: torch.Tensor | None, g: torch.Tensor | None,
                    x_mask: torch.Tensor | None, tile: int) -> torch.Tensor:
        """Inference ``tile`` frames at a time, each with :meth:`context_frames` of context either side: the
        same output as one pass (the source is built once for the whole input), but activations stay
        cache-sized instead of growing with the input. Every window has the same length (the first and last
        slide inwards), so oneDNN builds its kernels for one shape. ``x (B, C, T)`` -> ``(B, 1, T * hop)``."""
        t = x.shape[-1]
        har = None
        if self.nsf:
            if f0 is None:
                raise ValueError("this HiFi-GAN decoder uses pitch guidance: f0 is required")
            har = masked(self.source(f0).transpose(1, 2), stage_mask(x_mask, self.upp))
        c = self.context_frames(g)
        width = tile + 2 * c
        if t <= width:
            return decode(self, x, har, g, x_mask)
        out = []
        for a in range(0, t, tile):
            b = min(a + tile, t)
            lo = min(max(0, a - c), t - width)  # every window is `width` frames: one shape, kernels built once
            hi = lo + width
            y = decode(self, x[..., lo:hi], har[..., lo * self.upp:hi * self.upp] if har is not None else None, g,
                       x_mask[..., lo:hi] if x_mask is not None else None)
            out.append(y[..., (a - lo) * self.upp:(b - lo) * self.upp])
        return torch.cat(out, dim=-1)

    def forward(self, x: torch.Tensor, f0: torch.Tensor | None = None, g: torch.Tensor | None = None,
                x_mask: torch.Tensor | None = None, drop: int = 0) -> torch.Tensor:
        """``(B, 1, (T - drop) * hop)``: the first ``drop`` frames are context only (the CPU fast path then skips the
        later stages' work on them, same values)."""
        har = None
        if self.nsf:
            if f0 is None:
                raise ValueError("this HiFi-GAN decoder uses pitch guidance: f0 is required")
            har = self.source(f0).transpose(1, 2)
            har = masked(har, stage_mask(x_mask, self.upp))
        if drop and self.use_fast_path(x):
            return self._forward_nwc(x, har, g, x_mask, drop)
        return decode(self, x, har, g, x_mask)[..., drop * self.upp:]
