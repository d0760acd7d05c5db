"""Output cleaning with ``noisereduce`` (spectral gating), as Applio's ``--clean_audio --clean_strength``."""

from __future__ import annotations

import numpy as np

from arvc.errors import ArvcError


def clean(audio: np.ndarray, sr: int, strength: float = 0.7) -> np.ndarray:
    """(N,) float -> (N,) float32 with the stationary noise floor lowered by ``strength`` (0..1)."""
    if not 0.0 <= strength <= 1.0:
        raise ArvcError(f"--clean_strength must be between 0 and 1, got {strength}")
    try:
        import noisereduce
    except ImportError:
        raise ArvcError("--clean_audio needs the 'noisereduce' package (pip install noisereduce)") from None
    y = noisereduce.reduce_noise(y=np.asarray(audio, dtype=np.float32), sr=sr, prop_decrease=strength, n_jobs=1)
    return np.asarray(y, dtype=np.float32)
