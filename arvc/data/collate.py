"""Collate training items into a zero-padded batch."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from arvc.data.dataset import Item


class Batch(NamedTuple):
    """``phone (B, T, C)``, ``phone_lengths (B,)``, ``pitch (B, T) long | None``, ``pitchf (B, T) | None``,
    ``spec (B, F, T)``, ``spec_lengths (B,)``, ``wav (B, 1, T*hop)``, ``wav_lengths (B,)``, ``sid (B,)``."""

    phone: torch.Tensor
    phone_lengths: torch.Tensor
    pitch: torch.Tensor | None
    pitchf: torch.Tensor | None
    spec: torch.Tensor
    spec_lengths: torch.Tensor
    wav: torch.Tensor
    wav_lengths: torch.Tensor
    sid: torch.Tensor

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "Batch":
        return Batch(*(t.to(device, non_blocking=non_blocking) if isinstance(t, torch.Tensor) else t for t in self))

    @property
    def size(self) -> int:
        return self.phone.shape[0]

    def split(self, n: int) -> list["Batch"]:
        """Cut into ``n`` micro-batches along the batch dimension."""
        chunks = [t.chunk(n, 0) if isinstance(t, torch.Tensor) else [None] * n for t in self]
        return [Batch(*(c[i] for c in chunks)) for i in range(len(chunks[0]))]


def _pad_stack(tensors: Sequence[torch.Tensor], length: int) -> torch.Tensor:
    out = tensors[0].new_zeros((len(tensors), *tensors[0].shape[:-1], length))
    for i, t in enumerate(tensors):
        out[i, ..., : t.shape[-1]] = t
    return out


def collate(items: Sequence[Item]) -> Batch:
    """Pad every stream to the longest item (items sorted longest first, as RVC)."""
    items = sorted(items, key=lambda it: it.frames, reverse=True)
    t_max = items[0].frames
    wav_max = max(it.wav.shape[-1] for it in items)
    use_f0 = items[0].pitch is not None
    phone = _pad_stack([it.phone.transpose(0, 1) for it in items], t_max).transpose(1, 2).contiguous()
    device = items[0].spec.device
    return Batch(
        phone=phone,
        phone_lengths=torch.tensor([it.frames for it in items], dtype=torch.long, device=device),
        pitch=_pad_stack([it.pitch for it in items], t_max) if use_f0 else None,
        pitchf=_pad_stack([it.pitchf for it in items], t_max) if use_f0 else None,
        spec=_pad_stack([it.spec for it in items], t_max),
        spec_lengths=torch.tensor([it.frames for it in items], dtype=torch.long, device=device),
        wav=_pad_stack([it.wav for it in items], wav_max).unsqueeze(1),
        wav_lengths=torch.tensor([it.wav.shape[-1] for it in items], dtype=torch.long, device=device),
        sid=torch.tensor([it.sid for it in items], dtype=torch.long, device=device),
    )
