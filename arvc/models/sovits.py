"""so-vits-svc 4.0 / 4.1 generator (``SynthesizerTrn``'s inference path), with so-vits' state-dict names.

Content units ``c`` go through ``pre`` (Conv1d k=5) plus a voiced/unvoiced embedding ``emb_uv`` (and, in 4.1 with
``vol_embedding``, a loudness embedding ``emb_vol``), then the prior encoder ``enc_p`` (a coarse-F0 embedding
``f0_emb`` + the relative-attention transformer ``enc_`` with window 4 + ``proj``), the mean-only coupling flow
(4 couplings, WaveNets of ``n_flow_layer`` layers (default 4), optionally one shared WaveNet ``flow.wn``) and the
NSF-HiFi-GAN decoder. The training-only parts (``enc_q``, ``f0_decoder``) are not built; their tensors are
ignored when loading.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from arvc.errors import ArvcError
from arvc.models.attentions import Encoder
from arvc.models.commons import remove_all_weight_norm, sequence_mask
from arvc.models.flow import ResidualCouplingBlock
from arvc.models.modules import WaveNet
from arvc.models.sovits_config import SovitsConfig
from arvc.models.vocoders.sovits_nsf import SovitsNSFGenerator

ATTENTION_WINDOW = 4
FLOW_COUPLINGS = 4
F0_BINS = 256
F0_MIN, F0_MAX = 50.0, 1100.0
TRAINING_ONLY = ("enc_q.", "f0_decoder.")


def f0_to_coarse(f0: torch.Tensor) -> torch.Tensor:
    """so-vits' coarse pitch: mel-scaled ``f0`` (Hz, any shape) to bins 1..255, rounded half to even."""
    mel_min = 1127 * math.log(1 + F0_MIN / 700)
    mel_max = 1127 * math.log(1 + F0_MAX / 700)
    mel = 1127 * (1 + f0 / 700).log()
    a = (F0_BINS - 2) / (mel_max - mel_min)
    b = mel_min * a - 1.0
    mel = torch.where(mel > 0, mel * a - b, mel)
    return torch.round(mel).long().clamp(1, F0_BINS - 1)


class SovitsTextEncoder(nn.Module):
    """``enc_p``: ``forward(x (B, H, T), x_mask (B, 1, T), coarse (B, T)) -> (m, logs (B, inter, T))``."""

    def __init__(self, out_channels: int, hidden_channels: int, filter_channels: int, n_heads: int, n_layers: int,
                 kernel_size: int):
        super().__init__()
        self.out_channels = out_channels
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)
        self.f0_emb = nn.Embedding(F0_BINS, hidden_channels)
        self.enc_ = Encoder(hidden_channels, filter_channels, n_heads, n_layers, kernel_size,
                            window_size=ATTENTION_WINDOW)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, coarse: torch.Tensor):
        x = x + self.f0_emb(coarse).transpose(1, 2)
        x = self.enc_(x * x_mask, x_mask)
        stats = self.proj(x) * x_mask
        return torch.split(stats, self.out_channels, dim=1)


def build_flow(cfg: SovitsConfig) -> ResidualCouplingBlock:
    """The coupling flow: 4 couplings whose WaveNets have ``n_flow_layer`` layers (so-vits passes that setting as
    the WaveNet depth, not the number of couplings); with ``flow_share_parameter`` every coupling uses one
    WaveNet registered as ``wn``."""
    flow = ResidualCouplingBlock(cfg.inter_channels, cfg.hidden_channels, 5, 1, cfg.n_flow_layer,
                                 n_flows=FLOW_COUPLINGS, gin_channels=cfg.gin_channels)
    if cfg.flow_share_parameter:
        flow.wn = WaveNet(cfg.hidden_channels, 5, 1, cfg.n_flow_layer, gin_channels=cfg.gin_channels)
        for layer in flow.flows[::2]:
            layer.enc = flow.wn
    return flow


class SovitsSynthesizer(nn.Module):
    """Inference generator of a so-vits-svc model.

    ``infer(c (B, T, ssl_dim), f0 (B, T) Hz (unvoiced frames interpolated), uv (B, T) 0/1, sid (B,),
    lengths (B,) | None, vol (B, T) | None, noise_scale) -> audio (B, 1, T * hop)``.
    """

    def __init__(self, cfg: SovitsConfig):
        super().__init__()
        self.cfg = cfg
        self.hop_length = cfg.hop_length
        self.emb_g = nn.Embedding(cfg.n_speakers, cfg.gin_channels)
        if cfg.vol_embedding:
            self.emb_vol = nn.Linear(1, cfg.hidden_channels)
        self.pre = nn.Conv1d(cfg.ssl_dim, cfg.hidden_channels, kernel_size=5, padding=2)
        self.enc_p = SovitsTextEncoder(cfg.inter_channels, cfg.hidden_channels, cfg.filter_channels, cfg.n_heads,
                                       cfg.n_layers, cfg.kernel_size)
        self.dec = SovitsNSFGenerator(cfg.inter_channels, cfg.resblock, cfg.resblock_kernel_sizes,
                                      cfg.resblock_dilation_sizes, cfg.upsample_rates, cfg.upsample_initial_channel,
                                      cfg.upsample_kernel_sizes, cfg.gin_channels, cfg.sample_rate,
                                      legacy_padding=cfg.version == "4.0")
        self.flow = build_flow(cfg)
        self.emb_uv = nn.Embedding(2, cfg.hidden_channels)
        self.decode_tile = 0

    def remove_weight_norm(self) -> "SovitsSynthesizer":
        remove_all_weight_norm(self)
        return self

    def set_deterministic(self, flag: bool = True) -> "SovitsSynthesizer":
        self.dec.m_source.deterministic = flag
        return self

    def _g(self, sid: torch.Tensor) -> torch.Tensor:
        n = self.emb_g.num_embeddings
        if sid.numel() and (int(sid.min()) < 0 or int(sid.max()) >= n):
            raise ArvcError(f"speaker id {sid.tolist()} out of range: this model has {n} speaker row(s) (0..{n - 1})")
        return self.emb_g(sid).unsqueeze(-1)

    def prior(self, c: torch.Tensor, f0: torch.Tensor, uv: torch.Tensor, lengths: torch.Tensor | None = None,
              vol: torch.Tensor | None = None):
        """``(m_p, logs_p (B, inter, T), x_mask (B, 1, T))`` for units ``c (B, T, ssl_dim)``."""
        b, t, _ = c.shape
        if lengths is None:
            lengths = torch.full((b,), t, dtype=torch.long, device=c.device)
        x_mask = sequence_mask(lengths, t).unsqueeze(1).to(c.dtype)
        x = self.pre(c.transpose(1, 2)) * x_mask + self.emb_uv(uv.long()).transpose(1, 2)
        if vol is not None and self.cfg.vol_embedding:
            x = x + self.emb_vol(vol.unsqueeze(-1).to(x.dtype)).transpose(1, 2)
        m_p, logs_p = self.enc_p(x, x_mask, f0_to_coarse(f0.float()))
        return m_p, logs_p, x_mask

    @torch.no_grad()
    def infer(self, c: torch.Tensor, f0: torch.Tensor, uv: torch.Tensor, sid: torch.Tensor | None = None,
              lengths: torch.Tensor | None = None, vol: torch.Tensor | None = None, noise_scale: float = 0.4):
        """Returns ``(audio (B, 1, T * hop), x_mask, (z, z_p, m_p, logs_p))``. The prior noise is drawn first
        (``randn_like(m_p)``), then the source's phases and noise, as so-vits does."""
        if sid is None:
            sid = torch.zeros(c.shape[0], dtype=torch.long, device=c.device)
        g = self._g(sid)
        m_p, logs_p, x_mask = self.prior(c, f0, uv, lengths, vol)
        noise = torch.randn_like(m_p)  # drawn even at noise_scale 0, so the source's draws stay in step
        z_p = (m_p + noise * torch.exp(logs_p) * noise_scale) * x_mask if noise_scale else m_p * x_mask
        z = self.flow(z_p, x_mask, g=g, reverse=True)
        ragged = lengths is not None and bool((lengths.to(x_mask.device) < x_mask.shape[-1]).any())
        mask = x_mask if ragged else None
        dtype = next(self.dec.parameters()).dtype
        z, g = (z * x_mask).to(dtype), g.to(dtype)
        if self.decode_tile:
            audio = self.dec.infer_tiled(z, f0.float(), g, mask, self.decode_tile)
        else:
            audio = self.dec(z, f0.float(), g=g, x_mask=mask)
        return audio, x_mask, (z, z_p, m_p, logs_p)
