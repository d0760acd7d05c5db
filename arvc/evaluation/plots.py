"""A PNG per converted file: source and output spectrograms with their F0 tracks, one above the other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from arvc.atomic import atomic_path
from arvc.audio.spectrogram import magnitude, stft
from arvc.constants import F0_HOP, SR_16K


def _log_spec(x: np.ndarray, n_fft: int = 1024, hop: int = F0_HOP) -> np.ndarray:
    """(N,) audio -> (n_fft // 2 + 1, 1 + N // hop) dB magnitudes (centred frames, zero padding)."""
    y = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    s = magnitude(stft(y, n_fft, hop, center=True, pad_mode="constant"))[0].numpy()
    return 20 * np.log10(np.maximum(s, 1e-5))


def plot_comparison(
    path: str | Path,
    panels: list[tuple[str, np.ndarray, np.ndarray | None]],
    sr: int = SR_16K,
    hop: int = F0_HOP,
    fmax: float = 4000.0,
) -> Path:
    """Write a PNG with one spectrogram per ``(title, audio16k, f0_hz or None)`` panel, F0 drawn on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3 * len(panels)), squeeze=False, sharex=True)
    for ax, (title, audio, f0) in zip(axes[:, 0], panels):
        spec = _log_spec(audio, hop=hop)
        n_bins = int(fmax / (sr / 2) * (spec.shape[0] - 1)) + 1
        t_end = spec.shape[1] * hop / sr
        ax.imshow(spec[:n_bins], origin="lower", aspect="auto", extent=[0, t_end, 0, fmax], cmap="magma",
                  vmin=spec.max() - 80, vmax=spec.max())
        if f0 is not None and len(f0):
            t = np.arange(len(f0)) * hop / sr
            f = np.where(np.asarray(f0) > 0, f0, np.nan)
            ax.plot(t, f, color="cyan", linewidth=1.2, label="F0")
            ax.legend(loc="upper right")
        ax.set_title(title)
        ax.set_ylabel("Hz")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
    return path
