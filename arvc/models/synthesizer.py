"""The RVC synthesizer (VITS-style): ``enc_p`` (content + pitch prior), ``dec`` (vocoder), ``enc_q``
(posterior, training only), ``flow`` and the speaker table ``emb_g``. State-dict names/shapes are RVC's."""

from __future__ import annotations

import torch
from torch import nn

from arvc.errors import ArvcError
from arvc.models.commons import rand_slice_segments, remove_all_weight_norm, slice_segments
from arvc.models.config import ModelConfig
from arvc.models.encoders import PosteriorEncoder, TextEncoder
from arvc.models.flow import ResidualCouplingBlock
from arvc.models.vocoders import build_vocoder


class Synthesizer(nn.Module):
    """``Synthesizer(cfg)``; ``checkpointing=True`` recomputes the heavy blocks in the backward pass.

    Shapes: ``phone (B, T, content_dim)`` float, ``phone_lengths (B,)`` long, ``pitch (B, T)`` long
    coarse 1..255, ``pitchf (B, T)`` Hz, ``sid (B,)`` long; pitch/pitchf are ``None`` when
    ``cfg.use_f0`` is False. ``T`` frames at ``sample_rate / hop_length`` per second.
    """

    def __init__(self, cfg: ModelConfig, checkpointing: bool = False, with_posterior: bool = True):
        super().__init__()
        self.cfg = cfg
        self.use_f0 = cfg.use_f0
        self.hop_length = cfg.hop_length
        self.segment_frames = cfg.segment_frames
        self.checkpointing = checkpointing
        self.decode_tile = 0  # > 0: inference decodes this many frames at a time (HiFi-GAN; set by the pipeline)
        self.enc_p = TextEncoder(cfg.inter_channels, cfg.hidden_channels, cfg.filter_channels, cfg.n_heads,
                                 cfg.n_layers, cfg.kernel_size, float(cfg.p_dropout), cfg.content_dim, f0=cfg.use_f0)
        self.enc_p.encoder.checkpointing = checkpointing
        self.dec = build_vocoder(cfg, checkpointing=checkpointing)
        if with_posterior:
            self.enc_q = PosteriorEncoder(cfg.spec_channels, cfg.inter_channels, cfg.hidden_channels, 5, 1, 16,
                                          gin_channels=cfg.gin_channels)
        self.flow = ResidualCouplingBlock(cfg.inter_channels, cfg.hidden_channels, 5, 1, 3, n_flows=4,
                                          gin_channels=cfg.gin_channels)
        self.emb_g = nn.Embedding(cfg.spk_embed_dim, cfg.gin_channels)

    # ---- utilities ----------------------------------------------------------------------------------
    def remove_weight_norm(self) -> "Synthesizer":
        """Fold every weight norm into plain weights (computed in fp32) for faster inference."""
        remove_all_weight_norm(self)
        return self

    def remove_posterior(self) -> "Synthesizer":
        """Drop ``enc_q`` (inference only needs the prior path)."""
        if hasattr(self, "enc_q"):
            del self.enc_q
        return self

    def set_deterministic(self, flag: bool = True) -> "Synthesizer":
        """Switch off the vocoder's random draws (NSF initial phase / noise, RefineGAN AdaIN noise)."""
        for module in self.modules():
            if hasattr(module, "deterministic"):
                module.deterministic = flag
        return self

    def _g(self, sid: torch.Tensor) -> torch.Tensor:
        n = self.emb_g.num_embeddings
        if sid.numel() and (int(sid.min()) < 0 or int(sid.max()) >= n):
            raise ArvcError(f"speaker id {sid.tolist()} out of range: this model has {n} speaker(s) (0..{n - 1})")
        return self.emb_g(sid).unsqueeze(-1)

    def _check_pitch(self, pitch, pitchf) -> None:
        if self.use_f0 and (pitch is None or pitchf is None):
            raise ValueError("this model uses pitch guidance: pitch and pitchf are required")

    # ---- training -----------------------------------------------------------------------------------
    def forward(self, phone: torch.Tensor, phone_lengths: torch.Tensor, pitch: torch.Tensor | None,
                pitchf: torch.Tensor | None, spec: torch.Tensor, spec_lengths: torch.Tensor, sid: torch.Tensor):
        """Training pass on a random window of ``cfg.segment_size // hop`` frames per item.

        ``spec (B, spec_channels, T)``. Returns ``(y_hat (B, 1, segment_frames * hop), ids_slice (B,),
        x_mask (B, 1, T), y_mask (B, 1, T), (z, z_p, m_p, logs_p, m_q, logs_q))`` with latents ``(B, inter, T)``.
        ``ids_slice * hop`` is where the matching waveform window starts.
        """
        self._check_pitch(pitch, pitchf)
        g = self._g(sid)
        m_p, logs_p, x_mask = self.enc_p(phone, pitch if self.use_f0 else None, phone_lengths)
        z, m_q, logs_q, y_mask = self.enc_q(spec, spec_lengths, g=g)
        z_p = self.flow(z, y_mask, g=g)
        z_slice, ids_slice = rand_slice_segments(z, spec_lengths, self.segment_frames)
        f0_slice = slice_segments(pitchf, ids_slice, self.segment_frames) if self.use_f0 else None
        y_hat = self.dec(z_slice, f0_slice, g=g)
        return y_hat, ids_slice, x_mask, y_mask, (z, z_p, m_p, logs_p, m_q, logs_q)

    # ---- inference ----------------------------------------------------------------------------------
    @torch.no_grad()
    def infer(self, phone: torch.Tensor, phone_lengths: torch.Tensor, pitch: torch.Tensor | None = None,
              pitchf: torch.Tensor | None = None, sid: torch.Tensor | None = None,
              noise_scale: float = 0.66666):
        """Convert content (+ pitch) to audio. Returns ``(audio (B, 1, T * hop), x_mask (B, 1, T),
        (z, z_p, m_p, logs_p))``; item ``b`` is valid for ``phone_lengths[b] * hop`` samples and equals
        what a batch of one would give. ``noise_scale=0`` samples the prior mean.
        """
        self._check_pitch(pitch, pitchf)
        if sid is None:
            sid = torch.zeros(phone.shape[0], dtype=torch.long, device=phone.device)
        g = self._g(sid)
        m_p, logs_p, x_mask = self.enc_p(phone, pitch if self.use_f0 else None, phone_lengths)
        if noise_scale:
            z_p = (m_p + torch.exp(logs_p) * torch.randn_like(m_p) * noise_scale) * x_mask
        else:
            z_p = m_p * x_mask
        z = self.flow(z_p, x_mask, g=g, reverse=True)
        ragged = bool((phone_lengths.to(x_mask.device) < x_mask.shape[-1]).any())
        f0 = pitchf.float() if self.use_f0 else None  # the source builds its phase in fp32
        dtype = next(self.dec.parameters()).dtype  # bf16 when the decoder was cast (CPU bf16), else z's
        if dtype == torch.float32:
            dtype = z.dtype
        z, g, mask = (z * x_mask).to(dtype), g.to(dtype), x_mask if ragged else None
        if self.decode_tile and hasattr(self.dec, "infer_tiled"):
            audio = self.dec.infer_tiled(z, f0, g, mask, self.decode_tile)
        else:
            audio = self.dec(z, f0, g=g, x_mask=mask)
        return audio, x_mask, (z, z_p, m_p, logs_p)
