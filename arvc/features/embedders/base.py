"""The content-embedder interface: 16 kHz audio in, one feature vector per 20 ms out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch

from arvc.errors import ArvcError

HOP = 320  # samples per output frame (50 frames/s)
WINDOW = 400  # receptive field of HuBERT's conv front end: frames = (N - 400) // 320 + 1


def n_frames(n_samples: int) -> int:
    """Frames an embedder returns for ``n_samples`` of 16 kHz audio (HuBERT's rule, at least 1)."""
    return max((int(n_samples) - WINDOW) // HOP + 1, 1)


def fit_frames(feats: torch.Tensor, n: int) -> torch.Tensor:
    """Cut ``feats`` (B, T, C) to ``n`` frames or pad by repeating the last frame."""
    t = feats.shape[1]
    if t >= n:
        return feats[:, :n]
    if t == 0:
        return feats.new_zeros(feats.shape[0], n, feats.shape[2])
    return torch.cat([feats, feats[:, -1:].expand(-1, n - t, -1)], dim=1)


@dataclass(frozen=True)
class LayerMix:
    """Blend two layers: ``ratio * hidden[layer_a] + (1 - ratio) * hidden[layer_b]``."""

    layer_a: int
    layer_b: int
    ratio: float = 0.5

    @classmethod
    def parse(cls, value: "LayerMix | tuple | str | None") -> "LayerMix | None":
        if value is None or isinstance(value, LayerMix):
            return value
        parts = value.replace(":", ",").split(",") if isinstance(value, str) else list(value)
        try:
            a, b = int(parts[0]), int(parts[1])
            r = float(parts[2]) if len(parts) > 2 else 0.5
        except (ValueError, IndexError):
            raise ArvcError(f"--embedders_mix: expected 'LAYER_A,LAYER_B[,RATIO]' (e.g. 9,12,0.5), got {value!r}") from None
        if len(parts) > 3 or not 0.0 <= r <= 1.0:
            raise ArvcError(f"--embedders_mix: expected 'LAYER_A,LAYER_B[,RATIO]' with 0 <= RATIO <= 1, got {value!r}")
        return cls(a, b, r)


class Embedder(ABC):
    """A loaded content encoder.

    ``extract`` takes a batch of 16 kHz waveforms ``(B, N)`` (float, any device) and returns float32
    features ``(B, n_frames(N), dim)`` on the embedder's device. Items of a batch share one length;
    feed differently sized chunks one at a time (padding changes group-normed front ends).
    """

    name: str = ""
    dim: int = 0
    version: str = "v2"
    device: torch.device = torch.device("cpu")
    precision: str = "fp32"

    @abstractmethod
    def _forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Raw features ``(B, T', dim)`` for ``audio`` ``(B, N)``; T' may differ from n_frames(N)."""

    @torch.inference_mode()
    def extract(self, audio16k: torch.Tensor) -> torch.Tensor:
        audio = torch.as_tensor(audio16k)
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        if audio.dim() != 2:
            raise ValueError(f"expected audio of shape (B, N), got {tuple(audio.shape)}")
        n = audio.shape[1]
        if n < WINDOW:
            audio = torch.nn.functional.pad(audio, (0, WINDOW - n))
        feats = self._forward(audio.to(self.device, torch.float32))
        return fit_frames(feats.float(), n_frames(n))

    def __call__(self, audio16k: torch.Tensor) -> torch.Tensor:
        return self.extract(audio16k)

    def describe(self) -> str:
        return f"{self.name} ({self.version}, {self.dim} dims, {self.device}, {self.precision})"
