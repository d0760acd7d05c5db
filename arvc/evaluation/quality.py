"""Predicted quality: DNSMOS (P.835 SIG/BAK/OVRL + P.808) from the ONNX models shipped in speechmos."""

from __future__ import annotations

import numpy as np

from arvc.constants import SR_16K


def dnsmos(audio16k: np.ndarray) -> dict[str, float]:
    """DNSMOS scores of a 16 kHz mono signal: ``mos_ovrl``, ``mos_sig``, ``mos_bak``, ``mos_p808``."""
    from speechmos import dnsmos as _dnsmos

    x = np.asarray(audio16k, dtype=np.float32)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 1.0:
        x = x / peak
    r = _dnsmos.run(x, sr=SR_16K)
    return {
        "mos_ovrl": float(r["ovrl_mos"]),
        "mos_sig": float(r["sig_mos"]),
        "mos_bak": float(r["bak_mos"]),
        "mos_p808": float(r["p808_mos"]),
    }
