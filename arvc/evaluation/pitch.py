"""Pitch fidelity between a source and its conversion (pure functions on F0 tracks)."""

from __future__ import annotations

import numpy as np


def compare_f0(f0_source: np.ndarray, f0_output: np.ndarray, semitones: float = 0.0) -> dict[str, float]:
    """Compare F0 tracks (Hz, 0 = unvoiced, same frame rate) after transposing the source by ``semitones``.

    Returns ``f0_corr`` (Pearson correlation of log-F0 over frames voiced in both), ``f0_rmse_cents``
    (RMS difference in cents over those frames) and ``voicing_agreement`` (fraction of frames whose
    voiced/unvoiced decision agrees). NaN when fewer than 3 frames are voiced in both.
    """
    n = min(len(f0_source), len(f0_output))
    src = np.asarray(f0_source[:n], dtype=np.float64) * 2.0 ** (semitones / 12.0)
    out = np.asarray(f0_output[:n], dtype=np.float64)
    vs, vo = src > 0, out > 0
    both = vs & vo
    agreement = float(np.mean(vs == vo)) if n else float("nan")
    if both.sum() < 3:
        return {"f0_corr": float("nan"), "f0_rmse_cents": float("nan"), "voicing_agreement": agreement}
    ls, lo = np.log2(src[both]), np.log2(out[both])
    cents = 1200.0 * (lo - ls)
    if np.std(ls) < 1e-9 or np.std(lo) < 1e-9:
        corr = float("nan")
    else:
        corr = float(np.corrcoef(ls, lo)[0, 1])
    return {
        "f0_corr": corr,
        "f0_rmse_cents": float(np.sqrt(np.mean(cents**2))),
        "voicing_agreement": agreement,
    }
