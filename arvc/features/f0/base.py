"""The F0 interface: 16 kHz mono audio in, Hz per hop out (0 = unvoiced)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from arvc.constants import F0_HOP, SR_16K


@dataclass
class F0Options:
    """Options shared by every F0 method (training and inference alike)."""

    hop_length: int = F0_HOP  # samples at 16 kHz between frames (160 = 10 ms, RVC's frame rate)
    f0_min: float = 50.0
    f0_max: float = 1100.0
    sample_rate: int = SR_16K


class F0Method(ABC):
    """One pitch estimator.

    Frame ``i`` is centred on sample ``i * hop_length``; ``compute`` returns exactly ``n_frames``
    values (default ``len(audio) // hop_length``, RVC's ``p_len``), padding with the last value
    or 0 and cutting as needed. Networks are loaded once, in ``__init__``; ``compute`` can then be
    called any number of times.
    """

    name: str = ""

    def __init__(self, options: F0Options | None = None, device: torch.device | str | None = None):
        self.options = options or F0Options()
        self.device = torch.device(device) if device is not None else torch.device("cpu")

    @abstractmethod
    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        """Raw F0 for ``audio`` (float32, 16 kHz). May return any length near ``n_frames``."""

    def compute(self, audio: np.ndarray, n_frames: int | None = None) -> np.ndarray:
        """F0 in Hz, float32, shape ``(n_frames,)``; 0 where unvoiced or outside [f0_min, f0_max]."""
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        if n_frames is None:
            n_frames = len(audio) // self.options.hop_length
        with torch.autocast(device_type=self.device.type, enabled=False):  # pitch networks always run in fp32
            f0 = np.asarray(self._compute(audio, n_frames), dtype=np.float32).reshape(-1)
        f0 = np.nan_to_num(f0, nan=0.0, posinf=0.0, neginf=0.0)
        f0[f0 < 0] = 0
        return fit_length(f0, n_frames)


def fit_length(f0: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad ``f0`` to ``n`` frames."""
    if len(f0) >= n:
        return np.ascontiguousarray(f0[:n])
    return np.concatenate([f0, np.zeros(n - len(f0), dtype=f0.dtype)])


def to_hop(f0: np.ndarray, native_hop: int, options: F0Options, n_frames: int) -> np.ndarray:
    """A network's F0 at its own hop (frame i at ``i * native_hop``) onto the options' hop grid.

    Unchanged when the hops agree; otherwise resampled (linear between voiced frames, nearest
    beside unvoiced ones), as Applio interpolates FCPE onto other hops. The time resolution
    stays the network's.
    """
    if options.hop_length == native_hop:
        return f0
    from arvc.features.f0.postprocess import contour_to_grid

    sr = options.sample_rate
    return contour_to_grid(np.arange(len(f0)) * native_hop / sr, f0, np.arange(n_frames) * options.hop_length / sr)

