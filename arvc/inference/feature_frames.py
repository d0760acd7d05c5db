"""Feature-side helpers of the pipeline: frame repetition (50 -> 100 fps) and consonant protection."""

from __future__ import annotations

import torch


def repeat_frames(feats: torch.Tensor) -> torch.Tensor:
    """(T, C) -> (2T, C): every frame twice (``F.interpolate(scale_factor=2)``, nearest)."""
    return feats.repeat_interleave(2, dim=0)


def protect_features(feats: torch.Tensor, feats0: torch.Tensor, pitchf: torch.Tensor, protect: float) -> torch.Tensor:
    """Mix pre-index features back where unvoiced: mask ``protect`` where ``pitchf < 1`` Hz, else 1.

    feats, feats0: (T, C); pitchf: (T,) Hz. Returns ``feats·mask + feats0·(1 − mask)``.
    """
    mask = torch.where(pitchf < 1, torch.full_like(pitchf, protect), torch.ones_like(pitchf)).unsqueeze(-1)
    return (feats * mask + feats0 * (1 - mask)).to(feats0.dtype)
