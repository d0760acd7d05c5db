"""Building blocks shared by encoders, flow and vocoders: channel LayerNorm, WaveNet, HiFi-GAN ResBlocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arvc.models.commons import (LRELU_SLOPE, conv_nwc, fused_add_tanh_sigmoid_multiply, get_padding,
                                 init_weights, masked, weight_norm)


class LayerNorm(nn.Module):
    """LayerNorm over the channel axis of ``(B, C, T)`` (parameters ``gamma`` / ``beta``)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.transpose(1, -1), (self.channels,), self.gamma, self.beta, self.eps)
        return x.transpose(1, -1)


class WaveNet(nn.Module):
    """Gated non-causal WaveNet stack (WaveGlow style) with optional global conditioning.

    ``forward(x (B, H, T), x_mask (B, 1, T), g (B, gin, 1) | None) -> (B, H, T)``.
    """

    def __init__(self, hidden_channels: int, kernel_size: int, dilation_rate: int, n_layers: int,
                 gin_channels: int = 0, p_dropout: float = 0.0):
        super().__init__()
        assert kernel_size % 2 == 1
        self.hidden_channels = hidden_channels
        self.n_layers = n_layers
        self.gin_channels = gin_channels
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        self.drop = nn.Dropout(p_dropout)
        if gin_channels:
            self.cond_layer = weight_norm(nn.Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1))
        for i in range(n_layers):
            dilation = dilation_rate**i
            self.in_layers.append(weight_norm(nn.Conv1d(
                hidden_channels, 2 * hidden_channels, kernel_size, dilation=dilation,
                padding=get_padding(kernel_size, dilation))))
            res_skip = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
            self.res_skip_layers.append(weight_norm(nn.Conv1d(hidden_channels, res_skip, 1)))

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden_channels
        output = torch.zeros_like(x)
        if g is not None:
            g = self.cond_layer(g)
        for i in range(self.n_layers):
            x_in = self.in_layers[i](x)
            g_l = g[:, i * 2 * h:(i + 1) * 2 * h] if g is not None else torch.zeros_like(x_in)
            acts = self.drop(fused_add_tanh_sigmoid_multiply(x_in, g_l, h))
            res_skip = self.res_skip_layers[i](acts)
            if i < self.n_layers - 1:
                x = (x + res_skip[:, :h]) * x_mask
                output = output + res_skip[:, h:]
            else:
                output = output + res_skip
        return output * x_mask


class ResBlock1(nn.Module):
    """HiFi-GAN residual block type "1": pairs (dilated conv, conv) with leaky ReLU, 3 by default.

    ``forward(x (B, C, T), x_mask (B, 1, T) | None) -> (B, C, T)``; with a mask every conv reads zeros
    outside the sequence, exactly as if the item were run alone.
    """

    def __init__(self, channels: int, kernel_size: int = 3, dilations=(1, 3, 5)):
        super().__init__()
        self.convs1 = nn.ModuleList([
            weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=d,
                                  padding=get_padding(kernel_size, d))) for d in dilations])
        self.convs2 = nn.ModuleList([
            weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=1,
                                  padding=get_padding(kernel_size, 1))) for _ in dilations])
        self.convs1.apply(init_weights)
        self.convs2.apply(init_weights)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor | None = None) -> torch.Tensor:
        if not torch.is_grad_enabled():
            return self._forward_inplace(x, x_mask)
        for conv1, conv2 in zip(self.convs1, self.convs2):
            xt = masked(F.leaky_relu(x, LRELU_SLOPE), x_mask)
            xt = masked(F.leaky_relu(conv1(xt), LRELU_SLOPE), x_mask)
            x = conv2(xt) + x
        return masked(x, x_mask)

    def _forward_inplace(self, x: torch.Tensor, x_mask: torch.Tensor | None, nwc: bool = False) -> torch.Tensor:
        """Same values without the temporaries (inference only; ``x`` itself is not modified).

        ``nwc=True``: ``x (B, C, 1, T)`` channels-last and ``x_mask (B, 1, 1, T)`` (see ``conv_nwc``).
        """
        for conv1, conv2 in zip(self.convs1, self.convs2):
            xt = F.leaky_relu(x, LRELU_SLOPE)
            if x_mask is not None:
                xt.mul_(x_mask)
            xt = F.leaky_relu_(conv_nwc(conv1, xt) if nwc else conv1(xt), LRELU_SLOPE)
            if x_mask is not None:
                xt.mul_(x_mask)
            x = (conv_nwc(conv2, xt) if nwc else conv2(xt)).add_(x)
        return masked(x, x_mask)

    def forward_nwc(self, x: torch.Tensor, x_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Inference on channels-last ``x (B, C, 1, T)``, ``x_mask (B, 1, 1, T) | None``."""
        return self._forward_inplace(x, x_mask, nwc=True)


class ResBlock2(nn.Module):
    """HiFi-GAN residual block type "2" (mainline RVC ``resblock: "2"``): single dilated convs."""

    def __init__(self, channels: int, kernel_size: int = 3, dilations=(1, 3)):
        super().__init__()
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=d,
                                  padding=get_padding(kernel_size, d))) for d in dilations])
        self.convs.apply(init_weights)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor | None = None) -> torch.Tensor:
        for conv in self.convs:
            x = conv(masked(F.leaky_relu(x, LRELU_SLOPE), x_mask)) + x
        return masked(x, x_mask)

    def forward_nwc(self, x: torch.Tensor, x_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Inference on channels-last ``x (B, C, 1, T)``, ``x_mask (B, 1, 1, T) | None``."""
        for conv in self.convs:
            x = conv_nwc(conv, masked(F.leaky_relu(x, LRELU_SLOPE), x_mask)).add_(x)
        return masked(x, x_mask)


def make_resblock(kind: str, channels: int, kernel_size: int, dilations) -> nn.Module:
    if str(kind) == "2":
        return ResBlock2(channels, kernel_size, dilations)
    return ResBlock1(channels, kernel_size, dilations)
