"""Formant (spectral envelope) shifting with ``stftpitchshift``, as Applio's ``--formant_shifting``."""

from __future__ import annotations

import numpy as np

from arvc.errors import ArvcError

FRAME = 1024
HOP = 32


def formant_shift(audio: np.ndarray, sr: int, qfrency: float = 1.0, timbre: float = 1.0) -> np.ndarray:
    """(N,) -> (N,) same dtype. Pitch kept (factor 1); the envelope, taken by cepstral liftering at
    ``qfrency`` ms, is scaled in frequency by ``timbre`` (> 1 raises the formants, < 1 lowers them)."""
    try:
        from stftpitchshift import StftPitchShift
    except ImportError:
        raise ArvcError("--formant_shifting needs the 'stftpitchshift' package (pip install stftpitchshift)") from None
    if timbre <= 0 or qfrency <= 0:
        raise ArvcError(f"--formant_timbre and --formant_qfrency must be > 0, got {timbre} and {qfrency}")
    x = np.asarray(audio)
    y = StftPitchShift(FRAME, HOP, sr).shiftpitch(x, factors=1, quefrency=qfrency * 1e-3, distortion=timbre)
    return np.asarray(y, dtype=x.dtype).reshape(-1)[: len(x)]
