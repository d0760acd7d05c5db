"""Normalising flow between the prior and posterior latents (``flow.*``): mean-only affine couplings."""

from __future__ import annotations

import torch
from torch import nn

from arvc.models.modules import WaveNet


class Flip(nn.Module):
    """Reverses the channel order (no parameters)."""

    def forward(self, x: torch.Tensor, *args, reverse: bool = False, **kwargs) -> torch.Tensor:
        return torch.flip(x, [1])


class ResidualCouplingLayer(nn.Module):
    """``x = [x0, x1]``; ``x1 <- x1 + m(x0)`` (forward) or ``x1 - m(x0)`` (reverse), mean only."""

    def __init__(self, channels: int, hidden_channels: int, kernel_size: int, dilation_rate: int,
                 n_layers: int, gin_channels: int = 0):
        super().__init__()
        assert channels % 2 == 0
        self.half_channels = channels // 2
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = WaveNet(hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels=gin_channels)
        self.post = nn.Conv1d(hidden_channels, self.half_channels, 1)
        self.post.weight.data.zero_()
        self.post.bias.data.zero_()

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None,
                reverse: bool = False) -> torch.Tensor:
        x0, x1 = torch.split(x, [self.half_channels] * 2, 1)
        h = self.enc(self.pre(x0) * x_mask, x_mask, g=g)
        m = self.post(h) * x_mask
        x1 = (x1 - m) * x_mask if reverse else m + x1 * x_mask
        return torch.cat([x0, x1], 1)


class ResidualCouplingBlock(nn.Module):
    """``n_flows`` coupling layers each followed by a ``Flip`` (RVC: 4 flows, WaveNet k=5, 3 layers).

    ``forward(x (B, C, T), x_mask (B, 1, T), g, reverse) -> (B, C, T)``; the log-determinant is 0.
    """

    def __init__(self, channels: int, hidden_channels: int, kernel_size: int, dilation_rate: int,
                 n_layers: int, n_flows: int = 4, gin_channels: int = 0):
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_flows):
            self.flows.append(ResidualCouplingLayer(channels, hidden_channels, kernel_size, dilation_rate,
                                                    n_layers, gin_channels=gin_channels))
            self.flows.append(Flip())

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None,
                reverse: bool = False) -> torch.Tensor:
        flows = reversed(self.flows) if reverse else self.flows
        for flow in flows:
            x = flow(x, x_mask, g=g, reverse=reverse)
        return x
