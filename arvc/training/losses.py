"""GAN / VAE losses of RVC training as pure functions, and the weighted generator sum.

Discriminator outputs are lists (one tensor per sub-discriminator); feature maps are lists of lists.
Every loss is computed in fp32 whatever the autocast dtype.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from arvc.audio.spectrogram import mel_spectrogram
from arvc.training.config import LossWeights
from arvc.training.mel import frame_energy, multiscale_mel_loss


def discriminator_adv_loss(real_outs: Sequence[torch.Tensor], fake_outs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN: ``sum_k mean((1 - D_k(y))²) + mean(D_k(ŷ)²)``."""
    loss = real_outs[0].new_zeros((), dtype=torch.float32)
    for dr, dg in zip(real_outs, fake_outs):
        loss = loss + torch.mean((1 - dr.float()) ** 2) + torch.mean(dg.float() ** 2)
    return loss


def generator_adv_loss(fake_outs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN generator side: ``sum_k mean((1 - D_k(ŷ))²)``."""
    loss = fake_outs[0].new_zeros((), dtype=torch.float32)
    for dg in fake_outs:
        loss = loss + torch.mean((1 - dg.float()) ** 2)
    return loss


def feature_matching_loss(fmap_real: Sequence[Sequence[torch.Tensor]], fmap_fake: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """``2 * sum`` over every discriminator layer of ``mean|f(y) - f(ŷ)|`` (the real maps are constants)."""
    loss = fmap_real[0][0].new_zeros((), dtype=torch.float32)
    for dr, dg in zip(fmap_real, fmap_fake):
        for r, g in zip(dr, dg):
            loss = loss + torch.mean(torch.abs(r.detach().float() - g.float()))
    return 2 * loss


def kl_loss(z_p: torch.Tensor, logs_q: torch.Tensor, m_p: torch.Tensor, logs_p: torch.Tensor,
            z_mask: torch.Tensor) -> torch.Tensor:
    """KL(q || p) per masked frame, all ``(B, C, T)`` (mask ``(B, 1, T)``), as VITS."""
    z_p, logs_q, m_p, logs_p, z_mask = (t.float() for t in (z_p, logs_q, m_p, logs_p, z_mask))
    kl = logs_p - logs_q - 0.5 + 0.5 * ((z_p - m_p) ** 2) * torch.exp(-2.0 * logs_p)
    return torch.sum(kl * z_mask) / torch.sum(z_mask)


def mel_l1_loss(real: torch.Tensor, fake: torch.Tensor, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> torch.Tensor:
    """L1 between natural-log mels of two waveforms ``(B, 1, T)``."""
    real_mel = mel_spectrogram(real.float().squeeze(1), sample_rate, n_fft, hop, n_mels)
    fake_mel = mel_spectrogram(fake.float().squeeze(1), sample_rate, n_fft, hop, n_mels)
    return F.l1_loss(fake_mel, real_mel)


def energy_loss(real: torch.Tensor, fake: torch.Tensor, hop: int) -> torch.Tensor:
    """L1 between per-frame log RMS energies of two waveforms ``(B, 1, T)``."""
    return F.l1_loss(frame_energy(fake, hop), frame_energy(real, hop))


def generator_losses(
    *, real: torch.Tensor, fake: torch.Tensor, disc_fake: Sequence[torch.Tensor],
    fmap_real: Sequence[Sequence[torch.Tensor]], fmap_fake: Sequence[Sequence[torch.Tensor]],
    z_p: torch.Tensor, logs_q: torch.Tensor, m_p: torch.Tensor, logs_p: torch.Tensor, z_mask: torch.Tensor,
    sample_rate: int, hop: int, n_fft: int, n_mels: int, weights: LossWeights,
    multiscale: bool = True, energy: bool = False,
) -> dict[str, torch.Tensor]:
    """All generator terms (already weighted) and their sum under ``loss/g/total``.

    ``real``/``fake``: the target and generated slices ``(B, 1, segment)``.
    """
    if multiscale:
        mel = multiscale_mel_loss(real, fake, sample_rate) * (weights.mel / weights.multiscale_divisor)
    else:
        mel = mel_l1_loss(real, fake, sample_rate, n_fft, hop, n_mels) * weights.mel
    losses = {
        "loss/g/gen": generator_adv_loss(disc_fake) * weights.gen,
        "loss/g/fm": feature_matching_loss(fmap_real, fmap_fake) * weights.fm,
        "loss/g/mel": mel,
        "loss/g/kl": kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * weights.kl,
    }
    if energy:
        losses["loss/g/energy"] = energy_loss(real, fake, hop) * weights.energy
    losses["loss/g/total"] = sum(losses.values())
    return losses
