"""Transformer encoder with windowed relative-position self-attention (VITS / RVC ``enc_p.encoder``)."""

from __future__ import annotations

import math

import torch
import torch.utils.checkpoint
import torch.nn.functional as F
from torch import nn

from arvc.models.modules import LayerNorm


class MultiHeadAttention(nn.Module):
    """Self-attention over ``(B, C, T)`` with relative key/value embeddings within ``window_size``.

    Parameters ``emb_rel_k`` / ``emb_rel_v`` are ``(1, 2 * window + 1, C // n_heads)`` (shared by heads).
    Without autograd, long inputs take :meth:`_forward_blocked` (same values, memory O(block * T)).
    """

    BLOCK_ROWS = 256  # query rows per block of the inference path

    def __init__(self, channels: int, out_channels: int, n_heads: int, p_dropout: float = 0.0,
                 window_size: int | None = 10):
        super().__init__()
        assert channels % n_heads == 0
        self.n_heads = n_heads
        self.k_channels = channels // n_heads
        self.window_size = window_size
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        self.drop = nn.Dropout(p_dropout)
        if window_size is not None:
            std = self.k_channels**-0.5
            self.emb_rel_k = nn.Parameter(torch.randn(1, 2 * window_size + 1, self.k_channels) * std)
            self.emb_rel_v = nn.Parameter(torch.randn(1, 2 * window_size + 1, self.k_channels) * std)
        nn.init.xavier_uniform_(self.conv_q.weight)
        nn.init.xavier_uniform_(self.conv_k.weight)
        nn.init.xavier_uniform_(self.conv_v.weight)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, C, T)``, ``x_mask (B, 1, T)`` (1 = valid frame) -> ``(B, C_out, T)``.

        Frame i attends to frame j when both are valid (RVC's ``attn_mask = x_mask_i * x_mask_j``).
        """
        b, c, t = x.shape
        q = self.conv_q(x).view(b, self.n_heads, self.k_channels, t).transpose(2, 3)
        k = self.conv_k(x).view(b, self.n_heads, self.k_channels, t).transpose(2, 3)
        v = self.conv_v(x).view(b, self.n_heads, self.k_channels, t).transpose(2, 3)
        q = q / math.sqrt(self.k_channels)
        if self.window_size is not None and not torch.is_grad_enabled() and t > self.BLOCK_ROWS:
            out = self._forward_blocked(q, k, v, x_mask)
        else:
            out = self._forward_full(q, k, v, x_mask)
        out = out.transpose(2, 3).reshape(b, c, t)
        return self.conv_o(out)

    def _forward_full(self, q, k, v, x_mask):
        """The VITS formulation: ``(B, H, T, T)`` scores with relative logits shifted into place."""
        t = q.shape[2]
        scores = torch.matmul(q, k.transpose(-2, -1))
        if self.window_size is not None:
            rel_k = self._relative_embeddings(self.emb_rel_k, t)
            rel_logits = torch.matmul(q, rel_k.unsqueeze(0).transpose(-2, -1))
            scores = scores + _relative_to_absolute(rel_logits)
        if x_mask is not None:
            attn_mask = x_mask.unsqueeze(2) * x_mask.unsqueeze(-1)
            scores = scores.masked_fill(attn_mask == 0, -1e4)
        p_attn = self.drop(F.softmax(scores, dim=-1))
        out = torch.matmul(p_attn, v)
        if self.window_size is not None:
            rel_v = self._relative_embeddings(self.emb_rel_v, t)
            out = out + torch.matmul(_absolute_to_relative(p_attn), rel_v.unsqueeze(0))
        return out

    def _forward_blocked(self, q, k, v, x_mask):
        """Same result, ``BLOCK_ROWS`` query rows at a time; relative terms only on the ``2W+1`` band.

        Beyond the window the relative embeddings are zero, so the relative logits of row i live on
        columns ``i - W .. i + W`` and the relative value term reads the attention weights there.
        """
        t = q.shape[2]
        w = self.window_size
        rel = torch.matmul(q, self.emb_rel_k[0].transpose(0, 1))  # (B, H, T, 2W+1)
        cols = torch.arange(t, device=q.device)[:, None] + torch.arange(-w, w + 1, device=q.device)[None, :]
        inside = ((cols >= 0) & (cols < t)).to(q.dtype)  # (T, 2W+1)
        rel = rel * inside
        cols = cols.clamp(0, t - 1)
        masked_cols = masked_rows = None
        if x_mask is not None:
            masked_cols = x_mask[:, :, None, :] == 0  # (B, 1, 1, T)
            masked_rows = x_mask[:, :, :, None] == 0  # (B, 1, T, 1)
        band = torch.empty_like(rel)
        out = torch.empty_like(q)
        for a in range(0, t, self.BLOCK_ROWS):
            e = min(t, a + self.BLOCK_ROWS)
            scores = torch.matmul(q[:, :, a:e], k.transpose(-2, -1))  # (B, H, n, T)
            idx = cols[a:e].expand(*scores.shape[:2], -1, -1)
            scores.scatter_add_(-1, idx, rel[:, :, a:e])
            if masked_cols is not None:
                scores.masked_fill_(masked_cols, -1e4)
                scores.masked_fill_(masked_rows[:, :, a:e], -1e4)
            p_attn = torch.softmax(scores, dim=-1)
            band[:, :, a:e] = p_attn.gather(-1, idx)
            out[:, :, a:e] = torch.matmul(p_attn, v)
        return out + torch.matmul(band * inside, self.emb_rel_v[0])

    def _relative_embeddings(self, emb: torch.Tensor, length: int) -> torch.Tensor:
        """``(1, 2W+1, D)`` -> ``(1, 2*length-1, D)`` (zero-padded beyond the window)."""
        w = self.window_size
        pad = max(length - (w + 1), 0)
        start = max((w + 1) - length, 0)
        if pad > 0:
            emb = F.pad(emb, (0, 0, pad, pad))
        return emb[:, start:start + 2 * length - 1]


def _relative_to_absolute(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, L, 2L-1)`` relative logits -> ``(B, H, L, L)`` absolute."""
    b, h, length, _ = x.shape
    x = F.pad(x, (0, 1))
    x = F.pad(x.reshape(b, h, length * 2 * length), (0, length - 1))
    return x.view(b, h, length + 1, 2 * length - 1)[:, :, :length, length - 1:]


def _absolute_to_relative(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, L, L)`` -> ``(B, H, L, 2L-1)``."""
    b, h, length, _ = x.shape
    x = F.pad(x, (0, length - 1))
    x = F.pad(x.reshape(b, h, length * length + length * (length - 1)), (length, 0))
    return x.view(b, h, length, 2 * length)[:, :, :, 1:]


class FFN(nn.Module):
    """Two same-padded convs with ReLU, masked: ``(B, C, T) -> (B, C_out, T)``."""

    def __init__(self, in_channels: int, out_channels: int, filter_channels: int, kernel_size: int,
                 p_dropout: float = 0.0):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, out_channels, kernel_size)
        self.drop = nn.Dropout(p_dropout)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size == 1:
            return x
        return F.pad(x, ((self.kernel_size - 1) // 2, self.kernel_size // 2))

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv_1(self._pad(x * x_mask)))
        x = self.conv_2(self._pad(self.drop(x) * x_mask))
        return x * x_mask


class Encoder(nn.Module):
    """Post-LN transformer stack: ``forward(x (B, H, T), x_mask (B, 1, T)) -> (B, H, T)``."""

    def __init__(self, hidden_channels: int, filter_channels: int, n_heads: int, n_layers: int,
                 kernel_size: int = 1, p_dropout: float = 0.0, window_size: int = 10):
        super().__init__()
        self.n_layers = n_layers
        self.drop = nn.Dropout(p_dropout)
        self.attn_layers = nn.ModuleList()
        self.norm_layers_1 = nn.ModuleList()
        self.ffn_layers = nn.ModuleList()
        self.norm_layers_2 = nn.ModuleList()
        for _ in range(n_layers):
            self.attn_layers.append(MultiHeadAttention(hidden_channels, hidden_channels, n_heads, p_dropout,
                                                       window_size=window_size))
            self.norm_layers_1.append(LayerNorm(hidden_channels))
            self.ffn_layers.append(FFN(hidden_channels, hidden_channels, filter_channels, kernel_size, p_dropout))
            self.norm_layers_2.append(LayerNorm(hidden_channels))
        self.checkpointing = False

    def _layer(self, i: int, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        y = self.drop(self.attn_layers[i](x, x_mask))
        x = self.norm_layers_1[i](x + y)
        y = self.drop(self.ffn_layers[i](x, x_mask))
        return self.norm_layers_2[i](x + y)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        x = x * x_mask
        for i in range(self.n_layers):
            if self.checkpointing and self.training:
                x = torch.utils.checkpoint.checkpoint(self._layer, i, x, x_mask, use_reentrant=False)
            else:
                x = self._layer(i, x, x_mask)
        return x * x_mask
