"""Prior (content) encoder ``enc_p`` and posterior (spectrogram) encoder ``enc_q``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from arvc.models.attentions import Encoder
from arvc.models.commons import sequence_mask
from arvc.models.modules import WaveNet


class TextEncoder(nn.Module):
    """Content features (+ coarse pitch) -> prior mean / log-std.

    ``forward(phone (B, T, D), pitch (B, T) long | None, lengths (B,))
    -> (m (B, inter, T), logs (B, inter, T), x_mask (B, 1, T))``.
    """

    def __init__(self, out_channels: int, hidden_channels: int, filter_channels: int, n_heads: int,
                 n_layers: int, kernel_size: int, p_dropout: float, embedding_dim: int, f0: bool = True):
        super().__init__()
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.emb_phone = nn.Linear(embedding_dim, hidden_channels)
        if f0:
            self.emb_pitch = nn.Embedding(256, hidden_channels)
        self.encoder = Encoder(hidden_channels, filter_channels, n_heads, n_layers, kernel_size, p_dropout)
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(self, phone: torch.Tensor, pitch: torch.Tensor | None, lengths: torch.Tensor):
        x = self.emb_phone(phone)
        if pitch is not None:
            x = x + self.emb_pitch(pitch)
        x = F.leaky_relu(x * math.sqrt(self.hidden_channels), 0.1)
        x = x.transpose(1, -1)
        x_mask = sequence_mask(lengths, x.size(2)).unsqueeze(1).to(x.dtype)
        x = self.encoder(x * x_mask, x_mask)
        stats = self.proj(x) * x_mask
        m, logs = torch.split(stats, self.out_channels, dim=1)
        return m, logs, x_mask


class PosteriorEncoder(nn.Module):
    """Linear spectrogram -> posterior sample ``z``.

    ``forward(spec (B, spec_channels, T), lengths (B,), g (B, gin, 1) | None)
    -> (z, m, logs (B, inter, T), mask (B, 1, T))``; ``z = m + randn * exp(logs) * noise_scale``.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, kernel_size: int,
                 dilation_rate: int, n_layers: int, gin_channels: int = 0):
        super().__init__()
        self.out_channels = out_channels
        self.pre = nn.Conv1d(in_channels, hidden_channels, 1)
        self.enc = WaveNet(hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels=gin_channels)
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, g: torch.Tensor | None = None,
                noise_scale: float = 1.0):
        x_mask = sequence_mask(lengths, x.size(2)).unsqueeze(1).to(x.dtype)
        x = self.pre(x) * x_mask
        x = self.enc(x, x_mask, g=g)
        stats = self.proj(x) * x_mask
        m, logs = torch.split(stats, self.out_channels, dim=1)
        noise = torch.randn_like(m) * noise_scale if noise_scale else torch.zeros_like(m)
        z = (m + noise * torch.exp(logs)) * x_mask
        return z, m, logs, x_mask
